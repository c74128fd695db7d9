package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// LeaderboardEntry is one leader's numbers over one window (Period: 7d,
// 30d, 90d), computed from the leader's recorded fills by the
// leaderboard-refresh schedule (internal/leaderboard; DESIGN
// "Leaderboards (issue 17)"). Only opted-in public leaders get rows, and
// the API re-checks the leader's profile when it reads them. Percentages
// are percent (1.5 = 1.5%); Sharpe is the unannualized Sharpe-like ratio of
// daily returns.
type LeaderboardEntry struct {
	Period         string          `gorm:"primaryKey;size:4"`
	LeaderID       string          `gorm:"primaryKey;size:36"`
	DisplayName    string          `gorm:"size:100;not null"`
	StartEquity    decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	RealizedPnL    decimal.Decimal `gorm:"column:realized_pnl;type:numeric(38,18);not null"`
	ReturnPct      decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	WinRatePct     decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	MaxDrawdownPct decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Sharpe         decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Closes         int             `gorm:"not null"`
	Fills          int             `gorm:"not null"`
	Followers      int             `gorm:"not null"`
	// PortfolioValue: the leader's account value at the refresh (migration
	// 0039), the "$250K portfolio" of SPEC US-011 #3.
	PortfolioValue decimal.Decimal `gorm:"type:numeric(38,18);not null;default:0"`
	AsOf           time.Time       `gorm:"not null"`
}
