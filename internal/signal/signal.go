// Package signal holds the trading-signal model and the parsers that turn a
// Discord message or a TradingView webhook body into a Signal. A parser either
// understands the whole message or refuses it with a reason (*ParseError).
package signal

import (
	"github.com/shopspring/decimal"
)

// Source says where a signal came from. It is part of the signal's identity
// (source + external id is unique) and a Temporal search attribute.
type Source string

const (
	SourceDiscord     Source = "discord"
	SourceTradingView Source = "tradingview"
	SourceDashboard   Source = "dashboard"
	SourceCopy        Source = "copy"
)

// AssetClass routes a signal to the trader's default broker for that class and
// picks the market calendar (stocks: NYSE; crypto: 24/7).
type AssetClass string

const (
	AssetStock  AssetClass = "stock"
	AssetCrypto AssetClass = "crypto"
)

// Action is what the signal asks for. buy/sell open or add to a position;
// exit closes the position in that symbol; cancel cancels the trader's open
// orders in that symbol; add adds to an existing position in its direction.
type Action string

const (
	ActionBuy    Action = "buy"
	ActionSell   Action = "sell"
	ActionExit   Action = "exit"
	ActionCancel Action = "cancel"
	ActionAdd    Action = "add"
)

// Side of the order that results.
type Side string

const (
	SideBuy  Side = "buy"
	SideSell Side = "sell"
)

// OrderType of the entry order.
type OrderType string

const (
	OrderMarket       OrderType = "market"
	OrderLimit        OrderType = "limit"
	OrderStop         OrderType = "stop"
	OrderStopLimit    OrderType = "stop_limit"
	OrderTrailingStop OrderType = "trailing_stop"
)

// QuantityType says how Quantity is to be read (TradersPost vocabulary).
type QuantityType string

const (
	QtyFixed             QuantityType = "fixed_quantity"
	QtyDollarAmount      QuantityType = "dollar_amount"
	QtyPercentOfEquity   QuantityType = "percent_of_equity"
	QtyPercentOfPosition QuantityType = "percent_of_position"
	// QtyDefault: no quantity given; risk sizing decides (max position rule).
	QtyDefault QuantityType = "default"
)

// Signal is a parsed, validated trading instruction. It holds no secret and
// is safe to put in a workflow history. Price fields are zero when unset
// (a price of zero is never valid).
type Signal struct {
	Source     Source `json:"source"`
	ExternalID string `json:"externalId"` // de-duplication id within the source

	Symbol     string     `json:"symbol"` // canonical: "AAPL", "BTC-USD"
	AssetClass AssetClass `json:"assetClass"`
	Action     Action     `json:"action"`
	Side       Side       `json:"side"`
	// Sentiment "flat" means: close only, never open the opposite side.
	Sentiment string `json:"sentiment,omitempty"`

	Quantity     decimal.Decimal `json:"quantity"`
	QuantityType QuantityType    `json:"quantityType"`

	OrderType    OrderType       `json:"orderType"`
	LimitPrice   decimal.Decimal `json:"limitPrice"`
	StopPrice    decimal.Decimal `json:"stopPrice"`
	TrailPercent decimal.Decimal `json:"trailPercent"`
	// SignalPrice is the price the sender saw (TradingView {{close}}); used for
	// sizing a market order when no quote is available.
	SignalPrice decimal.Decimal `json:"signalPrice"`

	// Exactly one of StopLossPercent / StopLossPrice may be set; neither means
	// the trader's default stop-loss percentage applies.
	StopLossPercent decimal.Decimal `json:"stopLossPercent"`
	StopLossPrice   decimal.Decimal `json:"stopLossPrice"`
	// At most one of TakeProfitPercent / TakeProfitPrice may be set; the
	// percent is measured from the entry fill price, in the trade's favour.
	TakeProfitPercent decimal.Decimal `json:"takeProfitPercent"`
	TakeProfitPrice   decimal.Decimal `json:"takeProfitPrice"`
	// TakeProfitTargets is a take-profit ladder (DESIGN §8): two or more
	// targets TP1..TPn in the order the price reaches them, each closing
	// its share of the filled position (all shares zero: equal). Never set
	// together with TakeProfitPercent/TakeProfitPrice.
	TakeProfitTargets []Target `json:"takeProfitTargets,omitempty"`

	// TimeInForce and ExtendedHours are executed as asked where the trader's
	// broker supports them and refused with the field named where it does
	// not (internal/broker/session.go); never ignored.
	TimeInForce   TimeInForce `json:"timeInForce,omitempty"`
	ExtendedHours bool        `json:"extendedHours,omitempty"`

	// ReversalOf is set on the entry that follows a reversal's exit: the
	// trade id of the exit. Such an entry only opens; if the position is
	// not flat it is not sent (no second exit, no loop).
	ReversalOf string `json:"reversalOf,omitempty"`
	// TakeProfitOf is set on the exit that takes a trade's profit: the
	// trade id. It closes at most that trade's quantity and never opens.
	TakeProfitOf string `json:"takeProfitOf,omitempty"`

	// Broker is a per-signal routing override ("ibkr", "kraken", ...).
	Broker string `json:"broker,omitempty"`

	// Text is the original message (Discord) or a compact rendering of the
	// webhook body, shown in the Temporal UI memo.
	Text string `json:"text"`
}

// ParseError is a refusal with a reason a trader understands. Field names the
// offending field ("quantity", "ticker"), empty when the message as a whole is
// not understood.
type ParseError struct {
	Field  string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// HasTakeProfit reports whether the signal asks for a take-profit of its
// own (the exit that takes one carries none).
func (s Signal) HasTakeProfit() bool {
	return (s.TakeProfitPrice.IsPositive() || s.TakeProfitPercent.IsPositive()) && s.TakeProfitOf == ""
}

// HasLadder reports whether the signal asks for a take-profit ladder.
func (s Signal) HasLadder() bool {
	return len(s.TakeProfitTargets) >= 2 && s.TakeProfitOf == ""
}
