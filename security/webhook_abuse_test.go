package security

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/schema"
)

// newHook gives a trader a webhook URL (with a passphrase or not) and
// returns its path.
func newHook(t *testing.T, owner *client, body map[string]any) string {
	t.Helper()
	r := owner.do(http.MethodPost, "/api/v1/webhook", body, owner.withCSRF())
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	u := r.Body["url"].(string)
	return u[strings.Index(u, "/webhooks/"):]
}

// Issue 13 #2, over real HTTP: the limits of the TradingView webhook.
func TestWebhookAbuseLimits(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)

	t.Run("unknown URLs are throttled per address before any lookup", func(t *testing.T) {
		scanner := s.newClient()
		for i := range api.WebhookUnknownPerIP {
			r := scanner.do(http.MethodPost, "/webhooks/tradingview/"+strings.Repeat(fmt.Sprint(i%10), 43), "{}")
			require.Equal(t, http.StatusNotFound, r.Status, r.Raw)
		}
		r := scanner.do(http.MethodPost, "/webhooks/tradingview/"+strings.Repeat("z", 43), "{}")
		require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
		require.NotEmpty(t, r.Header.Get("Retry-After"))
		require.Equal(t, http.StatusNotFound, s.newClient().do(http.MethodPost, "/webhooks/tradingview/"+strings.Repeat("z", 43), "{}").Status,
			"another address is not affected")
	})

	t.Run("authentication before any detail of the body; lockout after repeated wrong passphrases", func(t *testing.T) {
		path := newHook(t, alice, map[string]any{"passphrase": "correct horse battery"})
		guesser := s.newClient()
		r := guesser.do(http.MethodPost, path, `{"ticker":"AAPL","action":"hold","passphrase":"guess"}`)
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		require.NotContains(t, r.Raw, "action", "a wrong passphrase learns nothing about the body")
		r = guesser.do(http.MethodPost, path, `not json at all`)
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
		for i := 2; i < api.WebhookPassphraseLockout; i++ {
			require.Equal(t, http.StatusUnauthorized, guesser.do(http.MethodPost, path, fmt.Sprintf(`{"passphrase":"guess-%d"}`, i)).Status)
		}
		r = s.newClient().do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"passphrase":"correct horse battery"}`)
		require.Equal(t, http.StatusTooManyRequests, r.Status, "locked, even for the right passphrase: %s", r.Raw)
		require.Equal(t, "webhook_locked", r.Body["error"])
		require.Len(t, s.entries(alice.userID, api.ActionWebhookPassphraseFailed), api.WebhookPassphraseLockout)
		require.Len(t, s.entries(alice.userID, api.ActionWebhookLocked), 1)
		var mails int64
		require.NoError(t, s.env.DB.Model(&schema.MailOutbox{}).Where("user_id = ? AND kind = ?", alice.userID, "webhook_locked").Count(&mails).Error)
		require.EqualValues(t, 1, mails, "the owner is told")

	})

	t.Run("a body without an id is not traded twice; stale alerts are refused", func(t *testing.T) {
		bob := s.user(auth.RoleTrader)
		path := newHook(t, bob, map[string]any{})
		body := `{"ticker":"AAPL","action":"buy","quantity":1,"type":"market"}`
		first := s.newClient().do(http.MethodPost, path, body)
		require.Equal(t, http.StatusAccepted, first.Status, first.Raw)
		replay := s.newClient().do(http.MethodPost, path, body)
		require.Equal(t, http.StatusAccepted, replay.Status, replay.Raw)
		require.Equal(t, true, replay.Body["duplicate"])
		require.Equal(t, first.Body["tradeId"], replay.Body["tradeId"])

		old := time.Now().UTC().Add(-5 * time.Minute).Format(time.RFC3339)
		r := s.newClient().do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"time":"`+old+`"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "stale_alert", r.Body["error"])
		ahead := time.Now().UTC().Add(5 * time.Minute).Format(time.RFC3339)
		require.Equal(t, http.StatusBadRequest, s.newClient().do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"time":"`+ahead+`"}`).Status)
		now := time.Now().UTC().Format(time.RFC3339)
		require.Equal(t, http.StatusAccepted, s.newClient().do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","time":"`+now+`"}`).Status)
	})

	t.Run("per-URL limit", func(t *testing.T) {
		carol := s.user(auth.RoleTrader)
		path := newHook(t, carol, map[string]any{})
		sender := s.newClient()
		for i := range api.WebhookPerMinute {
			r := sender.do(http.MethodPost, path, `{"ticker":"AAPL","action":"hold"}`)
			require.Equal(t, http.StatusBadRequest, r.Status, "alert %d: %s", i+1, r.Raw)
		}
		r := sender.do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1}`)
		require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
		require.Equal(t, "webhook_rate_limited", r.Body["error"])
	})

	t.Run("TradingView's addresses only, when asked", func(t *testing.T) {
		dave := s.user(auth.RoleTrader)
		path := newHook(t, dave, map[string]any{"tradingViewIPsOnly": true})
		r := s.newClient().do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"tv-1"}`)
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		tv := s.newClient()
		tv.ip = api.TradingViewSourceIPs[0]
		r = tv.do(http.MethodPost, path, `{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"tv-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	})
}
