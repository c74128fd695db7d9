package worker

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/workflows"
)

// AuditSchedules are the audit schedules of taskQueue: audit-verify
// (hourly) and audit-archive (nightly at AuditArchiveHour UTC). Like
// connection-health their ids carry a non-default task queue. Each can be
// paused in the Temporal UI; a run still going when the next is due makes
// that one skip.
func AuditSchedules(taskQueue string) []Schedule {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	suffix := ""
	if taskQueue != workflows.DefaultTaskQueue {
		suffix = "/" + taskQueue
	}
	return []Schedule{{
		ID:       workflows.AuditVerifyScheduleID + suffix,
		Spec:     client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.AuditVerifyInterval}}},
		Workflow: workflows.AuditVerifyWorkflowName,
		Args:     []any{workflows.AuditVerifyInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}, {
		ID: workflows.AuditArchiveScheduleID + suffix,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Hour: []client.ScheduleRange{{Start: workflows.AuditArchiveHour}}, Minute: []client.ScheduleRange{{Start: 0}},
			Second: []client.ScheduleRange{{Start: 0}},
		}}},
		Workflow: workflows.AuditArchiveWorkflowName,
		Args:     []any{workflows.AuditArchiveInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}}
}

// EnsureAuditSchedules creates or updates the audit schedules of taskQueue
// (idempotent; every replica may run it at start).
func EnsureAuditSchedules(ctx context.Context, c client.Client, taskQueue string) error {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	for _, s := range AuditSchedules(taskQueue) {
		if err := ensure(ctx, c, taskQueue, s); err != nil {
			return fmt.Errorf("schedule %s: %w", s.ID, err)
		}
	}
	return nil
}
