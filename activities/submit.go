package activities

import (
	"context"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// SubmitOrder sends the order to the broker exactly once: the client order
// id is derived from the workflow id, and every attempt first asks the
// broker for an order with that id (a previous attempt may have reached the
// broker and lost its answer, or its worker may have died).
func (a *Trading) SubmitOrder(ctx context.Context, in workflows.SubmitInput) (_ workflows.SubmitResult, err error) {
	defer func() { err = unknownOutcome(err) }()
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.SubmitResult{}, err
	}
	t := l.Trade
	if t.BrokerOrderID != "" {
		return workflows.SubmitResult{BrokerOrderID: t.BrokerOrderID, Status: t.Status}, nil
	}
	if trade.Status(t.Status).Terminal() {
		return workflows.SubmitResult{}, temporal.NewNonRetryableApplicationError(t.ErrorMessage, "TRADE_CLOSED", nil)
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.SubmitResult{}, err
	}
	log := a.logCtx(ctx).With(zap.String("trade_id", t.ID), zap.String("workflow_id", t.WorkflowID), zap.String("broker", t.Broker))
	if info := activity.GetInfo(ctx); info.Attempt > 1 {
		log = log.With(zap.Int32("attempt", info.Attempt))
	}

	order, found, err := b.FindOrderByClientID(ctx, in.ClientOrderID)
	if err != nil {
		log.Warn("order lookup by client id failed", zap.Error(err))
		return workflows.SubmitResult{}, brokerFailure(t.Broker, err)
	}
	if found {
		log.Info("order already at broker; not submitting again", zap.String("broker_order_id", order.ID))
	} else {
		req := broker.OrderRequest{
			ClientOrderID: in.ClientOrderID,
			Symbol:        t.Symbol,
			AssetClass:    signal.AssetClass(t.AssetClass),
			Side:          signal.Side(t.Side),
			Type:          signal.OrderType(t.OrderType),
			Quantity:      t.Quantity,
			LimitPrice:    t.LimitPrice.Decimal,
			StopPrice:     t.StopPrice.Decimal,
			TrailPercent:  l.Signal.TrailPercent,
			TimeInForce:   broker.TimeInForceFor(l.Signal.TimeInForce, signal.AssetClass(t.AssetClass)),
			ExtendedHours: a.extendedSession(ctx, t, l.Signal),
		}
		order, err = b.PlaceOrder(ctx, req)
		if err != nil {
			log.Warn("order submission failed", zap.String("kind", string(broker.KindOf(err))), zap.Error(err))
			return workflows.SubmitResult{}, brokerFailure(t.Broker, err)
		}
	}

	res := workflows.SubmitResult{BrokerOrderID: order.ID, Status: string(order.Status)}
	if !in.RecordFill || !order.Status.Terminal() {
		if err := a.recordSubmitted(ctx, t.ID, in.ClientOrderID, order); err != nil {
			return workflows.SubmitResult{}, err
		}
		log.Info("order accepted by broker", zap.String("broker_order_id", order.ID))
		return res, nil
	}
	// Final in the broker's answer (a market order filled at once): record
	// the submission and the outcome as AwaitFill would, in one transaction
	// (two audit entries and events, in order). If this fails the attempt
	// is retried, finds the order at the broker and records it again.
	both := *a
	both.Committed = nil
	if err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		both.DB = tx
		if err := both.recordSubmitted(ctx, t.ID, in.ClientOrderID, order); err != nil {
			return err
		}
		return both.recordFinal(ctx, t.ID, order, remainderNote(order))
	}); err != nil {
		return workflows.SubmitResult{}, err
	}
	a.committed(t.UserID)
	log.Info("order accepted by broker", zap.String("broker_order_id", order.ID), zap.String("status", string(order.Status)))
	a.syncPortfolio(ctx, t, b)
	f := fillResult(order, false)
	res.Fill = &f
	return res, nil
}

// recordSubmitted records the broker's acknowledgement of the entry order
// (once): status submitted, the reservation released and the trader's
// exposure epoch bumped, in one transaction with its audit entry and event.
func (a *Trading) recordSubmitted(ctx context.Context, tradeID, clientOrderID string, order broker.Order) error {
	_, err := a.record(ctx, tradeID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.BrokerOrderID != "" {
			return trade.Change{}, trade.ErrNoChange
		}
		now := a.now()
		tr.Status = string(trade.StatusSubmitted)
		tr.BrokerOrderID = order.ID
		tr.ClientOrderID = clientOrderID
		tr.SubmittedAt = &now
		tr.ReservedNotional = decimal.Zero
		// The order now weighs on the broker's buying power: bump the
		// trader's exposure epoch so concurrent PrepareOrders re-read it.
		if err := bumpExposureEpoch(tx, tr.UserID); err != nil {
			return trade.Change{}, err
		}
		return trade.Change{Action: audit.ActionTradeSubmitted, Message: submittedMessage(*tr), Event: realtime.EventTradeSubmitted,
			Details: map[string]any{"brokerOrderId": order.ID, "clientOrderId": clientOrderID, "quantity": tr.Quantity.String()}}, nil
	})
	return err
}

func submittedMessage(t schema.Trade) string {
	unit := ""
	if t.AssetClass == string(signal.AssetStock) {
		unit = "shares"
		if t.Quantity.Equal(decimal.NewFromInt(1)) {
			unit = "share"
		}
	}
	price := ""
	if t.LimitPrice.Valid {
		price = risk.FormatPrice(t.LimitPrice.Decimal)
	} else if t.StopPrice.Valid {
		price = risk.FormatPrice(t.StopPrice.Decimal)
	}
	return trade.SubmittedMessage(t.Symbol, t.OrderType, t.Side, t.Quantity.String(), unit, price)
}
