package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/metrics/metricstest"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Invariant 2: fifty signals at once for one trader whose limits allow ten
// (a $18,000 account, 10% max position = $1,800 = 10 AAPL at $180) never
// together exceed them: at most ten shares are bought, every other signal
// is refused, no reservation is left behind and buying power never goes
// negative.
func TestFiftyConcurrentSignalsStayWithinLimits(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{cash: decimal.NewFromInt(18_000)})
		const n = 50
		ids := make([]string, n)
		answers := make([]string, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// A 503 (the system too busy to record the signal in time)
				// stores nothing; the redelivery does. Redeliveries count in
				// the URL's 60 a minute: a 429 is waited out.
				r := h.deliverWebhook(fmt.Sprintf(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"burst-%d"}`, i), 2*time.Minute)
				answers[i] = fmt.Sprint(r.Status, " ", r.Raw)
				if r.Status == http.StatusAccepted {
					ids[i] = r.Body["tradeId"].(string)
				}
			}(i)
		}
		wg.Wait()
		filled, refused, shares := 0, 0, decimal.Zero
		reasons := map[string]int{}
		for i, id := range ids {
			if id == "" { // say why the server failed it (its log), not only that it did
				for _, e := range h.logs.FilterMessage("request failed").All() {
					t.Logf("server error: %v", e.ContextMap())
				}
			}
			require.NotEmpty(t, id, "signal %d answered %s", i, answers[i])
			body := h.waitStatus(id, 60*time.Second, "filled", "rejected", "cancelled")
			tr := body["trade"].(map[string]any)
			switch tr["status"] {
			case "filled":
				filled++
				shares = shares.Add(decimal.RequireFromString(tr["filledQuantity"].(string)))
			default:
				refused++
				reasons[fmt.Sprint(tr["message"])]++
			}
		}
		t.Logf("invariant 2 (%s): %d signals → %d filled (%s shares), %d refused %v", d, n, filled, shares, refused, reasons)
		require.True(t, shares.LessThanOrEqual(decimal.NewFromInt(10)), "bought %s shares, the limit allows 10", shares)
		require.LessOrEqual(t, filled, 10)
		require.GreaterOrEqual(t, filled, 1)
		acct := h.account()
		require.True(t, acct.Positions["AAPL"].Quantity.LessThanOrEqual(decimal.NewFromInt(10)), "broker position %s", acct.Positions["AAPL"].Quantity)
		require.False(t, acct.Cash.IsNegative(), "cash %s", acct.Cash)
		for msg := range reasons {
			require.Contains(t, msg, "Position size limit allows 0 shares of AAPL", "every refusal is the max position rule")
		}
		var reserved []schema.Trade
		require.NoError(t, db.Where("user_id = ? AND reserved_notional <> ?", h.demo.UserID, decimal.Zero).Find(&reserved).Error)
		require.Empty(t, reserved, "no reservation outlives its trade")
		verifyAudit(t, h, h.demo.UserID)
	})
}

// SPEC edge case 6: a signal for the other side of the same symbol less
// than 5 s after the first is refused with a notice; one for the same side
// is combined (sized together with the first under the max position rule).
func TestConcurrentSignalsForOneSymbol(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	first := h.buyFilled("TSLA", 4, "w-1")
	r := h.postWebhook(`{"ticker":"TSLA","action":"sell","quantity":2,"type":"market","id":"w-2"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "rejected", "filled")
	tr := body["trade"].(map[string]any)
	require.Equal(t, "rejected", tr["status"])
	require.Equal(t, "Conflicting signals for TSLA within 5 seconds: a buy is already being executed, so this sell was not placed.", tr["message"])
	require.Contains(t, h.eventTypes(h.demo.UserID), realtime.EventTradeRejected)

	r = h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":2,"type":"market","id":"w-3"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	body = h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "filled", "rejected")
	tr = body["trade"].(map[string]any)
	require.Equal(t, "filled", tr["status"], "%v", tr)
	require.Equal(t, "Combined with 1 earlier buy signal for TSLA within 5 seconds; the max position rule applies to the total.", tr["sizingNote"])
	require.NotEqual(t, first, r.Body["tradeId"])
}

// The stop-loss follows the position (FR-007): placed after the first fill,
// amended to cover the grown position, placed again by the guard when the
// broker drops it, lifted for an exit and gone once the position is closed.
func TestStopLossLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
		ctx := context.Background()

		h.buyFilled("AAPL", 10, "sl-1")
		require.Eventually(t, func() bool { return len(h.workingStops("AAPL")) == 1 }, 10*time.Second, 20*time.Millisecond)
		s := h.workingStops("AAPL")[0]
		require.Equal(t, "10", s.Quantity.String())
		require.Equal(t, "176.4", s.StopPrice.String())

		// The position grows: one stop covering all 15 shares, same level
		// (the average entry is still $180).
		second := h.buyFilled("AAPL", 5, "sl-2")
		require.Eventually(t, func() bool {
			w := h.workingStops("AAPL")
			return len(w) == 1 && w[0].Quantity.Equal(decimal.NewFromInt(15))
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, int64(2), h.stopRow("AAPL").Version)
		require.Eventually(t, func() bool { return h.trade(second).StopLossOrderID == h.stopRow("AAPL").OrderID }, 10*time.Second, 20*time.Millisecond)
		// Its look after the fill keeps the stops too: done before the
		// stop is dropped, so only the guard places it again.
		h.waitTradeEnded(second)

		// The broker drops the stop; the guard places it again.
		dropped := h.workingStops("AAPL")[0]
		require.NoError(t, h.engine.Broker(h.demo.PaperAccount).CancelOrder(ctx, dropped.ID))
		h.waitGuard("stop placed again", func(schema.RiskGuard) bool {
			w := h.workingStops("AAPL")
			return len(w) == 1 && w[0].ID != dropped.ID && w[0].Quantity.Equal(decimal.NewFromInt(15))
		})
		// (The order is at the broker a moment before its record commits.)
		require.Eventually(t, func() bool { return slices.Contains(h.actions(h.demo.UserID), audit.ActionStopLossReplaced) },
			10*time.Second, 20*time.Millisecond)
		require.Equal(t, stopActive, h.stopRow("AAPL").Status)

		// Exit (outside the 5 s window of the last buy): the stop is lifted
		// so the broker lets the shares go, and nothing is left working.
		time.Sleep(time.Until(h.trade(second).CreatedAt.Add(risk.ConcurrentWindow + 100*time.Millisecond)))
		r := h.postWebhook(`{"ticker":"AAPL","action":"exit","id":"sl-3"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "filled", "rejected")
		require.Equal(t, "filled", body["trade"].(map[string]any)["status"], "%v", body)
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "closed" }, 10*time.Second, 20*time.Millisecond)
		require.True(t, h.position("AAPL").IsZero())
		require.Empty(t, h.workingStops("AAPL"))
		require.Eventually(t, func() bool { return slices.Contains(h.actions(h.demo.UserID), audit.ActionStopLossCancelled) },
			10*time.Second, 20*time.Millisecond)
		verifyAudit(t, h, h.demo.UserID)
	})
}

const stopActive = "active"

// The trailing-stop option: the stop follows the price up and the broker
// executes it when the price falls back by the percentage; the guard
// records the execution.
func TestTrailingStop(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "trailing_stop": true})
	h.buyFilled("SPY", 10, "tr-1")
	require.Eventually(t, func() bool { return len(h.workingStops("SPY")) == 1 }, 10*time.Second, 20*time.Millisecond)
	s := h.workingStops("SPY")[0]
	require.Equal(t, "trailing_stop", string(s.Type))
	require.Equal(t, "2", s.TrailPercent.String())
	require.Equal(t, "490", s.StopPrice.String())

	h.feed.Set("SPY", decimal.NewFromInt(550)) // trigger level follows: 539
	require.Eventually(t, func() bool {
		w := h.workingStops("SPY")
		return len(w) == 1 && w[0].StopPrice.Equal(decimal.NewFromInt(539))
	}, 10*time.Second, 20*time.Millisecond)
	h.feed.Set("SPY", decimal.NewFromInt(538))
	require.Eventually(t, func() bool { return h.position("SPY").IsZero() }, 10*time.Second, 20*time.Millisecond)
	h.waitGuard("stop execution recorded", func(schema.RiskGuard) bool { return h.stopRow("SPY").Status == "triggered" })
	require.Eventually(t, func() bool { return slices.Contains(h.actions(h.demo.UserID), audit.ActionStopLossTriggered) },
		10*time.Second, 20*time.Millisecond)
}

// US-001 #5: $100,000 → $95,000 reaches the -5% daily loss limit: the guard
// blocks new trades until 00:00 UTC, cancels the stop and closes the
// position, and tells the trader.
func TestDailyLossLimitBlocksAndCloses(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		// A wide stop so the guard, not the stop, closes the position.
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "stop_loss_pct": decimal.NewFromInt(50)})
		h.buyFilled("AAPL", 500, "dl-1") // $90,000
		require.Eventually(t, func() bool { return len(h.workingStops("AAPL")) == 1 }, 10*time.Second, 20*time.Millisecond)

		h.feed.Set("AAPL", decimal.NewFromInt(170)) // -$5,000
		row := h.waitGuard("daily loss limit", func(r schema.RiskGuard) bool { return r.Level == "limit" })
		require.Equal(t, "Daily loss limit reached (-5%). Trading disabled until tomorrow.", row.Message)
		require.NotNil(t, row.BlockedUntil)
		require.True(t, row.BlockedUntil.Equal(risk.NextReset(time.Now())), "%s", row.BlockedUntil)
		require.Eventually(t, func() bool { return h.position("AAPL").IsZero() && len(h.workingStops("AAPL")) == 0 },
			20*time.Second, 50*time.Millisecond, "positions closed")
		h.waitGuard("round recorded", func(r schema.RiskGuard) bool { return r.FlattenedAt != nil })

		r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":1,"type":"market","id":"dl-2"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "rejected", "filled")
		require.Equal(t, "Daily loss limit reached (-5%). Trading disabled until tomorrow.", body["trade"].(map[string]any)["message"])

		acts := h.actions(h.demo.UserID)
		require.Contains(t, acts, audit.ActionDailyLossLimitReached)
		require.Contains(t, acts, audit.ActionPositionsFlattened)
		types := h.eventTypes(h.demo.UserID)
		require.Contains(t, types, realtime.EventRiskWarning)
		require.Contains(t, types, realtime.EventRiskPositionsClosed)
		var u schema.User
		require.NoError(t, db.Take(&u, "id = ?", h.demo.UserID).Error)
		require.False(t, u.Locked, "the daily limit does not lock the account")
		verifyAudit(t, h, h.demo.UserID)
	})
}

// US-006 #5: -8% intraday trips the circuit breaker: everything is sold,
// the account is locked and the administrators alerted; only an
// administrator unlocks it (audited), and trading then works again.
func TestCircuitBreakerLocksUntilAnAdminUnlocks(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		adminID, adminToken := h.newUser("admin")
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "stop_loss_pct": decimal.NewFromInt(50)})
		h.buyFilled("AAPL", 500, "cb-1")
		guardActions := func(action string) float64 {
			return metricstest.Value(t, metrics.NameGuardActions, map[string]string{"action": action})
		}
		breakers, flattens := guardActions(metrics.GuardCircuitBreaker), guardActions(metrics.GuardFlatten)
		h.feed.Set("AAPL", decimal.NewFromInt(160)) // -$10,000 = -10%
		row := h.waitGuard("circuit breaker", func(r schema.RiskGuard) bool { return r.Level == "circuit_breaker" })
		require.Equal(t, "Emergency circuit breaker triggered (-8%). Account under review. Contact support.", row.Message)
		require.Eventually(t, func() bool { return h.position("AAPL").IsZero() }, 20*time.Second, 50*time.Millisecond)
		require.Eventually(t, func() bool {
			return guardActions(metrics.GuardCircuitBreaker) > breakers && guardActions(metrics.GuardFlatten) > flattens
		}, 5*time.Second, 20*time.Millisecond, "guard actions counted")

		var u schema.User
		require.NoError(t, db.Take(&u, "id = ?", h.demo.UserID).Error)
		require.True(t, u.Locked)
		require.Contains(t, h.actions(h.demo.UserID), audit.ActionCircuitBreakerTriggered)
		require.Contains(t, h.actions(h.demo.UserID), audit.ActionAccountLocked)
		require.Contains(t, h.actions(audit.SystemUserID), audit.ActionCircuitBreakerTriggered)
		require.Contains(t, h.eventTypes(h.demo.UserID), realtime.EventRiskLocked)
		require.Contains(t, h.eventTypes(adminID), realtime.EventRiskAdminAlert)

		r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":1,"type":"market","id":"cb-2"}`)
		body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "rejected", "filled")
		require.Equal(t, risk.AccountLocked().Message, body["trade"].(map[string]any)["message"])

		// The trader cannot unlock themselves; the administrator can.
		unlock := h.stack.URL + "/api/v1/admin/users/" + h.demo.UserID + "/unlock"
		require.Equal(t, http.StatusForbidden, h.do(http.MethodPost, unlock, h.demo.APIToken, nil, "").Status)
		res := h.do(http.MethodPost, unlock, adminToken, nil, "")
		require.Equal(t, http.StatusOK, res.Status, res.Raw)
		require.Equal(t, http.StatusConflict, h.do(http.MethodPost, unlock, adminToken, nil, "").Status, "already unlocked")
		var entry schema.AuditLog
		require.NoError(t, db.Where("user_id = ? AND action = ?", h.demo.UserID, audit.ActionAccountUnlocked).Take(&entry).Error)
		require.Contains(t, entry.Details, adminID)
		require.Contains(t, h.eventTypes(h.demo.UserID), realtime.EventRiskUnlocked)

		got := h.do(http.MethodGet, h.stack.URL+"/api/v1/risk", h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusOK, got.Status, got.Raw)
		require.Equal(t, false, got.Body["locked"])

		// The day counts from the equity after the review: trading works.
		h.feed.Set("AAPL", decimal.NewFromInt(180))
		tradeID := h.buyFilled("MSFT", 1, "cb-3")
		require.Equal(t, string(trade.StatusFilled), h.trade(tradeID).Status)
		verifyAudit(t, h, h.demo.UserID, audit.SystemUserID)
	})
}

// Risk settings over the API: read (defaults), changed (audited with the
// old and new values, announced), refused when out of range.
func TestRiskSettingsAPI(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	url := h.stack.URL + "/api/v1/risk"
	got := h.do(http.MethodGet, url, h.demo.APIToken, nil, "")
	require.Equal(t, http.StatusOK, got.Status, got.Raw)
	settings := got.Body["settings"].(map[string]any)
	require.Equal(t, "10", settings["maxPositionPct"])
	require.Equal(t, "8", settings["circuitBreakerPct"])

	put := h.do(http.MethodPut, url, h.demo.APIToken, []byte(`{"maxPositionPct":"5","dailyLossLimitAmount":500,"trailingStop":true}`), "application/json")
	require.Equal(t, http.StatusOK, put.Status, put.Raw)
	settings = put.Body["settings"].(map[string]any)
	require.Equal(t, "5", settings["maxPositionPct"])
	require.Equal(t, "500", settings["dailyLossLimitAmount"])
	require.Equal(t, true, settings["trailingStop"])
	require.Equal(t, "2", settings["stopLossPct"], "fields not named are kept")

	var entry schema.AuditLog
	require.NoError(t, h.db.Where("user_id = ? AND action = ?", h.demo.UserID, audit.ActionRiskSettingsChanged).Take(&entry).Error)
	require.Contains(t, entry.Details, `"changedFields":["maxPositionPct","dailyLossLimitAmount","trailingStop"]`)
	require.Contains(t, entry.Details, `"old":{"allowReversal":false,"approvalTimeoutSeconds":300,"breakevenOffsetPct":"0","circuitBreakerPct":"8","dailyLossLimitAmount":"0","dailyLossLimitPct":"5","entryStrategy":"even","extendedHours":false,"ladderStop":"none","ladderTrailPct":"1","maxAlertLagSeconds":60,"maxPositionPct":"10"`)
	require.Contains(t, entry.Details, `"new":{"allowReversal":false,"approvalTimeoutSeconds":300,"breakevenOffsetPct":"0","circuitBreakerPct":"8","dailyLossLimitAmount":"500","dailyLossLimitPct":"5","entryStrategy":"even","extendedHours":false,"ladderStop":"none","ladderTrailPct":"1","maxAlertLagSeconds":60,"maxPositionPct":"5"`)
	require.Contains(t, h.eventTypes(h.demo.UserID), realtime.EventRiskSettingsChanged)

	bad := h.do(http.MethodPut, url, h.demo.APIToken, []byte(`{"stopLossPct":100}`), "application/json")
	require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	require.Equal(t, "stopLossPct", bad.Body["field"])
	require.Equal(t, "Stop loss must be greater than 0% and less than 100%", bad.Body["message"])

	// The entry strategy of multi-entry signals: one of three, else a 400.
	require.Equal(t, "even", settings["entryStrategy"], "even by default")
	bad = h.do(http.MethodPut, url, h.demo.APIToken, []byte(`{"entryStrategy":"pyramid"}`), "application/json")
	require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	require.Equal(t, "entryStrategy", bad.Body["field"])
	require.Equal(t, "Entry strategy must be even, decreasing or increasing", bad.Body["message"])
	put = h.do(http.MethodPut, url, h.demo.APIToken, []byte(`{"entryStrategy":"decreasing"}`), "application/json")
	require.Equal(t, http.StatusOK, put.Status, put.Raw)
	require.Equal(t, "decreasing", put.Body["settings"].(map[string]any)["entryStrategy"])

	var rs schema.RiskSettings
	require.NoError(t, h.db.Take(&rs, "user_id = ?", h.demo.UserID).Error)
	require.True(t, rs.MaxPositionPct.Equal(decimal.NewFromInt(5)))
	require.NotNil(t, rs.DefaultStockConnection, "the default brokers are kept")
	require.Equal(t, "decreasing", rs.EntryStrategy)
}
