package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// RiskGuard is the account guard's state for one broker connection
// (workflows.AccountGuardWorkflow): the UTC day's start equity, the most
// severe loss level reached that day and the block it imposes, the last
// balance seen, and the rounds of closing orders sent after a breach.
type RiskGuard struct {
	ConnectionID   string          `gorm:"primaryKey;size:36"`
	UserID         string          `gorm:"size:36;not null;index"`
	Day            string          `gorm:"size:10;not null"` // UTC day of DayStartEquity, "2006-01-02"
	DayStartEquity decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	// Level: ok, warning, limit, circuit_breaker (risk.LossLevel); it only
	// rises within a day.
	Level        string `gorm:"size:16;not null"`
	Message      string `gorm:"type:text"`
	BlockedUntil *time.Time
	Equity       decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Cash         decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	BuyingPower  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	// FlattenRound numbers the attempts to close every position after a
	// breach; it seeds the closing orders' client order ids.
	FlattenRound int64 `gorm:"not null;default:0"`
	// FlattenOrders is a JSON list of the current round's closing orders
	// ({"symbol","orderId"}), cancelled before the next round.
	FlattenOrders string `gorm:"type:text"`
	FlattenedAt   *time.Time
	ObservedAt    time.Time `gorm:"not null"` // last balance read
	UpdatedAt     time.Time `gorm:"not null"`
}

// StopLoss is the one protective stop order of an open position (FR-007):
// placed after the first fill, amended when the position changes, cancelled
// when it closes, placed again when the broker drops it. Version seeds the
// client order id of each placement; a lease serialises the trade path and
// the guard working on the same position.
type StopLoss struct {
	ID           string              `gorm:"primaryKey;size:36"`
	UserID       string              `gorm:"size:36;not null;index"`
	ConnectionID string              `gorm:"size:36;not null;uniqueIndex:ux_stop_conn_symbol,priority:1"`
	Symbol       string              `gorm:"size:32;not null;uniqueIndex:ux_stop_conn_symbol,priority:2"`
	AssetClass   string              `gorm:"size:8;not null"`
	Side         string              `gorm:"size:4;not null"` // the closing side
	Quantity     decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	StopPrice    decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	TrailPercent decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	// Status: active (working at the broker), released (cancelled so an
	// exit can sell the shares), closed (position closed), triggered
	// (executed by the broker).
	Status        string `gorm:"size:16;not null"`
	Version       int64  `gorm:"not null;default:0"`
	OrderID       string `gorm:"size:128"`
	ClientOrderID string `gorm:"size:64"`
	TradeID       string `gorm:"size:36"` // the trade whose fill last set it
	LeaseOwner    string `gorm:"size:200"`
	LeaseUntil    *time.Time
	CreatedAt     time.Time `gorm:"not null"`
	UpdatedAt     time.Time `gorm:"not null"`

	// PairID: the stop is the stop leg (OrderID) of the broker's exit pair
	// PairID (with a take-profit leg); cancelling the stop cancels the pair.
	PairID string `gorm:"size:128;not null;default:''"`
}

// TakeProfitLeg is one leg of a trade's take-profit ladder (DESIGN §8):
// target N of the signal, the quantity it closes (broker steps; zero when
// merged into the leg MergedInto because it would fall below the broker's
// minimum order), its state — armed, triggered (its exit ExitTradeID is
// recorded), filled, cancelled, failed, merged — and the stop move due
// when it fills (StopMove breakeven or trail, done once: StopMovedAt).
type TakeProfitLeg struct {
	ID             string              `gorm:"primaryKey;size:36"`
	TradeID        string              `gorm:"size:36;not null;uniqueIndex:ux_tp_leg_trade_n,priority:1"`
	N              int                 `gorm:"not null;uniqueIndex:ux_tp_leg_trade_n,priority:2"`
	Target         decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	Share          decimal.Decimal     `gorm:"type:numeric(38,18);not null"` // percent the signal asked for
	Quantity       decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	MergedInto     int                 `gorm:"not null;default:0"`
	Status         string              `gorm:"size:16;not null"`
	ExitTradeID    string              `gorm:"size:36;not null;default:''"`
	Attempts       int                 `gorm:"not null;default:0"` // exits sent for it (a refused one is retried)
	FilledQuantity decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	FillPrice      decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	StopMove       string              `gorm:"size:16;not null;default:''"` // breakeven, trail or ""
	StopPrice      decimal.NullDecimal `gorm:"type:numeric(38,18)"`         // breakeven: the new stop
	TrailPercent   decimal.NullDecimal `gorm:"type:numeric(38,18)"`         // trail: its distance
	StopMovedAt    *time.Time
	CreatedAt      time.Time `gorm:"not null"`
	UpdatedAt      time.Time `gorm:"not null"`
}
