package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestFanoutPageStartsTradesOnce: asked to start (versionEagerFanout), the
// page activity starts one TradeWorkflow per recorded trade on the real
// dev server, with the source in its memo; a retried page starts none again
// (invariant 1: one workflow id per trade, never reused).
func TestFanoutPageStartsTradesOnce(t *testing.T) {
	c, queue := testenv.Client(t), testenv.TaskQueue(t)
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFanoutFixture(t, db)
		for range 3 {
			f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false)
		}
		// No worker serves the queue: the workflows stay started and the
		// test looks at their start only.
		a := &Signals{DB: db, Temporal: c, TaskQueue: queue}
		in := workflows.FanoutPageInput{SourceID: f.source.ID, MessageID: "1300000000000000777", Legs: buyLegs(t), Limit: 10,
			Start: true}
		p, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.True(t, p.Started)
		require.Len(t, p.Trades, 3)
		runs := map[string]string{}
		for _, tr := range p.Trades {
			d, err := c.DescribeWorkflowExecution(ctx, tr.WorkflowID, "")
			require.NoError(t, err)
			info := d.GetWorkflowExecutionInfo()
			require.Equal(t, workflows.TradeWorkflowName, info.GetType().GetName())
			require.Contains(t, info.GetMemo().GetFields(), "sourceId")
			require.Contains(t, info.GetMemo().GetFields(), "tradeId")
			runs[tr.WorkflowID] = info.GetExecution().GetRunId()
		}

		again, err := a.FanoutPage(ctx, in)
		require.NoError(t, err, "a retried page is not an error")
		require.True(t, again.Started)
		require.Len(t, again.Trades, 3)
		for _, tr := range again.Trades {
			d, err := c.DescribeWorkflowExecution(ctx, tr.WorkflowID, "")
			require.NoError(t, err)
			require.Equal(t, runs[tr.WorkflowID], d.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "started again")
			require.NoError(t, c.TerminateWorkflow(ctx, tr.WorkflowID, "", "test done"))
		}
	})
}

// TestFanoutPagesCountsAndContinuesFromCursor: FanoutPages does up to Pages pages per
// call, counts followers and skips, and a call from the returned cursor
// finishes the rest; every trade is started once.
func TestFanoutPagesCountsAndContinuesFromCursor(t *testing.T) {
	c, queue := testenv.Client(t), testenv.TaskQueue(t)
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFanoutFixture(t, db)
		for range 4 {
			f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false)
		}
		f.trader(t, "cancelled", []string{"paper"}, sources.DefaultSizing(), false, false)
		a := &Signals{DB: db, Temporal: c, TaskQueue: queue}
		env := testsuite.WorkflowTestSuite{}
		aenv := env.NewTestActivityEnvironment()
		aenv.RegisterActivity(a)
		in := workflows.FanoutPagesInput{SourceID: f.source.ID, MessageID: "1300000000000000888", Legs: buyLegs(t), Limit: 2, Pages: 2}
		v, err := aenv.ExecuteActivity(workflows.ActFanoutPages, in)
		require.NoError(t, err)
		var first workflows.FanoutPagesResult
		require.NoError(t, v.Get(&first))
		require.Equal(t, workflows.FanoutPagesResult{Pages: 2, Followers: 4, Next: first.Next}, first)

		in.After = first.Next
		v, err = aenv.ExecuteActivity(workflows.ActFanoutPages, in)
		require.NoError(t, err)
		var rest workflows.FanoutPagesResult
		require.NoError(t, v.Get(&rest))
		require.True(t, rest.Done)
		require.Equal(t, 0, rest.Followers)
		require.Equal(t, 1, rest.Skipped)

		var wfIDs []string
		require.NoError(t, db.Model(&schema.Trade{}).Pluck("workflow_id", &wfIDs).Error)
		require.Len(t, wfIDs, 4)
		for _, id := range wfIDs {
			_, err := c.DescribeWorkflowExecution(ctx, id, "")
			require.NoError(t, err, "trade workflow %s not started", id)
			require.NoError(t, c.TerminateWorkflow(ctx, id, "", "test done"))
		}
	})
}
