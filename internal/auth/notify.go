package auth

import (
	"fmt"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
)

// EventSecurityNotice is the real-time event that tells a user about their
// account's security ("New login detected from …").
const EventSecurityNotice = "security.notice"

// Audit actions added by this package (the others are in internal/audit).
const (
	ActionUserRegistered = "USER_REGISTERED"
	// ActionSecurityAlert: a pattern the security team must look at, e.g.
	// more than 5 failed logins for one account in 10 minutes (FR-059).
	ActionSecurityAlert = "SECURITY_ALERT"
	// ActionSessionRevoked: a session ended other than by logout (password
	// change, administrator).
	ActionSessionRevoked = "SESSION_REVOKED"
)

// Notice kinds.
const (
	NoticeNewLogin      = "new_login"
	NoticeSessionEnded  = "session_ended"
	NoticePasswordReset = "password_changed"
)

// Notice is a message to a user about their account.
type Notice struct {
	Kind    string    `json:"kind"`
	Message string    `json:"message"`
	IP      string    `json:"ipAddress,omitempty"`
	At      time.Time `json:"at"`
}

// The words of every notice, in one place.
func noticeNewLogin(c Client) string {
	return "New login detected from " + c.Describe() + ". If this wasn't you, change your password now."
}

func noticeBindingChanged(c Client) string {
	return "New login detected from " + c.Describe() + " using your session. We signed that session out; " +
		"sign in again to continue. If this wasn't you, change your password."
}

func noticeRefreshReused(c Client) string {
	return "Your session was signed out because one of its sign-in tokens was used twice (last from " + c.Describe() +
		"), which happens when a token is stolen. Sign in again; if this wasn't you, change your password."
}

func noticePasswordChanged(c Client) string {
	return "Your password was changed from " + c.Describe() + ". Your other sessions were signed out. " +
		"If this wasn't you, contact support immediately."
}

// Notifier delivers a notice to a user inside the transaction of the event
// it reports, so both commit together.
type Notifier interface {
	Notify(tx *gorm.DB, userID string, n Notice) error
}

// OutboxNotifier writes notices as security.notice events to the user's
// real-time outbox (the dashboard shows them; the bot may DM them).
type OutboxNotifier struct{}

// Notify implements Notifier.
func (OutboxNotifier) Notify(tx *gorm.DB, userID string, n Notice) error {
	_, err := realtime.AppendEvent(tx, userID, EventSecurityNotice, n)
	return err
}

// SecurityAlert is a pattern for the security team (FR-059).
type SecurityAlert struct {
	Kind      string // e.g. "failed_logins"
	UserID    string // the account concerned, "" if unknown
	EmailHash string
	Count     int
	Window    time.Duration
	IPs       []string
}

// AlertSink raises security alerts inside the caller's transaction.
type AlertSink interface {
	Alert(tx *gorm.DB, a SecurityAlert) error
}

// LogAlertSink records an alert as a SECURITY_ALERT audit entry (on the
// account's chain, or the system chain) and logs it at error level with
// security_alert=true, which the log pipeline pages on.
type LogAlertSink struct{ Log *zap.Logger }

// Alert implements AlertSink.
func (l LogAlertSink) Alert(tx *gorm.DB, a SecurityAlert) error {
	user := a.UserID
	if user == "" {
		user = audit.SystemUserID
	}
	_, err := audit.Append(tx, audit.Entry{UserID: user, Action: ActionSecurityAlert, ResourceType: "User", ResourceID: a.UserID,
		Status: audit.StatusFailure, ErrorMessage: fmt.Sprintf("%d failed logins in %s", a.Count, a.Window),
		Details: map[string]any{"kind": a.Kind, "count": a.Count, "window_seconds": int(a.Window.Seconds()),
			"email_sha256": a.EmailHash, "ip_addresses": a.IPs}})
	if err != nil {
		return err
	}
	if l.Log != nil {
		l.Log.Error("security alert", zap.Bool("security_alert", true), zap.String("kind", a.Kind),
			zap.String("user_id", a.UserID), zap.Int("count", a.Count), zap.Duration("window", a.Window),
			zap.Strings("ip_addresses", a.IPs))
	}
	return nil
}
