package activities

import (
	"context"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// MarkHalted records that the broker refused the order because trading in
// the symbol is halted (SPEC edge case 1): the trade waits in
// market_halted, holding no reservation, and the workflow tries the whole
// check again until the broker takes it. A retry that finds the halt still
// on (the trade already market_halted) only releases the reservation its
// re-check took: no entry, no event (DESIGN §8 Halts).
func (a *Trading) MarkHalted(ctx context.Context, in workflows.HaltInput) (workflows.QueueResult, error) {
	var msg string
	_, err := a.record(ctx, in.TradeID, func(tx *gorm.DB, t *schema.Trade) (trade.Change, error) {
		msg = risk.HaltedMessage(t.Symbol)
		if trade.Status(t.Status).Terminal() {
			return trade.Change{}, trade.ErrNoChange
		}
		if t.Status == string(trade.StatusHalted) {
			if !t.ReservedNotional.IsZero() {
				if err := holdReservation(tx, t.ID, decimal.Zero); err != nil {
					return trade.Change{}, err
				}
				t.ReservedNotional = decimal.Zero
			}
			return trade.Change{}, trade.ErrNoChange
		}
		t.Status = string(trade.StatusHalted)
		t.ReservedNotional = decimal.Zero
		t.ErrorMessage = msg // the trade's current note for the trader, as MarkQueued
		return trade.Change{Action: audit.ActionTradeHalted, Message: msg, Event: realtime.EventTradeQueued,
			Details: map[string]any{"brokerMessage": in.Message}}, nil
	})
	return workflows.QueueResult{Message: msg}, err
}
