package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// listTrades: GET /api/v1/trades?limit=50&status=filled&symbol=AAPL —
// the caller's trades, newest first.
func (s *Server) listTrades(c *gin.Context) {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.fail(c, badRequest("limit", "limit must be a whole number from 1 to 200."))
			return
		}
		limit = n
	}
	subject, ok := s.subjectUserID(c, "Trade")
	if !ok {
		return
	}
	q := s.DB.WithContext(c.Request.Context()).Where("user_id = ?", subject)
	if v := c.Query("status"); v != "" {
		if !validStatus(v) {
			s.fail(c, badRequest("status", "status must be one of pending, queued, market_halted, submitted, partial_fill, filled, rejected, cancelled."))
			return
		}
		q = q.Where("status = ?", v)
	}
	if v := strings.ToUpper(c.Query("symbol")); v != "" {
		if len(v) > 32 {
			s.fail(c, badRequest("symbol", "symbol is too long."))
			return
		}
		q = q.Where("symbol = ?", v)
	}
	var rows []schema.Trade
	if err := q.Order("created_at DESC").Limit(limit).Find(&rows).Error; err != nil {
		s.fail(c, err)
		return
	}
	out := make([]trade.View, 0, len(rows))
	for _, t := range rows {
		out = append(out, trade.ViewOf(t))
	}
	c.JSON(http.StatusOK, gin.H{"trades": out})
}

func validStatus(v string) bool {
	switch trade.Status(v) {
	case trade.StatusPending, trade.StatusAwaiting, trade.StatusQueued, trade.StatusHalted, trade.StatusSubmitted, trade.StatusPartialFill,
		trade.StatusFilled, trade.StatusRejected, trade.StatusCancelled:
		return true
	}
	return false
}

// ownTrade loads a trade of the caller; another user's trade is "not found".
// Support staff load any trade (forensics); each such read is audited on
// the trade owner's chain.
func (s *Server) ownTrade(c *gin.Context) (schema.Trade, bool) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		s.fail(c, errNotFound)
		return schema.Trade{}, false
	}
	var t schema.Trade
	q := s.DB.WithContext(c.Request.Context()).Where("id = ?", id)
	forensics := auth.Role(c.GetString(ctxRole)) == support
	if !forensics {
		q = q.Where("user_id = ?", c.GetString(ctxUserID))
	}
	err := q.First(&t).Error
	if err == nil && forensics {
		err = s.auditSupportAccess(c, t.UserID, "Trade", t.ID)
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		s.fail(c, errNotFound)
		return t, false
	}
	if err != nil {
		s.fail(c, err)
		return t, false
	}
	return t, true
}

// getTrade: GET /api/v1/trades/{id} — the trade and its timeline.
func (s *Server) getTrade(c *gin.Context) {
	t, ok := s.ownTrade(c)
	if !ok {
		return
	}
	entries, err := audit.List(c.Request.Context(), s.DB, audit.Filter{UserID: t.UserID, ResourceID: t.ID, Limit: 500})
	if err != nil {
		s.fail(c, err)
		return
	}
	timeline := make([]trade.Step, 0, len(entries))
	for _, e := range entries {
		step := trade.Step{At: e.Timestamp.UTC(), Action: e.Action, Status: e.Status}
		var details map[string]any
		if e.Details != "" && json.Unmarshal([]byte(e.Details), &details) == nil {
			if m, ok := details["message"].(string); ok {
				step.Message = m
			}
			delete(details, "message")
			step.Details = details
		}
		timeline = append(timeline, step)
	}
	legs, err := trade.LadderOf(s.DB.WithContext(c.Request.Context()), t.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"trade": trade.ViewOf(t), "takeProfitLegs": legs, "timeline": timeline})
}

// cancelTrade: POST /api/v1/trades/{id}/cancel — cancels an open order:
// one waiting in its workflow (pending, queued, market_halted) or working
// at the broker (submitted, partial_fill). It only sends the trade's
// workflow its `cancel` signal and answers 202; the workflow cancels the
// order (at the broker: its own entry order, never the position's
// stop-loss, which is placed only once the entry has ended) and the outcome
// — cancelled, or filled if the fill came first — arrives as the trade's
// own events. Ended orders and cancel signals get 409.
func (s *Server) cancelTrade(c *gin.Context) {
	t, ok := s.ownTrade(c)
	if !ok {
		return
	}
	status := trade.Status(t.Status)
	if !trade.Cancellable(status) {
		s.fail(c, notCancellable(status))
		return
	}
	isCancel, err := s.isCancelSignal(c, t)
	if err != nil {
		s.fail(c, err)
		return
	}
	if isCancel {
		s.fail(c, &Error{Status: http.StatusConflict, Code: "not_cancellable", Message: trade.CancelSignalNotCancellableMessage})
		return
	}
	if err := s.Temporal.SignalWorkflow(c.Request.Context(), t.WorkflowID, "", workflows.SignalCancel, nil); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			// The workflow ended between the read and the signal (a fill
			// came first): answer with the trade as it is now.
			var now schema.Trade
			if rerr := s.DB.WithContext(c.Request.Context()).Select("status").Where("id = ?", t.ID).First(&now).Error; rerr == nil &&
				!trade.Cancellable(trade.Status(now.Status)) {
				s.fail(c, notCancellable(trade.Status(now.Status)))
				return
			}
		}
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"status": "cancelling", "tradeId": t.ID, "message": trade.CancelAcceptedMessage(status)})
}

func notCancellable(s trade.Status) *Error {
	return &Error{Status: http.StatusConflict, Code: "not_cancellable", Message: trade.NotCancellableMessage(s)}
}

// isCancelSignal reports whether t is a cancel signal's own trade (it
// places no order; its workflow cancels other trades and ends on its own).
func (s *Server) isCancelSignal(c *gin.Context, t schema.Trade) (bool, error) {
	var row schema.Signal
	err := s.DB.WithContext(c.Request.Context()).Select("id", "payload").Where("id = ?", t.SignalID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var sig struct {
		Action signal.Action `json:"action"`
	}
	if json.Unmarshal([]byte(row.Payload), &sig) != nil {
		return false, nil
	}
	return sig.Action == signal.ActionCancel, nil
}
