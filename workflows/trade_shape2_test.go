package workflows

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// TestTradeWorkflow_ShapeTwo: a trade started with TradeShape 2 makes its
// first check with PrepareAndSubmit. When that activity submitted the
// order, placed the stop and had the guard look, the trade is that one
// local activity and nothing else; each step it did not finish runs after
// it as its own local activity, in the order shape 1 runs them; a check
// that let nothing go (refused, a broker elsewhere, a take-profit) goes on
// as after PrepareOrder.
func TestTradeWorkflow_ShapeTwo(t *testing.T) {
	inProc := prepOK
	inProc.InProcess = true
	sub := SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}
	working := SubmitResult{BrokerOrderID: "b1", Status: "new"}
	withTP := buyInput()
	withTP.Signal.TakeProfitPrice = decimal.NewFromInt(200)
	for _, tt := range []struct {
		name   string
		in     func(*TradeInput)
		ps     PrepareSubmitResult
		mocks  func(env *envT)
		local  []string
		remote []string
		status trade.Status
	}{
		{name: "all in one", ps: PrepareSubmitResult{Prepare: inProc, Submit: &sub, StopPlaced: true, Guarded: true},
			local: []string{ActPrepareAndSubmit}, status: trade.StatusFilled},
		{name: "stop failed in it", ps: PrepareSubmitResult{Prepare: inProc, Submit: &sub},
			mocks: func(env *envT) { env.stop(); env.guard() },
			local: []string{ActPrepareAndSubmit, ActPlaceStopLoss, ActGuardAfterFill}, status: trade.StatusFilled},
		{name: "guard's look failed in it", ps: PrepareSubmitResult{Prepare: inProc, Submit: &sub, StopPlaced: true},
			mocks: func(env *envT) { env.guard() },
			local: []string{ActPrepareAndSubmit, ActGuardAfterFill}, status: trade.StatusFilled},
		{name: "submission failed in it", ps: PrepareSubmitResult{Prepare: inProc},
			mocks: func(env *envT) { env.submit(sub); env.stop(); env.guard() },
			local: []string{ActPrepareAndSubmit, ActSubmitOrder, ActPlaceStopLoss, ActGuardAfterFill}, status: trade.StatusFilled},
		{name: "order working", ps: PrepareSubmitResult{Prepare: inProc, Submit: &working},
			mocks: func(env *envT) {
				env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
				env.stop()
				env.guard()
			},
			local: []string{ActPrepareAndSubmit, ActPlaceStopLoss, ActGuardAfterFill}, remote: []string{ActAwaitFill}, status: trade.StatusFilled},
		{name: "refused", ps: PrepareSubmitResult{Prepare: PrepareResult{Rejected: true, Message: "no", Broker: "paper"}},
			local: []string{ActPrepareAndSubmit}, status: trade.StatusRejected},
		{name: "broker elsewhere", ps: PrepareSubmitResult{Prepare: prepOK},
			mocks: func(env *envT) {
				env.submit(sub)
				env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true}, nil).Once()
				env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()
			},
			local: []string{ActPrepareAndSubmit}, remote: []string{ActSubmitOrder, ActEnsureGuard, ActPlaceStopLoss}, status: trade.StatusFilled},
		{name: "take-profit: step by step", in: func(in *TradeInput) { *in = withTP },
			mocks: func(env *envT) {
				env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(inProc, nil).Once()
				env.submit(sub)
				env.stop()
				env.guard()
				env.OnActivity(ActArmTakeProfit, mock.Anything, mock.Anything).Return(TakeProfitResult{Outcome: "none"}, nil).Once()
			},
			local: []string{ActPrepareOrder, ActSubmitOrder, ActPlaceStopLoss, ActGuardAfterFill}, remote: []string{ActArmTakeProfit}, status: trade.StatusFilled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := &envT{newEnv(t)}
			in := buyInput()
			in.Shape = 2
			if tt.in != nil {
				tt.in(&in)
				in.Shape = 2
			}
			if tt.ps.Prepare.Broker != "" {
				env.OnActivity(ActPrepareAndSubmit, mock.Anything, mock.MatchedBy(func(in PrepareSubmitInput) bool {
					return in.Prepare == PrepareInput{TradeID: "t1"} && in.UserID == "u1" &&
						in.Submit.TradeID == "t1" && in.Submit.RecordFill && in.Submit.ClientOrderID != ""
				})).Return(tt.ps, nil).Once()
			}
			if tt.mocks != nil {
				tt.mocks(env)
			}
			started := recordStarts(env.TestWorkflowEnvironment)
			env.ExecuteWorkflow(TradeWorkflowName, in)
			r := result(t, env.TestWorkflowEnvironment)
			require.Equal(t, string(tt.status), r.Status)
			require.Equal(t, tt.local, started.local)
			require.ElementsMatch(t, tt.remote, started.remote)
			if tt.status == trade.StatusFilled {
				require.Equal(t, "b1", r.BrokerOrderID)
				require.True(t, r.FilledQuantity.Equal(decimal.NewFromInt(5)))
				require.Empty(t, r.Message)
			}
		})
	}
}

// TestTradeWorkflow_ShapeTwoPrepareFailure: PrepareAndSubmit's error is
// PrepareOrder's — the trade is refused with its message.
func TestTradeWorkflow_ShapeTwoPrepareFailure(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(ActPrepareAndSubmit, mock.Anything, mock.Anything).
		Return(PrepareSubmitResult{}, temporal.NewNonRetryableApplicationError("The symbol is not known.", string(broker.KindInvalidSymbol), nil)).Once()
	env.OnActivity(ActRecordFailure, mock.Anything, mock.Anything).Return(nil).Once()
	in := buyInput()
	in.Shape = 2
	env.ExecuteWorkflow(TradeWorkflowName, in)
	r := result(t, env)
	require.Equal(t, string(trade.StatusRejected), r.Status)
	require.Equal(t, "The symbol is not known.", r.Message)
}

// envT adds the shape tests' common expectations to the test environment.
type envT struct {
	*testsuite.TestWorkflowEnvironment
}

func (e *envT) submit(r SubmitResult) {
	e.OnActivity(ActSubmitOrder, mock.Anything, mock.MatchedBy(func(in SubmitInput) bool { return in.RecordFill })).Return(r, nil).Once()
}

func (e *envT) stop() {
	e.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true}, nil).Once()
}

func (e *envT) guard() {
	e.OnActivity(ActGuardAfterFill, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1"}).Return(nil).Once()
}

// TestTradeWorkflow_ShapeTwoSubmitFailure: PrepareAndSubmit's submission
// failing is SubmitOrder's failing — retried by the local activity's
// policy (SubmitOrder's: 3 attempts), then a transient failure asks the
// broker whether the order arrived and a refusal fails the trade, with no
// further submission; PrepareAndSubmit ending without an answer (timed
// out) runs the steps one by one.
func TestTradeWorkflow_ShapeTwoSubmitFailure(t *testing.T) {
	inProc := prepOK
	inProc.InProcess = true
	filledSub := SubmitResult{BrokerOrderID: "b1", Status: string(broker.StatusFilled), Fill: &filled}
	for _, tt := range []struct {
		name     string
		err      error
		attempts int
		mocks    func(env *envT)
		local    []string
		remote   []string
		status   trade.Status
		message  string
	}{
		{name: "unavailable: asked, not there", attempts: 3,
			err: MarkSubmitFailure(inProc, temporal.NewApplicationError("Paper broker temporarily unavailable. Order not submitted.", string(broker.KindUnavailable))),
			mocks: func(env *envT) {
				env.OnActivity(ActConfirmSubmit, mock.Anything, mock.Anything).Return(ConfirmResult{}, nil).Once()
				env.OnActivity(ActRecordFailure, mock.Anything, FailureInput{TradeID: "t1", Kind: string(broker.KindUnavailable),
					Message: "Paper broker temporarily unavailable. Order not submitted."}).Return(nil).Once()
			},
			local: []string{ActPrepareAndSubmit, ActPrepareAndSubmit, ActPrepareAndSubmit}, remote: []string{ActConfirmSubmit, ActRecordFailure},
			status: trade.StatusRejected, message: "Paper broker temporarily unavailable. Order not submitted."},
		{name: "unavailable: asked, found", attempts: 3,
			err: MarkSubmitFailure(inProc, temporal.NewApplicationError("Paper broker temporarily unavailable. Order not submitted.", string(broker.KindUnavailable))),
			mocks: func(env *envT) {
				env.OnActivity(ActConfirmSubmit, mock.Anything, mock.Anything).Return(ConfirmResult{Found: true, Submit: filledSub}, nil).Once()
				env.stop()
				env.guard()
			},
			local:  []string{ActPrepareAndSubmit, ActPrepareAndSubmit, ActPrepareAndSubmit, ActPlaceStopLoss, ActGuardAfterFill},
			remote: []string{ActConfirmSubmit}, status: trade.StatusFilled},
		{name: "refused: not retried", attempts: 1,
			err: MarkSubmitFailure(inProc, temporal.NewNonRetryableApplicationError("Insufficient buying power.", string(broker.KindInsufficientFunds), nil)),
			mocks: func(env *envT) {
				env.OnActivity(ActRecordFailure, mock.Anything, FailureInput{TradeID: "t1", Kind: string(broker.KindInsufficientFunds),
					Message: "Insufficient buying power."}).Return(nil).Once()
			},
			local: []string{ActPrepareAndSubmit}, remote: []string{ActRecordFailure}, status: trade.StatusRejected, message: "Insufficient buying power."},
		{name: "no answer: step by step", attempts: 3,
			err: temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil),
			mocks: func(env *envT) {
				env.OnActivity(ActPrepareOrder, mock.Anything, PrepareInput{TradeID: "t1"}).Return(inProc, nil).Once()
				env.submit(filledSub)
				env.stop()
				env.guard()
			},
			local:  []string{ActPrepareAndSubmit, ActPrepareAndSubmit, ActPrepareAndSubmit, ActPrepareOrder, ActSubmitOrder, ActPlaceStopLoss, ActGuardAfterFill},
			status: trade.StatusFilled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := &envT{newEnv(t)}
			env.OnActivity(ActPrepareAndSubmit, mock.Anything, mock.Anything).Return(PrepareSubmitResult{}, tt.err).Times(tt.attempts)
			tt.mocks(env)
			started := recordStarts(env.TestWorkflowEnvironment)
			in := buyInput()
			in.Shape = 2
			env.ExecuteWorkflow(TradeWorkflowName, in)
			r := result(t, env.TestWorkflowEnvironment)
			require.Equal(t, string(tt.status), r.Status)
			require.Equal(t, tt.message, r.Message)
			require.Equal(t, tt.local, started.local)
			require.Equal(t, tt.remote, started.remote)
		})
	}
}
