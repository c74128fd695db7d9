package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"

	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/workflows"
)

// approveTrade: POST /api/v1/trades/{id}/approve (or /reject) — the
// trader's answer to a signal waiting for approval (approval mode). 202:
// the workflow has the answer; approved, the risk check runs and the order
// is sent; rejected, nothing is sent.
func (s *Server) approveTrade(approve bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		t, ok := s.ownTrade(c)
		if !ok {
			return
		}
		if trade.Status(t.Status) != trade.StatusAwaiting {
			s.fail(c, &Error{Status: http.StatusConflict, Code: "not_pending_approval", Message: trade.NotAwaitingApprovalMessage(trade.Status(t.Status))})
			return
		}
		err := s.Temporal.SignalWorkflow(c.Request.Context(), t.WorkflowID, "", workflows.SignalApproval,
			workflows.ApprovalDecision{Approve: approve, Via: "dashboard"})
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			s.fail(c, &Error{Status: http.StatusConflict, Code: "not_pending_approval", Message: trade.NotAwaitingApprovalMessage(trade.StatusCancelled)})
			return
		}
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"tradeId": t.ID, "approved": approve, "message": trade.ApprovalAcceptedMessage(approve)})
	}
}
