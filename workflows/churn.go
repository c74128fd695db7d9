package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The churn-scoring schedule (issue 16): every night ChurnScoringWorkflow
// scores every active trader with the newest stored churn model, a page at
// a time; each page stores the scores and top reasons and alerts on
// high-risk paying traders. The rules live in internal/analytics/churn.
const (
	ChurnScoringWorkflowName = "ChurnScoringWorkflow"
	// ChurnScoringScheduleID is the schedule's id (per task queue).
	ChurnScoringScheduleID = "churn-scoring"
	// ChurnScoringHour is the UTC hour of the nightly run.
	ChurnScoringHour = 4

	ActChurnPrepare   = "ChurnPrepare"
	ActChurnScorePage = "ChurnScorePage"

	churnPageSize    = 200
	churnPagesPerRun = 25 // then continue-as-new, keeping histories short
)

// ChurnCounts count a scoring run.
type ChurnCounts struct {
	Scored   int `json:"scored"`
	HighRisk int `json:"highRisk"`
	Alerted  int `json:"alerted"`
	Closed   int `json:"closed"`
}

// ChurnPlan fixes a run's model version and scoring time.
type ChurnPlan struct {
	ModelVersion int64     `json:"modelVersion"`
	At           time.Time `json:"at"`
}

// ChurnScoringInput resumes a run (continue-as-new carries it); the zero
// value starts one.
type ChurnScoringInput struct {
	Plan     *ChurnPlan  `json:"plan,omitempty"`
	After    string      `json:"after,omitempty"`
	PageSize int         `json:"pageSize,omitempty"`
	Counts   ChurnCounts `json:"counts"`
}

// ChurnScorePageInput scores one page of traders after After.
type ChurnScorePageInput struct {
	Plan  ChurnPlan `json:"plan"`
	After string    `json:"after,omitempty"`
	Limit int       `json:"limit"`
}

// ChurnScorePageResult is one page's outcome.
type ChurnScorePageResult struct {
	ChurnCounts
	Last string `json:"last"`
	Done bool   `json:"done"`
}

// ChurnScoringResult is a finished run.
type ChurnScoringResult struct {
	ChurnCounts
	ModelVersion int64 `json:"modelVersion"`
}

// ChurnScoringWorkflow scores every active trader with one model version.
func ChurnScoringWorkflow(ctx workflow.Context, in ChurnScoringInput) (ChurnScoringResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
		},
	})
	size := in.PageSize
	if size <= 0 {
		size = churnPageSize
	}
	if in.Plan == nil {
		var version int64
		if err := workflow.ExecuteActivity(actx, ActChurnPrepare).Get(ctx, &version); err != nil {
			return ChurnScoringResult{}, err
		}
		in.Plan = &ChurnPlan{ModelVersion: version, At: workflow.Now(ctx).UTC()}
	}
	for page := 0; page < churnPagesPerRun; page++ {
		var p ChurnScorePageResult
		if err := workflow.ExecuteActivity(actx, ActChurnScorePage,
			ChurnScorePageInput{Plan: *in.Plan, After: in.After, Limit: size}).Get(ctx, &p); err != nil {
			return ChurnScoringResult{ChurnCounts: in.Counts, ModelVersion: in.Plan.ModelVersion}, err
		}
		in.Counts.Scored += p.Scored
		in.Counts.HighRisk += p.HighRisk
		in.Counts.Alerted += p.Alerted
		in.Counts.Closed += p.Closed
		in.After = p.Last
		if p.Done {
			return ChurnScoringResult{ChurnCounts: in.Counts, ModelVersion: in.Plan.ModelVersion}, nil
		}
	}
	return ChurnScoringResult{}, workflow.NewContinueAsNewError(ctx, ChurnScoringWorkflowName, in)
}
