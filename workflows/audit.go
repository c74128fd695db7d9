package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The audit schedules (issue 15): every hour AuditVerifyWorkflow checks
// every chain against the newest signed checkpoint in the object store,
// raises a SECURITY_ALERT when one fails, and writes the next checkpoint;
// every night AuditArchiveWorkflow moves entries older than the hot window
// to signed segments in the object store. The rules live in internal/audit;
// these workflows only page through the chains.
const (
	AuditVerifyWorkflowName  = "AuditVerifyWorkflow"
	AuditArchiveWorkflowName = "AuditArchiveWorkflow"

	// Schedule ids (per task queue, like HealthScheduleID).
	AuditVerifyScheduleID  = "audit-verify"
	AuditArchiveScheduleID = "audit-archive"
	// AuditVerifyInterval is how often every chain is verified and a new
	// checkpoint written.
	AuditVerifyInterval = time.Hour
	// AuditArchiveHour is the UTC hour of the nightly archive.
	AuditArchiveHour = 3

	ActAuditLatestCheckpoint   = "AuditLatestCheckpoint"
	ActAuditVerifyPage         = "AuditVerifyPage"
	ActAuditRaiseAlert         = "AuditRaiseAlert"
	ActAuditNotifyDiscord      = "AuditNotifyDiscord"
	ActAuditWriteCheckpoint    = "AuditWriteCheckpoint"
	ActAuditRecordVerification = "AuditRecordVerification"
	ActAuditArchivePlan        = "AuditArchivePlan"
	ActAuditArchivePage        = "AuditArchivePage"

	auditPageSize    = 200
	auditPagesPerRun = 25 // then continue-as-new, keeping histories short
	// AuditMaxProblems bounds the failed chains a verification carries;
	// with more, no checkpoint is written (nothing is re-anchored) until
	// an operator has looked.
	AuditMaxProblems = 500
)

// AuditProblem is one chain that did not verify.
type AuditProblem struct {
	Chain  string `json:"chain"`
	Status string `json:"status"`
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// AuditVerifyCounts count a verification's chains.
type AuditVerifyCounts struct {
	Chains       int `json:"chains"`
	Valid        int `json:"valid"`
	Failed       int `json:"failed"`
	Unanchored   int `json:"unanchored"`
	NoCheckpoint int `json:"noCheckpoint"`
}

// AuditVerifyInput resumes a verification (continue-as-new carries it);
// the zero value starts one.
type AuditVerifyInput struct {
	Started       bool              `json:"started,omitempty"`
	StartedAt     time.Time         `json:"startedAt,omitempty"`
	CheckpointKey string            `json:"checkpointKey,omitempty"`
	After         string            `json:"after,omitempty"`
	PageSize      int               `json:"pageSize,omitempty"`
	Counts        AuditVerifyCounts `json:"counts"`
	Problems      []AuditProblem    `json:"problems,omitempty"`
}

// AuditVerifyResult is a finished verification.
type AuditVerifyResult struct {
	AuditVerifyCounts
	CheckpointKey string         `json:"checkpointKey"`
	NewCheckpoint string         `json:"newCheckpoint,omitempty"`
	AlertID       string         `json:"alertId,omitempty"`
	Problems      []AuditProblem `json:"problems,omitempty"`
}

// AuditCheckpointRef names the newest checkpoint. Invalid says it exists
// but does not verify (forged, altered, unknown key): that is an alert.
type AuditCheckpointRef struct {
	Key     string `json:"key,omitempty"`
	Invalid string `json:"invalid,omitempty"`
}

// AuditVerifyPageInput asks for one page of chains after After.
type AuditVerifyPageInput struct {
	CheckpointKey string `json:"checkpointKey,omitempty"`
	After         string `json:"after,omitempty"`
	Limit         int    `json:"limit"`
}

// AuditVerifyPageResult is one page's outcome.
type AuditVerifyPageResult struct {
	AuditVerifyCounts
	Problems []AuditProblem `json:"problems,omitempty"`
	Last     string         `json:"last"`
	Done     bool           `json:"done"`
}

// AuditAlertInput raises the alert of verification RunID.
type AuditAlertInput struct {
	RunID    string         `json:"runId"`
	Failed   int            `json:"failed"`
	Problems []AuditProblem `json:"problems"`
}

// AuditAlertResult names the alert; Raised is false when a retry found it
// raised already.
type AuditAlertResult struct {
	AlertID string `json:"alertId"`
	Raised  bool   `json:"raised"`
	Summary string `json:"summary"`
}

// AuditWriteCheckpointInput asks for the next checkpoint after Previous,
// keeping Hold chains at their previous heads.
type AuditWriteCheckpointInput struct {
	Previous string   `json:"previous,omitempty"`
	Hold     []string `json:"hold,omitempty"`
}

// AuditRecordInput records a finished verification.
type AuditRecordInput struct {
	RunID     string            `json:"runId"`
	StartedAt time.Time         `json:"startedAt"`
	Result    AuditVerifyResult `json:"result"`
}

// AuditVerifyWorkflow verifies every chain against the newest checkpoint,
// a page at a time, then raises an alert if any failed and writes the next
// checkpoint (failed chains keep their old heads).
func AuditVerifyWorkflow(ctx workflow.Context, in AuditVerifyInput) (AuditVerifyResult, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
		},
	})
	size := in.PageSize
	if size <= 0 {
		size = auditPageSize
	}
	if !in.Started {
		in.Started, in.StartedAt = true, workflow.Now(ctx).UTC()
		var ref AuditCheckpointRef
		if err := workflow.ExecuteActivity(actx, ActAuditLatestCheckpoint).Get(ctx, &ref); err != nil {
			return AuditVerifyResult{}, err
		}
		if ref.Invalid != "" {
			// The newest checkpoint is not ours: alert, verify nothing
			// against it, write nothing after it.
			in.Counts.Failed++
			in.Problems = append(in.Problems, AuditProblem{Chain: "*", Status: "tampered", Reason: "checkpoint invalid", Detail: ref.Invalid})
			res := AuditVerifyResult{AuditVerifyCounts: in.Counts, CheckpointKey: ref.Key, Problems: in.Problems}
			return finishAuditVerify(ctx, actx, in, res, false)
		}
		in.CheckpointKey = ref.Key
	}
	for page := 0; page < auditPagesPerRun; page++ {
		var p AuditVerifyPageResult
		if err := workflow.ExecuteActivity(actx, ActAuditVerifyPage,
			AuditVerifyPageInput{CheckpointKey: in.CheckpointKey, After: in.After, Limit: size}).Get(ctx, &p); err != nil {
			return AuditVerifyResult{}, err
		}
		in.Counts.Chains += p.Chains
		in.Counts.Valid += p.Valid
		in.Counts.Failed += p.Failed
		in.Counts.Unanchored += p.Unanchored
		in.Counts.NoCheckpoint += p.NoCheckpoint
		for _, pr := range p.Problems {
			if pr.Status == "tampered" && len(in.Problems) < AuditMaxProblems {
				in.Problems = append(in.Problems, pr)
			}
		}
		in.After = p.Last
		if p.Done {
			res := AuditVerifyResult{AuditVerifyCounts: in.Counts, CheckpointKey: in.CheckpointKey, Problems: in.Problems}
			return finishAuditVerify(ctx, actx, in, res, in.Counts.Failed <= AuditMaxProblems)
		}
	}
	return AuditVerifyResult{}, workflow.NewContinueAsNewError(ctx, AuditVerifyWorkflowName, in)
}

func finishAuditVerify(ctx, actx workflow.Context, in AuditVerifyInput, res AuditVerifyResult, checkpoint bool) (AuditVerifyResult, error) {
	runID := workflow.GetInfo(ctx).WorkflowExecution.ID
	if res.Failed > 0 {
		problems := res.Problems
		if len(problems) > 50 {
			problems = problems[:50]
		}
		var alert AuditAlertResult
		if err := workflow.ExecuteActivity(actx, ActAuditRaiseAlert, AuditAlertInput{RunID: runID, Failed: res.Failed, Problems: problems}).Get(ctx, &alert); err != nil {
			return res, err
		}
		res.AlertID = alert.AlertID
		if alert.Raised {
			// Discord is best effort: mail and the admin view have it.
			_ = workflow.ExecuteActivity(actx, ActAuditNotifyDiscord, alert).Get(ctx, nil)
		}
	}
	if checkpoint {
		hold := make([]string, 0, len(res.Problems))
		for _, p := range res.Problems {
			hold = append(hold, p.Chain)
		}
		if err := workflow.ExecuteActivity(actx, ActAuditWriteCheckpoint,
			AuditWriteCheckpointInput{Previous: res.CheckpointKey, Hold: hold}).Get(ctx, &res.NewCheckpoint); err != nil {
			return res, err
		}
	}
	if err := workflow.ExecuteActivity(actx, ActAuditRecordVerification,
		AuditRecordInput{RunID: runID, StartedAt: in.StartedAt, Result: res}).Get(ctx, nil); err != nil {
		return res, err
	}
	return res, nil
}

// AuditArchiveCounts count an archive run.
type AuditArchiveCounts struct {
	Chains   int   `json:"chains"`
	Segments int   `json:"segments"`
	Entries  int64 `json:"entries"`
	// Refused chains did not verify and were not archived (the hourly
	// verification alerts on them).
	Refused int `json:"refused"`
}

// AuditArchivePlan fixes a run's cutoff and checkpoint.
type AuditArchivePlan struct {
	Cutoff        time.Time `json:"cutoff"`
	CheckpointKey string    `json:"checkpointKey,omitempty"`
}

// AuditArchiveInput resumes an archive run; the zero value starts one.
type AuditArchiveInput struct {
	Plan   *AuditArchivePlan  `json:"plan,omitempty"`
	After  string             `json:"after,omitempty"`
	Counts AuditArchiveCounts `json:"counts"`
}

// AuditArchivePageInput archives one page of chains.
type AuditArchivePageInput struct {
	Plan  AuditArchivePlan `json:"plan"`
	After string           `json:"after,omitempty"`
	Limit int              `json:"limit"`
}

// AuditArchivePageResult is one page's outcome.
type AuditArchivePageResult struct {
	AuditArchiveCounts
	Last string `json:"last"`
	Done bool   `json:"done"`
}

// AuditArchiveWorkflow moves entries older than the hot window to the
// object store, a page of chains at a time. Without a checkpoint nothing
// is archived (chains are archived only once they verify against one).
func AuditArchiveWorkflow(ctx workflow.Context, in AuditArchiveInput) (AuditArchiveCounts, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: 5,
		},
	})
	if in.Plan == nil {
		var plan AuditArchivePlan
		if err := workflow.ExecuteActivity(actx, ActAuditArchivePlan).Get(ctx, &plan); err != nil {
			return in.Counts, err
		}
		if plan.CheckpointKey == "" {
			return in.Counts, nil
		}
		in.Plan = &plan
	}
	for page := 0; page < auditPagesPerRun; page++ {
		var p AuditArchivePageResult
		if err := workflow.ExecuteActivity(actx, ActAuditArchivePage,
			AuditArchivePageInput{Plan: *in.Plan, After: in.After, Limit: auditPageSize}).Get(ctx, &p); err != nil {
			return in.Counts, err
		}
		in.Counts.Chains += p.Chains
		in.Counts.Segments += p.Segments
		in.Counts.Entries += p.Entries
		in.Counts.Refused += p.Refused
		in.After = p.Last
		if p.Done {
			return in.Counts, nil
		}
	}
	return in.Counts, workflow.NewContinueAsNewError(ctx, AuditArchiveWorkflowName, in)
}
