package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func newComplianceEnv(t *testing.T, start time.Time) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(ComplianceReportWorkflow, ComplianceReportWorkflowOptions())
	env.RegisterActivityWithOptions(func(context.Context, ComplianceReportInput) (ComplianceReportResult, error) {
		return ComplianceReportResult{}, nil
	}, activity.RegisterOptions{Name: ActGenerateComplianceReport})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func TestPreviousMonth(t *testing.T) {
	for at, want := range map[time.Time]string{
		time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC):                        "2026-11",
		time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC):                         "2026-12",
		time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC):                      "2026-02",
		time.Date(2026, 3, 1, 0, 30, 0, 0, time.FixedZone("EST", -5*60*60)): "2026-02", // 05:30 UTC on March 1st
	} {
		require.Equal(t, want, PreviousMonth(at), at.String())
	}
}

// A scheduled run (no period) reports on the month before its start; a
// retried activity is retried (the activity is idempotent), a bad period
// is not.
func TestComplianceReportWorkflowReportsThePreviousMonth(t *testing.T) {
	env := newComplianceEnv(t, time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	want := ComplianceReportResult{ReportID: "r1", Period: "2026-11", Created: true}
	env.OnActivity(ActGenerateComplianceReport, mock.Anything, ComplianceReportInput{Period: "2026-11"}).
		Return(ComplianceReportResult{}, errors.New("database is locked")).Once()
	env.OnActivity(ActGenerateComplianceReport, mock.Anything, ComplianceReportInput{Period: "2026-11"}).Return(want, nil).Once()
	env.ExecuteWorkflow(ComplianceReportWorkflowName, ComplianceReportInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got ComplianceReportResult
	require.NoError(t, env.GetWorkflowResult(&got))
	require.Equal(t, want, got)

	env = newComplianceEnv(t, time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	env.OnActivity(ActGenerateComplianceReport, mock.Anything, ComplianceReportInput{Period: "2026-13"}).
		Return(ComplianceReportResult{}, temporal.NewNonRetryableApplicationError("bad period", ErrTypeBadPeriod, nil)).Once()
	env.ExecuteWorkflow(ComplianceReportWorkflowName, ComplianceReportInput{Period: "2026-13"})
	require.Error(t, env.GetWorkflowError())
}
