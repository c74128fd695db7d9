package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

const (
	defaultSubmitTimeout = 15 * time.Second
	defaultFillWindow    = 5 * time.Minute
)

// nonRetryableSubmit are broker error kinds that no retry can fix (DESIGN §3).
var nonRetryableSubmit = []string{
	string(broker.KindInsufficientFunds),
	string(broker.KindInvalidSymbol),
	string(broker.KindAuthFailed),
	string(broker.KindMarketClosed),
	string(broker.KindInvalidOrder),
	string(broker.KindRejected),
}

// TradeWorkflow takes one signal to one trader's broker: risk check, wait for
// the market, submit (idempotent), await the fill, place the stop-loss. Every
// state change is recorded by the activity that causes it, in one database
// transaction with its audit entry and outbox event.
func TradeWorkflow(ctx workflow.Context, in TradeInput) (TradeResult, error) {
	logger := workflow.GetLogger(ctx)
	res := TradeResult{TradeID: in.TradeID, Status: string(trade.StatusPending)}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (TradeResult, error) { return res, nil }); err != nil {
		return res, err
	}
	setStatus := func(s trade.Status) {
		res.Status = string(s)
		_ = workflow.UpsertTypedSearchAttributes(ctx, SATradeStatus.ValueSet(string(s)))
	}
	cancelCh := workflow.GetSignalChannel(ctx, SignalCancel)

	submitTimeout := in.Timeouts.Submit
	if submitTimeout <= 0 {
		submitTimeout = defaultSubmitTimeout
	}
	fillWindow := in.Timeouts.FillWindow
	if fillWindow <= 0 {
		fillWindow = defaultFillWindow
	}

	// Bookkeeping steps: database work, retried until it succeeds.
	bookCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	fail := func(kind, msg string) (TradeResult, error) {
		dctx, _ := workflow.NewDisconnectedContext(bookCtx)
		if err := workflow.ExecuteActivity(dctx, ActRecordFailure, FailureInput{TradeID: in.TradeID, Kind: kind, Message: msg}).Get(dctx, nil); err != nil {
			return res, err
		}
		setStatus(trade.StatusRejected)
		res.Message = msg
		return res, nil
	}

	// 1+2. PrepareOrder (a local activity: it runs inside this workflow task,
	// saving two server round trips on the hot path): market clock, routing,
	// sizing, buying power, exposure reservation. A closed market queues the
	// order on a durable, cancellable timer; at the open the whole check runs
	// again against the account as it is then.
	prepCtx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        4 * time.Second,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: nonRetryableSubmit,
		},
	})
	var prep PrepareResult
	for recheck := false; ; recheck = true {
		if err := workflow.ExecuteLocalActivity(prepCtx, ActPrepareOrder, PrepareInput{TradeID: in.TradeID, Manual: in.Manual, Recheck: recheck}).Get(ctx, &prep); err != nil {
			kind, msg := failureOf(err)
			return fail(kind, msg)
		}
		if prep.Broker != "" && !recheck {
			_ = workflow.UpsertTypedSearchAttributes(ctx, SABroker.ValueSet(prep.Broker))
		}
		if prep.Rejected {
			setStatus(trade.StatusRejected)
			res.Message = prep.Message
			return res, nil
		}
		if prep.Noop {
			setStatus(trade.StatusCancelled)
			res.Message = prep.Message
			return res, nil
		}
		if prep.MarketOpen {
			if recheck {
				setStatus(trade.StatusPending)
			}
			break
		}
		var q QueueResult
		if err := workflow.ExecuteActivity(bookCtx, ActMarkQueued, QueueInput{TradeID: in.TradeID, NextOpen: prep.NextOpen}).Get(ctx, &q); err != nil {
			return res, err
		}
		setStatus(trade.StatusQueued)
		res.Message = q.Message
		logger.Info("order queued until market open", "nextOpen", prep.NextOpen)

		wait := prep.NextOpen.Sub(workflow.Now(ctx))
		if wait < time.Second {
			wait = time.Second
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		cancelled := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) {})
		sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, more bool) {
			c.Receive(ctx, nil)
			cancelled = true
		})
		sel.Select(ctx)
		cancelTimer()
		if cancelled {
			return cancelQueued(ctx, bookCtx, in, &res, setStatus)
		}
	}
	// A cancel that arrived while the order was not queued is honoured only
	// before submission.
	if cancelCh.ReceiveAsync(nil) {
		return cancelQueued(ctx, bookCtx, in, &res, setStatus)
	}

	// 3. SubmitOrder: idempotent by client order id; 3 attempts, 1s then 2s apart.
	submitCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: submitTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        4 * time.Second,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: nonRetryableSubmit,
		},
	})
	wfID := workflow.GetInfo(ctx).WorkflowExecution.ID
	var sub SubmitResult
	if err := workflow.ExecuteActivity(submitCtx, ActSubmitOrder, SubmitInput{
		TradeID: in.TradeID, ClientOrderID: trade.ClientOrderID(wfID, "entry"),
	}).Get(ctx, &sub); err != nil {
		kind, msg := failureOf(err)
		return fail(kind, msg)
	}
	res.BrokerOrderID = sub.BrokerOrderID
	setStatus(trade.StatusSubmitted)

	// 4. AwaitFill: heartbeating poll; a remainder still working after the
	// fill window is cancelled.
	awaitCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: fillWindow + time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	deadline := workflow.Now(ctx).Add(fillWindow)
	var fill FillResult
	if err := workflow.ExecuteActivity(awaitCtx, ActAwaitFill, AwaitInput{TradeID: in.TradeID, Deadline: deadline}).Get(ctx, &fill); err != nil {
		return res, err
	}
	if fill.TimedOut {
		if err := workflow.ExecuteActivity(bookCtx, ActCancelRemainder, TradeRef{TradeID: in.TradeID}).Get(ctx, &fill); err != nil {
			return res, err
		}
	}
	res.FilledQuantity = fill.FilledQuantity
	res.FillPrice = fill.AvgFillPrice
	switch {
	case fill.FilledQuantity.IsPositive():
		setStatus(trade.StatusFilled)
	case broker.OrderStatus(fill.Status) == broker.StatusRejected:
		setStatus(trade.StatusRejected)
		return res, nil
	default:
		setStatus(trade.StatusCancelled)
		return res, nil
	}

	// 5. PlaceStopLoss: broker-native stop for an opening trade.
	if opensPosition(in.Signal) {
		var sl StopLossResult
		slCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: submitTimeout,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:    time.Second,
				BackoffCoefficient: 2,
				MaximumInterval:    30 * time.Second,
				MaximumAttempts:    10,
				NonRetryableErrorTypes: []string{
					string(broker.KindInvalidSymbol), string(broker.KindAuthFailed), string(broker.KindInvalidOrder), string(broker.KindRejected),
				},
			},
		})
		if err := workflow.ExecuteActivity(slCtx, ActPlaceStopLoss, TradeRef{TradeID: in.TradeID}).Get(ctx, &sl); err != nil {
			// The entry is filled; a missing stop is reported, not hidden.
			logger.Error("stop-loss not placed", "error", err)
			res.Message = "Order filled, but the stop-loss could not be placed: " + messageOf(err)
		}
	}
	return res, nil
}

func cancelQueued(ctx, bookCtx workflow.Context, in TradeInput, res *TradeResult, setStatus func(trade.Status)) (TradeResult, error) {
	if err := workflow.ExecuteActivity(bookCtx, ActCancelQueued, TradeRef{TradeID: in.TradeID}).Get(ctx, nil); err != nil {
		return *res, err
	}
	setStatus(trade.StatusCancelled)
	res.Message = "Order cancelled before submission."
	return *res, nil
}

// opensPosition reports whether a stop-loss belongs after the fill.
func opensPosition(s signal.Signal) bool {
	switch s.Action {
	case signal.ActionBuy, signal.ActionSell, signal.ActionAdd:
		return s.Sentiment != "flat"
	}
	return false
}

// failureOf extracts the error kind and trader-facing message from an
// activity failure. Activities return ApplicationErrors whose type is the
// broker error kind or risk code and whose message is already worded for the
// trader; anything else (timeouts) counts as the broker being unavailable.
func failureOf(err error) (kind, msg string) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Type(), app.Message()
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return string(broker.KindUnavailable), ""
	}
	return string(broker.KindUnavailable), ""
}

func messageOf(err error) string {
	_, msg := failureOf(err)
	if msg == "" {
		return "broker unavailable"
	}
	return msg
}
