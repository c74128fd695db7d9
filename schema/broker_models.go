package schema

import "time"

// SchwabOrderClaim records which Schwab order belongs to which client order
// id: Schwab orders carry none, so the adapter claims each order it places
// or recognises (internal/broker/schwab ClaimStore). Unique on (account,
// order) and on (account, client order id), so two worker processes can
// never give one order two owners nor one client order id two orders.
type SchwabOrderClaim struct {
	ID            int64     `gorm:"primaryKey;autoIncrement"`
	Account       string    `gorm:"size:128;not null;uniqueIndex:ux_schwab_claim_order,priority:1;uniqueIndex:ux_schwab_claim_client,priority:1"` // account hash
	OrderID       string    `gorm:"size:64;not null;uniqueIndex:ux_schwab_claim_order,priority:2"`
	ClientOrderID string    `gorm:"size:64;not null;uniqueIndex:ux_schwab_claim_client,priority:2"`
	CreatedAt     time.Time `gorm:"not null;index"`
}

// BrokerOAuthState is one pending broker authorization (Schwab's OAuth
// consent). The state parameter sent to the broker is stored as SHA-256 hex;
// it is single-use and expires after a few minutes. Options is vault
// ciphertext (bound to the user and this row) of what the trader chose
// before leaving, e.g. the account number.
type BrokerOAuthState struct {
	ID           string `gorm:"primaryKey;size:36"`
	StateHash    string `gorm:"uniqueIndex;size:64;not null"`
	UserID       string `gorm:"index;size:36;not null"`
	Broker       string `gorm:"size:16;not null"`
	ConnectionID string `gorm:"size:36"` // connection to re-authorize; empty for a new one
	Label        string `gorm:"size:100"`
	Options      []byte
	KeyVersion   int       `gorm:"not null;default:0"`
	CreatedAt    time.Time `gorm:"not null"`
	ExpiresAt    time.Time `gorm:"not null;index"`
	UsedAt       *time.Time
}

// TableName keeps "OAuth" one word.
func (BrokerOAuthState) TableName() string { return "broker_oauth_states" }

// BrokerRateLimit is one broker rate budget shared by every process
// (internal/broker/ratelimit/dblimit): an exchange IP's request weight or an
// account's order count. Slots holds the units taken per time slot of the
// sliding window ("slot=units,..."), SlotMs the slot length; WaitUntilMs is
// a broker's Retry-After, BannedUntilMs an IP ban (HTTP 418), both unix ms.
// Rows are locked while a reservation reads and writes them.
type BrokerRateLimit struct {
	LimitKey      string    `gorm:"primaryKey;size:160"`
	SlotMs        int64     `gorm:"not null;default:0"`
	Slots         string    `gorm:"type:text;not null;default:''"`
	WaitUntilMs   int64     `gorm:"not null;default:0"`
	BannedUntilMs int64     `gorm:"not null;default:0"`
	BanReason     string    `gorm:"size:300;not null;default:''"`
	UpdatedAt     time.Time `gorm:"not null;index:idx_broker_rate_limits_updated"`
}
