package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The analytics-refresh schedule (issue 16): every hour
// AnalyticsRefreshWorkflow has the admin revenue analytics (MRR, cohorts,
// CLV; internal/analytics) recomputed from the billing ledger into their
// materialised tables, so the admin views never compute on a request.
const (
	AnalyticsRefreshWorkflowName = "AnalyticsRefreshWorkflow"
	ActRefreshAnalytics          = "RefreshAnalytics"
	// AnalyticsRefreshScheduleID names the schedule (per task queue).
	AnalyticsRefreshScheduleID = "analytics-refresh"
	// AnalyticsRefreshInterval is how often the analytics are recomputed.
	AnalyticsRefreshInterval = time.Hour
)

// AnalyticsRefreshInput: At is the refresh's clock (its month is the last
// month computed); zero means the workflow's start time.
type AnalyticsRefreshInput struct {
	At time.Time `json:"at,omitzero"`
}

// AnalyticsRefreshResult is what a refresh wrote.
type AnalyticsRefreshResult struct {
	AsOf        string `json:"asOf"`
	Months      int    `json:"months"`
	UserMonths  int    `json:"userMonths"`
	Cohorts     int    `json:"cohorts"`
	Unconverted int    `json:"unconverted"`
}

// AnalyticsRefreshWorkflow runs one refresh. The clock comes from the
// input or workflow.Now (deterministic on replay); the activity replaces
// every analytics table in one transaction, so a retry or a second run
// writes the same rows.
func AnalyticsRefreshWorkflow(ctx workflow.Context, in AnalyticsRefreshInput) (AnalyticsRefreshResult, error) {
	if in.At.IsZero() {
		in.At = workflow.Now(ctx).UTC()
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute, MaximumAttempts: 5,
		},
	})
	var res AnalyticsRefreshResult
	err := workflow.ExecuteActivity(actx, ActRefreshAnalytics, in).Get(ctx, &res)
	return res, err
}

// AnalyticsRefreshWorkflowOptions registers AnalyticsRefreshWorkflow by
// its name.
func AnalyticsRefreshWorkflowOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: AnalyticsRefreshWorkflowName}
}
