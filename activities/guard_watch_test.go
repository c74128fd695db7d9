package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// TestGuardWatchOnTheDevServer: the guard of an account holding a position,
// on the real dev server with a 300 ms poll. Between looks one GuardWatch
// activity watches it: after longer than its heartbeat timeout the same
// attempt is still running (it heartbeats) and the history holds no timer
// and no second watch; the account's guard row keeps being refreshed (the
// watch looks). A worker that stops fails its watch at once and another
// worker's attempt takes over well before the heartbeat timeout; a locked
// account makes the watch complete and the workflow run a closing round;
// a disconnected connection ends the guard.
func TestGuardWatchOnTheDevServer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		const poll = 300 * time.Millisecond
		f := newHaltFixture(t, db, 100_000)
		conn := f.row(f.buyFilled(10)).BrokerConnectionID
		c, queue := testenv.Client(t), testenv.TaskQueue(t)
		ctx := context.Background()

		start := func() (*Guard, sdkworker.Worker) {
			g := &Guard{Trading: f.a, Temporal: c, TaskQueue: queue, Poll: poll}
			w := sdkworker.New(c, queue, sdkworker.Options{})
			workflows.Register(w)
			w.RegisterActivity(g)
			require.NoError(t, w.Start())
			return g, w
		}
		g1, w1 := start()
		run, err := c.ExecuteWorkflow(ctx, g1.options(conn), workflows.AccountGuardWorkflowName,
			workflows.GuardInput{ConnectionID: conn, UserID: f.user, Poll: poll})
		require.NoError(t, err)
		id := run.GetID()
		t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), id, "", "test done") })

		describe := func() *workflowservice.DescribeWorkflowExecutionResponse {
			d, err := c.DescribeWorkflowExecution(ctx, id, "")
			require.NoError(t, err)
			return d
		}
		watching := func(attempt int32) bool {
			for _, p := range describe().GetPendingActivities() {
				if p.GetActivityType().GetName() == workflows.ActGuardWatch && p.GetAttempt() == attempt &&
					p.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
					return true
				}
			}
			return false
		}
		observed := func() time.Time {
			var row schema.RiskGuard
			require.NoError(t, db.Where("connection_id = ?", conn).Take(&row).Error)
			return row.ObservedAt
		}
		events := func() map[string]int {
			n := map[string]int{}
			it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				name := ev.GetEventType().String()
				if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
					name += "/" + a.GetActivityType().GetName()
				}
				n[name]++
			}
			return n
		}

		require.Eventually(t, func() bool { return watching(1) }, 10*time.Second, 50*time.Millisecond)
		hb := workflows.GuardWatchHeartbeat(poll)
		time.Sleep(hb + 2*time.Second)
		require.True(t, watching(1), "the first attempt outlived its heartbeat timeout: it heartbeats")
		require.WithinDuration(t, time.Now(), observed(), 3*poll+time.Second, "the watch looks every poll")
		ev := events()
		require.Equal(t, 1, ev["ActivityTaskScheduled/"+workflows.ActGuardWatch], "one watch: %v", ev)
		require.Zero(t, ev["TimerStarted"], "a quiet look costs no timer: %v", ev)

		// A stopping worker hands the watch over at once.
		w1.Stop()
		StopGuardWatches(g1)
		stopped := time.Now()
		_, w2 := start()
		defer w2.Stop()
		require.Eventually(t, func() bool { return watching(2) }, hb/2, 50*time.Millisecond, "the next attempt runs well before the heartbeat timeout")
		t.Logf("watch taken over in %s (heartbeat timeout %s)", time.Since(stopped).Round(time.Millisecond), hb)
		require.Eventually(t, func() bool { return observed().After(stopped) }, 3*time.Second, 50*time.Millisecond, "the new worker looks")

		// A locked account: the watch completes, the workflow closes the
		// position.
		require.NoError(t, db.Model(&schema.User{}).Where("id = ?", f.user).Update("locked", true).Error)
		require.Eventually(t, func() bool { return events()["ActivityTaskScheduled/"+workflows.ActGuardFlatten] > 0 },
			10*time.Second, 100*time.Millisecond, "the watch completed with a closing round")

		// The connection gone: the guard ends.
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Where("id = ?", conn).Update("is_active", false).Error)
		require.Eventually(t, func() bool {
			return describe().GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		}, 10*time.Second, 100*time.Millisecond)
	})
}

// describeCounter counts DescribeWorkflowExecution calls.
type describeCounter struct {
	client.Client
	n atomic.Int32
}

func (c *describeCounter) DescribeWorkflowExecution(ctx context.Context, id, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	c.n.Add(1)
	return c.Client.DescribeWorkflowExecution(ctx, id, runID)
}

// TestGuardAfterFillWithAHeldWatch: on the dev server, the look after a
// fill of an account whose guard's watch this process holds asks the
// server nothing (the held watch is the guard running), still looks (the
// guard row is refreshed), and moves the watch's next look a poll later;
// a process that holds no watch of it asks whether the guard runs.
func TestGuardAfterFillWithAHeldWatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		const poll = 10 * time.Minute // the watch never looks by itself here
		f := newHaltFixture(t, db, 100_000)
		conn := f.row(f.buyFilled(10)).BrokerConnectionID
		c, queue := &describeCounter{Client: testenv.Client(t)}, testenv.TaskQueue(t)
		ctx := context.Background()
		g := &Guard{Trading: f.a, Temporal: c, TaskQueue: queue, Poll: poll}
		w := sdkworker.New(c.Client, queue, sdkworker.Options{}) // the SDK wants its own client
		workflows.Register(w)
		w.RegisterActivity(g)
		require.NoError(t, w.Start())
		defer func() { w.Stop(); StopGuardWatches(g) }()
		run, err := c.ExecuteWorkflow(ctx, g.options(conn), workflows.AccountGuardWorkflowName,
			workflows.GuardInput{ConnectionID: conn, UserID: f.user, Poll: poll})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test done") })
		require.Eventually(t, func() bool { return g.watchHeld(conn) }, 10*time.Second, 20*time.Millisecond)
		require.False(t, g.watchHeld("another-connection"))

		nextLook := func() time.Time {
			g.watching.mu.Lock()
			defer g.watching.mu.Unlock()
			return g.watching.entries[conn].nextLook
		}
		// Due in a minute: the look after the fill moves it a poll on.
		g.watching.mu.Lock()
		g.watching.entries[conn].nextLook = time.Now().Add(time.Minute)
		g.watching.mu.Unlock()
		// Observed long ago: a look writes the row again (a quiet look
		// within two polls of the last writes nothing).
		long := time.Now().Add(-3 * poll).UTC()
		require.NoError(t, db.Model(&schema.RiskGuard{}).Where("connection_id = ?", conn).Update("observed_at", long).Error)

		c.n.Store(0)
		ref := workflows.GuardRef{ConnectionID: conn, UserID: f.user}
		require.NoError(t, g.GuardAfterFill(ctx, ref))
		require.Zero(t, c.n.Load(), "asked the server whether a guard whose watch is held here runs")
		var after schema.RiskGuard
		require.NoError(t, db.Where("connection_id = ?", conn).Take(&after).Error)
		require.True(t, after.ObservedAt.After(long.Add(poll)), "the look after the fill was not made")
		require.WithinDuration(t, time.Now().Add(poll), nextLook(), time.Minute, "the watch's next look was not moved a poll on")

		// Never past the watch's span: its end is a look that completes it.
		end := time.Now().Add(20 * time.Second)
		g.watching.mu.Lock()
		g.watching.entries[conn].until = end
		g.watching.mu.Unlock()
		require.NoError(t, g.GuardAfterFill(ctx, ref))
		require.False(t, nextLook().After(end), "a look after a fill moved the watch's next look past its span")

		other := &Guard{Trading: f.a, Temporal: c, TaskQueue: queue, Poll: poll}
		require.NoError(t, other.GuardAfterFill(ctx, ref))
		require.EqualValues(t, 1, c.n.Load(), "a process holding no watch did not ask whether the guard runs")
	})
}
