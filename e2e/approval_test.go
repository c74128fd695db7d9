package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/workflows"
)

func (h *harness) answer(tradeID, verb string) response {
	return h.do(http.MethodPost, h.stack.URL+"/api/v1/trades/"+tradeID+"/"+verb, h.demo.APIToken, nil, "")
}

// Approval mode (TradersPost's auto-submit off): a webhook signal waits as
// pending_approval and reaches the broker only once the trader approves;
// rejected, nothing is sent; risk is checked at approval, not at arrival;
// the trader's own dashboard orders are sent at once; no answer in time
// cancels the signal with the reason.
func TestApprovalMode(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{timeouts: workflows.Timeouts{Approval: 4 * time.Second}})
		put := h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"requireApproval":true}`), "application/json")
		require.Equal(t, http.StatusOK, put.Status, put.Raw)
		orders := h.orderCount()

		// Approved: sent and filled.
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"appr-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		id := r.Body["tradeId"].(string)
		body := h.waitStatus(id, 30*time.Second, "pending_approval")
		require.Contains(t, body["trade"].(map[string]any)["message"], "Waiting for your approval")
		require.Equal(t, orders, h.orderCount(), "nothing reaches the broker before approval")
		a := h.answer(id, "approve")
		require.Equal(t, http.StatusAccepted, a.Status, a.Raw)
		h.waitStatus(id, 30*time.Second, "filled")
		h.recordDone(d, id, "trade_approval_approved")
		again := h.answer(id, "approve")
		require.Equal(t, http.StatusConflict, again.Status, again.Raw)

		// Rejected: cancelled, nothing sent.
		r = h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":1,"type":"market","id":"appr-2"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		id = r.Body["tradeId"].(string)
		h.waitStatus(id, 30*time.Second, "pending_approval")
		require.Equal(t, http.StatusAccepted, h.answer(id, "reject").Status)
		body = h.waitStatus(id, 30*time.Second, "cancelled")
		require.Contains(t, body["trade"].(map[string]any)["message"], "Rejected by you (dashboard)")
		require.Empty(t, h.trade(id).BrokerOrderID, "nothing was sent")
		h.recordDone(d, id, "trade_approval_rejected")
		require.Empty(t, h.trade(id).BrokerConnectionID, "not even routed")

		// Risk is checked when approved: the limit changed meanwhile.
		r = h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":1,"type":"market","id":"appr-3"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		id = r.Body["tradeId"].(string)
		h.waitStatus(id, 30*time.Second, "pending_approval")
		put = h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"maxPositionPct":"0.01"}`), "application/json")
		require.Equal(t, http.StatusOK, put.Status, put.Raw)
		require.Equal(t, http.StatusAccepted, h.answer(id, "approve").Status)
		body = h.waitStatus(id, 30*time.Second, "rejected", "filled")
		require.Equal(t, "rejected", body["trade"].(map[string]any)["status"], "sized at approval under the new limit")
		put = h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"maxPositionPct":"10"}`), "application/json")
		require.Equal(t, http.StatusOK, put.Status, put.Raw)

		// The trader's own dashboard order needs no approval.
		o := h.do(http.MethodPost, h.stack.URL+"/api/v1/orders", h.demo.APIToken,
			[]byte(`{"symbol":"SPY","side":"buy","quantity":"1","orderType":"market","idempotencyKey":"appr-dash-1"}`), "application/json")
		require.Equal(t, http.StatusAccepted, o.Status, o.Raw)
		h.waitStatus(o.Body["tradeId"].(string), 30*time.Second, "filled")

		// No answer: cancelled when the wait ends.
		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"appr-4"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body = h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "cancelled")
		require.Contains(t, body["trade"].(map[string]any)["message"], "Not approved within 4s")
		h.recordDone(d, r.Body["tradeId"].(string), "trade_approval_expired")
		verifyAudit(t, h, h.demo.UserID)
	})
}
