package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/schema"
)

// webhookDeadline keeps the answer inside TradingView's 3-second limit.
const webhookDeadline = 2500 * time.Millisecond

// tradingViewWebhook accepts a TradingView alert (application/json or
// text/plain) for the trader who owns the URL token, and answers 202 once
// the TradeWorkflow has durably started.
func (s *Server) tradingViewWebhook(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), webhookDeadline)
	defer cancel()

	token := c.Param("token")
	if len(token) < 16 || len(token) > 128 {
		s.fail(c, errUnknownHook)
		return
	}
	var hook schema.WebhookToken
	if err := s.DB.WithContext(ctx).Where("token_hash = ? AND revoked_at IS NULL", HashToken(token)).First(&hook).Error; err != nil {
		s.fail(c, errUnknownHook)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(c, errTooLarge)
			return
		}
		s.fail(c, badRequest("", "Could not read the request body."))
		return
	}
	sig, meta, err := signal.ParseTradingView(body)
	if err != nil {
		s.fail(c, err)
		return
	}
	if hook.PassphraseHash != "" && bcrypt.CompareHashAndPassword([]byte(hook.PassphraseHash), []byte(meta.Passphrase)) != nil {
		s.fail(c, errBadPassword)
		return
	}
	// The alert id de-duplicates per trader; without one, every delivery is
	// a new signal.
	if meta.AlertID != "" {
		sig.ExternalID = hook.UserID + ":" + meta.AlertID
	} else {
		sig.ExternalID = hook.UserID + ":" + uuid.NewString()
	}
	svc := s.intake()
	res, err := svc.Submit(ctx, intake.Request{UserID: hook.UserID, Signal: sig, IPAddress: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if errors.Is(err, intake.ErrStart) {
		s.log(c).Error("workflow start failed", zap.String("workflow_id", res.WorkflowID), zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.log(c).Info("signal accepted", zap.String("signal_id", res.SignalID), zap.String("trade_id", res.TradeID),
		zap.String("workflow_id", res.WorkflowID), zap.Bool("duplicate", res.Duplicate))
	c.JSON(http.StatusAccepted, gin.H{
		"status": "accepted", "signalId": res.SignalID, "tradeId": res.TradeID, "workflowId": res.WorkflowID,
		"duplicate": res.Duplicate, "signal": sig.Text,
	})
}

func (s *Server) intake() *intake.Service {
	return &intake.Service{DB: s.DB, Temporal: s.Temporal, TaskQueue: s.TaskQueue, Timeouts: s.Timeouts, Committed: s.Committed}
}
