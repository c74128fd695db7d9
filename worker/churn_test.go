package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// Two worker starts create the churn-scoring schedule once (nightly at
// ChurnScoringHour UTC); an operator's pause survives a restart.
func TestChurnScheduleCreatedOnceAndPausable(t *testing.T) {
	c := testenv.Client(t)
	ctx := context.Background()
	queue := testenv.TaskQueue(t)
	require.NoError(t, worker.EnsureChurnSchedule(ctx, c, queue))
	require.NoError(t, worker.EnsureChurnSchedule(ctx, c, queue), "second start")
	s := worker.ChurnSchedule(queue)
	require.Equal(t, workflows.ChurnScoringScheduleID+"/"+queue, s.ID)
	h := c.ScheduleClient().GetHandle(ctx, s.ID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok)
	require.Equal(t, workflows.ChurnScoringWorkflowName, act.Workflow)
	require.Equal(t, queue, act.TaskQueue)
	require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	require.Len(t, d.Schedule.Spec.Calendars, 1)

	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "test"}))
	require.NoError(t, worker.EnsureChurnSchedule(ctx, c, queue))
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused, "a worker start un-paused the schedule")
}

// A run trains and stores model version 1 (none stored), scores every
// active trader page by page, and alerts once on the high-risk paying one.
func TestChurnScoringWorkflowScoresAndAlerts(t *testing.T) {
	db, _ := storetest.Open(t)
	c := testenv.Client(t)
	queue := testenv.TaskQueue(t)
	w := worker.New(c, queue, &activities.Trading{DB: db}, worker.Options{Churn: &activities.Churn{DB: db}})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	now := time.Now().UTC()
	email := "ops@example.com"
	require.NoError(t, db.Create(&schema.User{ID: "admin-1", Email: &email, Role: "admin", CreatedAt: now}).Error)
	var risky string
	for i := 0; i < 5; i++ {
		id := uuid.NewString()
		tier, status := "free", "active"
		if i == 0 {
			risky, tier, status = id, "premium", "past_due"
		}
		require.NoError(t, db.Create(&schema.User{ID: id, Role: "trader", SubscriptionTier: tier, SubscriptionStatus: status,
			CreatedAt: now.Add(-90 * 24 * time.Hour)}).Error)
	}
	require.NoError(t, db.Create(&schema.Subscription{ID: uuid.NewString(), UserID: risky, Plan: "premium", Status: "past_due",
		CancelAtPeriodEnd: true, CreatedAt: now.Add(-90 * 24 * time.Hour)}).Error)

	ctx := context.Background()
	id := "churn-scoring-" + queue
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.ChurnScoringWorkflowName,
		workflows.ChurnScoringInput{PageSize: 2})
	require.NoError(t, err)
	var res workflows.ChurnScoringResult
	require.NoError(t, run.Get(ctx, &res))
	require.EqualValues(t, 1, res.ModelVersion)
	require.Equal(t, 5, res.Scored)
	require.Equal(t, 1, res.Alerted)
	var n int64
	require.NoError(t, db.Model(&schema.ChurnScore{}).Where("model_version = 1").Count(&n).Error)
	require.EqualValues(t, 5, n)
	require.NoError(t, db.Model(&schema.ChurnAlert{}).Where("user_id = ? AND closed_at IS NULL", risky).Count(&n).Error)
	require.EqualValues(t, 1, n)
	require.NoError(t, db.Model(&schema.MailOutbox{}).Where("kind = ? AND user_id = ?", mail.KindChurnAlert, "admin-1").Count(&n).Error)
	require.EqualValues(t, 1, n)
	sm, err := churn.LatestModel(ctx, db)
	require.NoError(t, err)
	require.Greater(t, sm.Evaluation.Test.F1, 0.70)

	e := &auditEnv{t: t, db: db, c: c, queue: queue}
	e.record(id, "", "churn_scoring")
}
