package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The monthly compliance report (FR-060): the compliance-report schedule
// starts ComplianceReportWorkflow on the 1st of every month, which has the
// previous calendar month's report generated and stored once.
const (
	ComplianceReportWorkflowName = "ComplianceReportWorkflow"
	ActGenerateComplianceReport  = "GenerateComplianceReport"
	// ComplianceScheduleID names the schedule (per task queue).
	ComplianceScheduleID = "compliance-report"
)

// ComplianceReportInput names the month ("2026-11"); empty means the
// calendar month (UTC) before the run started.
type ComplianceReportInput struct {
	Period string `json:"period,omitempty"`
}

// ComplianceReportResult says which report the month has.
type ComplianceReportResult struct {
	ReportID     string `json:"reportId"`
	Period       string `json:"period"`
	Created      bool   `json:"created"` // false: the month had its report already
	ChainsFailed int64  `json:"chainsFailed"`
}

// PreviousMonth is the calendar month (UTC) before t, as "2006-01".
func PreviousMonth(t time.Time) string {
	t = t.UTC()
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, -1, 0).Format("2006-01")
}

// ComplianceReportWorkflow generates one month's report. The month comes
// from the input or the workflow's own clock (deterministic on replay);
// the activity stores the report once per month, so a retried activity or
// a second run for the month changes nothing.
func ComplianceReportWorkflow(ctx workflow.Context, in ComplianceReportInput) (ComplianceReportResult, error) {
	period := in.Period
	if period == "" {
		period = PreviousMonth(workflow.Now(ctx))
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Verifying every chain reads the whole audit log.
		StartToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{ErrTypeBadPeriod},
		},
	})
	var res ComplianceReportResult
	err := workflow.ExecuteActivity(actx, ActGenerateComplianceReport, ComplianceReportInput{Period: period}).Get(ctx, &res)
	return res, err
}

// ErrTypeBadPeriod is the application error type of a period that is not
// a month.
const ErrTypeBadPeriod = "BAD_PERIOD"

// ComplianceReportWorkflowOptions registers ComplianceReportWorkflow by
// its name.
func ComplianceReportWorkflowOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: ComplianceReportWorkflowName}
}
