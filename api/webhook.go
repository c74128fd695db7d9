package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
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
	submitted := false // from then on intake counts the signal
	defer func() {
		if !submitted && c.Writer.Status() >= 400 {
			metrics.SignalReceived(metrics.SourceWebhook, metrics.OutcomeRefused)
		}
	}()

	g := s.hookGuard()
	ip := c.ClientIP()
	if blocked, wait := g.unknownBlocked(ip); blocked {
		s.tooMany(c, wait, "rate_limited", "Too many requests to unknown webhook URLs from this address. Try again later.")
		return
	}
	unknown := func() {
		g.unknown.allow(clientKey(ip))
		s.fail(c, errUnknownHook)
	}
	token := c.Param("token")
	if len(token) < 16 || len(token) > 128 {
		unknown()
		return
	}
	var hook schema.WebhookToken
	err := s.DB.WithContext(ctx).Where("token_hash = ? AND revoked_at IS NULL", HashToken(token)).First(&hook).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		unknown()
		return
	}
	if err != nil {
		// The database did not answer: the URL may well exist, and a
		// redelivery is safe (nothing was stored).
		s.log(c).Warn("webhook token lookup failed", zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	if hook.TradingViewIPsOnly && !fromTradingView(ip) {
		s.log(c).Warn("webhook from outside TradingView's addresses refused", zap.String("ip", ip), zap.String("user_id", hook.UserID))
		s.fail(c, &Error{Status: http.StatusForbidden, Code: "source_not_allowed",
			Message: "This webhook URL accepts alerts from TradingView's servers only."})
		return
	}
	if ok, wait := g.perMinute.allow(hook.ID); !ok {
		s.tooMany(c, wait, "webhook_rate_limited", fmt.Sprintf("This webhook URL received more than %d alerts in a minute; the others are refused. Check your TradingView alerts for one that fires in a loop.", WebhookPerMinute))
		return
	}
	if ok, wait := g.perHour.allow(hook.ID); !ok {
		s.tooMany(c, wait, "webhook_rate_limited", fmt.Sprintf("This webhook URL received more than %d alerts in an hour; the others are refused. Check your TradingView alerts for one that fires in a loop.", WebhookPerHour))
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
	// Authentication first: nothing about the body is answered to a
	// sender who does not know the passphrase.
	if hook.PassphraseHash != "" {
		if until, err := s.passphraseLockedUntil(ctx, hook); err != nil {
			s.failWebhook(c, err)
			return
		} else if !until.IsZero() {
			s.tooMany(c, until.Sub(s.clock()), "webhook_locked",
				"This webhook URL is locked for 15 minutes after repeated wrong passphrases.")
			return
		}
		if bcrypt.CompareHashAndPassword([]byte(hook.PassphraseHash), []byte(bodyPassphrase(body))) != nil {
			s.recordPassphraseFailure(c, hook)
			s.fail(c, errBadPassword)
			return
		}
	}
	sig, meta, err := signal.ParseTradingView(body)
	if err != nil {
		s.fail(c, err)
		return
	}
	if err := s.checkSession(ctx, hook.UserID, sig); err != nil {
		s.failWebhook(c, err)
		return
	}
	if !meta.SignalTime.IsZero() {
		_, settings, _, err := loadRiskSettings(s.DB.WithContext(ctx), hook.UserID)
		if err != nil {
			s.failWebhook(c, err)
			return
		}
		// 3Commas' max_lag: a delayed or replayed alert is not traded.
		maxLag := settings.AlertLag()
		if lag := s.clock().Sub(meta.SignalTime); lag > maxLag || lag < -maxLag {
			s.fail(c, &Error{Status: http.StatusBadRequest, Code: "stale_alert", Field: "time",
				Message: fmt.Sprintf("The alert's time %s is %s from now (more than your limit of %d seconds, Settings → Risk): refused as stale. Send TradingView's {{timenow}} as the time.",
					meta.SignalTime.UTC().Format(time.RFC3339), lag.Round(time.Second).Abs(), int(maxLag.Seconds()))})
			return
		}
	}
	// The alert id de-duplicates per trader; without one, an identical body
	// within the replay window is the same signal (a replay), else a new one.
	if meta.AlertID != "" {
		sig.ExternalID = hook.UserID + ":" + meta.AlertID
	} else {
		sig.ExternalID = replayKey(hook.UserID, body, s.clock())
	}
	svc := s.intake()
	submitted = true
	res, err := svc.Submit(ctx, intake.Request{UserID: hook.UserID, Signal: sig, IPAddress: c.ClientIP(), UserAgent: c.Request.UserAgent()})
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)) {
		// Too busy to record it within TradingView's 3 seconds: nothing was
		// stored (the transaction rolled back); a redelivery is safe.
		s.log(c).Warn("webhook not recorded in time", zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	if err != nil {
		s.failWebhook(c, err)
		return
	}
	s.log(c).Info("signal accepted", zap.String("signal_id", res.SignalID), zap.String("trade_id", res.TradeID),
		zap.String("workflow_id", res.WorkflowID), zap.Bool("duplicate", res.Duplicate), zap.Bool("deferred", res.Deferred))
	c.JSON(http.StatusAccepted, acceptedBody(res, sig.Text))
}

// failWebhook answers a failed webhook: a database that could not be used
// (down, restarting, connection cut — nothing was stored) is 503, retry
// later; anything else as usual. Found by the chaos suite crashing
// PostgreSQL: a pooled connection the crash had cut answered 500.
func (s *Server) failWebhook(c *gin.Context, err error) {
	if store.IsUnavailable(err) {
		s.log(c).Warn("webhook: database unavailable", zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	s.fail(c, err)
}

func (s *Server) intake() *intake.Service {
	return &intake.Service{DB: s.DB, Temporal: s.Temporal, TaskQueue: s.TaskQueue, Timeouts: s.Timeouts, Committed: s.Committed,
		Log: s.Log.Named("intake")}
}

// acceptedBody answers an accepted signal. Deferred: Temporal did not answer
// at once; the signal is stored and its order starts as soon as it does.
func acceptedBody(res intake.Result, text string) gin.H {
	h := gin.H{"status": "accepted", "signalId": res.SignalID, "tradeId": res.TradeID, "workflowId": res.WorkflowID,
		"duplicate": res.Duplicate, "signal": text}
	if res.Deferred {
		h["deferred"] = true
		h["message"] = "Signal accepted. The trading service is catching up; the order starts within moments."
	}
	return h
}
