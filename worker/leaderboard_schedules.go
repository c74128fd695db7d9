package worker

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/workflows"
)

// LeaderboardSchedule is the leaderboard-refresh schedule of taskQueue
// (issue 17): LeaderboardRefreshWorkflow every LeaderboardRefreshInterval;
// a refresh still running when the next is due makes that one skip. Its id
// carries a non-default task queue, like the audit schedules'.
func LeaderboardSchedule(taskQueue string) Schedule {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	id := workflows.LeaderboardScheduleID
	if taskQueue != workflows.DefaultTaskQueue {
		id += "/" + taskQueue
	}
	return Schedule{
		ID:       id,
		Spec:     client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.LeaderboardRefreshInterval}}},
		Workflow: workflows.LeaderboardRefreshWorkflowName,
		Args:     []any{workflows.LeaderboardRefreshInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}
}

// EnsureLeaderboardSchedule creates or updates the leaderboard-refresh
// schedule of taskQueue (idempotent; every replica may run it at start).
func EnsureLeaderboardSchedule(ctx context.Context, c client.Client, taskQueue string) error {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	s := LeaderboardSchedule(taskQueue)
	if err := ensure(ctx, c, taskQueue, s); err != nil {
		return fmt.Errorf("schedule %s: %w", s.ID, err)
	}
	return nil
}
