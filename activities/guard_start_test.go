package activities

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/tradeexec/tradeexec/internal/testenv"
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
