package realtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// TicketTTL is how long a WebSocket ticket may wait to be redeemed.
const TicketTTL = 30 * time.Second

// maxTicketLength: longer ?ticket= values are refused unread.
const maxTicketLength = 128

// ErrTicketInvalid: the ticket is unknown, used already or expired.
var ErrTicketInvalid = errors.New("realtime: invalid or expired ticket")

// Ticket is an issued WebSocket ticket.
type Ticket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Grant is what a redeemed ticket authorizes.
type Grant struct {
	UserID    string
	SessionID string
	// ExpiresAt is the expiry of the access token the ticket was issued
	// under: the socket must be re-authorized before it.
	ExpiresAt time.Time
}

// IssueTicket stores a single-use ticket (256 random bits, stored as
// SHA-256 hex) for the session of a verified access token; it opens one
// WebSocket within TicketTTL on any replica.
func IssueTicket(ctx context.Context, db *gorm.DB, g Grant, now time.Time) (Ticket, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Ticket{}, err
	}
	t := base64.RawURLEncoding.EncodeToString(raw)
	now = now.UTC()
	row := schema.WSTicket{TokenHash: hashTicket(t), UserID: g.UserID, SessionID: g.SessionID,
		AccessExpiresAt: g.ExpiresAt.UTC(), ExpiresAt: now.Add(TicketTTL), CreatedAt: now}
	if err := store.InTx(ctx, db, func(tx *gorm.DB) error { return tx.Create(&row).Error }); err != nil {
		return Ticket{}, fmt.Errorf("realtime: store ticket: %w", err)
	}
	return Ticket{Ticket: t, ExpiresAt: row.ExpiresAt}, nil
}

// RedeemTicket consumes a ticket: exactly one redemption succeeds, across
// replicas. The session must still be alive.
func RedeemTicket(ctx context.Context, db *gorm.DB, ticket string, now time.Time) (Grant, error) {
	if ticket == "" || len(ticket) > maxTicketLength {
		return Grant{}, ErrTicketInvalid
	}
	now = now.UTC()
	h := hashTicket(ticket)
	var row schema.WSTicket
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("token_hash = ?", h).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrTicketInvalid
			}
			return err
		}
		res := tx.Where("token_hash = ?", h).Delete(&schema.WSTicket{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrTicketInvalid
		}
		return nil
	})
	if err != nil {
		return Grant{}, err
	}
	if !now.Before(row.ExpiresAt) || !now.Before(row.AccessExpiresAt) {
		return Grant{}, ErrTicketInvalid
	}
	var n int64
	if err := db.WithContext(ctx).Model(&schema.Session{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", row.SessionID, row.UserID, now).
		Count(&n).Error; err != nil {
		return Grant{}, err
	}
	if n != 1 {
		return Grant{}, ErrTicketInvalid
	}
	return Grant{UserID: row.UserID, SessionID: row.SessionID, ExpiresAt: row.AccessExpiresAt}, nil
}

func hashTicket(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}
