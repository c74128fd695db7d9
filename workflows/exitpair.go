package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// versionExitPair: a trade with a take-profit first asks PlaceExitPair to
// place its take-profit and stop-loss as the broker's native
// one-cancels-other pair; when it did, the lone stop (PlaceStopLoss) is
// skipped and FollowExitPair follows the pair instead of the server-side
// watch. Reached only for trades with a take-profit, so others record no
// marker.
const versionExitPair = "exit-pair"

// placeExitPair is the native-pair step after the entry filled (nothing
// when the signal has no take-profit or the workflow predates it). A
// failed step is logged and the trade goes on with the lone stop and the
// emulated take-profit.
func placeExitPair(ctx workflow.Context, in TradeInput, submitTimeout time.Duration) ExitPairResult {
	var ep ExitPairResult
	if !takesProfit(in.Signal) || workflow.GetVersion(ctx, versionExitPair, workflow.DefaultVersion, 1) < 1 {
		return ep
	}
	pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: submitTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 10,
			NonRetryableErrorTypes: []string{string(broker.KindInvalidSymbol), string(broker.KindAuthFailed), string(broker.KindInvalidOrder)},
		},
	})
	if err := workflow.ExecuteActivity(pctx, ActPlaceExitPair, TradeRef{TradeID: in.TradeID}).Get(ctx, &ep); err != nil {
		workflow.GetLogger(ctx).Error("exit pair not placed; the stop-loss is placed alone", "error", err)
		return ExitPairResult{}
	}
	return ep
}

// followTakeProfit runs the take-profit after the stop: the native pair is
// followed until one leg fills or it is cancelled (a position still held
// then hands over to the server-side watch); otherwise the watch runs.
func followTakeProfit(ctx, bookCtx workflow.Context, in TradeInput, ep ExitPairResult) (TakeProfitResult, error) {
	if !ep.Native {
		return watchTakeProfit(ctx, bookCtx, in)
	}
	fctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 90 * 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second},
	})
	var tp TakeProfitResult
	if err := workflow.ExecuteActivity(fctx, ActFollowExitPair, TradeRef{TradeID: in.TradeID}).Get(ctx, &tp); err != nil || tp.Outcome != "emulate" {
		return tp, err
	}
	return watchTakeProfit(ctx, bookCtx, in)
}
