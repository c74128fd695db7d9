package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// takesLadder reports whether the signal asks for a take-profit ladder
// (the exit of one leg carries none).
func takesLadder(s signal.Signal) bool {
	return s.HasLadder() && opensPosition(s)
}

// watchLadder arms the take-profit ladder (the legs split on the broker's
// quantity rules) and watches it until every leg is done or the position
// closes otherwise (versionTakeProfitLadder). Like watchTakeProfit, the
// watch is one long activity that heartbeats; a worker restart resumes it
// from the leg rows, and each leg's exit is recorded once.
func watchLadder(ctx, bookCtx workflow.Context, in TradeInput) (TakeProfitResult, error) {
	var tp TakeProfitResult
	if err := workflow.ExecuteActivity(bookCtx, ActArmTakeProfitLadder, LadderInput{TradeID: in.TradeID, SourceID: in.SourceID}).Get(ctx, &tp); err != nil {
		return tp, err
	}
	if tp.Outcome != "armed" {
		return tp, nil
	}
	watchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 90 * 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
		},
	})
	err := workflow.ExecuteActivity(watchCtx, ActWatchTakeProfitLadder, TradeRef{TradeID: in.TradeID}).Get(ctx, &tp)
	return tp, err
}
