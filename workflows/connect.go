package workflows

import (
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ConnectBrokerWorkflowName checks a new connection's credentials with the
// broker (workflow id ConnectWorkflowID).
const (
	ConnectBrokerWorkflowName = "ConnectBrokerWorkflow"
	ActConnectBroker          = "ConnectBroker"
)

// ConnectWorkflowID is the id of the check of one connection attempt.
func ConnectWorkflowID(attemptID string) string { return "connect/" + attemptID }

// ConnectInput names a connection attempt: the pending row holding the new
// (sealed) credentials and the connection they replace, if any. No secret:
// the activity reads the credentials from the vault (invariant 4).
type ConnectInput struct {
	ConnectionID string    `json:"connectionId"`
	UserID       string    `json:"userId"`
	Broker       string    `json:"broker"`
	ReplaceID    string    `json:"replaceId,omitempty"`
	RequestedAt  time.Time `json:"requestedAt"`
	IPAddress    string    `json:"ipAddress,omitempty"`
	UserAgent    string    `json:"userAgent,omitempty"`
}

// ConnectResult is the attempt's outcome, worded for the trader.
type ConnectResult struct {
	ConnectionID string          `json:"connectionId"` // the active connection (the replaced one on a re-connect)
	Broker       string          `json:"broker"`
	Connected    bool            `json:"connected"`
	Reconnect    bool            `json:"reconnect"`
	Kind         string          `json:"kind,omitempty"` // broker error kind when refused
	Message      string          `json:"message"`
	Detail       string          `json:"detail,omitempty"`
	AccountValue decimal.Decimal `json:"accountValue"`
	Cash         decimal.Decimal `json:"cash"`
	Currency     string          `json:"currency,omitempty"`
}

// ConnectBrokerWorkflow runs the check of one connection attempt. The
// activity turns a broker's refusal into a result and records it (row
// activated or deleted, audit entry, event) in one transaction; it fails
// only when that cannot be done (database), and is then retried — a retry
// after the decision returns it again.
func ConnectBrokerWorkflow(ctx workflow.Context, in ConnectInput) (ConnectResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 45 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Second,
			MaximumAttempts:    5,
		},
	})
	var res ConnectResult
	err := workflow.ExecuteActivity(ctx, ActConnectBroker, in).Get(ctx, &res)
	return res, err
}

// ConnectBrokerWorkflowOptions registers ConnectBrokerWorkflow by its name.
func ConnectBrokerWorkflowOptions() workflow.RegisterOptions {
	return workflow.RegisterOptions{Name: ConnectBrokerWorkflowName}
}
