package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Where the broker has a one-cancels-other pair and the trade owns the whole
// position, the stop and the take-profit are placed as that pair
// (activities/exitpair.go, DESIGN §8 Take-profit, native pair). Otherwise
// — Kraken, a shared position, a refused pair, a trailing stop — the
// take-profit is emulated here, server-side: the position's broker-native
// stop-loss holds the shares, so a resting take-profit order next to it
// would be refused by most brokers (the shares are taken). Instead the
// trade's workflow watches the price (WatchTakeProfit);
// when it reaches the target, the trade's quantity is closed by a follow-up
// exit at market, recorded once (external id takeprofit:<trade id>) and run
// through the whole trade path: PrepareOrder lifts the stop, the exit is
// sent, PlaceStopLoss re-places the stop on what is left or cancels it. A
// stop (or any exit) that closes the position first cancels the
// take-profit: one fills, the other is cancelled, exactly once.

// Take-profit states (schema.Trade.TakeProfitStatus).
const (
	tpArmed     = "armed"
	tpTriggered = "triggered"
	tpFilled    = "filled"
	tpCancelled = "cancelled"
	tpFailed    = "failed"
)

// takeProfitExternalPrefix marks the external id of a take-profit's exit.
const takeProfitExternalPrefix = "takeprofit:"

// How often the watch reads the position and the price: every second at
// the paper broker; every 10 s at a live broker, whose request budget
// (FR-016, half its published limit) the watch shares with the trader's
// orders — two requests per read.
const (
	defaultTakeProfitPoll = time.Second
	liveTakeProfitPoll    = 10 * time.Second
)

// ArmTakeProfit records the trade's take-profit target after its entry
// filled (audit TAKE_PROFIT_ARMED, event trade.takeProfitPlaced).
func (a *Trading) ArmTakeProfit(ctx context.Context, in workflows.TradeRef) (workflows.TakeProfitResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.TakeProfitResult{}, err
	}
	if !l.Signal.HasTakeProfit() || !l.Trade.FillPrice.Valid || !l.Trade.FilledQuantity.IsPositive() {
		return workflows.TakeProfitResult{Outcome: "none"}, nil
	}
	var out workflows.TakeProfitResult
	_, err = a.record(ctx, in.TradeID, func(_ *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if t.TakeProfitStatus != "" {
			out = workflows.TakeProfitResult{Outcome: t.TakeProfitStatus, Target: t.TakeProfitPrice.Decimal}
			return trade.Change{}, trade.ErrNoChange
		}
		target := risk.TakeProfitTarget(l.Signal, signal.Side(t.Side), t.FillPrice.Decimal)
		t.TakeProfitPrice = decimal.NewNullDecimal(target)
		t.TakeProfitStatus = tpArmed
		msg := fmt.Sprintf("Take-profit armed at %s: when %s trades there, the %s %s of this trade are closed at market; the stop-loss stays until then.",
			risk.FormatPrice(target), t.Symbol, t.FilledQuantity.String(), unitsWord(t))
		out = workflows.TakeProfitResult{Outcome: tpArmed, Target: target, Message: msg}
		return trade.Change{Action: audit.ActionTakeProfitArmed, Message: msg, Event: realtime.EventTakeProfitPlaced,
			Details: map[string]any{"target": target.String()}}, nil
	})
	return out, err
}

func unitsWord(t *schema.Trade) string {
	if t.AssetClass == string(signal.AssetCrypto) {
		return "units"
	}
	return "shares"
}

// WatchTakeProfit watches the price until the trade's take-profit target
// is reached (then records the exit, once, and follows it until it is
// done) or the position is closed otherwise (then cancels the
// take-profit). An exit that fills nothing (refused by the broker or the
// risk rules) re-arms the take-profit, up to maxTakeProfitAttempts exits.
// It heartbeats every read; a retried attempt resumes from the trade row,
// which says what happened.
func (a *Trading) WatchTakeProfit(ctx context.Context, in workflows.TradeRef) (workflows.TakeProfitResult, error) {
	for {
		l, err := a.load(ctx, in.TradeID)
		if err != nil {
			return workflows.TakeProfitResult{}, err
		}
		t := l.Trade
		poll := a.TakeProfitPoll
		switch {
		case poll > 0:
		case t.Broker == "paper":
			poll = defaultTakeProfitPoll
		default:
			poll = liveTakeProfitPoll
		}
		switch t.TakeProfitStatus {
		case tpArmed:
			res, done, err := a.watchOnce(ctx, l)
			if err != nil || done {
				return res, err
			}
		case tpTriggered:
			if err := a.followExit(ctx, t); err != nil {
				return workflows.TakeProfitResult{}, err
			}
		default:
			return workflows.TakeProfitResult{Outcome: t.TakeProfitStatus, Target: t.TakeProfitPrice.Decimal, ExitTradeID: t.TakeProfitTradeID}, nil
		}
		activity.RecordHeartbeat(ctx, t.TakeProfitStatus)
		select {
		case <-ctx.Done():
			return workflows.TakeProfitResult{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// maxTakeProfitAttempts bounds the exits sent for one take-profit.
const maxTakeProfitAttempts = 3

// watchOnce reads the position and the price once: a closed position
// cancels the take-profit (done), a reached target records the exit.
func (a *Trading) watchOnce(ctx context.Context, l loaded) (workflows.TakeProfitResult, bool, error) {
	t := l.Trade
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.TakeProfitResult{}, false, err
	}
	side := signal.Side(t.Side)
	pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
	if err != nil {
		// A broker that does not answer now is asked again: the stop-loss
		// protects the position meanwhile.
		return workflows.TakeProfitResult{}, false, nil
	}
	held := pos.Quantity
	if side == signal.SideSell {
		held = held.Neg()
	}
	if !held.IsPositive() {
		res, err := a.cancelTakeProfit(ctx, t)
		return res, true, err
	}
	price, err := b.LastPrice(ctx, t.Symbol)
	if err != nil || !risk.TakeProfitReached(side, price, t.TakeProfitPrice.Decimal) {
		return workflows.TakeProfitResult{}, false, nil
	}
	_, err = a.triggerTakeProfit(ctx, l, decimal.Min(t.FilledQuantity, held), price)
	return workflows.TakeProfitResult{}, false, err
}

// followExit waits for the take-profit's exit: filled, the exit's own
// fill records the take-profit filled; nothing filled, it is re-armed (or
// given up after maxTakeProfitAttempts exits, the stop-loss still in place).
func (a *Trading) followExit(ctx context.Context, t schema.Trade) error {
	var exit schema.Trade
	if err := a.DB.WithContext(ctx).Select("id", "status", "filled_quantity", "error_message").Where("id = ?", t.TakeProfitTradeID).Take(&exit).Error; err != nil {
		return err
	}
	if !trade.Status(exit.Status).Terminal() || exit.FilledQuantity.IsPositive() {
		return nil
	}
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpTriggered || tr.TakeProfitTradeID != exit.ID {
			return trade.Change{}, trade.ErrNoChange
		}
		if tr.TakeProfitAttempts >= maxTakeProfitAttempts {
			tr.TakeProfitStatus = tpFailed
			msg := fmt.Sprintf("Take-profit not executed after %d tries (%s). The stop-loss still protects the position.", tr.TakeProfitAttempts, exit.ErrorMessage)
			return trade.Change{Action: audit.ActionTakeProfitCancelled, Failed: true, Message: msg, Event: realtime.EventTradeUpdated}, nil
		}
		tr.TakeProfitStatus, tr.TakeProfitTradeID = tpArmed, ""
		msg := fmt.Sprintf("Take-profit exit not filled (%s); the take-profit at %s is armed again.", exit.ErrorMessage, risk.FormatPrice(tr.TakeProfitPrice.Decimal))
		return trade.Change{Action: audit.ActionTakeProfitArmed, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"failedExitTradeId": exit.ID}}, nil
	})
	return err
}

// cancelTakeProfit: the position was closed by the stop-loss or an exit.
func (a *Trading) cancelTakeProfit(ctx context.Context, t schema.Trade) (workflows.TakeProfitResult, error) {
	msg := fmt.Sprintf("Take-profit at %s cancelled: the %s position was closed before it was reached (stop-loss or exit).",
		risk.FormatPrice(t.TakeProfitPrice.Decimal), t.Symbol)
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.TakeProfitStatus = tpCancelled
		return trade.Change{Action: audit.ActionTakeProfitCancelled, Message: msg, Event: realtime.EventTradeUpdated}, nil
	})
	return workflows.TakeProfitResult{Outcome: tpCancelled, Target: t.TakeProfitPrice.Decimal, Message: msg}, err
}

// triggerTakeProfit records, in one transaction, that the target was
// reached and the exit that takes the profit (qty of the trade, at market);
// the start relay starts the exit's workflow within a second.
func (a *Trading) triggerTakeProfit(ctx context.Context, l loaded, qty, price decimal.Decimal) (workflows.TakeProfitResult, error) {
	t := l.Trade
	exitSide := signal.SideSell
	action := signal.ActionSell
	if signal.Side(t.Side) == signal.SideSell {
		exitSide, action = signal.SideBuy, signal.ActionBuy
	}
	exit := signal.Signal{Source: l.Signal.Source, Symbol: t.Symbol,
		AssetClass: signal.AssetClass(t.AssetClass), Action: action, Side: exitSide, Quantity: qty, QuantityType: signal.QtyFixed,
		OrderType: signal.OrderMarket, Broker: t.Broker, TakeProfitOf: t.ID,
		Text: fmt.Sprintf("Take-profit of trade %s: %s %s %s at market (target %s reached at %s)", t.ID[:8], exitSide, qty.String(), t.Symbol,
			risk.FormatPrice(t.TakeProfitPrice.Decimal), risk.FormatPrice(price))}
	var out workflows.TakeProfitResult
	_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			out = workflows.TakeProfitResult{Outcome: tr.TakeProfitStatus, ExitTradeID: tr.TakeProfitTradeID}
			return trade.Change{}, trade.ErrNoChange
		}
		// One exit per attempt, ever: a retried step finds it recorded.
		exit.ExternalID = takeProfitExternalPrefix + tr.ID
		if tr.TakeProfitAttempts > 0 {
			exit.ExternalID += fmt.Sprintf(":%d", tr.TakeProfitAttempts+1)
		}
		svc := &intake.Service{DB: a.DB, TaskQueue: a.TaskQueue, Timeouts: a.Timeouts, Now: a.Now}
		res, err := svc.RecordFollowUp(tx, intake.Request{UserID: tr.UserID, Signal: exit, Memo: map[string]any{"takeProfitOf": tr.ID}})
		if err != nil {
			return trade.Change{}, err
		}
		tr.TakeProfitStatus, tr.TakeProfitTradeID = tpTriggered, res.TradeID
		tr.TakeProfitAttempts++
		msg := fmt.Sprintf("Take-profit target %s reached (%s at %s): closing %s %s at market.", risk.FormatPrice(tr.TakeProfitPrice.Decimal),
			tr.Symbol, risk.FormatPrice(price), qty.String(), unitsWord(tr))
		out = workflows.TakeProfitResult{Outcome: tpTriggered, Target: tr.TakeProfitPrice.Decimal, ExitTradeID: res.TradeID, Message: msg}
		return trade.Change{Action: audit.ActionTakeProfitTriggered, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"price": price.String(), "exitTradeId": res.TradeID, "quantity": qty.String()}}, nil
	})
	return out, err
}

// takeProfitFilled records, in the transaction that records the exit's
// fill, that the take-profit of the trade it closes was taken.
func takeProfitFilled(tx *gorm.DB, exit *schema.Trade, qty, price decimal.Decimal) error {
	var sig schema.Signal
	if err := tx.Select("external_id").Where("id = ?", exit.SignalID).Take(&sig).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	rest, ok := strings.CutPrefix(sig.ExternalID, takeProfitExternalPrefix)
	if !ok {
		return nil
	}
	origID, more, _ := strings.Cut(rest, ":")
	if strings.HasPrefix(more, "tp") { // a ladder's leg (activities/ladder.go)
		return ladderLegFilled(tx, exit, origID, more, qty, price)
	}
	var orig schema.Trade
	if err := tx.Where("id = ? AND take_profit_status = ? AND take_profit_trade_id = ?", origID, tpTriggered, exit.ID).Take(&orig).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	orig.TakeProfitStatus = tpFilled
	orig.UpdatedAt = trade.Now()
	if err := tx.Model(&schema.Trade{}).Where("id = ?", orig.ID).
		Updates(map[string]any{"take_profit_status": tpFilled, "updated_at": orig.UpdatedAt}).Error; err != nil {
		return err
	}
	msg := fmt.Sprintf("Take-profit filled: %s %s %s at %s.", exit.Side, qty.String(), orig.Symbol, risk.FormatPrice(price))
	return trade.AppendAuditAndEvent(tx, orig, trade.Change{Action: audit.ActionTakeProfitFilled, Message: msg,
		Event: realtime.EventTakeProfitFilled, Details: map[string]any{"exitTradeId": exit.ID, "price": price.String(), "quantity": qty.String()}})
}
