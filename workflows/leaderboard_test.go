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
	"go.temporal.io/sdk/workflow"
)

// A scheduled run refreshes as of its own start; a failed activity is
// retried with the same AsOf (the refresh is idempotent for one AsOf); an
// explicit AsOf is kept.
func TestLeaderboardRefreshWorkflowUsesItsStartAsAsOf(t *testing.T) {
	start := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
	hourBefore := start.Add(-time.Hour)
	for _, tc := range []struct {
		name string
		in   LeaderboardRefreshInput
		want time.Time
	}{{"scheduled", LeaderboardRefreshInput{}, start}, {"explicit", LeaderboardRefreshInput{AsOf: &hourBefore}, start.Add(-time.Hour)}} {
		t.Run(tc.name, func(t *testing.T) {
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.RegisterWorkflowWithOptions(LeaderboardRefreshWorkflow, workflow.RegisterOptions{Name: LeaderboardRefreshWorkflowName})
			env.RegisterActivityWithOptions(func(context.Context, LeaderboardRefreshInput) (LeaderboardRefreshResult, error) {
				return LeaderboardRefreshResult{}, nil
			}, activity.RegisterOptions{Name: ActRefreshLeaderboards})
			want := LeaderboardRefreshResult{AsOf: tc.want, Leaders: 3, Entries: 9}
			env.OnActivity(ActRefreshLeaderboards, mock.Anything, LeaderboardRefreshInput{AsOf: &tc.want}).
				Return(LeaderboardRefreshResult{}, errors.New("database is locked")).Once()
			env.OnActivity(ActRefreshLeaderboards, mock.Anything, LeaderboardRefreshInput{AsOf: &tc.want}).Return(want, nil).Once()
			env.ExecuteWorkflow(LeaderboardRefreshWorkflowName, tc.in)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var got LeaderboardRefreshResult
			require.NoError(t, env.GetWorkflowResult(&got))
			require.Equal(t, want, got)
			env.AssertExpectations(t)
		})
	}
}
