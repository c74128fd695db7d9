package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

func cancelInput() TradeInput {
	return TradeInput{
		TradeID: "tc", SignalID: "sc", UserID: "u1",
		Signal: signal.Signal{Source: signal.SourceTradingView, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionCancel},
	}
}

// A cancel signal selects the trader's open orders and has them cancelled;
// nothing is prepared, queued or submitted for it, whatever the market.
func TestTradeWorkflow_CancelSignalCancelsOpenOrders(t *testing.T) {
	env := newEnv(t)
	targets := []CancelTarget{{TradeID: "t1", WorkflowID: "trade/s1/u1", Status: "queued"}, {TradeID: "t2", WorkflowID: "trade/s2/u1", Status: "submitted"}}
	env.OnActivity(ActSelectCancelTargets, mock.Anything, TradeRef{TradeID: "tc"}).
		Return(CancelSelection{ConnectionID: "c1", Broker: "paper", Targets: targets}, nil).Once()
	env.OnActivity(ActCancelOpenOrders, mock.Anything, CancelOrdersInput{TradeID: "tc", ConnectionID: "c1", Broker: "paper", Targets: targets}).
		Return(CancelOrdersResult{Status: string(trade.StatusCancelled), Message: "Cancelled 2 open AAPL orders."}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, cancelInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusCancelled), r.Status)
	require.Equal(t, "Cancelled 2 open AAPL orders.", r.Message)
}

// Already decided (a retry after the outcome was recorded, or no broker
// to route to): the recorded outcome is the result.
func TestTradeWorkflow_CancelSignalAlreadyDecided(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActSelectCancelTargets, mock.Anything, TradeRef{TradeID: "tc"}).
		Return(CancelSelection{Done: true, Status: string(trade.StatusRejected), Message: "No broker connected for stocks."}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, cancelInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, "No broker connected for stocks.", r.Message)
}

var cancelledAtBroker = FillResult{Status: string(broker.StatusCancelled), FilledQuantity: decimal.Zero}

// A `cancel` while the entry order works at the broker: the workflow
// cancels its own order (CancelEntry) and AwaitFill reports it cancelled.
func TestTradeWorkflow_CancelWhileWorkingAtBroker(t *testing.T) {
	env := newEnv(t)
	var asked atomic.Bool
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).After(time.Minute).Return(func(context.Context, AwaitInput) (FillResult, error) {
		if asked.Load() {
			return cancelledAtBroker, nil
		}
		return filled, nil
	}).Once()
	env.OnActivity(ActCancelEntry, mock.Anything, TradeRef{TradeID: "t1"}).Return(func(context.Context, TradeRef) error {
		asked.Store(true)
		return nil
	}).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, 10*time.Second)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.True(t, asked.Load(), "the entry order was not cancelled")
	require.Equal(t, string(trade.StatusCancelled), r.Status)
	require.True(t, r.FilledQuantity.IsZero())
}

// A `cancel` that arrives while SubmitOrder runs is honoured as soon as the
// order works at the broker.
func TestTradeWorkflow_CancelDuringSubmitCancelsAtBroker(t *testing.T) {
	env := newEnv(t)
	var asked atomic.Bool
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).After(5*time.Second).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).After(time.Minute).Return(func(context.Context, AwaitInput) (FillResult, error) {
		if asked.Load() {
			return cancelledAtBroker, nil
		}
		return filled, nil
	}).Once()
	env.OnActivity(ActCancelEntry, mock.Anything, TradeRef{TradeID: "t1"}).Return(func(context.Context, TradeRef) error {
		asked.Store(true)
		return nil
	}).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, time.Second)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusCancelled), r.Status)
}

// The order filled before the cancel took effect: it stays filled and gets
// its stop-loss, as any fill. A second `cancel` changes nothing.
func TestTradeWorkflow_CancelTooLateStaysFilled(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).After(time.Minute).Return(filled, nil).Once()
	env.OnActivity(ActCancelEntry, mock.Anything, TradeRef{TradeID: "t1"}).Return(nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, 10*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, 20*time.Second)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.True(t, r.FilledQuantity.Equal(decimal.NewFromInt(5)))
}

// A broker that cannot cancel leaves the order working; the fill window
// still ends it (CancelRemainder), and the trade is not failed by the cancel.
func TestTradeWorkflow_CancelEntryFailsFillWindowEndsIt(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).After(time.Minute).
		Return(FillResult{Status: string(broker.StatusNew), TimedOut: true}, nil).Once()
	env.OnActivity(ActCancelEntry, mock.Anything, TradeRef{TradeID: "t1"}).
		Return(temporal.NewNonRetryableApplicationError("Paper broker rejected the stored credentials.", string(broker.KindAuthFailed), nil)).Once()
	env.OnActivity(ActCancelRemainder, mock.Anything, TradeRef{TradeID: "t1"}).Return(cancelledAtBroker, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalCancel, nil) }, 10*time.Second)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusCancelled), r.Status)
}
