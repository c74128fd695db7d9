package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Abuse limits of the TradingView webhook (issue 13 #2), in the order a
// delivery meets them:
//  1. An IP that sent WebhookUnknownPerIP unknown URLs within a minute is
//     refused before any database query.
//  2. A URL may be limited to TradingView's published source addresses.
//  3. Each URL takes at most 60 alerts a minute and 500 an hour — the
//     limits TradersPost publishes for its webhooks — per api process.
//  4. The passphrase is checked before anything about the body is
//     answered; WebhookPassphraseLockout wrong passphrases within 15
//     minutes lock the URL for 15 minutes (audited, the owner told).
//  5. Then the body is parsed; an alert whose "time" is older (or further
//     ahead) than the trader's stale-alert limit (Settings → Risk,
//     maxAlertLagSeconds, default 60, at most ReplayWindow) is refused as
//     stale, and a body without an "id" seen already within ReplayWindow
//     is a duplicate.
const (
	WebhookPerMinute         = 60
	WebhookPerHour           = 500
	WebhookUnknownPerIP      = 20
	WebhookPassphraseLockout = 10
	webhookLockWindow        = 15 * time.Minute
	// ReplayWindow: an identical body without an id within it is a
	// duplicate (a replay), answered as such, not traded again.
	ReplayWindow = 10 * time.Minute

	ActionWebhookPassphraseFailed = "WEBHOOK_PASSPHRASE_FAILED"
	ActionWebhookLocked           = "WEBHOOK_LOCKED"
)

// TradingViewSourceIPs are the addresses TradingView sends webhooks from
// (published at tradingview.com/support/solutions/43000529348).
var TradingViewSourceIPs = []string{"52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"}

// webhookGuard holds the per-process buckets.
type webhookGuard struct {
	unknown   *ipLimiter // unknown URLs per client network
	perMinute *ipLimiter // per webhook id
	perHour   *ipLimiter
}

func newWebhookGuard(now func() time.Time) *webhookGuard {
	return &webhookGuard{
		unknown:   newIPLimiter("webhook-unknown", Limit{WebhookUnknownPerIP, time.Minute}, now),
		perMinute: newIPLimiter("webhook-minute", Limit{WebhookPerMinute, time.Minute}, now),
		perHour:   newIPLimiter("webhook-hour", Limit{WebhookPerHour, time.Hour}, now),
	}
}

func (s *Server) hookGuard() *webhookGuard {
	s.guardOnce.Do(func() { s.webhookGuard = newWebhookGuard(s.clock) })
	return s.webhookGuard
}

func (s *Server) tooMany(c *gin.Context, wait time.Duration, code, msg string) {
	secs := max(1, int(wait.Seconds()+0.999))
	c.Header("Retry-After", strconv.Itoa(secs))
	s.fail(c, &Error{Status: http.StatusTooManyRequests, Code: code, Message: msg})
}

// unknownBlocked reports whether the client has sent too many unknown URLs.
func (g *webhookGuard) unknownBlocked(ip string) (bool, time.Duration) {
	return g.unknown.exhausted(clientKey(ip))
}

func fromTradingView(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, s := range TradingViewSourceIPs {
		if netip.MustParseAddr(s) == a {
			return true
		}
	}
	return false
}

// bodyPassphrase reads "passphrase" from a body without parsing the rest
// (so no detail of a wrong body is answered before authentication).
func bodyPassphrase(body []byte) string {
	var p struct {
		Passphrase json.RawMessage `json:"passphrase"`
	}
	if json.Unmarshal(body, &p) != nil || len(p.Passphrase) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(p.Passphrase, &s) == nil {
		return s
	}
	return string(p.Passphrase) // a number: compared as written
}

// passphraseLockedUntil returns when the URL's lockout ends (zero: not
// locked), from the audited failures of the last 15 minutes — shared by
// every api replica.
func (s *Server) passphraseLockedUntil(ctx context.Context, hook schema.WebhookToken) (time.Time, error) {
	now := s.clock().UTC()
	var times []time.Time
	err := s.DB.WithContext(ctx).Model(&schema.AuditLog{}).
		Where("user_id = ? AND action = ? AND resource_id = ? AND timestamp >= ?", hook.UserID, ActionWebhookPassphraseFailed, hook.ID, now.Add(-webhookLockWindow)).
		Order("timestamp DESC").Limit(WebhookPassphraseLockout).Pluck("timestamp", &times).Error
	if err != nil || len(times) < WebhookPassphraseLockout {
		return time.Time{}, err
	}
	until := times[0].Add(webhookLockWindow)
	if until.After(now) {
		return until, nil
	}
	return time.Time{}, nil
}

// recordPassphraseFailure audits the failure on the owner's chain; the
// failure that reaches the lockout also tells the owner (dashboard notice
// and mail) and audits the lock.
func (s *Server) recordPassphraseFailure(c *gin.Context, hook schema.WebhookToken) {
	ctx := c.Request.Context()
	cl := s.client(c)
	now := s.clock().UTC()
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		if _, err := audit.Append(tx, audit.Entry{UserID: hook.UserID, Action: ActionWebhookPassphraseFailed, ResourceType: "WebhookToken",
			ResourceID: hook.ID, IPAddress: cl.IP, UserAgent: cl.UserAgent, Status: audit.StatusFailure, At: now,
			ErrorMessage: "wrong passphrase"}); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ? AND resource_id = ? AND timestamp >= ?",
			hook.UserID, ActionWebhookPassphraseFailed, hook.ID, now.Add(-webhookLockWindow)).Count(&n).Error; err != nil {
			return err
		}
		if n != WebhookPassphraseLockout {
			return nil
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: hook.UserID, Action: ActionWebhookLocked, ResourceType: "WebhookToken",
			ResourceID: hook.ID, IPAddress: cl.IP, Status: audit.StatusFailure, At: now,
			Details: map[string]any{"failures": n, "lockedMinutes": int(webhookLockWindow.Minutes())}}); err != nil {
			return err
		}
		msg := fmt.Sprintf("Your TradingView webhook URL received %d alerts with a wrong passphrase in 15 minutes (last from %s) and is locked for 15 minutes. "+
			"If these were not your alerts, create a new webhook URL in Settings → Signal sources.", n, cl.IP)
		if _, err := realtime.AppendEvent(tx, hook.UserID, auth.EventSecurityNotice, auth.Notice{Kind: "webhook_locked", Message: msg, IP: cl.IP, At: now}); err != nil {
			return err
		}
		return mail.Enqueue(tx, hook.UserID, mail.KindWebhookLocked, map[string]string{"Where": cl.IP, "Date": now.Format("Jan 2, 2006 15:04 UTC")}, now)
	})
	if err != nil {
		s.log(c).Error("webhook passphrase failure not recorded", zap.Error(err))
		return
	}
	if s.Committed != nil {
		s.Committed(hook.UserID)
	}
}

// replayKey is the de-duplication key of a body without an id: identical
// bodies within one ReplayWindow slot are one signal.
func replayKey(userID string, body []byte, now time.Time) string {
	h := sha256.Sum256(body)
	slot := now.UTC().Truncate(ReplayWindow).Format("20060102T1504")
	return userID + ":body:" + slot + ":" + hex.EncodeToString(h[:16])
}
