package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The leaderboards (issue 17 item 4): the leaderboard-refresh schedule
// starts LeaderboardRefreshWorkflow every LeaderboardRefreshInterval; it has
// every opted-in public leader's metrics over 7/30/90 days recomputed from
// the recorded fills and the stored rankings replaced (internal/leaderboard
// holds the rules; the activity is one idempotent call).
const (
	LeaderboardRefreshWorkflowName = "LeaderboardRefreshWorkflow"
	ActRefreshLeaderboards         = "RefreshLeaderboards"
	// LeaderboardScheduleID names the schedule (per task queue).
	LeaderboardScheduleID = "leaderboard-refresh"
	// LeaderboardRefreshInterval is how often the rankings are recomputed
	// (SPEC US-011 #3 asks for at least every 24 hours).
	LeaderboardRefreshInterval = time.Hour
)

// LeaderboardRefreshInput fixes the refresh's clock; nil means the
// workflow's start (deterministic on replay, the same for every retry).
type LeaderboardRefreshInput struct {
	AsOf *time.Time `json:"asOf,omitempty"`
}

// LeaderboardRefreshResult counts a refresh.
type LeaderboardRefreshResult struct {
	AsOf     time.Time `json:"asOf"`
	Leaders  int       `json:"leaders"`
	Entries  int       `json:"entries"`
	Unranked int       `json:"unranked"`
}

// LeaderboardRefreshWorkflow recomputes the leaderboards as of its start.
func LeaderboardRefreshWorkflow(ctx workflow.Context, in LeaderboardRefreshInput) (LeaderboardRefreshResult, error) {
	asOf := workflow.Now(ctx).UTC()
	if in.AsOf != nil {
		asOf = in.AsOf.UTC()
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 2 * time.Minute, MaximumAttempts: 5,
		},
	})
	var res LeaderboardRefreshResult
	err := workflow.ExecuteActivity(actx, ActRefreshLeaderboards, LeaderboardRefreshInput{AsOf: &asOf}).Get(ctx, &res)
	return res, err
}
