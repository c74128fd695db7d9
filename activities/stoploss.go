package activities

import (
	"context"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
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

// PlaceStopLoss keeps the position's broker-native stop in step with a
// fill (FR-007): after an opening fill it is placed (the signal's stop
// price or percentage, else the trader's default: 2% below the average
// entry for a long, above it for a short; a trailing stop when the trader
// chose one); when the position grew it is amended to cover all of it;
// when an exit shrank the position it is placed again on the remainder at
// the same level; when the position is closed it is cancelled. Idempotent:
// each placement has its own derived client order id. While the account is
// blocked by its loss rules no stop is placed (the guard is closing the
// positions).
func (a *Trading) PlaceStopLoss(ctx context.Context, in workflows.TradeRef) (workflows.StopLossResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	t, sig := l.Trade, l.Signal
	if !t.FilledQuantity.IsPositive() || !t.FillPrice.Valid {
		return workflows.StopLossResult{Message: "nothing filled"}, nil
	}
	blocked, err := a.tradingBlocked(ctx, t.UserID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	if blocked {
		return workflows.StopLossResult{Message: "No stop-loss placed: the account's open positions are being closed by its loss rules."}, nil
	}
	_, settings, err := a.settings(ctx, t.UserID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	k, ok, err := a.openStop(ctx, b, t.Broker, t.UserID, t.BrokerConnectionID, t.Symbol, t.AssetClass, "trade:"+t.ID)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	if !ok {
		return workflows.StopLossResult{}, errStopBusy(t.Symbol)
	}
	defer k.release(ctx)

	class := signal.AssetClass(t.AssetClass)
	// compute reads the position and the stop it wants; reconcile calls it
	// again when it finds the old stop executed after the first read.
	compute := func() (decimal.Decimal, risk.Stop, error) {
		pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
		if err != nil {
			return decimal.Zero, risk.Stop{}, err
		}
		if pos.Quantity.IsZero() {
			return pos.Quantity, risk.Stop{}, nil
		}
		if !pos.AvgEntry.IsPositive() {
			pos.AvgEntry = t.FillPrice.Decimal
		}
		var desired risk.Stop
		if signal.Side(t.Side) == risk.ExitSide(pos.Quantity) {
			desired, err = keptStop(k.row, pos, class, settings)
		} else {
			pct := sig.StopLossPercent
			if pct.IsZero() {
				pct = settings.StopLossPct
			}
			desired, err = risk.DesiredStop(risk.StopRequest{AssetClass: class, Position: pos.Quantity, AvgEntry: pos.AvgEntry,
				Price: sig.StopLossPrice, Pct: pct, Trailing: settings.TrailingStop})
		}
		if err != nil {
			return pos.Quantity, risk.Stop{}, temporal.NewNonRetryableApplicationError(err.Error(), risk.CodeInvalidOrder, err)
		}
		return pos.Quantity, desired, nil
	}
	position, desired, err := compute()
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	note := func(ch stopChange) *stopNote {
		switch {
		case ch.Action == risk.StopReplace:
			return &stopNote{Action: audit.ActionStopLossAmended, Message: risk.StopPlacedMessage("amended", t.Symbol, ch.Stop), TradeID: t.ID}
		case ch.Action == risk.StopPlace:
			return &stopNote{Action: audit.ActionStopLossPlaced, Message: risk.StopPlacedMessage("placed", t.Symbol, ch.Stop), TradeID: t.ID}
		case ch.Action == risk.StopCancel:
			return &stopNote{Action: audit.ActionStopLossCancelled, Message: risk.StopCancelledMessage(t.Symbol), TradeID: t.ID}
		case ch.Triggered:
			return &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(t.Symbol, k.row.Quantity), TradeID: t.ID}
		}
		return nil
	}
	ch, err := k.reconcile(ctx, position, desired, t.ID, note, compute)
	if err != nil {
		return workflows.StopLossResult{}, err
	}
	res := workflows.StopLossResult{Placed: k.row.Status == stopActive, BrokerOrder: k.row.OrderID}
	if res.Placed {
		res.StopPrice = k.row.StopPrice.Decimal
		res.Message = risk.StopPlacedMessage("placed", t.Symbol, stopOf(k.row))
	}
	if n := note(ch); n != nil {
		res.Message = n.Message
	}
	return res, nil
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
