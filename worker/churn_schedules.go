package worker

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/workflows"
)

// ChurnSchedule is the nightly churn-scoring schedule of taskQueue (at
// ChurnScoringHour UTC). Like the audit schedules its id carries a
// non-default task queue; it can be paused in the Temporal UI, and a run
// still going when the next is due makes that one skip.
func ChurnSchedule(taskQueue string) Schedule {
	suffix := ""
	if taskQueue != "" && taskQueue != workflows.DefaultTaskQueue {
		suffix = "/" + taskQueue
	}
	return Schedule{
		ID: workflows.ChurnScoringScheduleID + suffix,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: workflows.ChurnScoringHour}}, Minute: []client.ScheduleRange{{Start: 0}},
			Second: []client.ScheduleRange{{Start: 0}},
		}}},
		Workflow: workflows.ChurnScoringWorkflowName,
		Args:     []any{workflows.ChurnScoringInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}
}

// EnsureChurnSchedule creates or updates the churn-scoring schedule of
// taskQueue (idempotent; every replica may run it at start).
func EnsureChurnSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	s := ChurnSchedule(taskQueue)
	if err := ensure(ctx, c, taskQueue, s); err != nil {
		return fmt.Errorf("schedule %s: %w", s.ID, err)
	}
	return nil
}
