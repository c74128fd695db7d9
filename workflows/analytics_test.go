package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

// A scheduled run (no clock) refreshes as of its own start time; a failed
// activity is retried (it is idempotent).
func TestAnalyticsRefreshWorkflowUsesItsStartTime(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	start := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	env.RegisterWorkflowWithOptions(AnalyticsRefreshWorkflow, AnalyticsRefreshWorkflowOptions())
	env.RegisterActivityWithOptions(func(context.Context, AnalyticsRefreshInput) (AnalyticsRefreshResult, error) {
		return AnalyticsRefreshResult{}, nil
	}, activity.RegisterOptions{Name: ActRefreshAnalytics})
	want := AnalyticsRefreshResult{AsOf: "2026-12", Months: 12}
	env.OnActivity(ActRefreshAnalytics, mock.Anything, AnalyticsRefreshInput{At: start}).
		Return(AnalyticsRefreshResult{}, errors.New("database is locked")).Once()
	env.OnActivity(ActRefreshAnalytics, mock.Anything, AnalyticsRefreshInput{At: start}).Return(want, nil).Once()
	env.ExecuteWorkflow(AnalyticsRefreshWorkflowName, AnalyticsRefreshInput{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got AnalyticsRefreshResult
	require.NoError(t, env.GetWorkflowResult(&got))
	require.Equal(t, want, got)
	env.AssertExpectations(t)
}
