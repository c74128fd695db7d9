package workflows

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// A signal with a ladder: after the fill and the stop, the ladder is armed
// (with the channel source, whose subscription may override the stop
// move) and watched; the single take-profit path is not taken.
func TestTradeWorkflow_TakeProfitLadder(t *testing.T) {
	env := newEnv(t)
	in := buyInput()
	in.SourceID = "src1"
	in.Signal.TakeProfitTargets = []signal.Target{{Price: decimal.NewFromInt(185)}, {Price: decimal.NewFromInt(190)}}
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, TradeRef{TradeID: "t1"}).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(ActArmTakeProfitLadder, mock.Anything, LadderInput{TradeID: "t1", SourceID: "src1"}).
		Return(TakeProfitResult{Outcome: "armed"}, nil).Once()
	env.OnActivity(ActWatchTakeProfitLadder, mock.Anything, TradeRef{TradeID: "t1"}).
		Return(TakeProfitResult{Outcome: "filled", Message: "Take-profit ladder done: 2 of 2 legs filled."}, nil).Once()
	env.ExecuteWorkflow(TradeWorkflowName, in)
	r := result(t, env)
	require.Equal(t, string(trade.StatusFilled), r.Status)
	require.Equal(t, "Take-profit ladder done: 2 of 2 legs filled.", r.Message)
}

// A ladder that is not armed (nothing filled, or refused) is not watched.
func TestTradeWorkflow_TakeProfitLadderNotArmedIsNotWatched(t *testing.T) {
	env := newEnv(t)
	in := buyInput()
	in.Signal.TakeProfitTargets = []signal.Target{{Price: decimal.NewFromInt(185)}, {Price: decimal.NewFromInt(190)}}
	env.OnActivity(ActPrepareOrder, mock.Anything, mock.Anything).Return(prepOK, nil).Once()
	env.OnActivity(ActSubmitOrder, mock.Anything, mock.Anything).Return(submitOK, nil).Once()
	env.OnActivity(ActAwaitFill, mock.Anything, mock.Anything).Return(filled, nil).Once()
	env.OnActivity(ActPlaceStopLoss, mock.Anything, mock.Anything).Return(StopLossResult{Placed: true}, nil).Once()
	env.OnActivity(ActEnsureGuard, mock.Anything, mock.Anything).Return(nil).Once()
	env.OnActivity(ActArmTakeProfitLadder, mock.Anything, mock.Anything).Return(TakeProfitResult{Outcome: "failed", Message: "not armed"}, nil).Once()
	env.ExecuteWorkflow(TradeWorkflowName, in)
	require.Equal(t, "not armed", result(t, env).Message)
}
