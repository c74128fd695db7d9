package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// The daily loss rules hold between the account guard's looks: with the
// guard not running (it polls every 30 s; here it is stopped), a signal
// that arrives after the price moved is refused by the check before the
// order (PrepareOrder reads the balance itself), for the daily limit and
// for the circuit breaker; nothing reaches the broker.
func TestLossRulesHoldBeforeTheGuardLooks(t *testing.T) {
	tests := []struct {
		name    string
		price   int64 // AAPL after the move; 500 bought at $180 of $100,000
		code    string
		message string
	}{
		{"daily loss limit", 170, risk.CodeDailyLossLimit, "Daily loss limit reached (-5%). Trading disabled until tomorrow."},
		{"circuit breaker", 160, risk.CodeCircuitBreaker, "Emergency circuit breaker triggered (-8%). Account under review. Contact support."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
				h := newHarness(t, db, d, harnessOptions{})
				h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "stop_loss_pct": decimal.NewFromInt(50)})
				held := h.buyFilled("AAPL", 500, "live-1")
				require.Eventually(t, func() bool { return h.trade(held).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)
				h.stopGuard(held)

				h.feed.Set("AAPL", decimal.NewFromInt(tc.price))
				orders := h.orderCount()
				r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":1,"type":"market","id":"live-2"}`)
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				id := r.Body["tradeId"].(string)
				body := h.waitStatus(id, 20*time.Second, "rejected", "filled")
				require.Equal(t, tc.message, body["trade"].(map[string]any)["message"])
				require.Equal(t, orders, h.orderCount(), "nothing sent to the broker")
				var entry schema.AuditLog
				require.NoError(t, db.Where("resource_id = ? AND action = ?", id, audit.ActionTradeRejected).Take(&entry).Error)
				require.Contains(t, entry.Details, tc.code)
			})
		})
	}
}

// stopGuard ends the demo connection's account guard (it is started again
// by the next fill or loss refusal) once the trade that filled has ended:
// a paper trade makes the guard's look after the fill itself, and starts
// the guard when it does not run, so stopping the guard before that step
// would let it start again and look at the moved price.
func (h *harness) stopGuard(filledTradeID string) {
	h.t.Helper()
	ctx := context.Background()
	tr := h.trade(filledTradeID)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(h.t, h.temporal.GetWorkflow(waitCtx, tr.WorkflowID, "").Get(waitCtx, nil), "trade %s did not end", filledTradeID)
	id := workflows.GuardWorkflowID(h.demo.ConnectionID)
	// Idle: waiting on its watch, whose first look comes a poll (30 s)
	// after it started — after this test's steps.
	require.Eventually(h.t, func() bool { return h.guardIdle(id) }, 20*time.Second, 50*time.Millisecond, "guard busy")
	require.NoError(h.t, h.temporal.TerminateWorkflow(ctx, id, "", "test: the guard has not looked yet"))
}
