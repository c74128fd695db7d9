package alpaca

import (
	"time"

	"github.com/shopspring/decimal"
)

// The fake's own wire types, written from Alpaca's Trading API reference
// (https://docs.alpaca.markets/reference: Orders → the Order object,
// Account, Positions, Assets, Clock) and the entities in the official SDK
// (github.com/alpacahq/alpaca-py, alpaca/trading/models.py). They are kept
// apart from the adapter's types in client.go on purpose: the fake encodes
// its answers from these, so a field the adapter names wrongly decodes to
// nothing and a test fails. Requests are decoded into fakeOrderRequest
// (fake.go). Money and quantities travel as JSON strings, as Alpaca sends
// them (decimal.Decimal marshals to a quoted string; nil pointers to null).

// alpacaOrder is the Order object.
type alpacaOrder struct {
	ID             string           `json:"id"`
	ClientOrderID  string           `json:"client_order_id"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	SubmittedAt    time.Time        `json:"submitted_at"`
	FilledAt       *time.Time       `json:"filled_at"`
	ExpiredAt      *time.Time       `json:"expired_at"`
	CanceledAt     *time.Time       `json:"canceled_at"`
	FailedAt       *time.Time       `json:"failed_at"`
	ReplacedAt     *time.Time       `json:"replaced_at"`
	ReplacedBy     *string          `json:"replaced_by"`
	Replaces       *string          `json:"replaces"`
	AssetID        string           `json:"asset_id"`
	Symbol         string           `json:"symbol"`
	AssetClass     string           `json:"asset_class"`
	Notional       *decimal.Decimal `json:"notional"`
	Qty            *decimal.Decimal `json:"qty"`
	FilledQty      decimal.Decimal  `json:"filled_qty"`
	FilledAvgPrice *decimal.Decimal `json:"filled_avg_price"`
	OrderClass     string           `json:"order_class"`
	OrderType      string           `json:"order_type"` // deprecated copy of type
	Type           string           `json:"type"`
	Side           string           `json:"side"`
	PositionIntent string           `json:"position_intent,omitempty"`
	TimeInForce    string           `json:"time_in_force"`
	LimitPrice     *decimal.Decimal `json:"limit_price"`
	StopPrice      *decimal.Decimal `json:"stop_price"`
	Status         string           `json:"status"`
	ExtendedHours  bool             `json:"extended_hours"`
	Legs           []alpacaOrder    `json:"legs"`
	TrailPercent   *decimal.Decimal `json:"trail_percent"`
	TrailPrice     *decimal.Decimal `json:"trail_price"`
	HWM            *decimal.Decimal `json:"hwm"`
}

// alpacaAccount is GET /v2/account.
type alpacaAccount struct {
	ID                    string          `json:"id"`
	AccountNumber         string          `json:"account_number"`
	Status                string          `json:"status"`
	CryptoStatus          string          `json:"crypto_status"`
	Currency              string          `json:"currency"`
	BuyingPower           decimal.Decimal `json:"buying_power"`
	RegTBuyingPower       decimal.Decimal `json:"regt_buying_power"`
	DaytradingBuyingPower decimal.Decimal `json:"daytrading_buying_power"`
	NonMarginBuyingPower  decimal.Decimal `json:"non_marginable_buying_power"`
	Cash                  decimal.Decimal `json:"cash"`
	AccruedFees           decimal.Decimal `json:"accrued_fees"`
	PortfolioValue        decimal.Decimal `json:"portfolio_value"`
	PatternDayTrader      bool            `json:"pattern_day_trader"`
	TradingBlocked        bool            `json:"trading_blocked"`
	TransfersBlocked      bool            `json:"transfers_blocked"`
	AccountBlocked        bool            `json:"account_blocked"`
	CreatedAt             time.Time       `json:"created_at"`
	TradeSuspendedByUser  bool            `json:"trade_suspended_by_user"`
	Multiplier            decimal.Decimal `json:"multiplier"`
	ShortingEnabled       bool            `json:"shorting_enabled"`
	Equity                decimal.Decimal `json:"equity"`
	LastEquity            decimal.Decimal `json:"last_equity"`
	LongMarketValue       decimal.Decimal `json:"long_market_value"`
	ShortMarketValue      decimal.Decimal `json:"short_market_value"`
	InitialMargin         decimal.Decimal `json:"initial_margin"`
	MaintenanceMargin     decimal.Decimal `json:"maintenance_margin"`
	LastMaintenanceMargin decimal.Decimal `json:"last_maintenance_margin"`
	SMA                   decimal.Decimal `json:"sma"`
	DaytradeCount         int64           `json:"daytrade_count"`
}

// alpacaPosition is one entry of GET /v2/positions.
type alpacaPosition struct {
	AssetID                string           `json:"asset_id"`
	Symbol                 string           `json:"symbol"`
	Exchange               string           `json:"exchange"`
	AssetClass             string           `json:"asset_class"`
	AssetMarginable        bool             `json:"asset_marginable"`
	Qty                    decimal.Decimal  `json:"qty"`
	QtyAvailable           decimal.Decimal  `json:"qty_available"`
	AvgEntryPrice          decimal.Decimal  `json:"avg_entry_price"`
	Side                   string           `json:"side"`
	MarketValue            *decimal.Decimal `json:"market_value"`
	CostBasis              decimal.Decimal  `json:"cost_basis"`
	UnrealizedPL           *decimal.Decimal `json:"unrealized_pl"`
	UnrealizedPLPC         *decimal.Decimal `json:"unrealized_plpc"`
	UnrealizedIntradayPL   *decimal.Decimal `json:"unrealized_intraday_pl"`
	UnrealizedIntradayPLPC *decimal.Decimal `json:"unrealized_intraday_plpc"`
	CurrentPrice           *decimal.Decimal `json:"current_price"`
	LastdayPrice           *decimal.Decimal `json:"lastday_price"`
	ChangeToday            *decimal.Decimal `json:"change_today"`
}

// alpacaClock is GET /v2/clock.
type alpacaClock struct {
	Timestamp time.Time `json:"timestamp"`
	IsOpen    bool      `json:"is_open"`
	NextOpen  time.Time `json:"next_open"`
	NextClose time.Time `json:"next_close"`
}

// alpacaAsset is GET /v2/assets/{symbol_or_asset_id}. Crypto pairs carry
// min_order_size, min_trade_increment and price_increment
// (https://docs.alpaca.markets/docs/crypto-trading); equities do not.
type alpacaAsset struct {
	ID                string   `json:"id"`
	Class             string   `json:"class"`
	Exchange          string   `json:"exchange"`
	Symbol            string   `json:"symbol"`
	Name              string   `json:"name"`
	Status            string   `json:"status"`
	Tradable          bool     `json:"tradable"`
	Marginable        bool     `json:"marginable"`
	Shortable         bool     `json:"shortable"`
	EasyToBorrow      bool     `json:"easy_to_borrow"`
	Fractionable      bool     `json:"fractionable"`
	Attributes        []string `json:"attributes"`
	MinOrderSize      string   `json:"min_order_size,omitempty"`
	MinTradeIncrement string   `json:"min_trade_increment,omitempty"`
	PriceIncrement    string   `json:"price_increment,omitempty"`
}
