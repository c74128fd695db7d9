package activities

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/schema"
)

// orderIntent is what a signal asks of the broker given the position: the
// side, quantity and quantity type of the one order sent now, why nothing
// is sent (noop), and whether the other side is entered after it filled.
type orderIntent struct {
	side    signal.Side
	qty     decimal.Decimal
	qtyType signal.QuantityType
	noop    string
	// reverse: this order exits the whole position and the signal's entry
	// follows once the exit filled (trades.reversal_entry).
	reverse bool
	note    string
}

// planOrder is TradersPost's order behaviour (DESIGN §8 Trade path): a buy
// while short (a sell while long) that would go through flat never flips
// in one order — it exits the whole position first; the signal's entry is
// sent as a second order once the exit has filled, and only when the
// trader allows reversals. A buy smaller than the short only covers part of
// it, as before. An entry that follows an exit only opens.
func planOrder(sig signal.Signal, position decimal.Decimal, settings risk.Settings) orderIntent {
	side, qty, qt, noop := intent(sig, position)
	in := orderIntent{side: side, qty: qty, qtyType: qt, noop: noop}
	if noop != "" || (sig.Action != signal.ActionBuy && sig.Action != signal.ActionSell) || sig.Sentiment == signal.SentimentFlat {
		return in
	}
	if sig.TakeProfitOf != "" {
		// A take-profit closes (part of) the position it protects, never
		// more, never the other side.
		if !against(side, position) {
			in.noop = fmt.Sprintf("Take-profit not sent: the %s position is already closed.", sig.Symbol)
			return in
		}
		if qty.GreaterThan(position.Abs()) {
			in.qty = position.Abs()
		}
		return in
	}
	if !against(side, position) {
		return in
	}
	if sig.ReversalOf != "" {
		in.noop = fmt.Sprintf("Reversal entry not sent: the %s position is %s, not flat, after the exit.", sig.Symbol, position.String())
		return in
	}
	throughFlat := qt != signal.QtyFixed && qt != signal.QtyPercentOfPosition || qt == signal.QtyFixed && qty.GreaterThan(position.Abs())
	if !throughFlat {
		return in
	}
	held, entered := "long", "short"
	if position.IsNegative() {
		held, entered = "short", "long"
	}
	in.qty, in.qtyType = position.Abs(), signal.QtyFixed
	in.reverse = settings.AllowReversal
	if in.reverse {
		in.note = fmt.Sprintf("%s while %s %s %s: the %s is closed first; the %s entry follows once the exit has filled (reversals on).",
			strings.ToUpper(string(side[:1]))+string(side[1:]), held, position.Abs().String(), sig.Symbol, held, entered)
	} else {
		in.note = fmt.Sprintf("%s while %s %s %s: the %s is closed; no %s position is opened (reversals are off: Settings → Risk → Allow reversal).",
			strings.ToUpper(string(side[:1]))+string(side[1:]), held, position.Abs().String(), sig.Symbol, held, entered)
	}
	return in
}

// reversalEntry records, in the transaction that recorded the exit's full
// fill, the signal's entry as a follow-up trade (started by the start
// relay): the exit is confirmed filled before the opposite entry is sent.
func (a *Trading) reversalEntry(tx *gorm.DB, exit schema.Trade) error {
	var row schema.Signal
	if err := tx.First(&row, "id = ?", exit.SignalID).Error; err != nil {
		return err
	}
	var sig signal.Signal
	if err := json.Unmarshal([]byte(row.Payload), &sig); err != nil {
		return fmt.Errorf("reversal of trade %s: signal payload: %w", exit.ID, err)
	}
	sig.ExternalID = "reversal:" + exit.ID
	sig.ReversalOf = exit.ID
	text := "Reversal entry after exit: " + sig.Text
	if r := []rune(text); len(r) > 1000 {
		text = string(r[:1000])
	}
	sig.Text = text
	svc := &intake.Service{DB: a.DB, TaskQueue: a.TaskQueue, Timeouts: a.Timeouts, Now: a.Now}
	_, err := svc.RecordFollowUp(tx, intake.Request{UserID: exit.UserID, Signal: sig, Manual: sig.Source == signal.SourceDashboard,
		Memo: map[string]any{"reversalOf": exit.ID}})
	return err
}
