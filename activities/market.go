package activities

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/market"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// MarkQueued records that the order waits for the next open and releases
// its exposure reservation (risk is checked again at the open).
func (a *Trading) MarkQueued(ctx context.Context, in workflows.QueueInput) (workflows.QueueResult, error) {
	msg := market.QueuedMessage(in.NextOpen, a.now())
	_, err := a.record(ctx, in.TradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if t.Status == string(trade.StatusQueued) && t.QueuedUntil != nil && t.QueuedUntil.Equal(in.NextOpen) {
			return trade.Change{}, trade.ErrNoChange
		}
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		next := in.NextOpen.UTC()
		t.Status = string(trade.StatusQueued)
		t.QueuedUntil = &next
		t.ReservedNotional = decimal.Zero
		t.ErrorMessage = msg // the trade's current note for the trader
		return trade.Change{Action: audit.ActionTradeQueued, Message: msg, Event: realtime.EventTradeQueued,
			Details: map[string]any{"nextOpen": next.Format(time.RFC3339)}}, nil
	})
	return workflows.QueueResult{Message: msg}, err
}

// CancelQueued records the cancellation of an order that never reached the
// broker.
func (a *Trading) CancelQueued(ctx context.Context, in workflows.TradeRef) error {
	_, err := a.record(ctx, in.TradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		t.Status = string(trade.StatusCancelled)
		t.ReservedNotional = decimal.Zero
		t.ErrorMessage = "Order cancelled before submission."
		return trade.Change{Action: audit.ActionOrderCancelled, Message: t.ErrorMessage, Event: realtime.EventTradeCancelled}, nil
	})
	return err
}
