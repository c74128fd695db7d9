package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/portfolio"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// AwaitFill polls the order, heartbeating, until it is final or the fill
// window has passed. Each new partial fill is recorded (trade.partialFill);
// the final state is recorded once, followed by a portfolio sync.
func (a *Trading) AwaitFill(ctx context.Context, in workflows.AwaitInput) (workflows.FillResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.FillResult{}, err
	}
	b, err := a.brokerFor(ctx, l.Trade)
	if err != nil {
		return workflows.FillResult{}, err
	}
	poll := a.FillPoll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	for {
		o, err := b.GetOrderStatus(ctx, l.Trade.BrokerOrderID)
		if err != nil {
			if broker.KindOf(err).Retryable() {
				a.log().Warn("order status poll failed", zap.String("trade_id", in.TradeID), zap.Error(err))
			} else {
				return workflows.FillResult{}, brokerFailure(l.Trade.Broker, err)
			}
		} else {
			activity.RecordHeartbeat(ctx, o.FilledQuantity.String())
			if o.Status.Terminal() {
				if err := a.recordFinal(ctx, in.TradeID, o, remainderNote(o)); err != nil {
					return workflows.FillResult{}, err
				}
				a.syncPortfolio(ctx, l.Trade, b)
				return fillResult(o, false), nil
			}
			if o.FilledQuantity.IsPositive() {
				if err := a.recordPartial(ctx, in.TradeID, o); err != nil {
					return workflows.FillResult{}, err
				}
			}
			if !a.now().Before(in.Deadline) {
				return fillResult(o, true), nil
			}
		}
		select {
		case <-ctx.Done():
			return workflows.FillResult{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// CancelRemainder cancels what is left of an order whose fill window has
// passed and records the outcome.
func (a *Trading) CancelRemainder(ctx context.Context, in workflows.TradeRef) (workflows.FillResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.FillResult{}, err
	}
	b, err := a.brokerFor(ctx, l.Trade)
	if err != nil {
		return workflows.FillResult{}, err
	}
	if err := b.CancelOrder(ctx, l.Trade.BrokerOrderID); err != nil && broker.KindOf(err).Retryable() {
		return workflows.FillResult{}, brokerFailure(l.Trade.Broker, err)
	}
	o, err := b.GetOrderStatus(ctx, l.Trade.BrokerOrderID)
	if err != nil {
		return workflows.FillResult{}, brokerFailure(l.Trade.Broker, err)
	}
	if !o.Status.Terminal() {
		return workflows.FillResult{}, errors.New("order still working after cancel; retrying")
	}
	note := ""
	if o.FilledQuantity.IsPositive() && o.FilledQuantity.LessThan(o.Quantity) {
		note = fmt.Sprintf("Filled %s of %s; the remaining %s cancelled after the fill window.",
			o.FilledQuantity, o.Quantity, o.Quantity.Sub(o.FilledQuantity))
	}
	if err := a.recordFinal(ctx, in.TradeID, o, note); err != nil {
		return workflows.FillResult{}, err
	}
	a.syncPortfolio(ctx, l.Trade, b)
	return fillResult(o, false), nil
}

// remainderNote explains an order that ended partly filled (cancelled at
// the trader's request or by the broker, or expired): what filled and what
// did not. "" for any other final state.
func remainderNote(o broker.Order) string {
	if !o.FilledQuantity.IsPositive() || !o.FilledQuantity.LessThan(o.Quantity) || o.Status == broker.StatusFilled {
		return ""
	}
	return fmt.Sprintf("Filled %s of %s; the remaining %s %s.", o.FilledQuantity, o.Quantity, o.Quantity.Sub(o.FilledQuantity),
		strings.ReplaceAll(string(o.Status), "_", " "))
}

func fillResult(o broker.Order, timedOut bool) workflows.FillResult {
	return workflows.FillResult{Status: string(o.Status), FilledQuantity: o.FilledQuantity, AvgFillPrice: o.AvgFillPrice, TimedOut: timedOut}
}

func (a *Trading) recordPartial(ctx context.Context, tradeID string, o broker.Order) error {
	_, err := a.record(ctx, tradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() || !o.FilledQuantity.GreaterThan(t.FilledQuantity) {
			return trade.Change{}, trade.ErrNoChange
		}
		if err := performanceFill(tx, t, t.Side, o.FilledQuantity, o.AvgFillPrice, a.now()); err != nil {
			return trade.Change{}, err
		}
		t.Status = string(trade.StatusPartialFill)
		t.FilledQuantity = o.FilledQuantity
		t.FillPrice = decimal.NewNullDecimal(o.AvgFillPrice)
		if err := bumpExposureEpoch(tx, t.UserID); err != nil {
			return trade.Change{}, err
		}
		msg := fmt.Sprintf("%s %s: %s of %s filled @ %s", t.Symbol, t.Side, o.FilledQuantity, o.Quantity, risk.FormatPrice(o.AvgFillPrice))
		return trade.Change{Action: audit.ActionTradePartialFill, Message: msg, Event: realtime.EventTradePartialFill,
			Details: map[string]any{"filledQuantity": o.FilledQuantity.String(), "avgFillPrice": o.AvgFillPrice.String()}}, nil
	})
	return err
}

func (a *Trading) recordFinal(ctx context.Context, tradeID string, o broker.Order, note string) error {
	_, err := a.record(ctx, tradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		now := a.now()
		if o.FilledQuantity.GreaterThan(t.FilledQuantity) {
			if err := bumpExposureEpoch(tx, t.UserID); err != nil {
				return trade.Change{}, err
			}
			if err := performanceFill(tx, t, t.Side, o.FilledQuantity, o.AvgFillPrice, now); err != nil {
				return trade.Change{}, err
			}
		}
		t.FilledQuantity = o.FilledQuantity
		t.ReservedNotional = decimal.Zero
		switch {
		case o.FilledQuantity.IsPositive():
			t.Status = string(trade.StatusFilled)
			t.FillPrice = decimal.NewNullDecimal(o.AvgFillPrice)
			t.FilledAt = &now
			msg := trade.FilledMessage(t.Symbol, t.Side, o.FilledQuantity.String(), risk.FormatPrice(o.AvgFillPrice))
			if note != "" {
				msg += ". " + note
				t.ErrorMessage = note
			}
			if err := takeProfitFilled(tx, t, o.FilledQuantity, o.AvgFillPrice); err != nil {
				return trade.Change{}, err
			}
			// Copy trading: a follower's copy moves their copied position;
			// a leader's fill is recorded for the followers (copytrade.go).
			if err := copytrade.FollowerFilled(tx, t.ID, t.Side, o.FilledQuantity, o.AvgFillPrice, now); err != nil {
				return trade.Change{}, err
			}
			if err := a.leaderTradeFilled(tx, t, o.FilledQuantity, o.AvgFillPrice); err != nil {
				return trade.Change{}, err
			}
			if t.ReversalEntry {
				if o.FilledQuantity.Equal(t.Quantity) {
					if err := a.reversalEntry(tx, *t); err != nil {
						return trade.Change{}, err
					}
					msg += ". Position closed; the reversal entry is sent next."
				} else {
					msg += ". The exit did not fill in full, so the reversal entry is not sent."
				}
			}
			return trade.Change{Action: audit.ActionTradeExecuted, Message: msg, Event: realtime.EventTradeFilled, Details: map[string]any{
				"filledQuantity": o.FilledQuantity.String(), "avgFillPrice": o.AvgFillPrice.String(), "brokerOrderId": o.ID,
			}}, nil
		case o.Status == broker.StatusRejected:
			t.Status = string(trade.StatusRejected)
			t.ErrorMessage = trade.SubmitFailureMessage(t.Broker, broker.KindRejected, o.RejectReason)
			return trade.Change{Action: audit.ActionTradeRejected, Failed: true, Message: t.ErrorMessage, Event: realtime.EventTradeRejected}, nil
		default:
			t.Status = string(trade.StatusCancelled)
			t.ErrorMessage = "Order " + string(o.Status) + " at the broker with nothing filled."
			return trade.Change{Action: audit.ActionOrderCancelled, Message: t.ErrorMessage, Event: realtime.EventTradeCancelled}, nil
		}
	})
	return err
}

// syncPortfolio refreshes positions and balance after a fill. A failure is
// logged, not fatal: the account monitor syncs again on its own schedule.
func (a *Trading) syncPortfolio(ctx context.Context, t schema.Trade, b broker.Broker) {
	bal, positions, err := broker.ReadAccount(ctx, b)
	if err != nil {
		a.log().Warn("portfolio sync: balance and positions", zap.String("trade_id", t.ID), zap.Error(err))
		return
	}
	if err := portfolio.Sync(ctx, a.DB, t.UserID, t.BrokerConnectionID, positions, bal, a.now()); err != nil {
		a.log().Warn("portfolio sync: store", zap.String("trade_id", t.ID), zap.Error(err))
		return
	}
	a.committed(t.UserID)
}

// performanceFill feeds the fill increment that brings trade t (not yet
// updated) to filled at avg to the trader's performance aggregates, in
// the transaction recording the fill (internal/performance; issue 16).
// Only buys and sells fill; anything else records nothing.
func performanceFill(tx *gorm.DB, t *schema.Trade, side string, filled, avg decimal.Decimal, now time.Time) error {
	if side != string(signal.SideBuy) && side != string(signal.SideSell) {
		return nil
	}
	oldAvg := decimal.Zero
	if t.FillPrice.Valid {
		oldAvg = t.FillPrice.Decimal
	}
	qty, notional := performance.Increment(t.FilledQuantity, oldAvg, filled, avg)
	if !qty.IsPositive() {
		return nil
	}
	return performance.RecordFill(tx, performance.FillEvent{UserID: t.UserID, ConnectionID: t.BrokerConnectionID, Symbol: t.Symbol,
		Source: t.Source, TradeID: t.ID, Side: side, Quantity: qty, Notional: notional, At: now})
}
