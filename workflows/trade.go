package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

const (
	defaultSubmitTimeout = 15 * time.Second
	defaultFillWindow    = 5 * time.Minute
	// haltRetryInterval is how often an order waiting for a trading halt
	// to end is tried again.
	haltRetryInterval = 30 * time.Second
)

// Workflow versions (workflow.GetVersion change ids) of TradeWorkflow.
const (
	// versionRiskGuard: the stop-loss follows every fill (amend, cancel)
	// and the account guard is signalled after fills and loss refusals.
	versionRiskGuard = "risk-guard"
	// versionMarketHalts: a halted symbol makes the order wait instead of
	// failing it.
	versionMarketHalts = "market-halts"
	// versionConfirmSubmit: after SubmitOrder gave up on transient
	// failures, the broker is asked whether the order arrived anyway.
	versionConfirmSubmit = "confirm-submit"
	// versionCancelSignal: a cancel signal cancels the trader's open
	// orders in its symbol (cancelOpenOrders) instead of only being
	// recorded by PrepareOrder.
	versionCancelSignal = "cancel-signal"
	// versionCancelWorking: a `cancel` signal received while the entry
	// order works at the broker cancels it (awaitFillOrCancel).
	versionCancelWorking = "cancel-working"
	// versionFillAtSubmit: an order the broker reports final in its answer
	// to the submission (a paper market order fills at once) is recorded by
	// SubmitOrder, and AwaitFill is skipped — one activity and one workflow
	// task less per trade, which is what bounds the channel fan-out on the
	// embedded dev server.
	//
	// Version 2 (inProcessSteps): for a broker that runs in this process
	// (PrepareResult.InProcess: the paper broker), SubmitOrder,
	// PlaceStopLoss and the guard's look after the fill (GuardAfterFill)
	// are local activities, so the whole trade is one workflow task; and
	// versionRiskGuard's marker is not recorded on that path (its
	// behaviour is the only one version 2 knows).
	versionFillAtSubmit = "fill-at-submit"
	// inProcessSteps is versionFillAtSubmit's version with the in-process
	// broker's steps as local activities.
	inProcessSteps workflow.Version = 2
	// versionApproval: PrepareOrder may ask for the trader's approval first
	// (approval mode); the workflow waits for it (awaitApproval). Reached
	// only when PrepareOrder says so, so other trades record no marker.
	versionApproval = "approval"
	// versionTakeProfit: after the entry filled and its stop-loss was
	// placed, a signal's take-profit is armed and watched (watchTakeProfit).
	// Reached only for signals with a take-profit, which were refused
	// before.
	versionTakeProfit = "take-profit"
	// versionTakeProfitLadder: after the entry filled and its stop-loss
	// was placed, a signal's take-profit ladder (two or more targets) is
	// armed and watched leg by leg (watchLadder, workflows/ladder.go).
	// Reached only for signals with a ladder, which did not exist before.
	versionTakeProfitLadder = "take-profit-ladder"
)

// submitGrace is how long the workflow waits, after the last failed submit
// attempt, for a request still in flight to reach the broker before asking
// whether the order is there.
const submitGrace = 5 * time.Second

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
	shaped := in.Shape >= 1 // TradeShape 1
	// Search attributes left for the next status's upsert (shaped).
	var pendingSA []temporal.SearchAttributeUpdate
	setStatus := func(s trade.Status) {
		res.Status = string(s)
		_ = workflow.UpsertTypedSearchAttributes(ctx, append(pendingSA, SATradeStatus.ValueSet(string(s)))...)
		pendingSA = nil
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
	haltRetry := in.Timeouts.HaltRetry // tests only; same timer, shorter
	if haltRetry <= 0 {
		haltRetry = haltRetryInterval
	}
	if in.Signal.Action == signal.ActionCancel && workflow.GetVersion(ctx, versionCancelSignal, workflow.DefaultVersion, 1) >= 1 {
		return cancelOpenOrders(ctx, in, &res, setStatus)
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
	prepCtx := workflow.WithLocalActivityOptions(ctx, localOptions(20*time.Second, &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        4 * time.Second,
		MaximumAttempts:        3,
		NonRetryableErrorTypes: nonRetryableSubmit,
	}))
	var prep PrepareResult
	var sub SubmitResult
	wfID := workflow.GetInfo(ctx).WorkflowExecution.ID
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
	// The same for a broker in this process (inProcessSteps): a local
	// activity, retried in the workflow task.
	localSubmitRetry := &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        4 * time.Second,
		MaximumAttempts:        3,
		NonRetryableErrorTypes: nonRetryableSubmit,
	}
	localSubmitCtx := workflow.WithLocalActivityOptions(ctx, localOptions(submitTimeout, localSubmitRetry))
	inProcess := false
	// done is what PrepareAndSubmit did beyond the check (TradeShape 2):
	// nil, or the submission it made and the steps after it that ran.
	var done *PrepareSubmitResult
	// submitErr is PrepareAndSubmit's submission failing: its retry policy
	// is SubmitOrder's, so it stands for SubmitOrder's attempts.
	var submitErr error
	bothCtx := workflow.WithLocalActivityOptions(ctx, localOptions(20*time.Second+submitTimeout, localSubmitRetry))
	for recheck := false; ; recheck = true {
		// A fresh decision each round: JSON leaves fields an answer omits
		// (awaitApproval) as the previous round set them.
		prep = PrepareResult{}
		prepIn := PrepareInput{TradeID: in.TradeID, Manual: in.Manual, Recheck: recheck, SourceID: in.SourceID}
		if !recheck && in.Shape >= 2 && !takesProfit(in.Signal) && cancelCh.Len() == 0 {
			// The check and, for an order the broker in this process may
			// take now, the rest of the trade in one local activity; a
			// take-profit's exit pair comes between the fill and the stop,
			// so such a signal takes the steps one by one.
			var ps PrepareSubmitResult
			err := workflow.ExecuteLocalActivity(bothCtx, ActPrepareAndSubmit, PrepareSubmitInput{
				Prepare: prepIn,
				Submit:  SubmitInput{TradeID: in.TradeID, ClientOrderID: trade.ClientOrderID(wfID, "entry"), RecordFill: true},
				UserID:  in.UserID,
			}).Get(ctx, &ps)
			var app *temporal.ApplicationError
			if p, ok := submitFailureOf(err); ok {
				// Its submission failed, every attempt: handled below as
				// SubmitOrder's failure (confirm, halt, refusal).
				prep, submitErr = p, err
			} else if errors.As(err, &app) {
				kind, msg := failureOf(err) // PrepareOrder's
				return fail(kind, msg)
			} else if err != nil {
				// It ended without saying which step failed (timed out,
				// cancelled): the steps one by one, each idempotent —
				// PrepareOrder returns a recorded decision, SubmitOrder
				// finds an order that reached the broker.
				logger.Warn("PrepareAndSubmit ended without an answer; the steps run one by one", "error", err)
				if err := workflow.ExecuteLocalActivity(prepCtx, ActPrepareOrder, prepIn).Get(ctx, &prep); err != nil {
					kind, msg := failureOf(err)
					return fail(kind, msg)
				}
			} else {
				prep = ps.Prepare
				if ps.Submit != nil {
					done = &ps
				}
			}
		} else if err := workflow.ExecuteLocalActivity(prepCtx, ActPrepareOrder, prepIn).Get(ctx, &prep); err != nil {
			kind, msg := failureOf(err)
			return fail(kind, msg)
		}
		if prep.Broker != "" && !recheck {
			if shaped {
				pendingSA = append(pendingSA, SABroker.ValueSet(prep.Broker))
			} else {
				_ = workflow.UpsertTypedSearchAttributes(ctx, SABroker.ValueSet(prep.Broker))
			}
		}
		if done != nil {
			sub, inProcess = *done.Submit, true
			break
		}
		if prep.Rejected {
			setStatus(trade.StatusRejected)
			res.Message = prep.Message
			if lossRule(prep.Code) && workflow.GetVersion(ctx, versionRiskGuard, workflow.DefaultVersion, 1) >= 1 {
				// The account is over a loss rule the guard may not have
				// seen yet: have it look now.
				ensureGuard(ctx, prep.ConnectionID, in.UserID)
			}
			return res, nil
		}
		if prep.Noop {
			setStatus(trade.StatusCancelled)
			res.Message = prep.Message
			return res, nil
		}
		if prep.AwaitApproval && workflow.GetVersion(ctx, versionApproval, workflow.DefaultVersion, 1) >= 1 {
			approved, err := awaitApproval(ctx, bookCtx, in, prep.ApprovalTimeout, cancelCh, &res, setStatus)
			if err != nil || !approved {
				return res, err
			}
			continue // approved: the whole check runs again, now
		}
		if !prep.MarketOpen {
			var q QueueResult
			if err := workflow.ExecuteActivity(bookCtx, ActMarkQueued, QueueInput{TradeID: in.TradeID, NextOpen: prep.NextOpen}).Get(ctx, &q); err != nil {
				return res, err
			}
			setStatus(trade.StatusQueued)
			res.Message = q.Message
			logger.Info("order queued until market open", "nextOpen", prep.NextOpen)
			if waitOrCancel(ctx, cancelCh, prep.NextOpen.Sub(workflow.Now(ctx))) {
				return cancelQueued(ctx, bookCtx, in, &res, setStatus)
			}
			continue
		}
		if recheck {
			setStatus(trade.StatusPending)
		}
		// A cancel that arrived while the order was not waiting is
		// honoured here, before submission; one arriving during
		// SubmitOrder is honoured once the order works at the broker
		// (versionCancelWorking).
		if submitErr == nil && cancelCh.ReceiveAsync(nil) {
			return cancelQueued(ctx, bookCtx, in, &res, setStatus)
		}
		fillAtSubmit := inProcessSteps
		if !shaped {
			fillAtSubmit = workflow.GetVersion(ctx, versionFillAtSubmit, workflow.DefaultVersion, inProcessSteps)
		}
		inProcess = fillAtSubmit >= inProcessSteps && prep.InProcess
		submitIn := SubmitInput{TradeID: in.TradeID, ClientOrderID: trade.ClientOrderID(wfID, "entry"), RecordFill: fillAtSubmit >= 1}
		var err error
		switch {
		case submitErr != nil:
			err, submitErr = submitErr, nil
		case inProcess:
			err = workflow.ExecuteLocalActivity(localSubmitCtx, ActSubmitOrder, submitIn).Get(ctx, &sub)
		default:
			err = workflow.ExecuteActivity(submitCtx, ActSubmitOrder, submitIn).Get(ctx, &sub)
		}
		if err == nil {
			break
		}
		kind, msg := failureOf(err)
		if transient(kind) && workflow.GetVersion(ctx, versionConfirmSubmit, workflow.DefaultVersion, 1) >= 1 {
			// Every attempt failed without an answer from the broker, yet
			// one may have reached it: ask (never place) before telling the
			// trader the order was not sent.
			found, err := confirmSubmission(ctx, in.TradeID, trade.ClientOrderID(wfID, "entry"), &sub)
			if err != nil {
				return res, err
			}
			if found {
				break
			}
			return fail(kind, msg)
		}
		if kind != string(broker.KindHalted) || workflow.GetVersion(ctx, versionMarketHalts, workflow.DefaultVersion, 1) < 1 {
			return fail(kind, msg)
		}
		// SPEC edge case 1: trading in the symbol is halted. The order waits
		// (market_halted, no reservation held) and goes through the whole
		// check again when the broker lets it through.
		var q QueueResult
		if err := workflow.ExecuteActivity(bookCtx, ActMarkHalted, HaltInput{TradeID: in.TradeID, Message: msg}).Get(ctx, &q); err != nil {
			return res, err
		}
		setStatus(trade.StatusHalted)
		res.Message = q.Message
		logger.Info("trading halted; order waits", "retryIn", haltRetry)
		if waitOrCancel(ctx, cancelCh, haltRetry) {
			return cancelQueued(ctx, bookCtx, in, &res, setStatus)
		}
	}
	res.BrokerOrderID = sub.BrokerOrderID
	var fill FillResult
	if sub.Fill != nil {
		// Final at submission and already recorded (versionFillAtSubmit).
		fill = *sub.Fill
	} else if err := awaitFill(ctx, bookCtx, in, fillWindow, cancelCh, &fill, setStatus); err != nil {
		return res, err
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

	// 5. PlaceStopLoss: the position's broker-native stop, placed after an
	// opening fill; since versionRiskGuard also amended after any fill that
	// changed the position (cancelled when it closed), while the account
	// guard is told about the fill (it checks the equity at once).
	lifecycle := workflow.Version(1) // inProcessSteps knows only this behaviour
	if !inProcess {
		lifecycle = workflow.GetVersion(ctx, versionRiskGuard, workflow.DefaultVersion, 1)
	}
	var guardTold workflow.Future
	if lifecycle >= 1 && !inProcess {
		guardTold = startEnsureGuard(ctx, prep.ConnectionID, in.UserID)
	}
	pair := placeExitPair(ctx, in, submitTimeout) // versionExitPair: native → the pair holds the stop
	stopDone := done != nil && done.StopPlaced    // by PrepareAndSubmit
	if (opensPosition(in.Signal) || lifecycle >= 1) && !pair.Native && !stopDone {
		var sl StopLossResult
		slRetry := &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    10,
			NonRetryableErrorTypes: []string{
				string(broker.KindInvalidSymbol), string(broker.KindAuthFailed), string(broker.KindInvalidOrder), string(broker.KindRejected),
			},
		}
		var placed workflow.Future
		if inProcess {
			placed = workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localOptions(submitTimeout, slRetry)),
				ActPlaceStopLoss, TradeRef{TradeID: in.TradeID})
		} else {
			placed = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: submitTimeout, RetryPolicy: slRetry,
			}), ActPlaceStopLoss, TradeRef{TradeID: in.TradeID})
		}
		if err := placed.Get(ctx, &sl); err != nil {
			// The entry is filled; a missing stop is reported, not hidden.
			logger.Error("stop-loss not placed", "error", err)
			res.Message = "Order filled, but the stop-loss could not be placed: " + messageOf(err)
		}
	}
	if inProcess && prep.ConnectionID != "" && (done == nil || !done.Guarded) {
		// The account guard's look after the fill, made here (after the
		// stop, so its reconciliation finds it in place) instead of by a
		// signal to the guard's workflow; best effort, as that signal is.
		gctx := workflow.WithLocalActivityOptions(ctx, localOptions(30*time.Second,
			&temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3}))
		if err := workflow.ExecuteLocalActivity(gctx, ActGuardAfterFill, GuardRef{ConnectionID: prep.ConnectionID, UserID: in.UserID}).Get(ctx, nil); err != nil {
			logger.Warn("account guard's look after the fill failed; it looks at its next poll", "error", err)
		}
	}
	if guardTold != nil {
		if err := guardTold.Get(ctx, nil); err != nil {
			logger.Warn("account guard not signalled", "error", err)
		}
	}
	if takesProfit(in.Signal) && workflow.GetVersion(ctx, versionTakeProfit, workflow.DefaultVersion, 1) >= 1 {
		tp, err := followTakeProfit(ctx, bookCtx, in, pair)
		if err != nil {
			return res, err
		}
		if tp.Message != "" {
			res.Message = tp.Message
		}
	}
	if takesLadder(in.Signal) && workflow.GetVersion(ctx, versionTakeProfitLadder, workflow.DefaultVersion, 1) >= 1 {
		tp, err := watchLadder(ctx, bookCtx, in)
		if err != nil {
			return res, err
		}
		if tp.Message != "" {
			res.Message = tp.Message
		}
	}
	return res, nil
}

// localOptions are a local activity's options with room for every attempt
// its retry policy allows: a local activity's schedule-to-close timeout
// defaults to its start-to-close timeout, which would leave no time for a
// second attempt after a first one timed out (a regular activity's has no
// such default). The policy must bound its attempts (MaximumAttempts 0,
// unlimited, leaves the SDK's default).
func localOptions(startToClose time.Duration, retry *temporal.RetryPolicy) workflow.LocalActivityOptions {
	total := time.Duration(retry.MaximumAttempts) * startToClose
	backoff := retry.InitialInterval
	for i := int32(1); i < retry.MaximumAttempts; i++ {
		total += backoff
		backoff = time.Duration(float64(backoff) * retry.BackoffCoefficient)
		if retry.MaximumInterval > 0 && backoff > retry.MaximumInterval {
			backoff = retry.MaximumInterval
		}
	}
	return workflow.LocalActivityOptions{StartToCloseTimeout: startToClose, ScheduleToCloseTimeout: total, RetryPolicy: retry}
}

// takesProfit reports whether the signal asks for a take-profit (the exit
// that takes one carries none).
func takesProfit(s signal.Signal) bool {
	return s.HasTakeProfit() && opensPosition(s)
}

// watchTakeProfit arms the take-profit and watches the price until it is
// reached (the exit is recorded and started) or the position closes
// otherwise (the take-profit is cancelled). The watch is one long activity
// that heartbeats; a worker restart resumes it from the trade row.
func watchTakeProfit(ctx, bookCtx workflow.Context, in TradeInput) (TakeProfitResult, error) {
	var tp TakeProfitResult
	if err := workflow.ExecuteActivity(bookCtx, ActArmTakeProfit, TradeRef{TradeID: in.TradeID}).Get(ctx, &tp); err != nil {
		return tp, err
	}
	if tp.Outcome != "armed" {
		return tp, nil
	}
	watchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 90 * 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	err := workflow.ExecuteActivity(watchCtx, ActWatchTakeProfit, TradeRef{TradeID: in.TradeID}).Get(ctx, &tp)
	return tp, err
}

// awaitFill is step 4 for an order working at the broker: AwaitFill polls
// it (heartbeating) until it is final, a `cancel` signal cancels it
// (versionCancelWorking), and a remainder still working after the fill
// window is cancelled.
func awaitFill(ctx, bookCtx workflow.Context, in TradeInput, fillWindow time.Duration, cancelCh workflow.ReceiveChannel,
	fill *FillResult, setStatus func(trade.Status)) error {
	setStatus(trade.StatusSubmitted)
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
	if workflow.GetVersion(ctx, versionCancelWorking, workflow.DefaultVersion, 1) >= 1 {
		if err := awaitFillOrCancel(ctx, awaitCtx, in.TradeID, deadline, cancelCh, fill); err != nil {
			return err
		}
	} else if err := workflow.ExecuteActivity(awaitCtx, ActAwaitFill, AwaitInput{TradeID: in.TradeID, Deadline: deadline}).Get(ctx, fill); err != nil {
		return err
	}
	if fill.TimedOut {
		return workflow.ExecuteActivity(bookCtx, ActCancelRemainder, TradeRef{TradeID: in.TradeID}).Get(ctx, fill)
	}
	return nil
}

// transient reports whether a submit failure left it unknown whether the
// broker got the order (no answer, or a refusal to answer now).
func transient(kind string) bool {
	return kind == string(broker.KindUnavailable) || kind == string(broker.KindRateLimited)
}

// confirmSubmission waits submitGrace, then asks the broker (retrying until
// it answers, for up to 15 minutes) whether the entry order is there; found
// orders are recorded as submitted and returned in sub.
func confirmSubmission(ctx workflow.Context, tradeID, clientOrderID string, sub *SubmitResult) (bool, error) {
	if err := workflow.Sleep(ctx, submitGrace); err != nil {
		return false, err
	}
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    20 * time.Second,
		ScheduleToCloseTimeout: 15 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{string(broker.KindAuthFailed), "TRADE_CLOSED"},
		},
	})
	var cr ConfirmResult
	if err := workflow.ExecuteActivity(cctx, ActConfirmSubmit, SubmitInput{TradeID: tradeID, ClientOrderID: clientOrderID}).Get(ctx, &cr); err != nil {
		return false, err
	}
	if cr.Found {
		*sub = cr.Submit
	}
	return cr.Found, nil
}

// waitOrCancel sleeps d (at least a second) on a durable timer and reports
// whether a cancel signal arrived first.
func waitOrCancel(ctx workflow.Context, cancelCh workflow.ReceiveChannel, d time.Duration) bool {
	if d < time.Second {
		d = time.Second
	}
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	cancelled := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
	sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, more bool) {
		c.Receive(ctx, nil)
		cancelled = true
	})
	sel.Select(ctx)
	cancelTimer()
	return cancelled
}

// ensureGuard signals the account guard of the connection (starting it if
// needed) and waits. Best effort: the guard also polls on its own.
func ensureGuard(ctx workflow.Context, connectionID, userID string) {
	if f := startEnsureGuard(ctx, connectionID, userID); f != nil {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("account guard not signalled", "error", err)
		}
	}
}

// startEnsureGuard starts the EnsureGuard activity; nil without a
// connection.
func startEnsureGuard(ctx workflow.Context, connectionID, userID string) workflow.Future {
	if connectionID == "" {
		return nil
	}
	gctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	})
	return workflow.ExecuteActivity(gctx, ActEnsureGuard, GuardRef{ConnectionID: connectionID, UserID: userID})
}

// lossRule reports whether a risk rejection code comes from the daily loss
// rules (which the account guard enforces).
func lossRule(code string) bool {
	switch code {
	case risk.CodeDailyLossLimit, risk.CodeCircuitBreaker, risk.CodeAccountLocked:
		return true
	}
	return false
}

func cancelQueued(ctx, bookCtx workflow.Context, in TradeInput, res *TradeResult, setStatus func(trade.Status)) (TradeResult, error) {
	if err := workflow.ExecuteActivity(bookCtx, ActCancelQueued, TradeRef{TradeID: in.TradeID}).Get(ctx, nil); err != nil {
		return *res, err
	}
	setStatus(trade.StatusCancelled)
	res.Message = "Order cancelled before submission."
	return *res, nil
}

// awaitApproval is approval mode: the trade waits as pending_approval on a
// durable timer for the trader's ApprovalDecision (dashboard, Discord), a
// cancel counting as a rejection; it reports whether the trader approved.
// Rejected or expired, the trade is cancelled with the reason.
func awaitApproval(ctx, bookCtx workflow.Context, in TradeInput, timeout time.Duration, cancelCh workflow.ReceiveChannel,
	res *TradeResult, setStatus func(trade.Status)) (bool, error) {
	if in.Timeouts.Approval > 0 {
		timeout = in.Timeouts.Approval
	}
	if err := workflow.ExecuteActivity(bookCtx, ActRecordApproval, ApprovalInput{TradeID: in.TradeID, Outcome: "awaiting", Timeout: timeout}).Get(ctx, nil); err != nil {
		return false, err
	}
	setStatus(trade.StatusAwaiting)
	approvalCh := workflow.GetSignalChannel(ctx, SignalApproval)
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	outcome := ApprovalInput{TradeID: in.TradeID, Outcome: "expired", Timeout: timeout}
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, timeout), func(workflow.Future) {})
	sel.AddReceive(approvalCh, func(c workflow.ReceiveChannel, _ bool) {
		var d ApprovalDecision
		c.Receive(ctx, &d)
		outcome.Outcome, outcome.Via = "rejected", d.Via
		if d.Approve {
			outcome.Outcome = "approved"
		}
	})
	sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		outcome.Outcome, outcome.Via = "rejected", "cancel"
	})
	sel.Select(ctx)
	if err := workflow.ExecuteActivity(bookCtx, ActRecordApproval, outcome).Get(ctx, nil); err != nil {
		return false, err
	}
	if outcome.Outcome == "approved" {
		setStatus(trade.StatusPending)
		return true, nil
	}
	setStatus(trade.StatusCancelled)
	if outcome.Outcome == "expired" {
		res.Message = "Not approved within " + timeout.Round(time.Second).String() + ". Order not sent."
	} else {
		res.Message = "Rejected. Order not sent."
	}
	return false, nil
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
