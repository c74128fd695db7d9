// Package activities holds the durable steps of the trade path. Each method
// of Trading is one Temporal activity: thin, idempotent (safe to run again
// after a crash at any point), with the business rules in internal/*.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/logging"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Trading is the activity struct of the trade path.
type Trading struct {
	DB      *gorm.DB
	Brokers *brokerconn.Resolver
	Log     *zap.Logger
	// Now is the clock (UTC); nil means time.Now.
	Now func() time.Time
	// FillPoll is AwaitFill's polling interval; zero means 100ms.
	FillPoll time.Duration
	// Committed is called after a transaction that wrote outbox events for
	// userID has committed (wakes the real-time hub); may be nil.
	Committed func(userID string)
	// TakeProfitPoll is how often a take-profit watch reads the price; zero
	// means 1 s.
	TakeProfitPoll time.Duration
	// TaskQueue and Timeouts start follow-up trades (a reversal's entry).
	TaskQueue string
	Timeouts  workflows.Timeouts
}

func (a *Trading) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Trading) log() *zap.Logger {
	if a.Log == nil {
		return zap.NewNop()
	}
	return a.Log
}

// logCtx is the activities' logger with the trace_id of the activity's
// span (the Temporal tracing interceptor continues the webhook's trace).
func (a *Trading) logCtx(ctx context.Context) *zap.Logger {
	if f := logging.TraceFields(ctx); len(f) > 0 {
		return a.log().With(f...)
	}
	return a.log()
}

func (a *Trading) committed(userID string) {
	if a.Committed != nil {
		a.Committed(userID)
	}
}

// record wraps trade.Record and wakes the real-time hub after the commit.
func (a *Trading) record(ctx context.Context, tradeID string, mutate func(tx *gorm.DB, t *schema.Trade) (trade.Change, error)) (schema.Trade, error) {
	t, err := trade.Record(ctx, a.DB, tradeID, mutate)
	if err == nil {
		a.committed(t.UserID)
	}
	return t, err
}

// loaded is everything an activity needs about one trade.
type loaded struct {
	Trade  schema.Trade
	Signal signal.Signal
}

func (a *Trading) load(ctx context.Context, tradeID string) (loaded, error) {
	var l loaded
	if err := a.DB.WithContext(ctx).First(&l.Trade, "id = ?", tradeID).Error; err != nil {
		return l, fmt.Errorf("load trade %s: %w", tradeID, err)
	}
	var sig schema.Signal
	if err := a.DB.WithContext(ctx).First(&sig, "id = ?", l.Trade.SignalID).Error; err != nil {
		return l, fmt.Errorf("load signal %s: %w", l.Trade.SignalID, err)
	}
	if err := json.Unmarshal([]byte(sig.Payload), &l.Signal); err != nil {
		return l, temporal.NewNonRetryableApplicationError("stored signal is unreadable", "CORRUPT_SIGNAL", err)
	}
	return l, nil
}

// brokerFor opens the adapter of the trade's connection.
func (a *Trading) brokerFor(ctx context.Context, t schema.Trade) (broker.Broker, error) {
	conn, err := a.Brokers.Load(ctx, t.UserID, t.BrokerConnectionID)
	if err != nil {
		return nil, fmt.Errorf("load connection: %w", err)
	}
	return a.Brokers.Open(ctx, conn)
}

func (a *Trading) settings(ctx context.Context, userID string) (schema.RiskSettings, risk.Settings, error) {
	var row schema.RiskSettings
	err := a.DB.WithContext(ctx).First(&row, "user_id = ?", userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		d := risk.DefaultSettings()
		return schema.RiskSettings{UserID: userID}, d, nil
	}
	if err != nil {
		return row, risk.Settings{}, err
	}
	return row, risk.Settings{
		MaxPositionPct:         row.MaxPositionPct,
		DailyLossLimitPct:      row.DailyLossLimitPct,
		DailyLossLimitAmount:   row.DailyLossLimitAmount,
		CircuitBreakerPct:      row.CircuitBreakerPct,
		StopLossPct:            row.StopLossPct,
		ExtendedHours:          row.ExtendedHours,
		TrailingStop:           row.TrailingStop,
		AllowReversal:          row.AllowReversal,
		MaxAlertLagSeconds:     row.MaxAlertLagSeconds,
		RequireApproval:        row.RequireApproval,
		ApprovalTimeoutSeconds: row.ApprovalTimeoutSeconds,
		LadderStop:             row.LadderStop,
		BreakevenOffsetPct:     row.BreakevenOffsetPct,
		TrailAfterTarget:       row.TrailAfterTarget,
		LadderTrailPct:         row.LadderTrailPct,
		EntryStrategy:          row.EntryStrategy,
	}, nil
}

// brokerFailure turns an adapter error into the activity's failure: its
// type is the broker error kind (the workflow's retry policy knows which
// kinds are final) and its message is worded for the trader.
// unknownOutcome turns an error that is not a typed answer (the database
// or the connection store not answering — a PostgreSQL crash — while the
// entry may already be at the broker) into a transient UNAVAILABLE failure:
// the workflow then asks the broker for the client order id before saying
// anything about the order (confirm-submit), instead of recording a
// rejection for an order that lives at the broker (found by the chaos
// suite: a crash between PlaceOrder and recording it made the retries fail
// on "load trade", a non-broker error the workflow took as final).
func unknownOutcome(err error) error {
	if err == nil {
		return nil
	}
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	if errors.As(err, &app) || errors.As(err, &canceled) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions("tradeexec could not record the order just now (a service did not answer); the broker is asked whether it has it before anything else is done",
		string(broker.KindUnavailable), temporal.ApplicationErrorOptions{Cause: err})
}

func brokerFailure(brokerName string, err error) error {
	kind := broker.KindOf(err)
	var be *broker.Error
	detail := ""
	var retryAfter time.Duration
	if errors.As(err, &be) {
		detail = be.Message
		retryAfter = be.RetryAfter
	}
	metrics.BrokerError(brokerName, string(kind))
	msg := trade.SubmitFailureMessage(brokerName, kind, detail)
	return temporal.NewApplicationErrorWithOptions(msg, string(kind), temporal.ApplicationErrorOptions{
		NonRetryable:   !kind.Retryable(),
		NextRetryDelay: retryAfter,
	})
}
