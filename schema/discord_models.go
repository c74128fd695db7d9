package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// DiscordSource is a Discord channel registered as a signal source. Only
// messages of its authorized authors (DiscordSourceAuthor) are signals.
// A source registered with /tradeexec register is active at once (Discord
// attests the admin's permissions); one registered on the dashboard is
// pending until the bot has verified that the registrant administers the
// guild.
type DiscordSource struct {
	ID        string `gorm:"primaryKey;size:36"`
	GuildID   string `gorm:"size:32;not null;index"`
	ChannelID string `gorm:"size:32;not null;uniqueIndex"`
	Name      string `gorm:"size:100;not null"`
	// OwnerUserID is the trader who registered the source (the provider).
	OwnerUserID string `gorm:"size:36;not null;index"`
	// ParseMode: strict (the /buy command grammar) | freeform (the layout
	// signal providers post: "BTC/USDT LONG Entry 42000 SL 41000 TP1 43000").
	ParseMode string `gorm:"size:16;not null"`
	// MaxAgeSeconds: a message older than this when received is not
	// executed; 0 means the bot's default (60 s).
	MaxAgeSeconds int `gorm:"not null;default:0"`
	// SummaryReplies: reply "Executed for N followers, M skipped" under
	// each signal.
	SummaryReplies bool `gorm:"not null"`
	// Status: pending | active | paused | rejected.
	Status       string `gorm:"size:16;not null;index"`
	StatusReason string `gorm:"size:300;not null;default:''"`
	// RegisteredByDiscordID is the Discord account that registered it.
	RegisteredByDiscordID string `gorm:"size:32;not null"`
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

// DiscordSourceAuthor is one Discord user or role allowed to post signals
// in a source.
type DiscordSourceAuthor struct {
	ID        string `gorm:"primaryKey;size:36"`
	SourceID  string `gorm:"size:36;not null;uniqueIndex:ux_source_author,priority:1"`
	Kind      string `gorm:"size:8;not null;uniqueIndex:ux_source_author,priority:2"` // user | role
	DiscordID string `gorm:"size:32;not null;uniqueIndex:ux_source_author,priority:3"`
	CreatedAt time.Time
}

// SourceSubscription is a trader following a signal source, with the
// sizing of the trader's copy of every signal.
type SourceSubscription struct {
	ID       string `gorm:"primaryKey;size:36"`
	SourceID string `gorm:"size:36;not null;uniqueIndex:ux_source_subscription,priority:1"`
	UserID   string `gorm:"size:36;not null;uniqueIndex:ux_source_subscription,priority:2;index"`
	// SizingMode: multiplier (the provider's size × Multiplier) |
	// fixed_amount (every entry is worth FixedAmount dollars).
	SizingMode  string          `gorm:"size:16;not null"`
	Multiplier  decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	FixedAmount decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	// Shadow routes this subscription's orders to the trader's paper
	// account only.
	Shadow bool `gorm:"not null;default:false"`
	// RequireApproval overrides the trader's approval setting for this
	// channel; nil follows it.
	RequireApproval *bool
	// LadderStop overrides the trader's stop move after a take-profit
	// ladder's leg (none, breakeven, trail); nil follows it.
	LadderStop *string `gorm:"size:16"`
	Active     bool    `gorm:"not null"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NotificationPreference says which Discord DMs a trader receives; a trader
// without a row receives all of them. (Boolean fields carry no GORM
// default tag, so an explicit false is written, not the column default.)
type NotificationPreference struct {
	UserID    string `gorm:"primaryKey;size:36"`
	Fills     bool   `gorm:"not null"`
	Rejects   bool   `gorm:"not null"`
	Queued    bool   `gorm:"not null"`
	StopLoss  bool   `gorm:"not null"`
	RiskLocks bool   `gorm:"not null"`
	UpdatedAt time.Time
}

// DiscordMessage logs a message of an authorized author in a registered
// channel: what the bot made of it, and later edits or deletion (which
// never change orders).
type DiscordMessage struct {
	ID        string `gorm:"primaryKey;size:36"`
	MessageID string `gorm:"size:32;not null;uniqueIndex"`
	SourceID  string `gorm:"size:36;not null;index:ix_discord_message_source,priority:1"`
	GuildID   string `gorm:"size:32;not null"`
	ChannelID string `gorm:"size:32;not null"`
	AuthorID  string `gorm:"size:32;not null"`
	Content   string `gorm:"type:text;not null"`
	// Status: fired | refused | stale.
	Status     string    `gorm:"size:16;not null"`
	Reason     string    `gorm:"type:text;not null"`
	WorkflowID string    `gorm:"size:200;not null;default:''"`
	PostedAt   time.Time `gorm:"not null;index:ix_discord_message_source,priority:2"` // from the snowflake
	ReceivedAt time.Time `gorm:"not null"`
	// Followers and Skipped are filled in when the fan-out has finished.
	Followers     int `gorm:"not null;default:0"`
	Skipped       int `gorm:"not null;default:0"`
	EditedAt      *time.Time
	EditedContent string `gorm:"type:text;not null"`
	DeletedAt     *time.Time
}

// DiscordNotification is one outgoing Discord message (a DM to a trader or
// a reply in a source channel), queued by the worker or the bot and sent by
// the bot's dispatcher. DedupeKey makes queueing idempotent.
type DiscordNotification struct {
	ID        string `gorm:"primaryKey;size:36"`
	DedupeKey string `gorm:"size:200;not null;uniqueIndex"`
	// Kind: fill | reject | queued | stop_loss | risk_lock | skipped | summary.
	Kind string `gorm:"size:16;not null"`
	// UserID is the recipient of a DM; ChannelID (+ ReplyTo) the target of a
	// channel message. Exactly one is set.
	UserID    string `gorm:"size:36;not null;default:'';index"`
	ChannelID string `gorm:"size:32;not null;default:''"`
	ReplyTo   string `gorm:"size:32;not null;default:''"`
	Content   string `gorm:"type:text;not null"`
	// Status: pending | sending | sent | undeliverable | failed.
	Status      string    `gorm:"size:16;not null;index:ix_discord_notification_due,priority:1"`
	NextAttempt time.Time `gorm:"not null;index:ix_discord_notification_due,priority:2"`
	Attempts    int       `gorm:"not null;default:0"`
	Error       string    `gorm:"size:300;not null;default:''"`
	CreatedAt   time.Time
	SentAt      *time.Time
}

// DiscordCursor is a named position of the bot in a stream, e.g. how far
// the outbox has been turned into notifications (Unix milliseconds).
type DiscordCursor struct {
	Name      string `gorm:"primaryKey;size:32"`
	Position  int64  `gorm:"not null"`
	UpdatedAt time.Time
}
