package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// Copy trading (issue 17, SPEC US-011; DESIGN §8 "Copy trading").

// CopyLeader is a trader's copy-trading profile: AllowCopy opts in to being
// followed; Visibility (public | followers | private) decides who sees the
// profile: public to everyone (and listed in search), followers to the
// leader's followers only, private to nobody but the leader. A trader
// without a row does not allow copying and is private.
type CopyLeader struct {
	UserID      string    `gorm:"primaryKey;size:36"`
	AllowCopy   bool      `gorm:"not null"`
	Visibility  string    `gorm:"size:16;not null;index:idx_copy_leaders_visibility"`
	DisplayName string    `gorm:"size:100;not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

// CopyFollow is a follower's subscription to a leader. SizingMode:
// proportional (the leader's fill value as a share of the leader's equity,
// applied to the follower's equity), multiplier (the leader's quantity ×
// Multiplier) or fixed_amount (every entry worth FixedAmount). MaxPosition
// caps the value of one copied position (0: none); LossLimit is the copy
// loss (realized + unrealized on copied positions) at which copying pauses
// (0: none). Status: active | paused (loss limit; StatusReason says why) |
// stopped (unfollowed) | pending (a followers-only leader's approval
// awaited, migration 0038) | denied (the leader declined).
type CopyFollow struct {
	ID           string          `gorm:"primaryKey;size:36"`
	FollowerID   string          `gorm:"size:36;not null;uniqueIndex:ux_copy_follow,priority:1;index:ix_copy_follows_leader,priority:3"`
	LeaderID     string          `gorm:"size:36;not null;uniqueIndex:ux_copy_follow,priority:2;index:ix_copy_follows_leader,priority:1"`
	SizingMode   string          `gorm:"size:16;not null"`
	Multiplier   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	FixedAmount  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	MaxPosition  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	LossLimit    decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Status       string          `gorm:"size:16;not null;index:ix_copy_follows_leader,priority:2"`
	StatusReason string          `gorm:"size:300;not null"`
	CreatedAt    time.Time       `gorm:"not null"`
	UpdatedAt    time.Time       `gorm:"not null"`
}

// CopyFill is one fill of a leader, recorded in the transaction that records
// the fill and unique by FillID ("trade:<trade id>", "stop:<stop id>:<version>"):
// the outbox row its copy SignalWorkflow (id signal/copy/<FillID>) fans out.
// Kind: entry | add | exit | close | take_profit | stop. ExitFraction is the
// share of the leader's position an exit closed (1 for a full exit).
type CopyFill struct {
	ID             string          `gorm:"primaryKey;size:36"`
	FillID         string          `gorm:"size:200;not null;uniqueIndex:ux_copy_fills_fill_id"`
	LeaderID       string          `gorm:"size:36;not null;index:ix_copy_fills_leader,priority:1"`
	TradeID        string          `gorm:"size:36;not null"`
	Kind           string          `gorm:"size:16;not null"`
	Symbol         string          `gorm:"size:32;not null"`
	AssetClass     string          `gorm:"size:8;not null"`
	Side           string          `gorm:"size:4;not null"`
	Quantity       decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Price          decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	LeaderEquity   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	PositionBefore decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	ExitFraction   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Followers      int             `gorm:"not null"`
	Skipped        int             `gorm:"not null"`
	FannedOutAt    *time.Time
	CreatedAt      time.Time `gorm:"not null;index:ix_copy_fills_leader,priority:2"`
}

// CopyOrder is one follower's outcome of one leader fill in one symbol
// (a paused follower gets one close per copied symbol): sent (TradeID is
// the follower's trade), filled (the trade filled; CopyPosition updated) or
// skipped (Reason says why, shown to the follower — never silent).
type CopyOrder struct {
	ID         string          `gorm:"primaryKey;size:36"`
	CopyFillID string          `gorm:"size:36;not null;uniqueIndex:ux_copy_order,priority:1"`
	FollowerID string          `gorm:"size:36;not null;uniqueIndex:ux_copy_order,priority:2;index:ix_copy_orders_follower,priority:1"`
	LeaderID   string          `gorm:"size:36;not null"`
	Symbol     string          `gorm:"size:32;not null;uniqueIndex:ux_copy_order,priority:3"`
	Side       string          `gorm:"size:4;not null"`
	Quantity   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Status     string          `gorm:"size:16;not null"`
	Reason     string          `gorm:"size:300;not null"`
	TradeID    string          `gorm:"size:36;not null;index:ix_copy_orders_trade"`
	// AllocationPct: the order's value as a percent of the follower's
	// account value when it was sized (migration 0039; 0 unknown).
	AllocationPct decimal.Decimal `gorm:"type:numeric(38,18);not null;default:0"`
	CreatedAt     time.Time       `gorm:"not null;index:ix_copy_orders_follower,priority:2"`
}

// CopyPosition is what a follower holds because of a leader in one symbol
// (signed: negative is short), with its average price, the P&L realized by
// closing copied quantity and the last price seen (the copy loss limit).
type CopyPosition struct {
	FollowerID  string          `gorm:"primaryKey;size:36"`
	LeaderID    string          `gorm:"primaryKey;size:36"`
	Symbol      string          `gorm:"primaryKey;size:32"`
	Quantity    decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	AvgPrice    decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	RealizedPnL decimal.Decimal `gorm:"column:realized_pnl;type:numeric(38,18);not null"`
	LastPrice   decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	UpdatedAt   time.Time       `gorm:"not null"`
}

// CopyLeaderPosition is a leader's position in a symbol as copy trading
// counts it (signed), from the leader's fills since opting in: an exit's
// fraction is its quantity over this.
type CopyLeaderPosition struct {
	LeaderID  string          `gorm:"primaryKey;size:36"`
	Symbol    string          `gorm:"primaryKey;size:32"`
	Quantity  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	UpdatedAt time.Time       `gorm:"not null"`
}
