package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// registerActivityStubs registers placeholder implementations under the
// activity names so the test environment knows their signatures; each test
// then sets expectations with env.OnActivity.
func registerActivityStubs(env *testsuite.TestWorkflowEnvironment) {
	reg := func(name string, fn any) {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	reg(ActPrepareOrder, func(context.Context, PrepareInput) (PrepareResult, error) { return PrepareResult{}, nil })
	reg(ActMarkQueued, func(context.Context, QueueInput) (QueueResult, error) { return QueueResult{}, nil })
	reg(ActCancelQueued, func(context.Context, TradeRef) error { return nil })
	reg(ActSubmitOrder, func(context.Context, SubmitInput) (SubmitResult, error) { return SubmitResult{}, nil })
	reg(ActAwaitFill, func(context.Context, AwaitInput) (FillResult, error) { return FillResult{}, nil })
	reg(ActCancelRemainder, func(context.Context, TradeRef) (FillResult, error) { return FillResult{}, nil })
	reg(ActPlaceStopLoss, func(context.Context, TradeRef) (StopLossResult, error) { return StopLossResult{}, nil })
	reg(ActRecordFailure, func(context.Context, FailureInput) error { return nil })
	reg(ActMarkHalted, func(context.Context, HaltInput) (QueueResult, error) { return QueueResult{}, nil })
	reg(ActEnsureGuard, func(context.Context, GuardRef) error { return nil })
	reg(ActGuardAfterFill, func(context.Context, GuardRef) error { return nil })
	reg(ActPrepareAndSubmit, func(context.Context, PrepareSubmitInput) (PrepareSubmitResult, error) {
		return PrepareSubmitResult{}, nil
	})
	reg(ActConfirmSubmit, func(context.Context, SubmitInput) (ConfirmResult, error) { return ConfirmResult{}, nil })
	reg(ActSelectCancelTargets, func(context.Context, TradeRef) (CancelSelection, error) { return CancelSelection{}, nil })
	reg(ActCancelOpenOrders, func(context.Context, CancelOrdersInput) (CancelOrdersResult, error) { return CancelOrdersResult{}, nil })
	reg(ActCancelEntry, func(context.Context, TradeRef) error { return nil })
	reg(ActRecordApproval, func(context.Context, ApprovalInput) error { return nil })
	reg(ActArmTakeProfit, func(context.Context, TradeRef) (TakeProfitResult, error) { return TakeProfitResult{}, nil })
	reg(ActWatchTakeProfit, func(context.Context, TradeRef) (TakeProfitResult, error) { return TakeProfitResult{}, nil })
	reg(ActArmTakeProfitLadder, func(context.Context, LadderInput) (TakeProfitResult, error) { return TakeProfitResult{}, nil })
	reg(ActWatchTakeProfitLadder, func(context.Context, TradeRef) (TakeProfitResult, error) { return TakeProfitResult{}, nil })
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(TradeWorkflow, workflowRegisterOptions())
	registerActivityStubs(env)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func buyInput() TradeInput {
	return TradeInput{
		TradeID:  "t1",
		SignalID: "s1",
		UserID:   "u1",
		Signal: signal.Signal{
			Source: signal.SourceTradingView, Symbol: "AAPL", AssetClass: signal.AssetStock,
			Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: decimal.NewFromInt(5),
			QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket,
		},
	}
}

var (
	prepOK   = PrepareResult{ConnectionID: "c1", Broker: "paper", AssetClass: signal.AssetStock, Quantity: decimal.NewFromInt(5), MarketOpen: true}
	filled   = FillResult{Status: string(broker.StatusFilled), FilledQuantity: decimal.NewFromInt(5), AvgFillPrice: decimal.NewFromInt(180)}
	submitOK = SubmitResult{BrokerOrderID: "b1", Status: "new"}
)

func result(t *testing.T, env *testsuite.TestWorkflowEnvironment) TradeResult {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var r TradeResult
	require.NoError(t, env.GetWorkflowResult(&r))
	return r
}

func TestTradeWorkflow_HappyPath(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(prepOK, nil).Once()
	var clientID string
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, in SubmitInput) (SubmitResult, error) {
		clientID = in.ClientOrderID
		return submitOK, nil
	}).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true, StopPrice: decimal.RequireFromString("176.40")}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "b1", r.BrokerOrderID)
	require.True(t, r.FilledQuantity.Equal(decimal.NewFromInt(5)))
	require.Equal(t, trade.ClientOrderID("default-test-workflow-id", "entry"), clientID)
}

func TestTradeWorkflow_MarketClosedOverWeekend(t *testing.T) {
	env := newEnv(t)
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	saturday8pm := time.Date(2026, 11, 28, 20, 0, 0, 0, ny)
	mondayOpen := time.Date(2026, 11, 30, 9, 30, 0, 0, ny).UTC()
	env.SetStartTime(saturday8pm)

	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(PrepareResult{Broker: "paper", MarketOpen: false, NextOpen: mondayOpen}, nil).Once()
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1", Recheck: true}).Return(prepOK, nil).Once()
	env.OnActivity(ActMarkQueued, mock.Anything, QueueInput{TradeID: "t1", NextOpen: mondayOpen}).
		Return(QueueResult{Message: "Order queued for Monday 9:30am ET"}, nil).Once()
	var submittedAt time.Time
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(func(context.Context, SubmitInput) (SubmitResult, error) {
		submittedAt = env.Now()
		return submitOK, nil
	}).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.False(t, submittedAt.Before(mondayOpen), "submitted at %s, before the open %s", submittedAt, mondayOpen)
	require.True(t, submittedAt.Before(mondayOpen.Add(time.Minute)), "submitted at %s, long after the open", submittedAt)
}

func TestTradeWorkflow_Broker503TwiceThenSuccess(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	unavailable := temporal.NewApplicationError("Paper temporarily unavailable", string(broker.KindUnavailable))
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{}, unavailable).Twice()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
}

func TestTradeWorkflow_BrokerUnavailableThreeTimesGivesUp(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	msg := "Schwab temporarily unavailable. Order not submitted."
	unavailable := temporal.NewApplicationError(msg, string(broker.KindUnavailable))
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(SubmitResult{}, unavailable).Times(3)
	env.OnActivity(ActConfirmSubmit, mock.Anything, mock.Anything).Return(ConfirmResult{}, nil).Once()
	env.OnActivity(ActRecordFailure, mock.Anything, FailureInput{TradeID: "t1", Kind: string(broker.KindUnavailable), Message: msg}).Return(nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, msg, r.Message)
}

func TestTradeWorkflow_InsufficientFundsIsNotRetried(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	msg := "Insufficient buying power: $20,000 available, $50,000 required"
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).
		Return(SubmitResult{}, temporal.NewApplicationError(msg, string(broker.KindInsufficientFunds))).Once()
	env.OnActivity(ActRecordFailure, mock.Anything, FailureInput{TradeID: "t1", Kind: string(broker.KindInsufficientFunds), Message: msg}).Return(nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, msg, r.Message)
}

func TestTradeWorkflow_RiskRejection(t *testing.T) {
	env := newEnv(t)
	msg := "Insufficient buying power: $20,000 available, $50,000 required"
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(PrepareResult{Rejected: true, Message: msg, Broker: "paper"}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, msg, r.Message)
}

func TestTradeWorkflow_PartialFillThenTimeout(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	var deadline time.Time
	var started time.Time
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(func(_ context.Context, in AwaitInput) (FillResult, error) {
		started = env.Now()
		deadline = in.Deadline
		return FillResult{Status: string(broker.StatusPartiallyFilled), FilledQuantity: decimal.NewFromInt(3), AvgFillPrice: decimal.NewFromInt(180), TimedOut: true}, nil
	}).Once()
	env.OnActivity(ActCancelRemainder, mock.Anything, TradeRef{TradeID: "t1"}).
		Return(FillResult{Status: string(broker.StatusCancelled), FilledQuantity: decimal.NewFromInt(3), AvgFillPrice: decimal.NewFromInt(180)}, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.True(t, r.FilledQuantity.Equal(decimal.NewFromInt(3)))
	require.Equal(t, 5*time.Minute, deadline.Sub(started))
}

func TestTradeWorkflow_CancelWhileQueued(t *testing.T) {
	env := newEnv(t)
	nextOpen := time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC)
	env.SetStartTime(nextOpen.Add(-37 * time.Hour))
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(PrepareResult{Broker: "paper", NextOpen: nextOpen}, nil).Once()
	env.OnActivity(ActMarkQueued, mock.Anything, mock.Anything).Return(QueueResult{Message: "Order queued for Monday 9:30am ET"}, nil).Once()
	env.OnActivity(ActCancelQueued, mock.Anything, TradeRef{TradeID: "t1"}).Return(nil).Once()
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalCancel, nil)
	}, time.Hour)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusCancelled), r.Status)
}

func TestTradeWorkflow_ExitWithNoPositionIsNoop(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).
		Return(PrepareResult{Noop: true, Message: "No open AAPL position to exit."}, nil).Once()
	in := buyInput()
	in.Signal.Action = signal.ActionExit
	env.ExecuteWorkflow(TradeWorkflowName, in)
	r := result(t, env)
	require.Equal(t, string(trade.StatusCancelled), r.Status)
}

// TestTradeWorkflow_FilledAtSubmission: the workflow asks SubmitOrder to
// record a fill that is final in the broker's answer (versionFillAtSubmit);
// then no AwaitFill runs and the stop-loss follows at once.
func TestTradeWorkflow_FilledAtSubmission(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.MatchedBy(func(in SubmitInput) bool { return in.RecordFill })).
		Return(SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true, StopPrice: decimal.RequireFromString("176.40")}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()
	awaited := false
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == ActAwaitFill {
			awaited = true
		}
	})

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "b1", r.BrokerOrderID)
	require.True(t, r.FilledQuantity.Equal(decimal.NewFromInt(5)))
	require.True(t, r.FillPrice.Equal(decimal.NewFromInt(180)))
	require.False(t, awaited, "AwaitFill ran for an order filled at submission")
}

// TestTradeWorkflow_InProcessBrokerStepsAreLocal: for a broker in the
// worker's process (PrepareResult.InProcess, inProcessSteps) SubmitOrder,
// PlaceStopLoss and the guard's look after the fill run as local
// activities, in that order — the whole trade one workflow task — and the
// guard's workflow is not signalled (EnsureGuard does not run). A broker
// elsewhere keeps its regular activities (the other tests).
func TestTradeWorkflow_InProcessBrokerStepsAreLocal(t *testing.T) {
	env := newEnv(t)
	prep := prepOK
	prep.InProcess = true
	env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(prep, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.MatchedBy(func(in SubmitInput) bool { return in.RecordFill })).
		Return(SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActGuardAfterFill, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()
	started := recordStarts(env)

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "b1", r.BrokerOrderID)
	require.Equal(t, []string{ActPrepareOrder, ActSubmitOrder, ActPlaceStopLoss, ActGuardAfterFill}, started.local)
	require.Empty(t, started.remote, "an in-process broker's trade scheduled regular activities")
}

// TestTradeWorkflow_ShapedTradeRecordsNoVersion: a trade started with
// TradeShape takes the in-process steps without asking fill-at-submit's
// version (no marker), and upserts its broker with its status, in one
// upsert; a trade started without it (older starts) asks the version.
func TestTradeWorkflow_ShapedTradeRecordsNoVersion(t *testing.T) {
	for _, tt := range []struct {
		name     string
		shape    int
		versions int
		upserts  int
	}{
		{"shape 1", 1, 0, 1},
		{"older start", 0, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t)
			prep := prepOK
			prep.InProcess = true
			prep.Broker = "paper"
			env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prep, nil).Once()
			env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).
				Return(SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}, nil).Once()
			env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()
			env.OnActivity(ActGuardAfterFill, mock.Anything, mock.Anything).Return(nil).Once()
			versions := 0
			env.OnGetVersion(versionFillAtSubmit, workflow.DefaultVersion, inProcessSteps).
				Run(func(mock.Arguments) { versions++ }).Return(inProcessSteps).Maybe()
			var upserts []map[string]bool
			env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
				keys := map[string]bool{}
				for k := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
					keys[k.GetName()] = true
				}
				upserts = append(upserts, keys)
			}).Return(nil)
			in := buyInput()
			in.Shape = tt.shape
			env.ExecuteWorkflow(TradeWorkflowName, in)
			r := result(t, env)
			require.Equal(t, string(trade.StatusFilled), r.Status)
			require.Equal(t, tt.versions, versions)
			require.Len(t, upserts, tt.upserts, "%v", upserts)
			last := upserts[len(upserts)-1]
			require.True(t, last[SATradeStatus.GetName()], "%v", upserts)
			if tt.shape > 0 {
				require.True(t, last[SABroker.GetName()], "the broker goes with the status: %v", upserts)
			}
		})
	}
}

// TestTradeWorkflow_InProcessStopFailureIsReported: a stop-loss the
// in-process broker refuses is reported on the filled trade, as on the
// regular path, and the guard still looks after the fill.
func TestTradeWorkflow_InProcessStopFailureIsReported(t *testing.T) {
	env := newEnv(t)
	prep := prepOK
	prep.InProcess = true
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prep, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).
		Return(SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).
		Return(StopLossResult{}, temporal.NewNonRetryableApplicationError("stop price invalid", string(broker.KindInvalidOrder), nil)).Once()
	env.OnActivity(ActGuardAfterFill, mock.Anything, mock.Anything).Return(nil).Once()

	env.ExecuteWorkflow(TradeWorkflowName, buyInput())
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "Order filled, but the stop-loss could not be placed: stop price invalid", r.Message)
}

// A local activity's schedule-to-close timeout leaves room for every
// attempt its policy allows (it defaults to one start-to-close, which
// allowed no retry after a timed-out attempt: an in-process stop-loss
// whose broker call hung was never tried again).
func TestLocalOptionsLeaveRoomForEveryAttempt(t *testing.T) {
	o := localOptions(2*time.Second, &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 3 * time.Second, MaximumAttempts: 4})
	require.Equal(t, 2*time.Second, o.StartToCloseTimeout)
	require.Equal(t, 4*2*time.Second+(1+2+3)*time.Second, o.ScheduleToCloseTimeout)
}

// starts are the activity types a test workflow started, in order.
type starts struct{ local, remote []string }

// recordStarts records the local and regular activities env starts.
func recordStarts(env *testsuite.TestWorkflowEnvironment) *starts {
	s := &starts{}
	env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) {
		s.local = append(s.local, info.ActivityType.Name)
	})
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.remote = append(s.remote, info.ActivityType.Name)
	})
	return s
}
