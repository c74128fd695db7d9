package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/tradeexec/tradeexec/workflows"
)

// Schedules are created at worker start through the Temporal Schedules API,
// idempotently: a schedule that exists already gets this release's spec and
// action. Every replica may run this at once.

// Schedule is one recurring workflow on a task queue.
type Schedule struct {
	ID       string
	Spec     client.ScheduleSpec
	Workflow string
	Args     []any
	Overlap  enumspb.ScheduleOverlapPolicy
}

// ScheduleConfig tunes the schedules (zero values: the defaults).
type ScheduleConfig struct {
	// KeyRotationEvery is the key-rotation schedule's interval
	// (KEY_ROTATION_INTERVAL; default yearly).
	KeyRotationEvery time.Duration
}

// Schedules are the schedules of taskQueue with the default configuration.
func Schedules(taskQueue string) []Schedule { return SchedulesWith(taskQueue, ScheduleConfig{}) }

// SchedulesWith are the schedules of taskQueue. Their ids carry the task
// queue unless it is the default one, so test workers sharing a server do
// not collide.
func SchedulesWith(taskQueue string, cfg ScheduleConfig) []Schedule {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	suffix := ""
	if taskQueue != workflows.DefaultTaskQueue {
		suffix = "/" + taskQueue
	}
	return []Schedule{{
		ID:       workflows.HealthScheduleID + suffix,
		Spec:     client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.HealthCheckInterval}}},
		Workflow: workflows.ConnectionHealthWorkflowName,
		Args:     []any{workflows.HealthSweepInput{}},
		// A sweep still running when the next is due makes that one skip.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}, keyRotationSchedule(suffix, cfg), complianceSchedule(suffix), analyticsSchedule(suffix)}
}

// complianceSchedule: the previous month's compliance report (FR-060) at
// 02:00 UTC on the 1st of every month.
func complianceSchedule(suffix string) Schedule {
	return Schedule{
		ID: workflows.ComplianceScheduleID + suffix,
		Spec: client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{{
			Second: []client.ScheduleRange{{Start: 0}}, Minute: []client.ScheduleRange{{Start: 0}},
			Hour: []client.ScheduleRange{{Start: 2}}, DayOfMonth: []client.ScheduleRange{{Start: 1}},
		}}},
		Workflow: workflows.ComplianceReportWorkflowName,
		Args:     []any{workflows.ComplianceReportInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}
}

// analyticsSchedule: the admin revenue analytics recomputed every hour
// (issue 16); a refresh still running when the next is due makes it skip.
func analyticsSchedule(suffix string) Schedule {
	return Schedule{
		ID:       workflows.AnalyticsRefreshScheduleID + suffix,
		Spec:     client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.AnalyticsRefreshInterval}}},
		Workflow: workflows.AnalyticsRefreshWorkflowName,
		Args:     []any{workflows.AnalyticsRefreshInput{}},
		Overlap:  enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}
}

// KeyRotationScheduleID is the key-rotation schedule's id on taskQueue.
func KeyRotationScheduleID(taskQueue string) string {
	if taskQueue == "" || taskQueue == workflows.DefaultTaskQueue {
		return workflows.KeyRotationScheduleID
	}
	return workflows.KeyRotationScheduleID + "/" + taskQueue
}

func keyRotationSchedule(suffix string, cfg ScheduleConfig) Schedule {
	every := cfg.KeyRotationEvery
	if every <= 0 {
		every = workflows.DefaultKeyRotationInterval
	}
	return Schedule{
		ID:       workflows.KeyRotationScheduleID + suffix,
		Spec:     client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Workflow: workflows.KeyRotationWorkflowName,
		Args:     []any{workflows.KeyRotationInput{By: "schedule"}},
		// Never two rotations at once; a run still waiting for the old
		// signing keys to expire makes the next one skip.
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	}
}

// EnsureSchedules creates or updates the schedules of taskQueue with the
// default configuration.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string) error {
	return EnsureSchedulesWith(ctx, c, taskQueue, ScheduleConfig{})
}

// EnsureSchedulesWith creates or updates the schedules of taskQueue.
func EnsureSchedulesWith(ctx context.Context, c client.Client, taskQueue string, cfg ScheduleConfig) error {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	for _, s := range SchedulesWith(taskQueue, cfg) {
		if err := ensure(ctx, c, taskQueue, s); err != nil {
			return fmt.Errorf("schedule %s: %w", s.ID, err)
		}
	}
	return nil
}

func ensure(ctx context.Context, c client.Client, taskQueue string, s Schedule) error {
	action := &client.ScheduleWorkflowAction{ID: s.ID, Workflow: s.Workflow, Args: s.Args, TaskQueue: taskQueue}
	sc := c.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{ID: s.ID, Spec: s.Spec, Action: action, Overlap: s.Overlap})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	return sc.GetHandle(ctx, s.ID).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			next := in.Description.Schedule
			spec := s.Spec
			next.Spec = &spec
			next.Action = action
			if next.Policy == nil {
				next.Policy = &client.SchedulePolicies{}
			}
			next.Policy.Overlap = s.Overlap
			return &client.ScheduleUpdate{Schedule: &next}, nil
		},
	})
}
