package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// An exit fill reconciles the position's stop (cancelled when the
// position is closed) and tells the guard.
func TestTradeWorkflow_ExitFillReconcilesTheStop(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Message: "Stop-loss cancelled: the AAPL position is closed."}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()
	in := buyInput()
	in.Signal.Action, in.Signal.Side = signal.ActionExit, signal.SideSell
	env.ExecuteWorkflow(TradeWorkflowName, in)
	require.Equal(t, string(trade.StatusFilled), result(t, env).Status)
}

// A refusal by the daily loss rules makes the guard look at the account now.
func TestTradeWorkflow_LossRefusalSignalsTheGuard(t *testing.T) {
	env := newEnv(t)
	msg := "Daily loss limit reached (-5%). Trading disabled until tomorrow."
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).
		Return(PrepareResult{Rejected: true, Code: risk.CodeDailyLossLimit, Message: msg, ConnectionID: "c1", Broker: "paper"}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()
	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, msg, r.Message)
}

// A guard that cannot be reached does not fail the trade.
func TestTradeWorkflow_GuardUnavailableIsNotFatal(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(temporal.NewApplicationError("temporal unavailable", "UNAVAILABLE")).Times(3)
	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	require.Equal(t, string(trade.StatusFilled), result(t, env).Status)
}

// SPEC edge case 1: a halted symbol queues the order as market_halted; it
// is checked and sent again when the broker accepts it.
func TestTradeWorkflow_MarketHaltedWaitsAndResumes(t *testing.T) {
	env := newEnv(t)
	start := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	halted := temporal.NewApplicationErrorWithOptions("Trading in AAPL is halted.", string(broker.KindHalted), temporal.ApplicationErrorOptions{NonRetryable: true})
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(prepOK, nil).Once()
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1", Recheck: true}).Return(prepOK, nil).Twice()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{}, halted).Twice()
	var submittedAt time.Time
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(func(context.Context, SubmitInput) (SubmitResult, error) {
		submittedAt = env.Now()
		return submitOK, nil
	}).Once()
	var statuses []string
	env.OnActivity(ActMarkHalted, mock.Anything, HaltInput{TradeID: "t1", Message: "Trading in AAPL is halted."}).Return(func(context.Context, HaltInput) (QueueResult, error) {
		statuses = append(statuses, "halted")
		return QueueResult{Message: risk.HaltedMessage("AAPL")}, nil
	}).Twice()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Len(t, statuses, 2)
	require.Equal(t, 2*haltRetryInterval, submittedAt.Sub(start).Truncate(time.Second))
}

// A halted order can be cancelled while it waits.
func TestTradeWorkflow_CancelWhileHalted(t *testing.T) {
	env := newEnv(t)
	halted := temporal.NewApplicationErrorWithOptions("halted", string(broker.KindHalted), temporal.ApplicationErrorOptions{NonRetryable: true})
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{}, halted).Once()
	env.OnActivity(ActMarkHalted, mock.Anything, mock.Anything).Return(QueueResult{Message: risk.HaltedMessage("AAPL")}, nil).Once()
	env.OnActivity(ActCancelQueued, mock.Anything, TradeRef{TradeID: "t1"}).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, 10*time.Second)
	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	require.Equal(t, string(trade.StatusCancelled), result(t, env).Status)
}

// Every submit attempt lost its answer, but one reached the broker: the
// order is found by its client order id (after a grace period) and the
// trade goes on instead of being reported as not submitted.
func TestTradeWorkflow_UnacknowledgedSubmitIsConfirmed(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	unavailable := temporal.NewApplicationError("Paper temporarily unavailable. Order not submitted.", string(broker.KindUnavailable))
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{}, unavailable).Times(3)
	var asked time.Time
	var failedAt time.Time
	env.OnActivity(ActConfirmSubmit, mock.Anything, mock.Anything).Return(func(_ context.Context, in SubmitInput) (ConfirmResult, error) {
		asked = env.Now()
		require.Equal(t, trade.ClientOrderID("default-test-workflow-id", "entry"), in.ClientOrderID)
		return ConfirmResult{Found: true, Submit: submitOK}, nil
	}).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()
	failedAt = env.Now()
	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "b1", r.BrokerOrderID)
	require.GreaterOrEqual(t, asked.Sub(failedAt), submitGrace)
}
