package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// SPEC edge case 1 end to end: a webhook for a halted symbol ends in
// market_halted with the queued message; the order is tried again while the
// halt lasts (nothing reaches the broker) without the trade leaving
// market_halted or adding to its timeline, and after the resume the trade
// fills with exactly one order at the broker. The 30 s retry interval is
// shortened through workflows.Timeouts.HaltRetry (tests only).

// haltRetry is the shortened wait between tries while halted.
const haltRetry = 200 * time.Millisecond

// haltedTrade posts a webhook for symbol and checks the halted state: the
// status, the trade's message and its timeline entry.
func haltedTrade(t *testing.T, post func(string) response, wait func(string) map[string]any, symbol, body string) string {
	t.Helper()
	r := post(body)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	tradeID := r.Body["tradeId"].(string)
	b := wait(tradeID)
	tr := b["trade"].(map[string]any)
	require.Equal(t, "market_halted", tr["status"], "%v", tr)
	require.Equal(t, risk.HaltedMessage(symbol), tr["message"])
	found := false
	for _, s := range b["timeline"].([]any) {
		step := s.(map[string]any)
		if step["action"] == audit.ActionTradeHalted && step["message"] == risk.HaltedMessage(symbol) {
			found = true
		}
	}
	require.True(t, found, "no %s step with the queued message in %v", audit.ActionTradeHalted, b["timeline"])
	return tradeID
}

// stillWaiting checks the trade still waits for the halt to end, with the
// halt's message.
func stillWaiting(t *testing.T, get func(string) response, tradeID, symbol string) {
	t.Helper()
	r := get(tradeID)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	tr := r.Body["trade"].(map[string]any)
	require.Equal(t, "market_halted", tr["status"], "trade %s while the symbol is halted: %v", tradeID, tr)
	require.Equal(t, risk.HaltedMessage(symbol), tr["message"])
}

// watchStatus reads the trade's status every few milliseconds until the
// returned function is called, which returns every status seen (first
// appearance order).
func watchStatus(t *testing.T, db *gorm.DB, tradeID string) func() []string {
	t.Helper()
	done, stopped := make(chan struct{}), make(chan struct{})
	var seen []string
	var readErr error
	go func() {
		defer close(stopped)
		tick := time.NewTicker(3 * time.Millisecond)
		defer tick.Stop()
		for {
			var tr schema.Trade
			if err := db.Select("status").First(&tr, "id = ?", tradeID).Error; err != nil {
				readErr = err
				return
			}
			if !slices.Contains(seen, tr.Status) {
				seen = append(seen, tr.Status)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() []string {
		close(done)
		<-stopped
		require.NoError(t, readErr)
		return seen
	}
}

// haltSubmitFailures counts SubmitOrder's logged refusals of the trade
// because of the halt: one per try.
func haltSubmitFailures(logs *observer.ObservedLogs, tradeID string) int {
	return logs.FilterMessage("order submission failed").
		FilterField(zap.String("trade_id", tradeID)).
		FilterField(zap.String("kind", "MARKET_HALTED")).Len()
}

// requireQuietHalt checks what a trader and a support agent see of a halt
// the order waited through (its size unchanged): one TRADE_HALTED entry,
// no entry between it and the submission, and no event telling the
// dashboard the trade was anything but market_halted until it was
// submitted.
func requireQuietHalt(t *testing.T, db *gorm.DB, userID, tradeID string) {
	t.Helper()
	var entries []schema.AuditLog
	require.NoError(t, db.Where("resource_id = ?", tradeID).Order("seq").Find(&entries).Error)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	halted := slices.Index(actions, audit.ActionTradeHalted)
	require.GreaterOrEqual(t, halted, 0, "%v", actions)
	require.Equal(t, 1, countOf(actions, audit.ActionTradeHalted), "one %s entry for the halt: %v", audit.ActionTradeHalted, actions)
	require.Less(t, halted+1, len(actions), "%v", actions)
	require.Equal(t, audit.ActionTradeSubmitted, actions[halted+1], "the entry after the halt: %v", actions)

	var events []schema.OutboxEvent
	require.NoError(t, db.Where("user_id = ?", userID).Order("seq").Find(&events).Error)
	var statuses []string
	for _, e := range events {
		var p struct {
			Trade struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"trade"`
		}
		if json.Unmarshal([]byte(e.Payload), &p) != nil || p.Trade.ID != tradeID {
			continue
		}
		statuses = append(statuses, p.Trade.Status)
	}
	from := slices.Index(statuses, "market_halted")
	require.GreaterOrEqual(t, from, 0, "%v", statuses)
	require.Less(t, from+1, len(statuses), "%v", statuses)
	require.Equal(t, "submitted", statuses[from+1], "the trade's events after the halt: %v", statuses)
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestHaltedSymbolWaitsThenFillsPaper(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{timeouts: workflows.Timeouts{HaltRetry: haltRetry}})
		require.NoError(t, h.engine.SetHalted("AAPL", true))
		t.Cleanup(func() { _ = h.engine.SetHalted("AAPL", false) })
		wait := func(id string) map[string]any { return h.waitStatus(id, 20*time.Second, "market_halted") }
		tradeID := haltedTrade(t, h.postWebhook, wait, "AAPL",
			`{"ticker":"AAPL","action":"buy","quantity":2,"type":"market","id":"halt-paper-1"}`)

		// Tried again every HaltRetry while halted; no order is created,
		// and the trade stays market_halted throughout.
		statuses := watchStatus(t, db, tradeID)
		calls := h.engine.PlaceCalls(h.demo.PaperAccount)
		require.Eventually(t, func() bool { return h.engine.PlaceCalls(h.demo.PaperAccount) >= calls+3 },
			20*time.Second, 20*time.Millisecond, "the order is not tried again while halted")
		require.Equal(t, 0, h.orderCount())
		stillWaiting(t, h.getTrade, tradeID, "AAPL")
		require.Equal(t, []string{"market_halted"}, statuses(), "the trade's status during the halt")

		require.NoError(t, h.engine.SetHalted("AAPL", false))
		body := h.waitStatus(tradeID, 20*time.Second, "filled", "rejected", "cancelled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "filled", tr["status"], "%v", tr)
		require.Equal(t, "2", tr["filledQuantity"])
		waitStopLoss(t, db, tradeID)
		require.Equal(t, 2, h.orderCount(), "one entry order (and its stop-loss) at the broker after the halt")
		requireQuietHalt(t, db, h.demo.UserID, tradeID)

		v, err := audit.Verify(context.Background(), db, h.demo.UserID)
		require.NoError(t, err)
		require.True(t, v.Valid)
		if d == store.SQLite {
			wfID := tr["workflowId"].(string)
			require.NoError(t, h.temporal.GetWorkflow(context.Background(), wfID, "").Get(context.Background(), nil))
			h.recordHistory(wfID, "trade_halted_resumed")
		}
	})
}

// restartWithTimeouts restarts the broker harness's worker and API (the
// same options as newBrokerHarness) with workflow timeouts.
func (h *brokerHarness) restartWithTimeouts(to workflows.Timeouts) {
	h.t.Helper()
	h.stack.Stop()
	core, logs := observer.New(zap.DebugLevel)
	st, err := app.Start(context.Background(), app.Options{
		DB: h.db, Temporal: h.temporal, TaskQueue: h.queue, Vault: h.keyring, Paper: h.engine, Log: zap.New(core),
		Timeouts: to, FillPoll: 20 * time.Millisecond, RunWorker: true, RunAPI: true, HTTPAddr: "127.0.0.1:0", Auth: h.env.Opts.Auth,
		Brokers: app.BrokerOptions{
			Schwab: h.fakes.schwab.App(), SchwabBaseURL: h.fakes.schwab.URL(), AllowCustomURLs: true, Unthrottled: true,
			MarketClock: func() time.Time { return sessionOpen }, ServerIP: "203.0.113.7",
			HealthAttempts: 2, HealthBackoff: 20 * time.Millisecond,
		},
	})
	require.NoError(h.t, err)
	h.t.Cleanup(st.Stop)
	h.stack, h.env.Stack, h.logs = st, st, logs
	require.NoError(h.t, app.RefreshDemoToken(context.Background(), st.Auth, h.env.DataDir, &h.env.Demo))
	h.demo = h.env.Demo
}

func TestHaltedSymbolWaitsThenFillsAlpaca(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newBrokerHarness(t, db, d)
		h.restartWithTimeouts(workflows.Timeouts{HaltRetry: haltRetry})
		key, secret := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(100_000))
		r := h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key, secret))
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		h.setDefault("stocks", connectionID(t, r))

		h.fakes.alpaca.SetHalted("AAPL", true)
		t.Cleanup(func() { h.fakes.alpaca.SetHalted("AAPL", false) })
		wait := func(id string) map[string]any { return h.waitStatus(id, 20*time.Second, "market_halted") }
		tradeID := haltedTrade(t, h.postWebhook, wait, "AAPL",
			`{"ticker":"AAPL","action":"buy","quantity":5,"type":"market","id":"halt-alpaca-1"}`)

		// Alpaca's halt answer comes on every try (SubmitOrder logs each
		// one; the timeline does not); no order exists and the trade stays
		// market_halted throughout.
		statuses := watchStatus(t, db, tradeID)
		tries := haltSubmitFailures(h.logs, tradeID)
		require.Eventually(t, func() bool { return haltSubmitFailures(h.logs, tradeID) >= tries+3 },
			20*time.Second, 20*time.Millisecond, "the order is not tried again while halted")
		require.Equal(t, 0, h.fakes.alpaca.OrderCount(key))
		stillWaiting(t, h.getTrade, tradeID, "AAPL")
		require.Equal(t, []string{"market_halted"}, statuses(), "the trade's status during the halt")

		h.fakes.alpaca.SetHalted("AAPL", false)
		body := h.waitStatus(tradeID, 20*time.Second, "filled", "rejected", "cancelled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "filled", tr["status"], "%v", tr)
		require.Equal(t, "alpaca", tr["broker"])
		require.Equal(t, "5", tr["filledQuantity"])
		waitStopLoss(t, db, tradeID)
		require.Equal(t, 2, h.fakes.alpaca.OrderCount(key), "one entry order (and its stop-loss) at Alpaca after the halt")
		requireQuietHalt(t, db, h.demo.UserID, tradeID)
	})
}

// waitStopLoss waits until the filled trade's stop-loss order is placed, so
// that the broker's order count is final (entry + stop).
func waitStopLoss(t *testing.T, db *gorm.DB, tradeID string) {
	t.Helper()
	require.Eventually(t, func() bool {
		var tr schema.Trade
		require.NoError(t, db.First(&tr, "id = ?", tradeID).Error)
		return tr.StopLossOrderID != ""
	}, 20*time.Second, 20*time.Millisecond, "the stop-loss is not placed")
}
