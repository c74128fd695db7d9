package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// takeProfitExits are the exits recorded to take tradeID's profit.
func (h *harness) takeProfitExits(tradeID string) []schema.Trade {
	h.t.Helper()
	var out []schema.Trade
	require.NoError(h.t, h.db.Joins("JOIN signals ON signals.id = trades.signal_id").
		Where("signals.external_id = ?", "takeprofit:"+tradeID).Find(&out).Error)
	return out
}

// waitTakeProfit waits until the trade's take-profit is in state.
func (h *harness) waitTakeProfit(tradeID, state string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last response
	for time.Now().Before(deadline) {
		last = h.getTrade(tradeID)
		if last.Status == http.StatusOK {
			if tp, _ := last.Body["trade"].(map[string]any)["takeProfit"].(map[string]any); tp != nil && tp["status"] == state {
				return tp
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, x := range h.takeProfitExits(tradeID) {
		h.t.Logf("exit %s: %s %s | %s", x.ID, x.Status, x.ErrorMessage, h.getTrade(x.ID).Raw)
	}
	h.t.Fatalf("take-profit of %s never %s: %s; workflow %s", tradeID, state, last.Raw, h.describeWorkflow(tradeID))
	return nil
}

// emulateExitPairs gives the demo paper account an adapter without a
// native exit pair, so the take-profit is watched by TradeExec. The
// resolvers of API and worker cache adapters by the connection's
// updated_at (internal/brokerconn/resolver.go): one a background job
// (health check, portfolio sync) built before the switch would still
// place a native pair, so the connection is touched too.
func (h *harness) emulateExitPairs() {
	h.t.Helper()
	h.engine.SetExitPairs(h.demo.PaperAccount, false)
	require.NoError(h.t, h.db.Model(&schema.BrokerConnection{}).Where("user_id = ? AND broker_type = ?", h.demo.UserID, "paper").
		Update("updated_at", time.Now().UTC()).Error)
}

// sells are the broker's sell orders of the account by type.
func (h *harness) sells() map[string]int {
	h.t.Helper()
	out := map[string]int{}
	for _, o := range h.account().Orders {
		if o.Side == "sell" {
			out[string(o.Type)+"/"+string(o.Status)]++
		}
	}
	return out
}

// TradersPost's first documented example: the take-profit is armed after
// the fill next to the stop-loss; when the price reaches it the trade's
// shares are sold once, and the stop-loss is cancelled (one fills, the
// other is cancelled).
func TestTakeProfitClosesThePositionAndCancelsTheStop(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.emulateExitPairs() // the emulated path (exit_pair_test.go: native)
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","signalPrice":180,"quantity":10,"takeProfit":{"percent":5},"stopLoss":{"type":"stop","percent":2},"id":"tp-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		id := r.Body["tradeId"].(string)
		h.waitStatus(id, 30*time.Second, "filled")
		tp := h.waitTakeProfit(id, "armed")
		require.Equal(t, "189", tp["price"], "5% above the 180 fill")
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "active" }, 30*time.Second, 50*time.Millisecond)

		h.feed.Set("AAPL", decimal.NewFromInt(186)) // not yet
		time.Sleep(300 * time.Millisecond)
		require.Empty(t, h.takeProfitExits(id))

		h.feed.Set("AAPL", decimal.NewFromInt(190))
		tp = h.waitTakeProfit(id, "filled")
		require.Equal(t, "emulated", tp["mode"], "watched by TradeExec, not a native pair: %v", tp)
		exits := h.takeProfitExits(id)
		if len(exits) != 1 {
			var sigs []schema.Signal
			_ = h.db.Where("external_id LIKE ?", "takeprofit:%").Find(&sigs).Error
			for _, s := range sigs {
				t.Logf("signal %s external_id %q", s.ID, s.ExternalID)
			}
			t.Fatalf("one exit takes the profit, got %d; tp %v; sells %v; trade %s; workflow %s", len(exits), tp, h.sells(), h.getTrade(id).Raw, h.describeWorkflow(id))
		}
		require.Equal(t, exits[0].ID, tp["exitTradeId"])
		h.waitStatus(exits[0].ID, 30*time.Second, "filled")
		require.True(t, h.account().Positions["AAPL"].Quantity.IsZero(), "flat")
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "closed" }, 30*time.Second, 50*time.Millisecond, "the stop is cancelled")
		sells := h.sells()
		require.Equal(t, 1, sells["market/filled"], "the take-profit sold once: %v", sells)
		require.Zero(t, sells["stop/filled"], "the stop never executed: %v", sells)
		timeline := h.getTrade(id).Raw
		require.Contains(t, timeline, "TAKE_PROFIT_ARMED")
		require.Contains(t, timeline, "TAKE_PROFIT_FILLED")
		require.Contains(t, h.eventTypes(h.demo.UserID), "trade.takeProfitPlaced")
		require.Contains(t, h.eventTypes(h.demo.UserID), "trade.takeProfitFilled")
		h.recordDone(d, id, "trade_take_profit_filled")
		verifyAudit(t, h, h.demo.UserID)
	})
}

// The stop-loss fires first: the position is closed by the stop, the
// take-profit is cancelled and never sends an exit.
func TestStopFirstCancelsTheTakeProfit(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.emulateExitPairs()
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":5,"takeProfit":{"limitPrice":220},"stopLoss":{"type":"stop","percent":2},"id":"tp-2"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	require.Eventually(t, func() bool { return h.stopRow("MSFT").Status == "active" }, 30*time.Second, 50*time.Millisecond)
	h.feed.Set("MSFT", decimal.NewFromInt(190)) // through the 196 stop
	h.waitTakeProfit(id, "cancelled")
	require.Empty(t, h.takeProfitExits(id))
	h.recordDone(store.SQLite, id, "trade_take_profit_cancelled")
	h.feed.Set("MSFT", decimal.NewFromInt(230)) // past the target: nothing more happens
	time.Sleep(500 * time.Millisecond)
	require.Empty(t, h.takeProfitExits(id))
	require.True(t, h.account().Positions["MSFT"].Quantity.IsZero())
}

// The worker and API restart while the take-profit is watched: the watch
// resumes and the profit is taken exactly once.
func TestTakeProfitSurvivesARestart(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.emulateExitPairs()
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	r := h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":4,"takeProfit":{"percent":4},"id":"tp-3"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.stack.Stop()
	h.feed.Set("TSLA", decimal.NewFromInt(270)) // reached while nothing runs
	h.start(zap.NewNop())
	h.waitTakeProfit(id, "filled")
	require.Len(t, h.takeProfitExits(id), 1)
	require.True(t, h.account().Positions["TSLA"].Quantity.IsZero())
	require.Equal(t, 1, h.sells()["market/filled"])
}

// describeWorkflow says how the trade's workflow stands (for a failure
// message): its status and pending activities.
func (h *harness) describeWorkflow(tradeID string) string {
	var tr schema.Trade
	h.db.First(&tr, "id = ?", tradeID)
	d, err := h.temporal.DescribeWorkflowExecution(context.Background(), tr.WorkflowID, "")
	if err != nil {
		return err.Error()
	}
	out := fmt.Sprint(d.WorkflowExecutionInfo.Status)
	for _, a := range d.PendingActivities {
		out += fmt.Sprintf(" | %s attempt %d state %s lastFailure %v", a.ActivityType.Name, a.Attempt, a.State, a.LastFailure)
	}
	return out
}
