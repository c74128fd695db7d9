package alpaca

// Wire layer: one request type per Alpaca endpoint, the JSON shapes Alpaca
// sends, and nothing broker-neutral. Reference: Alpaca Trading API v2
// (https://docs.alpaca.markets/reference/ — accounts, orders, positions,
// clock) and Market Data API (https://docs.alpaca.markets/docs/about-market-data-api
// — /v2/stocks/{symbol}/trades/latest, /v1beta3/crypto/us/latest/trades).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker/httpx"
)

// Header names of Alpaca's key authentication.
const (
	headerKeyID  = "APCA-API-KEY-ID"
	headerSecret = "APCA-API-SECRET-KEY" // #nosec G101 -- header name, not a credential
)

// client speaks Alpaca's REST wire format for one credential.
type client struct {
	tradingURL string
	dataURL    string
	keyID      string
	secret     string
	trading    *httpx.Doer // trading API bucket
	data       *httpx.Doer // market data API bucket
}

// apiError is a non-2xx answer that is not a 5xx or a rate limit:
// {"code":40310000,"message":"insufficient buying power"}.
type apiError struct {
	Status  int    `json:"-"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("alpaca HTTP %d code %d: %s", e.Status, e.Code, e.Message)
}

// --- wire types -----------------------------------------------------------

type accountWire struct {
	ID                string          `json:"id"`
	Status            string          `json:"status"`
	CryptoStatus      string          `json:"crypto_status"`
	Currency          string          `json:"currency"`
	Cash              decimal.Decimal `json:"cash"`
	BuyingPower       decimal.Decimal `json:"buying_power"`
	NonMarginBP       decimal.Decimal `json:"non_marginable_buying_power"`
	Equity            decimal.Decimal `json:"equity"`
	LastEquity        decimal.Decimal `json:"last_equity"`
	PortfolioValue    decimal.Decimal `json:"portfolio_value"`
	Multiplier        decimal.Decimal `json:"multiplier"`
	TradingBlocked    bool            `json:"trading_blocked"`
	AccountBlocked    bool            `json:"account_blocked"`
	PatternDayTrader  bool            `json:"pattern_day_trader"`
	TradeSuspendedBy  bool            `json:"trade_suspended_by_user"`
	ShortingEnabled   bool            `json:"shorting_enabled"`
	LongMarketValue   decimal.Decimal `json:"long_market_value"`
	ShortMarketValue  decimal.Decimal `json:"short_market_value"`
	CreatedAt         time.Time       `json:"created_at"`
	DaytradeCount     int64           `json:"daytrade_count"`
	DaytradingBP      decimal.Decimal `json:"daytrading_buying_power"`
	RegTBuyingPower   decimal.Decimal `json:"regt_buying_power"`
	InitialMargin     decimal.Decimal `json:"initial_margin"`
	MaintenanceMargin decimal.Decimal `json:"maintenance_margin"`
}

type orderWire struct {
	ID             string           `json:"id"`
	ClientOrderID  string           `json:"client_order_id"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	SubmittedAt    time.Time        `json:"submitted_at"`
	FilledAt       *time.Time       `json:"filled_at"`
	CanceledAt     *time.Time       `json:"canceled_at"`
	ExpiredAt      *time.Time       `json:"expired_at"`
	FailedAt       *time.Time       `json:"failed_at"`
	AssetID        string           `json:"asset_id"`
	Symbol         string           `json:"symbol"`
	AssetClass     string           `json:"asset_class"`
	Notional       *decimal.Decimal `json:"notional"`
	Qty            *decimal.Decimal `json:"qty"`
	FilledQty      decimal.Decimal  `json:"filled_qty"`
	FilledAvgPrice *decimal.Decimal `json:"filled_avg_price"`
	OrderClass     string           `json:"order_class"`
	Type           string           `json:"type"`
	Side           string           `json:"side"`
	TimeInForce    string           `json:"time_in_force"`
	LimitPrice     *decimal.Decimal `json:"limit_price"`
	StopPrice      *decimal.Decimal `json:"stop_price"`
	TrailPercent   *decimal.Decimal `json:"trail_percent"`
	TrailPrice     *decimal.Decimal `json:"trail_price"`
	HWM            *decimal.Decimal `json:"hwm"`
	Status         string           `json:"status"`
	ExtendedHours  bool             `json:"extended_hours"`
	// Legs are an advanced order's other orders (an OCO's stop-loss).
	Legs []orderWire `json:"legs"`
}

type positionWire struct {
	AssetID       string           `json:"asset_id"`
	Symbol        string           `json:"symbol"`
	Exchange      string           `json:"exchange"`
	AssetClass    string           `json:"asset_class"`
	Qty           decimal.Decimal  `json:"qty"`
	QtyAvailable  decimal.Decimal  `json:"qty_available"`
	AvgEntryPrice decimal.Decimal  `json:"avg_entry_price"`
	Side          string           `json:"side"`
	MarketValue   *decimal.Decimal `json:"market_value"`
	CostBasis     decimal.Decimal  `json:"cost_basis"`
	UnrealizedPL  *decimal.Decimal `json:"unrealized_pl"`
	CurrentPrice  *decimal.Decimal `json:"current_price"`
	LastdayPrice  *decimal.Decimal `json:"lastday_price"`
}

// assetWire is GET /v2/assets/{symbol}; crypto pairs carry the order rules
// (https://docs.alpaca.markets/docs/crypto-trading), sent as strings.
type assetWire struct {
	ID                string           `json:"id"`
	Class             string           `json:"class"`
	Symbol            string           `json:"symbol"`
	Status            string           `json:"status"`
	Tradable          bool             `json:"tradable"`
	MinOrderSize      *decimal.Decimal `json:"min_order_size"`
	MinTradeIncrement *decimal.Decimal `json:"min_trade_increment"`
	PriceIncrement    *decimal.Decimal `json:"price_increment"`
}

type clockWire struct {
	Timestamp time.Time `json:"timestamp"`
	IsOpen    bool      `json:"is_open"`
	NextOpen  time.Time `json:"next_open"`
	NextClose time.Time `json:"next_close"`
}

// tradeWire is a market-data trade; prices are JSON numbers, decoded exactly.
type tradeWire struct {
	Timestamp time.Time       `json:"t"`
	Price     decimal.Decimal `json:"p"`
	Size      decimal.Decimal `json:"s"`
}

type latestStockTradeWire struct {
	Symbol string     `json:"symbol"`
	Trade  *tradeWire `json:"trade"`
}

type latestCryptoTradesWire struct {
	Trades map[string]tradeWire `json:"trades"`
}

// --- one request type per endpoint ---------------------------------------

// getAccountRequest: GET /v2/account.
type getAccountRequest struct{}

func (getAccountRequest) do(ctx context.Context, c *client) (*accountWire, error) {
	var out accountWire
	return &out, c.call(ctx, c.trading, http.MethodGet, c.tradingURL+"/v2/account", nil, true, &out)
}

// createOrderRequest: POST /v2/orders. Decimal fields are sent as strings,
// as Alpaca's documentation shows them.
type createOrderRequest struct {
	Symbol        string `json:"symbol"`
	Qty           string `json:"qty"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	TimeInForce   string `json:"time_in_force"`
	LimitPrice    string `json:"limit_price,omitempty"`
	StopPrice     string `json:"stop_price,omitempty"`
	TrailPercent  string `json:"trail_percent,omitempty"`
	ExtendedHours bool   `json:"extended_hours,omitempty"`
	ClientOrderID string `json:"client_order_id"`
	// OrderClass "oco" with TakeProfit and StopLoss (exitpair.go).
	OrderClass string          `json:"order_class,omitempty"`
	TakeProfit *takeProfitWire `json:"take_profit,omitempty"`
	StopLoss   *stopLossWire   `json:"stop_loss,omitempty"`
}

type takeProfitWire struct {
	LimitPrice string `json:"limit_price"`
}

type stopLossWire struct {
	StopPrice  string `json:"stop_price"`
	LimitPrice string `json:"limit_price,omitempty"`
}

func (r createOrderRequest) do(ctx context.Context, c *client) (*orderWire, error) {
	var out orderWire
	return &out, c.call(ctx, c.trading, http.MethodPost, c.tradingURL+"/v2/orders", r, false, &out)
}

// getOrderRequest: GET /v2/orders/{order_id}.
type getOrderRequest struct{ ID string }

func (r getOrderRequest) do(ctx context.Context, c *client) (*orderWire, error) {
	var out orderWire
	return &out, c.call(ctx, c.trading, http.MethodGet, c.tradingURL+"/v2/orders/"+url.PathEscape(r.ID), nil, true, &out)
}

// getOrderByClientIDRequest: GET /v2/orders:by_client_order_id?client_order_id=.
type getOrderByClientIDRequest struct{ ClientOrderID string }

func (r getOrderByClientIDRequest) do(ctx context.Context, c *client) (*orderWire, error) {
	var out orderWire
	u := c.tradingURL + "/v2/orders:by_client_order_id?" + url.Values{"client_order_id": {r.ClientOrderID}}.Encode()
	return &out, c.call(ctx, c.trading, http.MethodGet, u, nil, true, &out)
}

// cancelOrderRequest: DELETE /v2/orders/{order_id} (204 No Content).
type cancelOrderRequest struct{ ID string }

func (r cancelOrderRequest) do(ctx context.Context, c *client) error {
	return c.call(ctx, c.trading, http.MethodDelete, c.tradingURL+"/v2/orders/"+url.PathEscape(r.ID), nil, false, nil)
}

// listPositionsRequest: GET /v2/positions.
type listPositionsRequest struct{}

func (listPositionsRequest) do(ctx context.Context, c *client) ([]positionWire, error) {
	var out []positionWire
	return out, c.call(ctx, c.trading, http.MethodGet, c.tradingURL+"/v2/positions", nil, true, &out)
}

// getClockRequest: GET /v2/clock.
type getClockRequest struct{}

func (getClockRequest) do(ctx context.Context, c *client) (*clockWire, error) {
	var out clockWire
	return &out, c.call(ctx, c.trading, http.MethodGet, c.tradingURL+"/v2/clock", nil, true, &out)
}

// getAssetRequest: GET /v2/assets/{symbol_or_asset_id}. A crypto pair goes
// in the legacy form without the slash ("BTCUSD"): a slash in the path is
// not routed (alpacahq/alpaca-py#537), and Alpaca keeps the legacy form for
// backwards compatibility (https://docs.alpaca.markets/docs/crypto-trading).
type getAssetRequest struct{ Symbol string }

func (r getAssetRequest) do(ctx context.Context, c *client) (*assetWire, error) {
	var out assetWire
	sym := strings.ReplaceAll(r.Symbol, "/", "")
	return &out, c.call(ctx, c.trading, http.MethodGet, c.tradingURL+"/v2/assets/"+url.PathEscape(sym), nil, true, &out)
}

// latestStockTradeRequest: GET {data}/v2/stocks/{symbol}/trades/latest.
type latestStockTradeRequest struct{ Symbol string }

func (r latestStockTradeRequest) do(ctx context.Context, c *client) (*latestStockTradeWire, error) {
	var out latestStockTradeWire
	return &out, c.call(ctx, c.data, http.MethodGet, c.dataURL+"/v2/stocks/"+url.PathEscape(r.Symbol)+"/trades/latest", nil, true, &out)
}

// latestCryptoTradesRequest: GET {data}/v1beta3/crypto/us/latest/trades?symbols=BTC/USD.
type latestCryptoTradesRequest struct{ Symbols string }

func (r latestCryptoTradesRequest) do(ctx context.Context, c *client) (*latestCryptoTradesWire, error) {
	var out latestCryptoTradesWire
	u := c.dataURL + "/v1beta3/crypto/us/latest/trades?" + url.Values{"symbols": {r.Symbols}}.Encode()
	return &out, c.call(ctx, c.data, http.MethodGet, u, nil, true, &out)
}

// call sends one request. It returns a *broker.Error for transport
// failures, 5xx and exhausted rate limits (from httpx), an *apiError for any
// other non-2xx answer, and decodes a 2xx body into out.
func (c *client) call(ctx context.Context, d *httpx.Doer, method, u string, body any, read bool, out any) error {
	var raw []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("alpaca: encode request: %w", err)
		}
		raw = b
	}
	h := http.Header{}
	h.Set(headerKeyID, c.keyID)
	h.Set(headerSecret, c.secret)
	h.Set("Accept", "application/json")
	resp, err := d.Do(ctx, httpx.Request{Method: method, URL: u, Header: h, Body: raw, Read: read})
	if err != nil {
		return err
	}
	if resp.Status < 200 || resp.Status > 299 {
		ae := &apiError{Status: resp.Status}
		if json.Unmarshal(resp.Body, ae) != nil || ae.Message == "" {
			ae.Message = http.StatusText(resp.Status)
		}
		return ae
	}
	if out == nil || resp.Status == http.StatusNoContent || len(resp.Body) == 0 {
		return nil
	}
	return httpx.DecodeJSON(Name, resp.Body, out)
}
