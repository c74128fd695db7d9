package worker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/testenv"
)

// The fan-out's throttle counts the workflow tasks in work as the SDK runs
// them: a task waiting for its local activity holds its slot, WaitRoom
// waits while the room is taken and returns when the task ends (or after
// its longest wait).
func TestWorkflowSlotsCountTasksInWork(t *testing.T) {
	c := testenv.Client(t)
	queue := testenv.TaskQueue(t)
	slots, err := newWorkflowSlots(10, 1, time.Minute)
	require.NoError(t, err)
	tuner, err := sdkworker.NewCompositeTuner(sdkworker.CompositeTunerOptions{
		WorkflowSlotSupplier: slots, ActivitySlotSupplier: mustFixed(10), LocalActivitySlotSupplier: mustFixed(10),
		NexusSlotSupplier: mustFixed(10), SessionActivitySlotSupplier: mustFixed(10),
	})
	require.NoError(t, err)
	w := sdkworker.New(c, queue, sdkworker.Options{Tuner: tuner})
	release := make(chan struct{})
	blocked := func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.RegisterActivity(blocked)
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
		return workflow.ExecuteLocalActivity(ctx, blocked).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "slots-test"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	require.Zero(t, slots.Busy())

	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: queue, EnableEagerStart: true}, "slots-test")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slots.Busy() == 1 }, 10*time.Second, 5*time.Millisecond, "the task waiting for its local activity holds its slot")

	waited := make(chan struct{})
	go func() {
		slots.WaitRoom(context.Background())
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("WaitRoom returned while the room was taken")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	require.NoError(t, run.Get(context.Background(), nil))
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("WaitRoom did not return after the task ended")
	}
	require.Eventually(t, func() bool { return slots.Busy() == 0 }, 10*time.Second, 5*time.Millisecond)

	// A throttle, never a gate: it gives up after its longest wait.
	stuck, err := newWorkflowSlots(10, 0, 50*time.Millisecond)
	require.NoError(t, err)
	start := time.Now()
	stuck.WaitRoom(context.Background())
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}
