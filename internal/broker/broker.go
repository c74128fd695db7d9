// Package broker defines the one interface every broker adapter implements,
// the standard error kinds adapters map their errors to, and the registry
// that builds an adapter for a stored connection.
package broker

import (
	"context"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Broker is one trader's authenticated session with one broker account.
// Implementations must be safe for concurrent use.
type Broker interface {
	// Name is the broker type: "paper", "alpaca", "ibkr", ...
	Name() string
	// Connect validates the credentials with a cheap authenticated call
	// (the account endpoint) and returns the account snapshot.
	Connect(ctx context.Context) (Balance, error)
	// PlaceOrder submits an order. req.ClientOrderID is mandatory; a second
	// PlaceOrder with the same ClientOrderID must not create a second order
	// (adapters look the order up by client id first, or rely on the broker's
	// own duplicate-client-id rejection and then look it up).
	PlaceOrder(ctx context.Context, req OrderRequest) (Order, error)
	CancelOrder(ctx context.Context, brokerOrderID string) error
	GetOrderStatus(ctx context.Context, brokerOrderID string) (Order, error)
	// FindOrderByClientID returns the order with that client order id, or
	// found=false when the broker has none.
	FindOrderByClientID(ctx context.Context, clientOrderID string) (order Order, found bool, err error)
	GetPositions(ctx context.Context) ([]Position, error)
	GetBalance(ctx context.Context) (Balance, error)
	// Clock reports whether the market for that asset class is open now and
	// when it next opens/closes.
	Clock(ctx context.Context, asset signal.AssetClass) (Clock, error)
	// LastPrice is the latest trade (or mid) price for sizing market orders.
	LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error)
}

// OrderRequest is a broker-neutral order.
type OrderRequest struct {
	ClientOrderID string            `json:"clientOrderId"`
	Symbol        string            `json:"symbol"` // canonical symbol ("AAPL", "BTC-USD")
	AssetClass    signal.AssetClass `json:"assetClass"`
	Side          signal.Side       `json:"side"`
	Type          signal.OrderType  `json:"type"`
	Quantity      decimal.Decimal   `json:"quantity"`
	LimitPrice    decimal.Decimal   `json:"limitPrice"`   // zero when unset
	StopPrice     decimal.Decimal   `json:"stopPrice"`    // zero when unset
	TrailPercent  decimal.Decimal   `json:"trailPercent"` // zero when unset
	TimeInForce   TimeInForce       `json:"timeInForce"`
	ExtendedHours bool              `json:"extendedHours"`
}

// TimeInForce of an order.
type TimeInForce string

const (
	TIFDay TimeInForce = "day"
	TIFGTC TimeInForce = "gtc"
	TIFIOC TimeInForce = "ioc"
)

// OrderStatus is the broker-neutral order state.
type OrderStatus string

const (
	StatusNew             OrderStatus = "new" // accepted, working
	StatusPartiallyFilled OrderStatus = "partially_filled"
	StatusFilled          OrderStatus = "filled"
	StatusCancelled       OrderStatus = "cancelled"
	StatusRejected        OrderStatus = "rejected"
	StatusExpired         OrderStatus = "expired"
)

// Terminal reports whether no further fills can happen.
func (s OrderStatus) Terminal() bool {
	switch s {
	case StatusFilled, StatusCancelled, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// Order is the broker's view of an order.
type Order struct {
	ID             string           `json:"id"`
	ClientOrderID  string           `json:"clientOrderId"`
	Symbol         string           `json:"symbol"`
	Side           signal.Side      `json:"side"`
	Type           signal.OrderType `json:"type"`
	Status         OrderStatus      `json:"status"`
	Quantity       decimal.Decimal  `json:"quantity"`
	FilledQuantity decimal.Decimal  `json:"filledQuantity"`
	AvgFillPrice   decimal.Decimal  `json:"avgFillPrice"`
	LimitPrice     decimal.Decimal  `json:"limitPrice"`
	StopPrice      decimal.Decimal  `json:"stopPrice"`
	SubmittedAt    time.Time        `json:"submittedAt"`
	UpdatedAt      time.Time        `json:"updatedAt"`
	RejectReason   string           `json:"rejectReason,omitempty"`
}

// Position is an open position at the broker.
type Position struct {
	Symbol        string          `json:"symbol"`
	Quantity      decimal.Decimal `json:"quantity"` // negative for short
	AvgEntryPrice decimal.Decimal `json:"avgEntryPrice"`
	CurrentPrice  decimal.Decimal `json:"currentPrice"`
	MarketValue   decimal.Decimal `json:"marketValue"`
	UnrealizedPnL decimal.Decimal `json:"unrealizedPnl"`
}

// Balance is the account snapshot.
type Balance struct {
	Currency    string          `json:"currency"`
	Cash        decimal.Decimal `json:"cash"`
	Equity      decimal.Decimal `json:"equity"` // cash + market value of positions
	BuyingPower decimal.Decimal `json:"buyingPower"`
	// LastEquity is the equity at the previous session close (daily P&L base).
	LastEquity decimal.Decimal `json:"lastEquity"`
}

// Clock is the market status for one asset class at one broker.
type Clock struct {
	IsOpen    bool      `json:"isOpen"`
	Now       time.Time `json:"now"`
	NextOpen  time.Time `json:"nextOpen"`
	NextClose time.Time `json:"nextClose"`
}
