package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// childRecorder stands in for TradeWorkflow and records each child run.
type childRecorder struct {
	mu  sync.Mutex
	ids []string
	in  []TradeInput
}

func (c *childRecorder) run(ctx workflow.Context, in TradeInput) (TradeResult, error) {
	c.mu.Lock()
	c.ids = append(c.ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
	c.in = append(c.in, in)
	c.mu.Unlock()
	return TradeResult{TradeID: in.TradeID, Status: string(trade.StatusSubmitted)}, nil
}

func newSignalEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *childRecorder) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SignalWorkflow, workflow.RegisterOptions{Name: SignalWorkflowName})
	rec := &childRecorder{}
	env.RegisterWorkflowWithOptions(rec.run, workflow.RegisterOptions{Name: TradeWorkflowName})
	env.RegisterActivityWithOptions(func(context.Context, FanoutPageInput) (FanoutPageResult, error) { return FanoutPageResult{}, nil },
		activity.RegisterOptions{Name: ActFanoutPage})
	env.RegisterActivityWithOptions(func(context.Context, FinishSignalInput) error { return nil },
		activity.RegisterOptions{Name: ActFinishSignal})
	// These tests cover the fan-out as histories before versionEagerFanout
	// run it (children started by the workflow, a page per activity).
	env.OnGetVersion(versionEagerFanout, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env, rec
}

func signalInput() SignalInput {
	s := signal.Signal{Source: signal.SourceDiscord, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionBuy,
		Side: signal.SideBuy, Quantity: decimal.NewFromInt(1), QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket, Text: "/buy AAPL 1"}
	return SignalInput{SourceID: "src", MessageID: "1234567890123456789", ChannelID: "c1", Legs: signal.SingleLeg(s), PageSize: 2}
}

// page returns the fan-out page for users u<from>..u<to-1>.
func page(legs []signal.Leg, from, to int, done bool) FanoutPageResult {
	var out FanoutPageResult
	for i := from; i < to; i++ {
		u := fmt.Sprintf("u%d", i)
		for _, l := range legs {
			sid := "sig-" + u + l.Key
			out.Trades = append(out.Trades, FanoutTrade{UserID: u, TradeID: "t-" + u + l.Key, SignalID: sid,
				WorkflowID: trade.WorkflowID(sid, u), Signal: l.Signal})
		}
	}
	out.Next, out.Done = fmt.Sprintf("u%d", to-1), done
	return out
}

func TestSignalWorkflow_FansOutInPagesAndSummarizes(t *testing.T) {
	env, rec := newSignalEnv(t)
	in := signalInput()
	pageAfter := func(after string) any {
		return mock.MatchedBy(func(p FanoutPageInput) bool {
			return p.SourceID == "src" && p.MessageID == in.MessageID && len(p.Legs) == 1 && p.After == after && p.Limit == 2
		})
	}
	env.OnActivity(ActFanoutPage, mock.Anything, pageAfter("")).Return(page(in.Legs, 0, 2, false), nil).Once()
	last := page(in.Legs, 2, 3, true)
	last.Skipped = []FanoutSkip{{UserID: "u9", Reason: "No active broker connection for stocks."}}
	env.OnActivity(ActFanoutPage, mock.Anything, pageAfter("u1")).Return(last, nil).Once()
	env.OnActivity(ActFinishSignal, mock.Anything, FinishSignalInput{SourceID: "src", MessageID: in.MessageID, ChannelID: "c1", Followers: 3, Skipped: 1}).
		Return(nil).Once()

	env.ExecuteWorkflow(SignalWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res SignalResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, SignalResult{Followers: 3, Skipped: 1}, res)
	require.ElementsMatch(t, []string{trade.WorkflowID("sig-u0", "u0"), trade.WorkflowID("sig-u1", "u1"), trade.WorkflowID("sig-u2", "u2")}, rec.ids)
	for _, ti := range rec.in {
		require.Equal(t, "AAPL", ti.Signal.Symbol)
		require.NotEmpty(t, ti.TradeID)
	}
}

func TestSignalWorkflow_SplitSignalCountsFollowersNotLegs(t *testing.T) {
	env, rec := newSignalEnv(t)
	// Split legs (one entry per target) are no longer made by the parser
	// (a ladder is one entry); fan-outs recorded with them still run.
	f, err := signal.ParseFreeform("BTC/USDT LONG Entry 42000 SL 41000 TP 43000")
	require.NoError(t, err)
	in := signalInput()
	in.Legs = nil
	for i, tp := range []string{"43000", "44500"} {
		s := f.Signal
		s.TakeProfitPrice = decimal.RequireFromString(tp)
		in.Legs = append(in.Legs, signal.Leg{Key: fmt.Sprintf("tp%d", i+1), Signal: s, Share: decimal.NewFromInt(50)})
	}
	env.OnActivity(ActFanoutPage, mock.Anything, mock.Anything).Return(page(in.Legs, 0, 2, true), nil).Once()
	env.OnActivity(ActFinishSignal, mock.Anything, mock.MatchedBy(func(fi FinishSignalInput) bool { return fi.Followers == 2 })).Return(nil).Once()
	env.ExecuteWorkflow(SignalWorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, rec.ids, 4)
	tps := map[string]bool{}
	for _, ti := range rec.in {
		tps[ti.Signal.TakeProfitPrice.String()] = true
	}
	require.Equal(t, map[string]bool{"43000": true, "44500": true}, tps)
}

func TestSignalWorkflow_ContinuesAsNewAfterPagesPerRun(t *testing.T) {
	env, _ := newSignalEnv(t)
	in := signalInput()
	in.PagesPerRun = 1
	env.OnActivity(ActFanoutPage, mock.Anything, mock.Anything).Return(page(in.Legs, 0, 2, false), nil).Once()
	env.ExecuteWorkflow(SignalWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "err = %v", env.GetWorkflowError())
	require.Equal(t, SignalWorkflowName, can.WorkflowType.Name)
	var next SignalInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, "u1", next.After)
	require.Equal(t, 2, next.Followers)
	require.Equal(t, in.MessageID, next.MessageID)
}

// A trade whose workflow was already started (an earlier run of the page)
// is counted, not started again and not an error.
func TestSignalWorkflow_AlreadyStartedChildIsNotAnError(t *testing.T) {
	env, rec := newSignalEnv(t)
	in := signalInput()
	p := page(in.Legs, 0, 1, true)
	p.Trades = append(p.Trades, p.Trades[0]) // the same workflow id twice
	env.OnActivity(ActFanoutPage, mock.Anything, mock.Anything).Return(p, nil).Once()
	env.OnActivity(ActFinishSignal, mock.Anything, mock.MatchedBy(func(fi FinishSignalInput) bool { return fi.Followers == 1 })).Return(nil).Once()
	env.ExecuteWorkflow(SignalWorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, rec.ids, 1)
}

func TestSignalWorkflowID(t *testing.T) {
	require.Equal(t, "signal/discord/42", SignalWorkflowID(signal.SourceDiscord, "42"))
}

// TestSignalWorkflow_EagerFanout: since versionEagerFanout one FanoutPages
// activity records and starts a run's pages; the workflow starts no child,
// continues as new while followers remain, then records the outcome.
func TestSignalWorkflow_EagerFanout(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(SignalWorkflow, workflow.RegisterOptions{Name: SignalWorkflowName})
	rec := &childRecorder{}
	env.RegisterWorkflowWithOptions(rec.run, workflow.RegisterOptions{Name: TradeWorkflowName})
	env.RegisterActivityWithOptions(func(context.Context, FanoutPagesInput) (FanoutPagesResult, error) { return FanoutPagesResult{}, nil },
		activity.RegisterOptions{Name: ActFanoutPages})
	env.RegisterActivityWithOptions(func(context.Context, FinishSignalInput) error { return nil },
		activity.RegisterOptions{Name: ActFinishSignal})
	t.Cleanup(func() { env.AssertExpectations(t) })

	in := signalInput()
	in.Timeouts = Timeouts{FillWindow: 7}
	in.PagesPerRun = 3
	env.OnActivity(ActFanoutPages, mock.Anything, mock.MatchedBy(func(p FanoutPagesInput) bool {
		return p.After == "" && p.Limit == 2 && p.Pages == 3 && p.Timeouts == in.Timeouts && p.MessageID == in.MessageID
	})).Return(FanoutPagesResult{Pages: 3, Followers: 5, Skipped: 1, Next: "u5"}, nil).Once()

	env.ExecuteWorkflow(SignalWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can, "followers remain: the run continues as new")
	var next SignalInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, "u5", next.After)
	require.Equal(t, 5, next.Followers)
	require.Equal(t, 1, next.Skipped)
	require.Empty(t, rec.ids, "the activity started the trades; the workflow starts no children")

	// The next run finds the rest and finishes.
	env2 := suite.NewTestWorkflowEnvironment()
	env2.RegisterWorkflowWithOptions(SignalWorkflow, workflow.RegisterOptions{Name: SignalWorkflowName})
	env2.RegisterActivityWithOptions(func(context.Context, FanoutPagesInput) (FanoutPagesResult, error) { return FanoutPagesResult{}, nil },
		activity.RegisterOptions{Name: ActFanoutPages})
	env2.RegisterActivityWithOptions(func(context.Context, FinishSignalInput) error { return nil },
		activity.RegisterOptions{Name: ActFinishSignal})
	env2.OnActivity(ActFanoutPages, mock.Anything, mock.MatchedBy(func(p FanoutPagesInput) bool { return p.After == "u5" })).
		Return(FanoutPagesResult{Pages: 1, Followers: 1, Next: "u6", Done: true}, nil).Once()
	env2.OnActivity(ActFinishSignal, mock.Anything, mock.MatchedBy(func(fi FinishSignalInput) bool { return fi.Followers == 6 && fi.Skipped == 1 })).
		Return(nil).Once()
	env2.ExecuteWorkflow(SignalWorkflowName, next)
	require.True(t, env2.IsWorkflowCompleted())
	require.NoError(t, env2.GetWorkflowError())
	var res SignalResult
	require.NoError(t, env2.GetWorkflowResult(&res))
	require.Equal(t, SignalResult{Followers: 6, Skipped: 1}, res)
	env2.AssertExpectations(t)
}
