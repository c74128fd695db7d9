package activities

import (
	"context"

	"go.temporal.io/sdk/temporal"

	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/workflows"
)

// ConfirmSubmission settles an entry order whose submission was never
// acknowledged: SubmitOrder gave up on transient failures (503s, rate
// limits, timeouts, dropped connections), but an attempt may have reached
// the broker before its answer was lost. It asks the broker for the order's
// client order id — it never places an order — and retries until the
// broker answers. Found: the submission is recorded as SubmitOrder records
// it and the trade goes on. Not found: the order was never placed (the
// workflow waited for requests still in flight before asking).
func (a *Trading) ConfirmSubmission(ctx context.Context, in workflows.SubmitInput) (workflows.ConfirmResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.ConfirmResult{}, err
	}
	t := l.Trade
	if t.BrokerOrderID != "" {
		return workflows.ConfirmResult{Found: true, Submit: workflows.SubmitResult{BrokerOrderID: t.BrokerOrderID, Status: t.Status}}, nil
	}
	if trade.Status(t.Status).Terminal() {
		return workflows.ConfirmResult{}, temporal.NewNonRetryableApplicationError(t.ErrorMessage, "TRADE_CLOSED", nil)
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.ConfirmResult{}, err
	}
	order, found, err := b.FindOrderByClientID(ctx, in.ClientOrderID)
	if err != nil {
		return workflows.ConfirmResult{}, brokerFailure(t.Broker, err)
	}
	if !found {
		return workflows.ConfirmResult{}, nil
	}
	if err := a.recordSubmitted(ctx, t.ID, in.ClientOrderID, order); err != nil {
		return workflows.ConfirmResult{}, err
	}
	a.log().Info("unacknowledged order found at the broker; recorded as submitted")
	return workflows.ConfirmResult{Found: true, Submit: workflows.SubmitResult{BrokerOrderID: order.ID, Status: string(order.Status)}}, nil
}
