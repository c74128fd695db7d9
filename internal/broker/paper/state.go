package paper

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// AccountState is everything the paper broker knows about one account. A
// Store persists it as one JSON document.
type AccountState struct {
	// Working is true while the account has an order that can still fill.
	// Stores set it on every write. It must stay the first field: GormStore
	// finds accounts with working orders by the JSON prefix {"working":true.
	Working bool `json:"working"`

	ID       string          `json:"id"`
	Currency string          `json:"currency"`
	Cash     decimal.Decimal `json:"cash"`
	// DayStartEquity is the equity when the UTC day Day began for this
	// account (taken on the first access of a new UTC day); it is reported
	// as Balance.LastEquity, the base of daily P&L.
	DayStartEquity decimal.Decimal `json:"dayStartEquity"`
	Day            string          `json:"day"` // YYYY-MM-DD, UTC

	Positions map[string]PositionState `json:"positions"` // by symbol
	Orders    []OrderState             `json:"orders"`    // submission order
	// OrdersCreated counts every order ever created on the account; it is
	// not reduced when old orders are pruned.
	OrdersCreated int64 `json:"ordersCreated"`

	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// PositionState is an open position. Quantity is negative for a short.
type PositionState struct {
	Symbol        string            `json:"symbol"`
	AssetClass    signal.AssetClass `json:"assetClass"`
	Quantity      decimal.Decimal   `json:"quantity"`
	AvgEntryPrice decimal.Decimal   `json:"avgEntryPrice"`
	// LastPrice is the last price the position was marked at; it values the
	// position when the feed has no price.
	LastPrice decimal.Decimal `json:"lastPrice"`
}

// OrderState is an order with the matching state the public broker.Order
// does not carry. For a trailing stop, Order.StopPrice is the current trigger
// level.
type OrderState struct {
	broker.Order
	AssetClass    signal.AssetClass  `json:"assetClass"`
	TimeInForce   broker.TimeInForce `json:"timeInForce"`
	ExtendedHours bool               `json:"extendedHours"`
	TrailPercent  decimal.Decimal    `json:"trailPercent"`
	// Watermark is the highest price seen by a trailing sell (lowest for a
	// trailing buy) since submission.
	Watermark decimal.Decimal `json:"watermark"`
	// Triggered is set once a stop, stop-limit or trailing stop has been
	// triggered.
	Triggered bool `json:"triggered"`
	// ReduceOnly marks an order that closes (part of) a position: a sell
	// while long or a buy while short. It never fills past flat.
	ReduceOnly bool `json:"reduceOnly"`
	// RefPrice is the feed price at submission; it values the order's
	// reservation when the feed has no price.
	RefPrice decimal.Decimal `json:"refPrice"`
	// ExpiresAt ends a day order (zero: good till cancelled).
	ExpiresAt time.Time `json:"expiresAt"`
	// PairID groups the two legs of an exit pair (exitpair.go): when one
	// leg fills, the matching pass cancels the other.
	PairID string `json:"pairId,omitempty"`
	// PairClientID is the pair's client order id (each leg has its own).
	PairClientID string `json:"pairClientId,omitempty"`
	// PairLeg is "take_profit" or "stop_loss".
	PairLeg string `json:"pairLeg,omitempty"`
}

// Remaining is the quantity still to fill.
func (o *OrderState) Remaining() decimal.Decimal {
	return o.Quantity.Sub(o.FilledQuantity)
}

func (o *OrderState) isStopType() bool {
	switch o.Type {
	case signal.OrderStop, signal.OrderStopLimit, signal.OrderTrailingStop:
		return true
	}
	return false
}

// hasLimit reports whether the order fills only at its limit price or better
// (a stop-limit once triggered).
func (o *OrderState) hasLimit() bool {
	return o.Type == signal.OrderLimit || o.Type == signal.OrderStopLimit
}

// HasWorkingOrders reports whether any order can still fill.
func (s *AccountState) HasWorkingOrders() bool {
	for i := range s.Orders {
		if !s.Orders[i].Status.Terminal() {
			return true
		}
	}
	return false
}

func (s *AccountState) orderByID(id string) *OrderState {
	for i := range s.Orders {
		if s.Orders[i].ID == id {
			return &s.Orders[i]
		}
	}
	return nil
}

func (s *AccountState) orderByClientID(clientID string) *OrderState {
	for i := range s.Orders {
		if s.Orders[i].ClientOrderID == clientID {
			return &s.Orders[i]
		}
	}
	return nil
}

// Clone returns a deep copy.
func (s AccountState) Clone() AccountState {
	s.Positions = maps.Clone(s.Positions)
	if s.Positions == nil {
		s.Positions = map[string]PositionState{}
	}
	s.Orders = slices.Clone(s.Orders)
	return s
}

// encodeState serialises an account for a Store, setting Working.
func encodeState(s *AccountState) ([]byte, error) {
	s.Working = s.HasWorkingOrders()
	return json.Marshal(s)
}

// decodeState parses a stored account.
func decodeState(b []byte) (AccountState, error) {
	var s AccountState
	if err := json.Unmarshal(b, &s); err != nil {
		return AccountState{}, err
	}
	if s.Positions == nil {
		s.Positions = map[string]PositionState{}
	}
	return s, nil
}
