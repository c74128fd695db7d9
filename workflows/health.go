package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ConnectionHealthWorkflowName sweeps every active broker connection
// (FR-019); a Temporal Schedule starts it every HealthCheckInterval.
const (
	ConnectionHealthWorkflowName = "ConnectionHealthWorkflow"
	ActListActiveConnections     = "ListActiveConnections"
	ActCheckConnection           = "CheckConnection"
	ActPurgeStaleConnections     = "PurgeStaleConnections"

	// HealthCheckInterval is how often every active connection is checked.
	HealthCheckInterval = 5 * time.Minute
	// HealthScheduleID names the schedule (per task queue) at the server.
	HealthScheduleID = "connection-health"

	healthPageSize    = 50
	healthPagesPerRun = 20 // then continue-as-new, keeping histories short
)

// HealthSweepInput resumes a sweep after AfterID (continue-as-new carries
// the counts).
type HealthSweepInput struct {
	AfterID  string            `json:"afterId,omitempty"`
	PageSize int               `json:"pageSize,omitempty"`
	Counts   HealthSweepResult `json:"counts"`
}

// HealthSweepResult counts a sweep's checks.
type HealthSweepResult struct {
	Checked   int `json:"checked"`
	Healthy   int `json:"healthy"`
	Unhealthy int `json:"unhealthy"`
	Changed   int `json:"changed"` // status changes the traders were told about
	Failed    int `json:"failed"`  // checks that could not be recorded
}

// ListConnectionsInput asks for a page of active connection ids.
type ListConnectionsInput struct {
	AfterID string `json:"afterId,omitempty"`
	Limit   int    `json:"limit"`
}

// ConnectionPage is a page of active connection ids, in id order.
type ConnectionPage struct {
	IDs []string `json:"ids"`
}

// HealthCheckInput names the connection to check.
type HealthCheckInput struct {
	ConnectionID string `json:"connectionId"`
}

// HealthCheckResult is one check's outcome (no secret).
type HealthCheckResult struct {
	ConnectionID string `json:"connectionId"`
	Broker       string `json:"broker"`
	Checked      bool   `json:"checked"`
	Healthy      bool   `json:"healthy"`
	Changed      bool   `json:"changed"`
	Attempts     int    `json:"attempts"`
	Kind         string `json:"kind,omitempty"`
	Message      string `json:"message,omitempty"`
}

// ConnectionHealthWorkflow checks every active connection, a page at a time,
// the page's checks in parallel. Each check retries with a reconnect inside
// its activity and records its own result; a check that cannot be recorded
// is counted and left to the next sweep, never failing the others.
func ConnectionHealthWorkflow(ctx workflow.Context, in HealthSweepInput) (HealthSweepResult, error) {
	size := in.PageSize
	if size <= 0 {
		size = healthPageSize
	}
	res := in.Counts
	bookCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 5,
		},
	})
	checkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		HeartbeatTimeout:    45 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 2},
	})
	if in.AfterID == "" {
		// Housekeeping once per sweep; its failure does not stop the checks.
		_ = workflow.ExecuteActivity(bookCtx, ActPurgeStaleConnections).Get(ctx, nil)
	}
	after := in.AfterID
	for page := 0; page < healthPagesPerRun; page++ {
		var p ConnectionPage
		if err := workflow.ExecuteActivity(bookCtx, ActListActiveConnections, ListConnectionsInput{AfterID: after, Limit: size}).Get(ctx, &p); err != nil {
			return res, err
		}
		futures := make([]workflow.Future, len(p.IDs))
		for i, id := range p.IDs {
			futures[i] = workflow.ExecuteActivity(checkCtx, ActCheckConnection, HealthCheckInput{ConnectionID: id})
		}
		for _, f := range futures {
			var r HealthCheckResult
			if err := f.Get(ctx, &r); err != nil {
				res.Failed++
				continue
			}
			if !r.Checked {
				continue
			}
			res.Checked++
			if r.Healthy {
				res.Healthy++
			} else {
				res.Unhealthy++
			}
			if r.Changed {
				res.Changed++
			}
		}
		if len(p.IDs) < size {
			return res, nil
		}
		after = p.IDs[len(p.IDs)-1]
	}
	return res, workflow.NewContinueAsNewError(ctx, ConnectionHealthWorkflowName, HealthSweepInput{AfterID: after, PageSize: size, Counts: res})
}

// ConnectionHealthWorkflowOptions registers ConnectionHealthWorkflow by its
// name.
func ConnectionHealthWorkflowOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: ConnectionHealthWorkflowName}
}
