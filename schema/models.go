// Package schema holds the GORM models and the versioned migrations that
// create them on PostgreSQL and SQLite. IDs are UUID strings; timestamps UTC;
// money and quantities are decimal.Decimal stored as NUMERIC/TEXT.
package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// User is a trader, support agent or admin.
type User struct {
	ID                      string  `gorm:"primaryKey;size:36"`
	Email                   *string `gorm:"uniqueIndex;size:320"`
	DiscordID               *string `gorm:"uniqueIndex;size:64"`
	DisplayName             string  `gorm:"size:100"`
	PasswordHash            string  `gorm:"size:200"`
	Role                    string  `gorm:"size:16;not null;default:trader"` // trader | support | admin
	SubscriptionTier        string  `gorm:"size:16;not null;default:free"`   // free | basic | pro | premium
	SubscriptionStatus      string  `gorm:"size:16;not null;default:active"` // active | past_due | cancelled | trial
	SubscriptionRenewalDate *time.Time
	Locked                  bool `gorm:"not null;default:false"` // circuit breaker lock; admin unlocks
	// ExposureEpoch increases whenever an order of this user reaches the
	// broker; PrepareOrder re-reads the balance when it changed meanwhile
	// (invariant 2: reservations never double-spend buying power).
	ExposureEpoch int64 `gorm:"not null;default:0"`
	CreatedAt     time.Time
	LastLoginAt   *time.Time
}

// WebhookToken is the per-user secret in the TradingView webhook URL
// (/webhooks/tradingview/{token}); stored as SHA-256 hex.
type WebhookToken struct {
	ID        string `gorm:"primaryKey;size:36"`
	UserID    string `gorm:"index;size:36;not null"`
	TokenHash string `gorm:"uniqueIndex;size:64;not null"`
	// PassphraseHash, when set, must match the body's "passphrase" (bcrypt).
	PassphraseHash string `gorm:"size:200"`
	// TradingViewIPsOnly accepts alerts only from TradingView's published
	// source addresses (api/webhook_guard.go).
	TradingViewIPsOnly bool `gorm:"not null;default:false"`
	CreatedAt          time.Time
	RevokedAt          *time.Time
}

// BrokerConnection is a trader's account at one broker. Credentials are
// AES-256-GCM ciphertext (internal/vault) bound to the row id.
type BrokerConnection struct {
	ID              string `gorm:"primaryKey;size:36"`
	UserID          string `gorm:"index;size:36;not null"`
	BrokerType      string `gorm:"size:16;not null"` // paper | alpaca | ibkr | schwab | coinbase | kraken | binance
	Label           string `gorm:"size:100"`
	Paper           bool   `gorm:"not null;default:false"`
	Credentials     []byte // vault ciphertext
	KeyVersion      int    `gorm:"not null;default:0"`
	IsActive        bool   `gorm:"not null;default:true"`
	LastHealthCheck *time.Time
	// HealthStatus: validating (new, being checked), healthy, unhealthy,
	// disconnected (see internal/brokerconn).
	HealthStatus string `gorm:"size:32"`
	// HealthMessage is the trader-facing reason of an unhealthy connection
	// (never a credential); empty when healthy.
	HealthMessage string `gorm:"size:300"`
	// AccountValue is the account's equity at the last successful check, in
	// AccountCurrency.
	AccountValue    decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	AccountCurrency string              `gorm:"size:8"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// RiskSettings are a trader's risk rules (one row per user).
type RiskSettings struct {
	UserID                 string          `gorm:"primaryKey;size:36"`
	MaxPositionPct         decimal.Decimal `gorm:"type:numeric(38,18);not null"` // 10 = 10% of equity
	DailyLossLimitPct      decimal.Decimal `gorm:"type:numeric(38,18);not null"` // 5 = -5%
	DailyLossLimitAmount   decimal.Decimal `gorm:"type:numeric(38,18);not null"` // 0 = unset
	CircuitBreakerPct      decimal.Decimal `gorm:"type:numeric(38,18);not null"` // 8 = -8%
	StopLossPct            decimal.Decimal `gorm:"type:numeric(38,18);not null"` // 2 = -2% long / +2% short
	ExtendedHours          bool            `gorm:"not null;default:false"`
	TrailingStop           bool            `gorm:"not null;default:false"` // stop-loss trails the price
	AllowReversal          bool            `gorm:"not null;default:false"` // buy while short may enter long after the exit
	MaxAlertLagSeconds     int             `gorm:"not null;default:60"`    // older alerts are refused as stale
	RequireApproval        bool            `gorm:"not null;default:false"` // each signal waits for the trader's approval
	ApprovalTimeoutSeconds int             `gorm:"not null;default:300"`   // then it is cancelled
	// LadderStop moves the stop after a take-profit ladder's leg fills:
	// none, breakeven (after TP1, BreakevenOffsetPct beyond the entry) or
	// trail (after TP TrailAfterTarget, at LadderTrailPct).
	LadderStop         string          `gorm:"size:16;not null;default:'none'"`
	BreakevenOffsetPct decimal.Decimal `gorm:"type:numeric(38,18);not null;default:0"`
	TrailAfterTarget   int             `gorm:"not null;default:1"`
	LadderTrailPct     decimal.Decimal `gorm:"type:numeric(38,18);not null;default:1"`
	// EntryStrategy shares a multi-entry signal's position among its limit
	// entries: even, decreasing or increasing (risk.EntryShares).
	EntryStrategy           string  `gorm:"size:16;not null;default:'even'"`
	DefaultStockConnection  *string `gorm:"size:36"`
	DefaultCryptoConnection *string `gorm:"size:36"`
	UpdatedAt               time.Time
}

// Signal is one received signal; (Source, ExternalID) is unique so a
// duplicate delivery maps to the same row and the same workflow.
type Signal struct {
	ID         string `gorm:"primaryKey;size:36"`
	Source     string `gorm:"size:16;not null;uniqueIndex:ux_signal_source_ext"`
	ExternalID string `gorm:"size:200;not null;uniqueIndex:ux_signal_source_ext"`
	UserID     string `gorm:"index;size:36"` // owner (webhook, dashboard) or provider (discord)
	Symbol     string `gorm:"size:32"`
	Payload    string `gorm:"type:text"` // the parsed signal.Signal as JSON
	Text       string `gorm:"type:text"`
	ReceivedAt time.Time
	WorkflowID string `gorm:"size:200"`
}

// Trade is one order for one trader from one signal.
type Trade struct {
	// ReversalEntry: this order exits the whole position and the signal's
	// entry follows once it has filled in full (TradersPost's reversal).
	ReversalEntry bool `gorm:"not null;default:false"`
	// ApprovedAt: the trader approved the signal (approval mode).
	ApprovedAt *time.Time
	// TakeProfitPrice is the trade's take-profit target; TakeProfitStatus
	// is "" (none), armed, triggered, filled or cancelled;
	// TakeProfitTradeID is the exit that took the profit.
	TakeProfitPrice    decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	TakeProfitStatus   string              `gorm:"size:16;not null;default:''"`
	TakeProfitTradeID  string              `gorm:"size:36;not null;default:''"`
	TakeProfitAttempts int                 `gorm:"not null;default:0"` // exits sent for it (a refused one is retried)
	ID                 string              `gorm:"primaryKey;size:36"`
	SignalID           string              `gorm:"size:36;not null;uniqueIndex:ux_trade_signal_user"`
	UserID             string              `gorm:"size:36;not null;uniqueIndex:ux_trade_signal_user;index:ix_trade_user_created,priority:1"`
	BrokerConnectionID string              `gorm:"size:36"`
	Broker             string              `gorm:"size:16"`
	Source             string              `gorm:"size:16"`
	Symbol             string              `gorm:"size:32;not null"`
	AssetClass         string              `gorm:"size:8;not null"`
	Side               string              `gorm:"size:4;not null"`
	OrderType          string              `gorm:"size:16;not null"`
	RequestedQuantity  decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	Quantity           decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	LimitPrice         decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	StopPrice          decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	// Status: pending, queued, submitted, partial_fill, filled, rejected, cancelled.
	Status          string              `gorm:"size:16;not null;index"`
	ClientOrderID   string              `gorm:"size:64;uniqueIndex:idx_trades_client_order_id,where:client_order_id <> ''"` // unique once assigned
	BrokerOrderID   string              `gorm:"size:128"`
	FilledQuantity  decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	FillPrice       decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	StopLossPrice   decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	StopLossOrderID string              `gorm:"size:128"`
	// ReservedNotional is exposure held for this trade between PrepareOrder
	// and the broker's acknowledgement (invariant 2); zero once released.
	ReservedNotional decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	SizingNote       string          `gorm:"type:text"`
	ErrorMessage     string          `gorm:"type:text"`
	QueuedUntil      *time.Time
	SubmittedAt      *time.Time
	FilledAt         *time.Time
	WorkflowID       string    `gorm:"size:200"`
	CreatedAt        time.Time `gorm:"index:ix_trade_user_created,priority:2"`
	UpdatedAt        time.Time

	// TakeProfitMode is "native" (placed with the stop as the broker's
	// one-cancels-other pair TakeProfitPairID, its take-profit leg
	// TakeProfitOrderID, its stop leg in TakeProfitStopStatus: working,
	// filled or cancelled) or "emulated" (watched server-side); "" before.
	TakeProfitMode       string `gorm:"size:16;not null;default:''"`
	TakeProfitOrderID    string `gorm:"size:128;not null;default:''"`
	TakeProfitPairID     string `gorm:"size:128;not null;default:''"`
	TakeProfitStopStatus string `gorm:"size:16;not null;default:''"`
}

// Position is the trader's position as last synced from the broker.
type Position struct {
	ID                 string              `gorm:"primaryKey;size:36"`
	UserID             string              `gorm:"size:36;not null;uniqueIndex:ux_position_conn_symbol,priority:1"`
	BrokerConnectionID string              `gorm:"size:36;not null;uniqueIndex:ux_position_conn_symbol,priority:2"`
	Symbol             string              `gorm:"size:32;not null;uniqueIndex:ux_position_conn_symbol,priority:3"`
	Quantity           decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	AverageEntryPrice  decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	CurrentPrice       decimal.Decimal     `gorm:"type:numeric(38,18);not null"`
	UnrealizedPnL      decimal.Decimal     `gorm:"column:unrealized_pnl;type:numeric(38,18);not null"`
	StopLossPrice      decimal.NullDecimal `gorm:"type:numeric(38,18)"`
	OpenedAt           time.Time
	ClosedAt           *time.Time
	UpdatedAt          time.Time
}

// AuditLog is one entry of a per-user hash chain (FR-051..FR-056). The table
// refuses UPDATE and DELETE by trigger on both engines.
type AuditLog struct {
	ID           string    `gorm:"primaryKey;size:36;index:ix_audit_logs_timestamp_id,priority:2"`
	Seq          int64     `gorm:"not null;uniqueIndex:ux_audit_user_seq,priority:2"` // position in the user's chain, from 1
	Timestamp    time.Time `gorm:"not null;index;index:ix_audit_logs_timestamp_id,priority:1"`
	UserID       string    `gorm:"size:36;not null;uniqueIndex:ux_audit_user_seq,priority:1"`
	Action       string    `gorm:"size:48;not null;index"`
	ResourceType string    `gorm:"size:32"`
	ResourceID   string    `gorm:"size:64;index"`
	IPAddress    string    `gorm:"size:64"`
	UserAgent    string    `gorm:"size:300"`
	Status       string    `gorm:"size:16"` // success | failure
	ErrorMessage string    `gorm:"type:text"`
	Details      string    `gorm:"type:text"` // JSON object, never a secret
	PreviousHash string    `gorm:"size:64;not null"`
	CurrentHash  string    `gorm:"size:64;not null"`
}

// AuditHead is the tip of one user's audit chain; updating it inside the
// transaction serialises appends per user.
type AuditHead struct {
	UserID   string `gorm:"primaryKey;size:36"`
	LastSeq  int64  `gorm:"not null"`
	LastHash string `gorm:"size:64;not null"`
}

// OutboxEvent is a real-time event for one user, written in the same
// transaction as the change it announces; Seq is gapless per user.
type OutboxEvent struct {
	ID        int64     `gorm:"primaryKey;autoIncrement"`
	UserID    string    `gorm:"size:36;not null;uniqueIndex:ux_outbox_user_seq,priority:1"`
	Seq       int64     `gorm:"not null;uniqueIndex:ux_outbox_user_seq,priority:2"`
	Type      string    `gorm:"size:48;not null"`
	Payload   string    `gorm:"type:text;not null"` // JSON
	CreatedAt time.Time `gorm:"not null;index"`
}

// EventSeq is the per-user outbox sequence counter.
type EventSeq struct {
	UserID  string `gorm:"primaryKey;size:36"`
	LastSeq int64  `gorm:"not null"`
}

// Subscription is a trader's plan at the billing provider.
type Subscription struct {
	ID                            string `gorm:"primaryKey;size:36"`
	UserID                        string `gorm:"index;size:36;not null"`
	Plan                          string `gorm:"size:16;not null"` // free | basic | pro | premium
	Status                        string `gorm:"size:16;not null"` // active | past_due | cancelled | trial
	BillingProvider               string `gorm:"size:16"`          // polar | stripe
	BillingProviderCustomerID     string `gorm:"size:100"`
	BillingProviderSubscriptionID string `gorm:"size:100"`
	CurrentPeriodStart            time.Time
	CurrentPeriodEnd              time.Time
	CancelledAt                   *time.Time
	CreatedAt                     time.Time
	// PriceID is the provider's price of the plan (Stripe price id, Polar
	// product id); the tier is derived from it through the configured map.
	PriceID           string `gorm:"size:100;not null;default:''"`
	CancelAtPeriodEnd bool   `gorm:"not null;default:false"`
	// LastEventAt is the creation time of the newest provider event
	// applied; an older event arriving late changes nothing.
	LastEventAt *time.Time
	// FailedInvoiceID is the unpaid invoice dunning retries, empty when
	// the subscription is paid up.
	FailedInvoiceID string `gorm:"size:100;not null;default:''"`
	UpdatedAt       *time.Time
}

// BillingEvent is one webhook event of a billing provider, stored before
// it is processed (by BillingEventWorkflow) and unique per provider and
// event id, so a redelivery changes nothing.
type BillingEvent struct {
	ID          string `gorm:"primaryKey;size:36"`
	Provider    string `gorm:"size:16;not null"`
	EventID     string `gorm:"size:255;not null"`
	Type        string `gorm:"size:100;not null"`
	Payload     string `gorm:"type:text;not null"` // the normalized event (billing.Event), no card data
	CreatedAt   time.Time
	ReceivedAt  time.Time
	ProcessedAt *time.Time
	// Outcome is what processing decided (billing.Outcome as JSON), kept so
	// a retried step returns the same follow-ups.
	Outcome string `gorm:"type:text;not null;default:''"`
}

// MailOutbox is a mail written in the transaction of the change it tells
// about and sent after commit by the mail relay (internal/mail/outbox.go).
type MailOutbox struct {
	ID        string `gorm:"primaryKey;size:36"`
	UserID    string `gorm:"size:36;not null"`
	Kind      string `gorm:"size:32;not null"`
	Data      string `gorm:"type:text;not null"` // template fields as JSON; the address is read when sending
	CreatedAt time.Time
	NextAt    time.Time
	Attempts  int `gorm:"not null;default:0"`
	SentAt    *time.Time
	LastError string `gorm:"size:300;not null;default:''"`
}

// TableName keeps the table's name singular-free as migrated.
func (MailOutbox) TableName() string { return "mail_outbox" }

// PasswordReset is a single-use password reset token (stored as SHA-256
// hex), valid 30 minutes (FR-029).
type PasswordReset struct {
	TokenHash string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"size:36;not null"`
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// WorkflowStart is the request to start a workflow, written in the
// transaction that accepted its signal and deleted once the workflow exists
// (internal/starts): an accepted signal is never lost to a Temporal outage.
type WorkflowStart struct {
	ID           string `gorm:"primaryKey;size:36"`
	WorkflowID   string `gorm:"size:255;not null;uniqueIndex"`
	WorkflowType string `gorm:"size:64;not null"`
	Kind         string `gorm:"size:16;not null"` // what expires with it: "trade" or "discord"
	RefID        string `gorm:"size:64;not null"` // the trade id, or the Discord message id
	TaskQueue    string `gorm:"size:128;not null"`
	Input        string `gorm:"type:text;not null"` // the workflow's argument as JSON
	Memo         string `gorm:"type:text;not null"`
	SearchAttrs  string `gorm:"type:text;not null"` // keyword search attributes as a JSON object
	CreatedAt    time.Time
	NextAt       time.Time `gorm:"index:idx_workflow_starts_next"`
	ExpiresAt    *time.Time
	Attempts     int    `gorm:"not null;default:0"`
	LastError    string `gorm:"size:300;not null;default:''"`
}
