package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// PerformanceLot is an open FIFO lot of one trader's position on one
// connection and symbol (internal/performance): Side long or short,
// Quantity what is still open, Cost its entry notional (quantity × price,
// for a short the proceeds of the sale). Lots are matched oldest first
// (ID order) and deleted once closed.
type PerformanceLot struct {
	ID                 int64           `gorm:"primaryKey;autoIncrement"`
	UserID             string          `gorm:"size:36;not null"`
	BrokerConnectionID string          `gorm:"size:36;not null"`
	Symbol             string          `gorm:"size:32;not null"`
	Source             string          `gorm:"size:64;not null"` // source key (performance.SourceKey, 0037)
	Side               string          `gorm:"size:5;not null"`
	Quantity           decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Cost               decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	TradeID            string          `gorm:"size:36;not null"`
	OpenedAt           time.Time
}

// PerformanceStat is the running realized-P&L aggregate of one trader for
// one scope: all (ScopeKey ""), source (the source key of the lots
// closed: performance.SourceKey, the individual source since 0037) or symbol. GrossLoss and LargestLoss are ≤ 0; Peak is the
// highest cumulative Realized so far (from 0), MaxDrawdown the largest
// fall from a peak.
type PerformanceStat struct {
	UserID       string          `gorm:"primaryKey;size:36"`
	Scope        string          `gorm:"primaryKey;size:8"`
	ScopeKey     string          `gorm:"primaryKey;size:64"`
	ClosedTrades int64           `gorm:"not null"`
	Wins         int64           `gorm:"not null"`
	Losses       int64           `gorm:"not null"`
	GrossProfit  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	GrossLoss    decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Realized     decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	LargestWin   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	LargestLoss  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Peak         decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	MaxDrawdown  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	SumReturn    decimal.Decimal `gorm:"type:numeric(38,18);not null"` // sum of the closed trades' P&L ÷ cost basis
	UpdatedAt    time.Time
}

// PerformanceClose is one closed trade of a scope: the realized P&L and
// cost basis of an exit (CloseKey: the exit trade's id, or "order:" and the
// connection and broker order id of an executed stop or pair leg) so far;
// a further fill of the same exit revises it (migration 0036).
type PerformanceClose struct {
	UserID   string          `gorm:"primaryKey;size:36"`
	Scope    string          `gorm:"primaryKey;size:8"`
	ScopeKey string          `gorm:"primaryKey;size:64"`
	CloseKey string          `gorm:"primaryKey;size:120"`
	PnL      decimal.Decimal `gorm:"column:pnl;type:numeric(38,18);not null"`
	Cost     decimal.Decimal `gorm:"type:numeric(38,18);not null"`
}

// PerformanceOrder is how much of a broker-executed order without a trade
// row (a stop, a pair's leg) performance has counted, so each path that
// sees it filled records only what is new (migration 0036).
type PerformanceOrder struct {
	UserID         string          `gorm:"primaryKey;size:36"`
	OrderKey       string          `gorm:"primaryKey;size:120"`
	FilledQuantity decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Notional       decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	// What a replay (performance.Backfill) needs to apply it again.
	ConnectionID string `gorm:"size:36;not null"`
	Symbol       string `gorm:"size:32;not null"`
	Side         string `gorm:"size:5;not null"`
	Source       string `gorm:"size:64;not null"`
	TradeID      string `gorm:"size:36;not null"`
	UpdatedAt    time.Time
}

// PerformanceBackfill marks a one-time rebuild of the performance
// aggregates as done (performance.Backfill).
type PerformanceBackfill struct {
	Name   string `gorm:"primaryKey;size:32"`
	DoneAt time.Time
}
