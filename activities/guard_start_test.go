package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// TestEnsureGuardStartsSignalsAndRestarts: on the real dev server (no
// worker, so the guard only waits), EnsureGuard starts a guard that is not
// running — once, however often it is called — signals a running one, and
// starts a new run for a connection whose guard has ended.
func TestEnsureGuardStartsSignalsAndRestarts(t *testing.T) {
	c, queue := testenv.Client(t), testenv.TaskQueue(t)
	ctx := context.Background()
	g := &Guard{Temporal: c, TaskQueue: queue}
	ref := workflows.GuardRef{ConnectionID: "conn-" + queue, UserID: "u1"}
	id := workflows.GuardWorkflowID(ref.ConnectionID)

	require.NoError(t, g.EnsureGuard(ctx, ref))
	first, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	run := first.GetWorkflowExecutionInfo().GetExecution().GetRunId()

	require.NoError(t, g.EnsureGuard(ctx, ref), "a running guard is signalled")
	again, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.Equal(t, run, again.GetWorkflowExecutionInfo().GetExecution().GetRunId(), "started twice")

	var signals int
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			signals++
		}
	}
	require.Equal(t, 1, signals)

	require.NoError(t, c.TerminateWorkflow(ctx, id, run, "connection removed"))
	require.NoError(t, g.EnsureGuard(ctx, ref), "an ended guard is started again")
	next, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	require.NotEqual(t, run, next.GetWorkflowExecutionInfo().GetExecution().GetRunId())
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, next.GetWorkflowExecutionInfo().GetStatus())
	require.NoError(t, c.TerminateWorkflow(ctx, id, "", "test done"))
}

// TestGuardAfterFillLooksInlineStartsOrHandsOver: the look after a fill
// of an in-process broker's trade starts a guard that is not running
// (without looking itself: the guard's first look is the fill's); with
// the guard running it looks at the account itself (the guard row is
// written) without signalling the guard; and on a blocked account with a
// position left it hands the closing to the guard by the check signal.
func TestGuardAfterFillLooksInlineStartsOrHandsOver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		id := f.buyFilled(10)
		c := testenv.Client(t)
		g := &Guard{Trading: f.a, Temporal: c, TaskQueue: testenv.TaskQueue(t)} // no worker: the guard only waits
		ref := workflows.GuardRef{ConnectionID: f.row(id).BrokerConnectionID, UserID: f.user}
		wid := workflows.GuardWorkflowID(ref.ConnectionID)
		t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), wid, "", "test done") })
		guardRows := func() int64 {
			var n int64
			require.NoError(t, db.Model(&schema.RiskGuard{}).Where("connection_id = ?", ref.ConnectionID).Count(&n).Error)
			return n
		}
		signals := func() int {
			n := 0
			it := c.GetWorkflowHistory(f.ctx, wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
					n++
				}
			}
			return n
		}

		require.NoError(t, g.GuardAfterFill(f.ctx, ref))
		d, err := c.DescribeWorkflowExecution(f.ctx, wid, "")
		require.NoError(t, err, "a guard that was not running is started")
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, d.GetWorkflowExecutionInfo().GetStatus())
		require.Zero(t, guardRows(), "looked inline although the guard it started looks first")

		require.NoError(t, g.GuardAfterFill(f.ctx, ref))
		require.EqualValues(t, 1, guardRows(), "a running guard's look after the fill was not made")
		require.Zero(t, signals(), "a running guard was signalled for a quiet look")

		require.NoError(t, db.Model(&schema.User{}).Where("id = ?", f.user).Update("locked", true).Error)
		require.NoError(t, g.GuardAfterFill(f.ctx, ref))
		require.Equal(t, 1, signals(), "a blocked account with a position was not handed to the guard to close")
	})
}
