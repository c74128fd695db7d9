package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// WSTicket is a single-use, short-lived ticket that opens one WebSocket
// (/ws?ticket=…) so that access tokens stay out of URLs and access logs.
// Only the SHA-256 hex of the ticket is stored; redeeming deletes the row.
type WSTicket struct {
	TokenHash       string    `gorm:"primaryKey;size:64"`
	UserID          string    `gorm:"size:36;not null;index"`
	SessionID       string    `gorm:"size:36;not null"`
	AccessExpiresAt time.Time `gorm:"not null"` // the socket's authorization ends with the access token it was issued under
	ExpiresAt       time.Time `gorm:"not null;index"`
	CreatedAt       time.Time `gorm:"not null"`
}

// PortfolioBalance is the last balance synced from one broker connection.
type PortfolioBalance struct {
	BrokerConnectionID string          `gorm:"primaryKey;size:36"`
	UserID             string          `gorm:"size:36;not null;index"`
	Cash               decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Equity             decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	BuyingPower        decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Currency           string          `gorm:"size:8;not null"`
	UpdatedAt          time.Time       `gorm:"not null;autoUpdateTime:false"`
}

// EquityPoint is one point of a connection's equity curve (written by the
// portfolio sync at most every few minutes).
type EquityPoint struct {
	ID                 int64           `gorm:"primaryKey;autoIncrement"`
	UserID             string          `gorm:"size:36;not null;index:ix_equity_user_time,priority:1"`
	BrokerConnectionID string          `gorm:"size:36;not null"`
	Equity             decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	Cash               decimal.Decimal `gorm:"type:numeric(38,18);not null"`
	At                 time.Time       `gorm:"not null;index:ix_equity_user_time,priority:2"`
}
