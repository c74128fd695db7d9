package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// The analytics-refresh schedule is created once at every worker start
// (hourly, overlap skip), and its workflow fills the analytics tables from
// the billing ledger; a second run writes the same figures.
func TestAnalyticsRefreshScheduleAndWorkflow(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	c := testenv.Client(t)
	queue := testenv.TaskQueue(t)
	_, err := analytics.Generate(ctx, db, analytics.GenOptions{Seed: 3, Traders: 30, Start: "2026-01", Months: 4})
	require.NoError(t, err)
	w := worker.New(c, queue, &activities.Trading{DB: db}, worker.Options{})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	var sched worker.Schedule
	for _, s := range worker.Schedules(queue) {
		if s.Workflow == workflows.AnalyticsRefreshWorkflowName {
			sched = s
		}
	}
	require.Equal(t, workflows.AnalyticsRefreshScheduleID+"/"+queue, sched.ID)
	require.NoError(t, worker.EnsureSchedules(ctx, c, queue))
	require.NoError(t, worker.EnsureSchedules(ctx, c, queue), "second start")
	for _, s := range worker.Schedules(queue) {
		t.Cleanup(func() { _ = c.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background()) })
	}
	d, err := c.ScheduleClient().GetHandle(ctx, sched.ID).Describe(ctx)
	require.NoError(t, err)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, workflows.AnalyticsRefreshWorkflowName, act.Workflow)
	require.Equal(t, time.Hour, d.Schedule.Spec.Intervals[0].Every)
	require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)

	id := "analytics-refresh-" + queue
	at := time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC)
	run := func(wid string) workflows.AnalyticsRefreshResult {
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wid, TaskQueue: queue}, workflows.AnalyticsRefreshWorkflowName,
			workflows.AnalyticsRefreshInput{At: at})
		require.NoError(t, err)
		var res workflows.AnalyticsRefreshResult
		require.NoError(t, wr.Get(ctx, &res))
		return res
	}
	first := run(id)
	require.Equal(t, "2026-04", first.AsOf)
	require.Equal(t, 4, first.Months)
	require.Positive(t, first.UserMonths)
	rep, err := analytics.ReadRevenue(ctx, db)
	require.NoError(t, err)
	require.Len(t, rep.Revenue, 4)
	require.True(t, rep.Revenue[3].MRR.IsPositive())
	require.Equal(t, first, run(id+"-again"))
	(&auditEnv{t: t, c: c}).record(id, "", "analytics_refresh")
}
