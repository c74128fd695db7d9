package activities

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// PlaceStopLoss places the broker-native stop after the entry filled
// (FR-007): the signal's stop price or percentage, else the trader's default
// (2%: below the fill for a long, above it for a short). Idempotent through
// its own derived client order id.
func (a *Trading) PlaceStopLoss(ctx context.Context, in workflows.TradeRef) (workflows.StopLossResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	t, sig := l.Trade, l.Signal
	if t.StopLossOrderID != "" {
		return workflows.StopLossResult{Placed: true, StopPrice: t.StopLossPrice.Decimal, BrokerOrder: t.StopLossOrderID}, nil
	}
	if !t.FilledQuantity.IsPositive() || !t.FillPrice.Valid {
		return workflows.StopLossResult{Message: "nothing filled"}, nil
	}
	_, settings, err := a.settings(ctx, t.UserID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	side := signal.Side(t.Side)
	stop := sig.StopLossPrice
	if stop.IsZero() {
		pct := sig.StopLossPercent
		if pct.IsZero() {
			pct = settings.StopLossPct
		}
		tick := decimal.New(1, -2)
		if t.AssetClass == string(signal.AssetStock) {
			tick = risk.StockTick(t.FillPrice.Decimal)
		}
		stop, err = risk.StopLossPrice(side, t.FillPrice.Decimal, pct, tick)
		if err != nil {
			return workflows.StopLossResult{}, err
		}
	}
	exitSide := signal.SideSell
	if side == signal.SideSell {
		exitSide = signal.SideBuy
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	clientID := trade.ClientOrderID(t.WorkflowID, "stop")
	order, found, err := b.FindOrderByClientID(ctx, clientID)
	if err != nil {
		return workflows.StopLossResult{}, brokerFailure(t.Broker, err)
	}
	if !found {
		order, err = b.PlaceOrder(ctx, broker.OrderRequest{
			ClientOrderID: clientID, Symbol: t.Symbol, AssetClass: signal.AssetClass(t.AssetClass),
			Side: exitSide, Type: signal.OrderStop, Quantity: t.FilledQuantity, StopPrice: stop, TimeInForce: broker.TIFGTC,
		})
		if err != nil {
			return workflows.StopLossResult{}, brokerFailure(t.Broker, err)
		}
	}
	msg := fmt.Sprintf("Stop-loss placed: %s %s %s @ %s", exitSide, t.FilledQuantity, t.Symbol, risk.FormatPrice(stop))
	_, err = a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.StopLossOrderID != "" {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.StopLossOrderID = order.ID
		tr.StopLossPrice = decimal.NewNullDecimal(stop)
		if err := tx.Model(&schema.Position{}).
			Where("user_id = ? AND broker_connection_id = ? AND symbol = ? AND closed_at IS NULL", tr.UserID, tr.BrokerConnectionID, tr.Symbol).
			Update("stop_loss_price", decimal.NewNullDecimal(stop)).Error; err != nil {
			return trade.Change{}, err
		}
		return trade.Change{Action: audit.ActionStopLossPlaced, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"stopPrice": stop.String(), "brokerOrderId": order.ID}}, nil
	})
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	return workflows.StopLossResult{Placed: true, StopPrice: stop, BrokerOrder: order.ID, Message: msg}, nil
}

// RecordFailure records a trade the broker path gave up on, with the
// trader-facing reason, and releases its reservation.
func (a *Trading) RecordFailure(ctx context.Context, in workflows.FailureInput) error {
	_, err := a.record(ctx, in.TradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		msg := in.Message
		if msg == "" {
			msg = trade.SubmitFailureMessage(t.Broker, broker.Kind(in.Kind), "")
		}
		t.Status = string(trade.StatusRejected)
		t.ErrorMessage = msg
		t.ReservedNotional = decimal.Zero
		return trade.Change{Action: audit.ActionTradeFailed, Failed: true, Message: msg, Event: realtime.EventTradeRejected,
			Details: map[string]any{"kind": in.Kind}}, nil
	})
	return err
}
