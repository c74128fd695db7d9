package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/store"
)

// The take-profit and the stop-loss as ONE native one-cancels-other pair
// at the paper broker (its exit pair is on by default; take_profit_test.go
// turns it off for the emulated path). Counts are read from the broker's
// own book.

// pairLegs counts the account's exit-pair legs by leg and status, and the
// distinct pairs.
func (h *harness) pairLegs() (map[string]int, int) {
	h.t.Helper()
	legs, pairs := map[string]int{}, map[string]bool{}
	for _, o := range h.account().Orders {
		if o.PairID != "" {
			legs[o.PairLeg+"/"+string(o.Status)]++
			pairs[o.PairID] = true
		}
	}
	return legs, len(pairs)
}

func (h *harness) waitTakeProfitMode(tradeID, mode string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r := h.getTrade(tradeID); r.Status == http.StatusOK {
			if tp, _ := r.Body["trade"].(map[string]any)["takeProfit"].(map[string]any); tp != nil && tp["mode"] == mode {
				return tp
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("take-profit of %s never %s: %s; workflow %s", tradeID, mode, h.getTrade(tradeID).Raw, h.describeWorkflow(tradeID))
	return nil
}

func TestExitPairTakeProfitFillCancelsTheStopOnce(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","signalPrice":180,"quantity":10,"takeProfit":{"percent":5},"stopLoss":{"type":"stop","percent":2},"id":"pair-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		id := r.Body["tradeId"].(string)
		h.waitStatus(id, 30*time.Second, "filled")
		tp := h.waitTakeProfitMode(id, "native")
		require.Equal(t, "armed", tp["status"])
		require.Equal(t, "189", tp["price"], "5% above the 180 fill")
		require.NotEmpty(t, tp["pairId"])
		require.Equal(t, "working", tp["stopStatus"])
		legs, pairs := h.pairLegs()
		require.Equal(t, 1, pairs, "one pair: %v", legs)
		require.Equal(t, map[string]int{"take_profit/new": 1, "stop_loss/new": 1}, legs)
		row := h.stopRow("AAPL")
		require.Equal(t, "active", row.Status)
		require.Equal(t, tp["pairId"], row.PairID, "the position's stop is the pair's stop leg")
		require.Equal(t, tp["stopOrderId"], row.OrderID)

		h.feed.Set("AAPL", decimal.NewFromInt(190))
		tp = h.waitTakeProfit(id, "filled")
		require.Equal(t, "cancelled", tp["stopStatus"], "the trade shows the stop leg cancelled")
		legs, pairs = h.pairLegs()
		require.Equal(t, 1, pairs)
		require.Equal(t, map[string]int{"take_profit/filled": 1, "stop_loss/cancelled": 1}, legs, "the broker cancelled the stop once")
		require.True(t, h.position("AAPL").IsZero(), "flat")
		require.Empty(t, h.takeProfitExits(id), "no server-side exit")
		require.Equal(t, 3, len(h.account().Orders), "entry + two legs, nothing else")
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "closed" }, 10*time.Second, 50*time.Millisecond)
		h.requireClosedFlat(1, 0) // the native take-profit leg's fill closed the lot
		timeline := h.getTrade(id).Raw
		require.Contains(t, timeline, "TAKE_PROFIT_ARMED")
		require.Contains(t, timeline, "one-cancels-other")
		require.Contains(t, timeline, "TAKE_PROFIT_FILLED")
		require.Contains(t, h.eventTypes(h.demo.UserID), "trade.takeProfitPlaced")
		require.Contains(t, h.eventTypes(h.demo.UserID), "trade.takeProfitFilled")
		h.waitStatus(id, 30*time.Second, "filled")
		h.recordDone(d, id, "trade_exit_pair_take_profit")
		verifyAudit(t, h, h.demo.UserID)
	})
}

func TestExitPairStopFillCancelsTheTakeProfit(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":5,"takeProfit":{"limitPrice":220},"stopLoss":{"type":"stop","percent":2},"id":"pair-2"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfitMode(id, "native")
	h.feed.Set("MSFT", decimal.NewFromInt(190)) // through the stop
	tp := h.waitTakeProfit(id, "cancelled")
	require.Equal(t, "filled", tp["stopStatus"], "the trade shows the stop leg filled")
	legs, pairs := h.pairLegs()
	require.Equal(t, 1, pairs)
	require.Equal(t, map[string]int{"take_profit/cancelled": 1, "stop_loss/filled": 1}, legs)
	require.Eventually(t, func() bool { return h.stopRow("MSFT").Status == "triggered" }, 10*time.Second, 50*time.Millisecond)
	h.requireClosedFlat(0, 1) // the pair's stop leg closed the lot
	h.feed.Set("MSFT", decimal.NewFromInt(230))
	time.Sleep(300 * time.Millisecond)
	require.Empty(t, h.takeProfitExits(id))
	require.True(t, h.position("MSFT").IsZero())
	h.recordDone(store.SQLite, id, "trade_exit_pair_stop_filled")
	verifyAudit(t, h, h.demo.UserID)
}

// The worker stops after the entry filled and before the pair is placed
// (the broker does not answer pair requests), and the first placement
// after the restart loses its answer: exactly one pair at the broker.
func TestExitPairRestartBetweenFillAndPairPlacesOnePair(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{FailPair: 1 << 30, Duplicates: paper.DuplicatesAccept})
	r := h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":4,"takeProfit":{"percent":4},"id":"pair-3"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	time.Sleep(500 * time.Millisecond) // PlaceExitPair is retrying
	_, pairs := h.pairLegs()
	require.Zero(t, pairs)
	h.stack.Stop()
	// A broker that does not de-duplicate, whose next answer is lost: only
	// the lookup by client id keeps one pair.
	h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{DropPairResponse: 1, Duplicates: paper.DuplicatesAccept})
	h.start(zap.NewNop())
	h.waitTakeProfitMode(id, "native")
	legs, pairs := h.pairLegs()
	require.Equal(t, 1, pairs, "exactly one pair: %v", legs)
	require.Equal(t, map[string]int{"take_profit/new": 1, "stop_loss/new": 1}, legs)
	h.feed.Set("TSLA", decimal.NewFromInt(270))
	h.waitTakeProfit(id, "filled")
	legs, _ = h.pairLegs()
	require.Equal(t, map[string]int{"take_profit/filled": 1, "stop_loss/cancelled": 1}, legs)
}

// An exit signal for the symbol cancels the pair the way it lifts a stop;
// the take-profit is cancelled with the position.
func TestExitSignalCancelsThePair(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	r := h.postWebhook(`{"ticker":"SPY","action":"buy","quantity":3,"takeProfit":{"percent":10},"id":"pair-4"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfitMode(id, "native")
	time.Sleep(5500 * time.Millisecond) // past the conflicting-signals window
	r = h.postWebhook(`{"ticker":"SPY","action":"exit","id":"pair-4-exit"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
	h.waitTakeProfit(id, "cancelled")
	legs, pairs := h.pairLegs()
	require.Equal(t, 1, pairs)
	require.Equal(t, map[string]int{"take_profit/cancelled": 1, "stop_loss/cancelled": 1}, legs)
	require.True(t, h.position("SPY").IsZero())
}

// The daily loss limit flattens the account: the guard cancels the pair
// the way it cancels a stop (both legs, once), closes the position, and
// the take-profit ends cancelled — nothing is left working.
func TestDailyLossFlattenCancelsThePair(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	// A wide stop so the guard, not the stop, closes the position.
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "stop_loss_pct": decimal.NewFromInt(50)})
	r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":500,"takeProfit":{"percent":20},"id":"pair-dl"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfitMode(id, "native")
	h.feed.Set("AAPL", decimal.NewFromInt(170)) // -$5,000: the daily loss limit
	h.waitTakeProfit(id, "cancelled")
	require.Eventually(t, func() bool { return h.position("AAPL").IsZero() }, 20*time.Second, 50*time.Millisecond, "flattened")
	legs, pairs := h.pairLegs()
	require.Equal(t, 1, pairs)
	require.Equal(t, map[string]int{"take_profit/cancelled": 1, "stop_loss/cancelled": 1}, legs)
	require.Empty(t, h.takeProfitExits(id), "no take-profit exit after the flatten")
	verifyAudit(t, h, h.demo.UserID)
}

// A position shared with another trade keeps one stop for all of it: the
// second trade's take-profit is watched by TradeExec, and its timeline says
// why.
func TestExitPairNotUsedForASharedPosition(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	first := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":2,"id":"shared-1"}`)
	require.Equal(t, http.StatusAccepted, first.Status, first.Raw)
	h.waitStatus(first.Body["tradeId"].(string), 30*time.Second, "filled")
	require.Eventually(t, func() bool { return len(h.workingStops("MSFT")) == 1 }, 10*time.Second, 50*time.Millisecond)
	time.Sleep(5500 * time.Millisecond) // past the combining window
	r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":3,"takeProfit":{"percent":5},"id":"shared-2"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfitMode(id, "emulated")
	h.waitTakeProfit(id, "armed")
	require.Contains(t, h.getTrade(id).Raw, "TAKE_PROFIT_EMULATED")
	require.Contains(t, h.getTrade(id).Raw, "is not this trade")
	_, pairs := h.pairLegs()
	require.Zero(t, pairs, "no native pair for a shared position")
}
