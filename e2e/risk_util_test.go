package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// setRisk changes the demo trader's risk settings in the database.
func (h *harness) setRisk(fields map[string]any) {
	h.t.Helper()
	require.NoError(h.t, h.db.Model(&schema.RiskSettings{}).Where("user_id = ?", h.demo.UserID).Updates(fields).Error)
}

// checkNow makes the demo connection's account guard look at the account
// (what a fill does; the guard also polls).
func (h *harness) checkNow() {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		return h.temporal.SignalWorkflow(context.Background(), workflows.GuardWorkflowID(h.demo.ConnectionID), "", workflows.SignalGuardCheck, nil) == nil
	}, 10*time.Second, 50*time.Millisecond, "the guard of the demo connection is not running")
}

// guardRow is the demo connection's guard state.
func (h *harness) guardRow() schema.RiskGuard {
	h.t.Helper()
	var row schema.RiskGuard
	require.NoError(h.t, h.db.Where("connection_id = ?", h.demo.ConnectionID).Take(&row).Error)
	return row
}

// waitGuard checks the account until cond holds for the guard row.
func (h *harness) waitGuard(what string, cond func(schema.RiskGuard) bool) schema.RiskGuard {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		h.checkNow()
		var row schema.RiskGuard
		if err := h.db.Where("connection_id = ?", h.demo.ConnectionID).Take(&row).Error; err == nil && cond(row) {
			return row
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("guard: %s not reached; last state %+v", what, h.guardRow())
	return schema.RiskGuard{}
}

// account is the demo trader's paper account as the broker holds it.
func (h *harness) account() paper.AccountState {
	h.t.Helper()
	st, err := h.engine.Account(context.Background(), h.demo.PaperAccount)
	require.NoError(h.t, err)
	return st
}

// position is the demo trader's position in symbol at the broker.
func (h *harness) position(symbol string) decimal.Decimal {
	return h.account().Positions[symbol].Quantity
}

// workingStops are the working (stop or trailing stop) orders in symbol.
func (h *harness) workingStops(symbol string) []paper.OrderState {
	var out []paper.OrderState
	for _, o := range h.account().Orders {
		if o.Symbol == symbol && !o.Status.Terminal() && (o.Type == "stop" || o.Type == "trailing_stop") {
			out = append(out, o)
		}
	}
	return out
}

// stopRow is the demo connection's stop-loss row of symbol.
func (h *harness) stopRow(symbol string) schema.StopLoss {
	h.t.Helper()
	var row schema.StopLoss
	require.NoError(h.t, h.db.Where("connection_id = ? AND symbol = ?", h.demo.ConnectionID, symbol).Take(&row).Error)
	return row
}

// actions lists the actions of a user's audit chain, oldest first.
func (h *harness) actions(userID string) []string {
	h.t.Helper()
	var rows []schema.AuditLog
	require.NoError(h.t, h.db.Where("user_id = ?", userID).Order("seq").Find(&rows).Error)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Action
	}
	return out
}

// eventTypes lists a user's outbox event types in order.
func (h *harness) eventTypes(userID string) []string {
	h.t.Helper()
	evs, err := realtime.EventsSince(context.Background(), h.db, userID, 0, realtime.MaxEventsLimit)
	require.NoError(h.t, err)
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// buy posts a market buy and waits for the fill and its stop-loss.
func (h *harness) buyFilled(symbol string, qty int, id string) string {
	h.t.Helper()
	r := h.postWebhook(`{"ticker":"` + symbol + `","action":"buy","quantity":` + itoa(qty) + `,"type":"market","id":"` + id + `"}`)
	require.Equal(h.t, http.StatusAccepted, r.Status, r.Raw)
	tradeID := r.Body["tradeId"].(string)
	h.waitStatus(tradeID, 20*time.Second, "filled")
	return tradeID
}

// waitTradeEnded waits until a trade's workflow has ended: a filled paper
// trade still places its stop and makes the guard's look after the fill
// (GuardAfterFill) once its status reads filled.
func (h *harness) waitTradeEnded(tradeID string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(h.t, h.temporal.GetWorkflow(ctx, h.trade(tradeID).WorkflowID, "").Get(ctx, nil), "trade %s did not end", tradeID)
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }

// newUser stores a user with a role and returns an access token for it.
func (h *harness) newUser(role string) (string, string) {
	h.t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	require.NoError(h.t, h.db.Create(&schema.User{ID: id, Email: &email, Role: role, DisplayName: role,
		SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
	tok, err := h.stack.Auth.IssueScriptToken(context.Background(), id)
	require.NoError(h.t, err)
	return id, tok.AccessToken
}

// verifyAudit checks every chain the test wrote to.
func verifyAudit(t *testing.T, h *harness, users ...string) {
	t.Helper()
	for _, u := range users {
		res, err := audit.Verify(context.Background(), h.db, u)
		require.NoError(t, err)
		require.True(t, res.Valid, "audit chain of %s: %+v", u, res)
	}
}
