package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/tradeexec/tradeexec/activities"
	lt "github.com/tradeexec/tradeexec/internal/leaderboard/leaderboardtest"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// Two worker starts create the leaderboard-refresh schedule once, hourly,
// skipping overlaps; a paused schedule stays paused.
func TestLeaderboardScheduleCreatedOnceAtEveryStart(t *testing.T) {
	c := testenv.Client(t)
	ctx := context.Background()
	queue := testenv.TaskQueue(t)
	require.NoError(t, worker.EnsureLeaderboardSchedule(ctx, c, queue))
	require.NoError(t, worker.EnsureLeaderboardSchedule(ctx, c, queue), "second start")
	s := worker.LeaderboardSchedule(queue)
	require.Equal(t, workflows.LeaderboardScheduleID+"/"+queue, s.ID)
	require.Equal(t, workflows.LeaderboardScheduleID, worker.LeaderboardSchedule("").ID)
	h := c.ScheduleClient().GetHandle(ctx, s.ID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, workflows.LeaderboardRefreshWorkflowName, act.Workflow)
	require.Equal(t, queue, act.TaskQueue)
	require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	require.Equal(t, time.Hour, d.Schedule.Spec.Intervals[0].Every)

	count := 0
	require.Eventually(t, func() bool {
		count = 0
		it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
		if err != nil {
			return false
		}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return false
			}
			if e.ID == s.ID {
				count++
			}
		}
		return count == 1
	}, 10*time.Second, 200*time.Millisecond, "schedules listed: %d", count)

	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "test"}))
	require.NoError(t, worker.EnsureLeaderboardSchedule(ctx, c, queue))
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused, "a worker start un-paused the schedule")
}

// The refresh workflow on a real worker ranks the public opted-in leader
// only (the private one is not written).
func TestLeaderboardRefreshWorkflowRanksPublicLeaders(t *testing.T) {
	db, _ := storetest.Open(t)
	c := testenv.Client(t)
	queue := testenv.TaskQueue(t)
	w := worker.New(c, queue, &activities.Trading{DB: db}, worker.Options{})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	now := time.Now().UTC()
	pub := lt.User(t, db, "Public")
	lt.Profile(t, db, pub, true, "public", "Public")
	lt.Connection(t, db, pub, "10000", now.Add(-100*24*time.Hour))
	lt.Fill(t, db, pub, now.Add(-2*24*time.Hour), "AAPL", "buy", "10", "100")
	lt.Fill(t, db, pub, now.Add(-24*time.Hour), "AAPL", "sell", "10", "110")
	priv := lt.User(t, db, "Private")
	lt.Profile(t, db, priv, true, "private", "Private")
	lt.Connection(t, db, priv, "10000", now.Add(-100*24*time.Hour))

	ctx := context.Background()
	id := "leaderboard-refresh-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.LeaderboardRefreshWorkflowName,
		workflows.LeaderboardRefreshInput{})
	require.NoError(t, err)
	var res workflows.LeaderboardRefreshResult
	require.NoError(t, run.Get(ctx, &res))
	require.Equal(t, 1, res.Leaders)
	require.Equal(t, 3, res.Entries)
	var rows []schema.LeaderboardEntry
	require.NoError(t, db.Order("period").Find(&rows).Error)
	require.Len(t, rows, 3)
	for _, r := range rows {
		require.Equal(t, pub, r.LeaderID)
		require.Equal(t, "1", r.ReturnPct.String(), r.Period)
	}

	if os.Getenv("TRADEEXEC_RECORD_HISTORY") == "1" {
		e := &auditEnv{t: t, c: c}
		hist := e.history(id, "")
		require.NoError(t, testenv.Decrypt(hist))
		b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join("..", "workflows", "testdata", "leaderboard_refresh.json"), b, 0o644))
	}
}
