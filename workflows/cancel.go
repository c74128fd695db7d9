package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// Activities of cancelling orders. SelectCancelTargets and CancelOpenOrders
// are methods of activities.Cancels (they signal other TradeWorkflows);
// CancelEntry is a method of activities.Trading.
const (
	ActSelectCancelTargets = "SelectCancelTargets"
	ActCancelOpenOrders    = "CancelOpenOrders"
	ActCancelEntry         = "CancelEntry"
)

// CancelTarget is one order a cancel signal cancels.
type CancelTarget struct {
	TradeID    string `json:"tradeId"`
	WorkflowID string `json:"workflowId"`
	// Status when selected (informative).
	Status string `json:"status"`
}

// CancelSelection is SelectCancelTargets's answer for a cancel signal's
// trade.
type CancelSelection struct {
	// Done is true when the cancel signal's trade is already decided (an
	// activity retry, or no connection to route to); Status and Message
	// are then its outcome.
	Done         bool           `json:"done"`
	Status       string         `json:"status,omitempty"`
	Message      string         `json:"message,omitempty"`
	ConnectionID string         `json:"connectionId"`
	Broker       string         `json:"broker"`
	Targets      []CancelTarget `json:"targets"`
}

// CancelOrdersInput is CancelOpenOrders's input: the cancel signal's trade
// and the orders selected for it (fixed in the history, so a retry
// cancels and reports the same set).
type CancelOrdersInput struct {
	TradeID      string         `json:"tradeId"`
	ConnectionID string         `json:"connectionId"`
	Broker       string         `json:"broker"`
	Targets      []CancelTarget `json:"targets"`
}

// CancelOrdersResult is the cancel signal's trade's outcome.
type CancelOrdersResult struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// cancelOpenOrders is the whole TradeWorkflow of a cancel signal (since
// versionCancelSignal): select the trader's open orders in the symbol on
// the connection the signal routes to, have each one's own TradeWorkflow
// cancel it (the `cancel` signal), and record what happened. Nothing is
// sized or sent, so neither the market hours nor the loss rules apply.
func cancelOpenOrders(ctx workflow.Context, in TradeInput, res *TradeResult, setStatus func(trade.Status)) (TradeResult, error) {
	selCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	var sel CancelSelection
	if err := workflow.ExecuteActivity(selCtx, ActSelectCancelTargets, TradeRef{TradeID: in.TradeID}).Get(ctx, &sel); err != nil {
		return *res, err
	}
	if sel.Broker != "" {
		_ = workflow.UpsertTypedSearchAttributes(ctx, SABroker.ValueSet(sel.Broker))
	}
	if sel.Done {
		setStatus(trade.Status(sel.Status))
		res.Message = sel.Message
		return *res, nil
	}
	// Signalling, then waiting (bounded) for every target to end;
	// heartbeating, retried until it succeeds (it is idempotent).
	cancelCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Minute,
		HeartbeatTimeout:    20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	var out CancelOrdersResult
	if err := workflow.ExecuteActivity(cancelCtx, ActCancelOpenOrders, CancelOrdersInput{
		TradeID: in.TradeID, ConnectionID: sel.ConnectionID, Broker: sel.Broker, Targets: sel.Targets,
	}).Get(ctx, &out); err != nil {
		return *res, err
	}
	setStatus(trade.Status(out.Status))
	res.Message = out.Message
	return *res, nil
}

// awaitFillOrCancel runs AwaitFill; a `cancel` signal received meanwhile
// (since versionCancelWorking) makes the workflow cancel its own entry
// order at the broker (CancelEntry). AwaitFill keeps watching the order
// and records how it ended — cancelled, or filled before the cancel took
// effect — so the trade keeps one writer.
func awaitFillOrCancel(ctx, awaitCtx workflow.Context, tradeID string, deadline time.Time, cancelCh workflow.ReceiveChannel, fill *FillResult) error {
	f := workflow.ExecuteActivity(awaitCtx, ActAwaitFill, AwaitInput{TradeID: tradeID, Deadline: deadline})
	requested := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(f, func(workflow.Future) {})
	sel.AddReceive(cancelCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		requested = true
	})
	sel.Select(ctx)
	if requested && !f.IsReady() {
		cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval:        time.Second,
				BackoffCoefficient:     2,
				MaximumInterval:        10 * time.Second,
				MaximumAttempts:        5,
				NonRetryableErrorTypes: []string{string(broker.KindAuthFailed)},
			},
		})
		if err := workflow.ExecuteActivity(cctx, ActCancelEntry, TradeRef{TradeID: tradeID}).Get(ctx, nil); err != nil {
			// The order keeps working; the fill window still ends it.
			workflow.GetLogger(ctx).Warn("entry order not cancelled", "error", err)
		}
	}
	return f.Get(ctx, fill)
}
