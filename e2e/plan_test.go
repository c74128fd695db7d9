package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Plans (FR-069) on the trade path and at connect: a trader downgraded to
// Free keeps the live connection (paused, not deleted) and every signal
// routed to it is refused with the plan's sentence, by webhook and by
// dashboard order alike; a new live connection is refused at connect; an
// upgrade resumes the paused connection.
func TestPlanLimitsOnEveryEntryPoint(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newBrokerHarness(t, db, d)
		key, secret := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(50_000))
		r := h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key, secret))
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		first := connectionID(t, r)
		h.setDefault("stocks", first)

		setTier := func(tier string) {
			require.NoError(t, db.Model(&schema.User{}).Where("id = ?", h.demo.UserID).Update("subscription_tier", tier).Error)
		}
		const freeMsg = "Your Free plan includes paper trading only. Upgrade to Basic ($49/month) in Settings → Billing to trade with Alpaca."

		setTier("free")
		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"plan-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tr := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected", "filled")["trade"].(map[string]any)
		require.Equal(t, "rejected", tr["status"])
		require.Equal(t, freeMsg, tr["message"])

		r = h.call(http.MethodPost, "/api/v1/orders", map[string]any{"symbol": "AAPL", "side": "buy", "quantity": "1", "orderType": "market",
			"idempotencyKey": "plan-order-1"})
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tr = h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected", "filled")["trade"].(map[string]any)
		require.Equal(t, "rejected", tr["status"])
		require.Equal(t, freeMsg, tr["message"])
		require.Equal(t, 0, h.fakes.alpaca.OrderCount(key), "no order reached the broker")

		// Connect: a second live connection is refused by the plan.
		key2, secret2 := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(10_000))
		r = h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key2, secret2))
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		require.Equal(t, "plan_limit", r.Body["error"])
		// One live connection already: a second needs Pro.
		require.Equal(t, "Your Free plan includes paper trading only. Upgrade to Pro ($99/month) in Settings → Billing to trade with Alpaca.", r.Body["message"])

		// The paused connection is still there, and trades again on Basic.
		var n int64
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Where("id = ? AND is_active = ?", first, true).Count(&n).Error)
		require.EqualValues(t, 1, n)
		setTier("basic")
		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"plan-2"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tr = h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected", "filled")["trade"].(map[string]any)
		require.Equal(t, "filled", tr["status"], "%v", tr)

		// Basic allows one: the second live connection is refused at
		// connect; on Pro it connects, and after a downgrade to Basic only
		// the older one trades.
		r = h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key2, secret2))
		require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
		require.Contains(t, r.Body["message"], "Your Basic plan includes 1 live broker connection. Upgrade to Pro ($99/month)")
		setTier("pro")
		r = h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key2, secret2))
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		second := connectionID(t, r)
		setTier("basic")
		h.setDefault("stocks", second)
		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"plan-3"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tr = h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected", "filled")["trade"].(map[string]any)
		require.Equal(t, "rejected", tr["status"])
		require.Contains(t, fmt.Sprint(tr["message"]), "Your Basic plan includes 1 live broker connection.")
		require.Equal(t, 0, h.fakes.alpaca.OrderCount(key2))
	})
}
