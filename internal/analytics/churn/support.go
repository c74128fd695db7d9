package churn

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

// ActionSupportContactRecorded audits a support contact (in the staff
// member's chain).
const ActionSupportContactRecorded = "SUPPORT_CONTACT_RECORDED"

// Support contact channels.
var supportChannels = map[string]bool{"email": true, "chat": true, "phone": true}

// ContactError names the field of a support contact that is not valid.
type ContactError struct{ Field, Message string }

func (e *ContactError) Error() string { return "churn: support contact: " + e.Field + ": " + e.Message }

// ErrUnknownTrader: the contact names no trader.
var ErrUnknownTrader = errors.New("churn: support contact: unknown trader")

// Contact is a support contact to record.
type Contact struct {
	UserID  string `json:"userId"`
	Channel string `json:"channel"` // email | chat | phone
	Summary string `json:"summary"` // ≤ 500 characters, no secrets
}

// RecordContact stores a contact staff had with a trader and audits it,
// in tx; it returns the contact's id.
func RecordContact(tx *gorm.DB, c Contact, staffID string, now time.Time) (string, error) {
	if !supportChannels[c.Channel] {
		return "", &ContactError{"channel", "channel must be email, chat or phone."}
	}
	if len(c.Summary) > 500 {
		return "", &ContactError{"summary", "summary must be at most 500 characters."}
	}
	var n int64
	if err := tx.Model(&schema.User{}).Where("id = ? AND role = ?", c.UserID, "trader").Count(&n).Error; err != nil {
		return "", err
	}
	if n == 0 {
		return "", ErrUnknownTrader
	}
	row := schema.SupportContact{ID: uuid.NewString(), UserID: c.UserID, StaffID: staffID, Channel: c.Channel,
		Summary: strings.TrimSpace(c.Summary), ContactedAt: now.UTC()}
	if err := tx.Create(&row).Error; err != nil {
		return "", err
	}
	_, err := audit.Append(tx, audit.Entry{UserID: staffID, Action: ActionSupportContactRecorded, ResourceType: "User",
		ResourceID: c.UserID, Details: map[string]any{"contactId": row.ID, "channel": c.Channel}})
	return row.ID, err
}

// SupportContacts90 counts each trader's support contacts in the 90 days
// before at (FR-043's support_tickets_count).
func SupportContacts90(tx *gorm.DB, userIDs []string, at time.Time) (map[string]int, error) {
	var rows []struct {
		UserID string
		N      int
	}
	if err := tx.Model(&schema.SupportContact{}).Select("user_id, COUNT(*) AS n").
		Where("user_id IN ? AND contacted_at > ? AND contacted_at <= ?", userIDs, at.Add(-90*24*time.Hour), at).
		Group("user_id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, nil
}
