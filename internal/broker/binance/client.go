package binance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/httpx"
)

// Wire layer of the Binance spot REST API: one method per endpoint, request
// signing, the used-weight header and rate-limit waits. Nothing here knows
// the broker-neutral types; convert.go maps between the two.
//
// API reference: https://developers.binance.com/docs/binance-spot-api-docs/rest-api

const (
	// ProductionURL and TestnetURL are the spot REST endpoints.
	ProductionURL = "https://api.binance.com"
	TestnetURL    = "https://testnet.binance.vision"

	// WeightLimitPerMinute is Binance's published REQUEST_WEIGHT limit (per
	// IP, 1 minute). The limiter budget is half of it.
	WeightLimitPerMinute = 6000

	recvWindow        = 5000             // ms; Binance recommends <= 5000
	maxRateLimitWaits = 5                // 429 answers waited out before giving up
	maxRateLimitWait  = 30 * time.Second // a longer Retry-After fails at once
)

// Request weights of the endpoints used (Binance "Weight" per endpoint).
const (
	weightExchangeInfo  = 20
	weightAccount       = 20
	weightNewOrder      = 1
	weightQueryOrder    = 4
	weightCancelOrder   = 1
	weightTickerPrice   = 2
	weightOpenOrdersAll = 80
	weightOrderListOCO  = 1 // Unfilled Order Count 2 (unfilledOrders)
	weightQueryList     = 4
	weightCancelList    = 1
)

// unfilledOrders is how many orders of the account's ORDERS budget a
// request takes (rest-api.md "Unfilled Order Count": a new order 1, an OCO
// 2); every other request 0.
func unfilledOrders(method, path string) int {
	if method != http.MethodPost {
		return 0
	}
	switch path {
	case "/api/v3/order":
		return 1
	case "/api/v3/orderList/oco":
		return 2
	}
	return 0
}

// apiError is an error answer from Binance: an HTTP status and the
// {"code":-2010,"msg":"..."} body.
type apiError struct {
	Status     int
	Code       int    `json:"code"`
	Msg        string `json:"msg"`
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("binance http %d code %d: %s", e.Status, e.Code, e.Msg)
}

type client struct {
	baseURL string
	apiKey  string
	secret  []byte
	http    *http.Client
	pace    *pacer
	ipKey   string // request-weight budget of this server's address at baseURL
	acctKey string // order budget of the account; "" for public requests
	clock   *serverClock
	now     func() time.Time
}

// --- wire types ---

type wireFilter struct {
	FilterType  string `json:"filterType"`
	MinPrice    string `json:"minPrice"`
	MaxPrice    string `json:"maxPrice"`
	TickSize    string `json:"tickSize"`
	MinQty      string `json:"minQty"`
	MaxQty      string `json:"maxQty"`
	StepSize    string `json:"stepSize"`
	MinNotional string `json:"minNotional"`
}

type wireSymbol struct {
	Symbol     string       `json:"symbol"`
	Status     string       `json:"status"`
	BaseAsset  string       `json:"baseAsset"`
	QuoteAsset string       `json:"quoteAsset"`
	OrderTypes []string     `json:"orderTypes"`
	OCOAllowed *bool        `json:"ocoAllowed"`
	Filters    []wireFilter `json:"filters"`
}

type wireExchangeInfo struct {
	Timezone   string       `json:"timezone"`
	ServerTime int64        `json:"serverTime"`
	Symbols    []wireSymbol `json:"symbols"`
}

type wireBalance struct {
	Asset  string `json:"asset"`
	Free   string `json:"free"`
	Locked string `json:"locked"`
}

type wireAccount struct {
	CanTrade    bool          `json:"canTrade"`
	AccountType string        `json:"accountType"`
	UpdateTime  int64         `json:"updateTime"`
	Balances    []wireBalance `json:"balances"`
	Permissions []string      `json:"permissions"`
}

type wireOrder struct {
	Symbol              string `json:"symbol"`
	OrderID             int64  `json:"orderId"`
	OrderListID         int64  `json:"orderListId"`
	ClientOrderID       string `json:"clientOrderId"`
	TransactTime        int64  `json:"transactTime"`
	Price               string `json:"price"`
	OrigQty             string `json:"origQty"`
	ExecutedQty         string `json:"executedQty"`
	CummulativeQuoteQty string `json:"cummulativeQuoteQty"`
	Status              string `json:"status"`
	TimeInForce         string `json:"timeInForce"`
	Type                string `json:"type"`
	Side                string `json:"side"`
	StopPrice           string `json:"stopPrice"`
	Time                int64  `json:"time"`
	UpdateTime          int64  `json:"updateTime"`
	WorkingTime         int64  `json:"workingTime"`
}

// wireOrderList is an order list: the answer to POST /api/v3/orderList/oco
// (with orderReports), GET /api/v3/orderList (without) and DELETE
// /api/v3/orderList (with the cancelled reports).
type wireOrderList struct {
	OrderListID       int64  `json:"orderListId"`
	ContingencyType   string `json:"contingencyType"`
	ListStatusType    string `json:"listStatusType"`
	ListOrderStatus   string `json:"listOrderStatus"`
	ListClientOrderID string `json:"listClientOrderId"`
	TransactionTime   int64  `json:"transactionTime"`
	Symbol            string `json:"symbol"`
	Orders            []struct {
		Symbol        string `json:"symbol"`
		OrderID       int64  `json:"orderId"`
		ClientOrderID string `json:"clientOrderId"`
	} `json:"orders"`
	OrderReports []wireOrder `json:"orderReports"`
}

// ocoParams is POST /api/v3/orderList/oco: prices already normalised;
// empty fields are not sent.
type ocoParams struct {
	Symbol, Side, Quantity, ListClientOrderID                                   string
	AboveType, AboveClientOrderID, AbovePrice, AboveStopPrice, AboveTimeInForce string
	BelowType, BelowClientOrderID, BelowPrice, BelowStopPrice, BelowTimeInForce string
}

type wireTickerPrice struct {
	Symbol string `json:"symbol"`
	Price  string `json:"price"`
}

// newOrderParams is POST /api/v3/order. Quantities and prices are decimal
// strings already normalised to the symbol's filters.
type newOrderParams struct {
	Symbol           string
	Side             string // BUY | SELL
	Type             string // MARKET | LIMIT | STOP_LOSS | STOP_LOSS_LIMIT
	TimeInForce      string // GTC | IOC | FOK, LIMIT types only
	Quantity         string
	Price            string
	StopPrice        string
	NewClientOrderID string
}

// --- endpoints ---

// exchangeInfo is GET /api/v3/exchangeInfo?symbol=.
func (c *client) exchangeInfo(ctx context.Context, symbol string) (wireExchangeInfo, error) {
	var out wireExchangeInfo
	q := url.Values{"symbol": {symbol}}
	err := c.call(ctx, http.MethodGet, "/api/v3/exchangeInfo", q, false, weightExchangeInfo, &out)
	return out, err
}

// account is GET /api/v3/account (signed).
func (c *client) account(ctx context.Context) (wireAccount, error) {
	var out wireAccount
	q := url.Values{"omitZeroBalances": {"true"}}
	err := c.call(ctx, http.MethodGet, "/api/v3/account", q, true, weightAccount, &out)
	return out, err
}

// newOrder is POST /api/v3/order (signed), response type RESULT.
func (c *client) newOrder(ctx context.Context, p newOrderParams) (wireOrder, error) {
	q := url.Values{
		"symbol":           {p.Symbol},
		"side":             {p.Side},
		"type":             {p.Type},
		"quantity":         {p.Quantity},
		"newClientOrderId": {p.NewClientOrderID},
		"newOrderRespType": {"RESULT"},
	}
	if p.TimeInForce != "" {
		q.Set("timeInForce", p.TimeInForce)
	}
	if p.Price != "" {
		q.Set("price", p.Price)
	}
	if p.StopPrice != "" {
		q.Set("stopPrice", p.StopPrice)
	}
	var out wireOrder
	err := c.call(ctx, http.MethodPost, "/api/v3/order", q, true, weightNewOrder, &out)
	return out, err
}

// queryOrder is GET /api/v3/order by orderId or origClientOrderId (signed).
func (c *client) queryOrder(ctx context.Context, symbol string, orderID int64, origClientOrderID string) (wireOrder, error) {
	q := url.Values{"symbol": {symbol}}
	if origClientOrderID != "" {
		q.Set("origClientOrderId", origClientOrderID)
	} else {
		q.Set("orderId", strconv.FormatInt(orderID, 10))
	}
	var out wireOrder
	err := c.call(ctx, http.MethodGet, "/api/v3/order", q, true, weightQueryOrder, &out)
	return out, err
}

// openOrders is GET /api/v3/openOrders for all symbols (signed).
func (c *client) openOrders(ctx context.Context) ([]wireOrder, error) {
	var out []wireOrder
	err := c.call(ctx, http.MethodGet, "/api/v3/openOrders", url.Values{}, true, weightOpenOrdersAll, &out)
	return out, err
}

// cancelOrder is DELETE /api/v3/order (signed).
func (c *client) cancelOrder(ctx context.Context, symbol string, orderID int64) (wireOrder, error) {
	q := url.Values{"symbol": {symbol}, "orderId": {strconv.FormatInt(orderID, 10)}}
	var out wireOrder
	err := c.call(ctx, http.MethodDelete, "/api/v3/order", q, true, weightCancelOrder, &out)
	return out, err
}

// newOCO is POST /api/v3/orderList/oco (signed), orderReports as RESULT.
func (c *client) newOCO(ctx context.Context, p ocoParams) (wireOrderList, error) {
	q := url.Values{"newOrderRespType": {"RESULT"}}
	for k, v := range map[string]string{
		"symbol": p.Symbol, "side": p.Side, "quantity": p.Quantity, "listClientOrderId": p.ListClientOrderID,
		"aboveType": p.AboveType, "aboveClientOrderId": p.AboveClientOrderID, "abovePrice": p.AbovePrice,
		"aboveStopPrice": p.AboveStopPrice, "aboveTimeInForce": p.AboveTimeInForce,
		"belowType": p.BelowType, "belowClientOrderId": p.BelowClientOrderID, "belowPrice": p.BelowPrice,
		"belowStopPrice": p.BelowStopPrice, "belowTimeInForce": p.BelowTimeInForce,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out wireOrderList
	err := c.call(ctx, http.MethodPost, "/api/v3/orderList/oco", q, true, weightOrderListOCO, &out)
	return out, err
}

// queryOrderList is GET /api/v3/orderList by orderListId, or by
// origClientOrderId (the listClientOrderId) when listClientID is set.
func (c *client) queryOrderList(ctx context.Context, orderListID int64, listClientID string) (wireOrderList, error) {
	q := url.Values{}
	if listClientID != "" {
		q.Set("origClientOrderId", listClientID)
	} else {
		q.Set("orderListId", strconv.FormatInt(orderListID, 10))
	}
	var out wireOrderList
	err := c.call(ctx, http.MethodGet, "/api/v3/orderList", q, true, weightQueryList, &out)
	return out, err
}

// cancelOrderList is DELETE /api/v3/orderList (signed).
func (c *client) cancelOrderList(ctx context.Context, symbol string, orderListID int64) (wireOrderList, error) {
	q := url.Values{"symbol": {symbol}, "orderListId": {strconv.FormatInt(orderListID, 10)}}
	var out wireOrderList
	err := c.call(ctx, http.MethodDelete, "/api/v3/orderList", q, true, weightCancelList, &out)
	return out, err
}

// tickerPrice is GET /api/v3/ticker/price?symbol=.
func (c *client) tickerPrice(ctx context.Context, symbol string) (wireTickerPrice, error) {
	var out wireTickerPrice
	err := c.call(ctx, http.MethodGet, "/api/v3/ticker/price", url.Values{"symbol": {symbol}}, false, weightTickerPrice, &out)
	return out, err
}

// --- transport ---

// sign returns the hex HMAC-SHA256 of totalParams with the secret key.
func sign(secret []byte, totalParams string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(totalParams))
	return hex.EncodeToString(m.Sum(nil))
}

// call sends one request and decodes a 200 answer into out. Signed requests
// carry timestamp (local time + the host's clock offset), recvWindow and
// signature, re-signed on every attempt; a -1021 answer re-reads the server
// time and is retried once. Every attempt first takes its weight (and a new
// order one order) from the shared budgets. A 429 pauses the budget for
// every process and is waited out (Retry-After) up to maxRateLimitWaits
// times; a 418 bans the address for every process and answers at once.
// GETs are retried twice on 5xx or a failed connection; orders and cancels
// never (the workflow retries them with the same client order id).
func (c *client) call(ctx context.Context, method, path string, params url.Values, signed bool, weight int, out any) error {
	rateWaits, readRetries, resynced := 0, 0, false
	orders := unfilledOrders(method, path)
	for {
		if err := c.pace.wait(ctx, c, weight, orders); err != nil {
			return err
		}
		status, header, body, err := c.send(ctx, method, path, params, signed)
		if err == nil && status >= 500 {
			err = &apiError{Status: status, Code: -1001, Msg: http.StatusText(status)}
			_ = json.Unmarshal(body, err)
		}
		if err != nil {
			if method == http.MethodGet && readRetries < 2 && ctx.Err() == nil {
				if sleep(ctx, (200*time.Millisecond)<<readRetries) == nil {
					readRetries++
					continue
				}
			}
			return err
		}
		if used, e := strconv.Atoi(header.Get("X-Mbx-Used-Weight-1m")); e == nil {
			c.pace.observe(ctx, c, used)
		}
		if status == http.StatusOK {
			if out == nil {
				return nil
			}
			return httpx.DecodeJSON(Name, body, out)
		}
		ae := &apiError{Status: status}
		if json.Unmarshal(body, ae) != nil || ae.Msg == "" {
			ae.Msg = http.StatusText(status)
		}
		if signed && ae.Code == -1021 && !resynced {
			resynced = true
			if c.syncClock(ctx) == nil {
				continue
			}
			return ae
		}
		if status != http.StatusTooManyRequests && status != http.StatusTeapot {
			return ae
		}
		ae.RetryAfter = httpx.DefaultRetryAfter
		if d, ok := httpx.RetryAfter(header, c.now()); ok {
			ae.RetryAfter = d
		}
		if status == http.StatusTeapot {
			return c.pace.banned(ctx, c, ae)
		}
		c.pace.rateLimited(ctx, c, ae)
		if rateWaits >= maxRateLimitWaits || ae.RetryAfter > maxRateLimitWait {
			return ae
		}
		rateWaits++
	}
}

func (c *client) send(ctx context.Context, method, path string, params url.Values, signed bool) (int, http.Header, []byte, error) {
	query := params.Encode()
	if signed {
		ts := strconv.FormatInt(c.timestamp(), 10)
		if query != "" {
			query += "&"
		}
		query += "recvWindow=" + strconv.Itoa(recvWindow) + "&timestamp=" + ts
		query += "&signature=" + sign(c.secret, query)
	}
	var body io.Reader
	u := c.baseURL + path
	if method == http.MethodPost {
		body = strings.NewReader(query)
	} else if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if signed {
		req.Header.Set("X-MBX-APIKEY", c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, httpx.MaxBodyBytes))
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isNotFound reports Binance's "Order does not exist." (-2013).
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == -2013
}

// isListNotFound reports an unknown order list: -2018 "Order list does not
// exist." (what GET /api/v3/orderList answers), or -2013.
func isListNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Code == -2018 || ae.Code == -2013)
}

// isDuplicate reports the answer to a newClientOrderId that an open order
// already carries.
func isDuplicate(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Code == -2010 && strings.Contains(ae.Msg, "Duplicate order")
}

func asAPIError(err error, target **apiError) bool { return errors.As(err, target) }
