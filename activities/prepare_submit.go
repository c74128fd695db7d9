package activities

import (
	"context"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/workflows"
)

// InProcessTrade runs, for a broker in this process (the paper broker),
// the steps of a trade that TradeShape 1 ran as four local activities in
// one: each local activity is a marker event in the trade's history, and
// the markers were a quarter of the Temporal server's work per fanned-out
// follower (DESIGN §3, "Where the steps run").
type InProcessTrade struct {
	Trading *Trading
	// Guard makes the account guard's look after the fill; nil leaves
	// the look to the workflow's GuardAfterFill.
	Guard *Guard
}

// PrepareAndSubmit is PrepareOrder and, when its decision lets an order
// for a broker in this process go now (not refused, nothing to wait for),
// SubmitOrder, then — once the order filled — PlaceStopLoss and the
// guard's look after the fill (GuardAfterFill), in that order. Each step is
// the activity of the same name, as idempotent as it is alone; the look
// leaves the other positions' stops to the guard's next poll (afterFill).
//
// PrepareOrder's error is returned as it is, SubmitOrder's marked
// (workflows.MarkSubmitFailure, with the decision): the workflow handles
// each as that activity's, and the local activity's retry policy is theirs
// (the same one), so a failing submission is tried as often and as far
// apart as SubmitOrder alone. A later step that fails is logged and left
// undone in the result: the workflow then runs it as its own local
// activity with its own retry policy.
func (p *InProcessTrade) PrepareAndSubmit(ctx context.Context, in workflows.PrepareSubmitInput) (workflows.PrepareSubmitResult, error) {
	prep, err := p.Trading.PrepareOrder(ctx, in.Prepare)
	res := workflows.PrepareSubmitResult{Prepare: prep}
	if err != nil {
		return res, err
	}
	if !prep.InProcess || !prep.MarketOpen || prep.Rejected || prep.Noop || prep.AwaitApproval {
		return res, nil
	}
	log := p.Trading.logCtx(ctx).With(zap.String("trade_id", in.Prepare.TradeID))
	sub, err := p.Trading.SubmitOrder(ctx, in.Submit)
	if err != nil {
		// The activity's retry policy is SubmitOrder's: a retry runs
		// the (recorded, so quick) check again and submits again, which
		// finds an order that reached the broker by its client order id.
		return res, workflows.MarkSubmitFailure(prep, err)
	}
	res.Submit = &sub
	if sub.Fill == nil || !sub.Fill.FilledQuantity.IsPositive() {
		return res, nil // working, refused or cancelled: the workflow follows it
	}
	if _, err := p.Trading.PlaceStopLoss(ctx, workflows.TradeRef{TradeID: in.Prepare.TradeID}); err != nil {
		log.Warn("stop-loss in PrepareAndSubmit failed; the workflow places it on its own", zap.Error(err))
		return res, nil // the guard's look comes after the stop
	}
	res.StopPlaced = true
	if p.Guard == nil || prep.ConnectionID == "" {
		return res, nil
	}
	if err := p.Guard.afterFill(ctx, workflows.GuardRef{ConnectionID: prep.ConnectionID, UserID: in.UserID}, false); err != nil {
		log.Warn("guard's look after the fill in PrepareAndSubmit failed; the workflow asks again", zap.Error(err))
		return res, nil
	}
	res.Guarded = true
	return res, nil
}
