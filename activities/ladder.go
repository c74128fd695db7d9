package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// A take-profit ladder (DESIGN §8 Take-profit) closes a filled position in
// legs TP1..TPn, server-side at every broker, with the single take-profit's
// mechanism: the workflow watches the price; when the next leg's target is
// reached, that leg's exit is recorded once (external id
// takeprofit:<trade id>:tp<n>, ":<attempt>" for a retry after a refused
// exit) and runs through the whole trade path (the stop is lifted, the
// exit sent, the stop re-placed on what is left). One leg's exit at a
// time, in target order. After the leg the trader chose (TP1 for
// breakeven, TPk for trailing) fills, the position's stop is moved once
// through the stop keeper. The split itself (broker steps, merged legs)
// is risk.SplitLadder.

// Leg states (schema.TakeProfitLeg.Status); armed, triggered, filled,
// cancelled and failed are the take-profit states.
const legMerged = "merged"

// legExternalID is the external id of a leg's exit for its attempt (0 for
// the first).
func legExternalID(tradeID string, n, attempts int) string {
	id := fmt.Sprintf("%s%s:tp%d", takeProfitExternalPrefix, tradeID, n)
	if attempts > 0 {
		id += fmt.Sprintf(":%d", attempts+1)
	}
	return id
}

// ArmTakeProfitLadder splits the trade's filled position into its legs
// after the entry filled and its stop was placed: the broker's quantity
// step and minimum, the stop move of the trader (or of the channel
// subscription). One audit entry says how it was split (and which legs
// were merged), and each leg gets its trade.takeProfitPlaced event.
// Idempotent: legs already recorded are returned as they are.
func (a *Trading) ArmTakeProfitLadder(ctx context.Context, in workflows.LadderInput) (workflows.TakeProfitResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.TakeProfitResult{}, err
	}
	t := l.Trade
	if !l.Signal.HasLadder() || !t.FillPrice.Valid || !t.FilledQuantity.IsPositive() {
		return workflows.TakeProfitResult{Outcome: "none"}, nil
	}
	if t.TakeProfitStatus != "" {
		return workflows.TakeProfitResult{Outcome: t.TakeProfitStatus}, nil
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.TakeProfitResult{}, err
	}
	class := signal.AssetClass(t.AssetClass)
	rules := broker.QuantityRules{Step: risk.DefaultStep(class)}
	if qr, ok := b.(broker.QuantityRuler); ok {
		if rules, err = qr.QuantityRules(ctx, t.Symbol, class); err != nil {
			return workflows.TakeProfitResult{}, brokerFailure(t.Broker, err)
		}
		if !rules.Step.IsPositive() {
			rules.Step = risk.DefaultStep(class)
		}
	}
	_, settings, err := a.settings(ctx, t.UserID)
	if err != nil {
		return workflows.TakeProfitResult{}, err
	}
	override := ""
	if in.SourceID != "" {
		var sub schema.SourceSubscription
		err := a.DB.WithContext(ctx).Select("ladder_stop").Where("source_id = ? AND user_id = ?", in.SourceID, t.UserID).Take(&sub).Error
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return workflows.TakeProfitResult{}, err
		}
		if err == nil && sub.LadderStop != nil {
			override = *sub.LadderStop
		}
	}
	plan := settings.LadderStopPlan(override)
	side := signal.Side(t.Side)
	legs, splitErr := risk.SplitLadder(risk.LadderRequest{Side: side, Fill: t.FillPrice.Decimal, Filled: t.FilledQuantity,
		Targets: l.Signal.TakeProfitTargets, Step: rules.Step, Min: rules.Min})
	var out workflows.TakeProfitResult
	_, err = a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != "" {
			out = workflows.TakeProfitResult{Outcome: tr.TakeProfitStatus}
			return trade.Change{}, trade.ErrNoChange
		}
		if splitErr != nil {
			tr.TakeProfitStatus = tpFailed
			msg := "Take-profit ladder not armed: " + splitErr.Error() + ". The stop-loss still protects the position."
			out = workflows.TakeProfitResult{Outcome: tpFailed, Message: msg}
			return trade.Change{Action: audit.ActionTakeProfitCancelled, Failed: true, Message: msg, Event: realtime.EventTradeUpdated}, nil
		}
		now := a.now()
		moveAfter := plan.StopMoveLeg(legs)
		tr.TakeProfitStatus = tpArmed
		tr.TakeProfitPrice = decimal.NewNullDecimal(legs[firstActive(legs)].Target)
		rows := make([]schema.TakeProfitLeg, len(legs))
		for i, lg := range legs {
			rows[i] = schema.TakeProfitLeg{ID: uuid.NewString(), TradeID: tr.ID, N: lg.N, Target: lg.Target, Share: lg.Share,
				Quantity: lg.Quantity, MergedInto: lg.MergedInto, Status: tpArmed, FilledQuantity: decimal.Zero, CreatedAt: now, UpdatedAt: now}
			if lg.Merged() {
				rows[i].Status = legMerged
			}
			if lg.N == moveAfter {
				rows[i].StopMove = plan.Mode
				if plan.Mode == risk.LadderStopBreakeven {
					rows[i].StopPrice = decimal.NewNullDecimal(risk.BreakevenPrice(side, class, tr.FillPrice.Decimal, plan.OffsetPct))
				} else {
					rows[i].TrailPercent = decimal.NewNullDecimal(plan.TrailPct)
				}
			}
		}
		if err := tx.Create(&rows).Error; err != nil {
			return trade.Change{}, err
		}
		msg := risk.LadderSplitNote(legs, tr.Symbol, unitsWord(tr), decimal.Max(rules.Min, rules.Step))
		msg += stopMoveNote(rows)
		// One trade.takeProfitPlaced per leg that trades; the audit entry
		// of the split is the trade's (below).
		for _, r := range rows {
			if r.Status != tpArmed {
				continue
			}
			if _, err := realtime.AppendEvent(tx, tr.UserID, realtime.EventTakeProfitPlaced, legEvent(*tr, r,
				fmt.Sprintf("Take-profit TP%d armed: %s %s %s at %s.", r.N, r.Quantity.String(), unitsWord(tr), tr.Symbol, risk.FormatPrice(r.Target)))); err != nil {
				return trade.Change{}, err
			}
		}
		details := map[string]any{"legs": len(rows)}
		for _, r := range rows {
			details["tp"+strconv.Itoa(r.N)] = legDetail(r)
		}
		out = workflows.TakeProfitResult{Outcome: tpArmed, Target: tr.TakeProfitPrice.Decimal, Message: msg}
		return trade.Change{Action: audit.ActionTakeProfitArmed, Message: msg, Details: details}, nil
	})
	return out, err
}

func firstActive(legs []risk.LadderLeg) int {
	for i, l := range legs {
		if !l.Merged() {
			return i
		}
	}
	return 0
}

func legDetail(r schema.TakeProfitLeg) string {
	if r.Status == legMerged {
		return fmt.Sprintf("merged into TP%d", r.MergedInto)
	}
	return fmt.Sprintf("%s at %s", r.Quantity.String(), r.Target.String())
}

// stopMoveNote says which leg moves the stop, and to what.
func stopMoveNote(rows []schema.TakeProfitLeg) string {
	for _, r := range rows {
		switch r.StopMove {
		case risk.LadderStopBreakeven:
			return fmt.Sprintf(" After TP%d fills, the stop-loss moves to breakeven (%s).", r.N, risk.FormatPrice(r.StopPrice.Decimal))
		case risk.LadderStopTrail:
			return fmt.Sprintf(" After TP%d fills, the stop-loss trails the price by %s%%.", r.N, r.TrailPercent.Decimal.String())
		}
	}
	return ""
}

// legEvent is the payload of a leg's trade.takeProfitPlaced/Filled event:
// the trade, the leg and a sentence.
func legEvent(t schema.Trade, r schema.TakeProfitLeg, msg string) any {
	return struct {
		Trade   trade.View    `json:"trade"`
		Leg     trade.LegView `json:"leg"`
		Message string        `json:"message,omitempty"`
	}{trade.ViewOf(t), trade.LegViewOf(r), msg}
}

// WatchTakeProfitLadder watches the price until every leg is done: the
// next armed leg whose target is reached gets its exit (one exit at a
// time), a leg whose exit filled nothing is armed again (up to
// maxTakeProfitAttempts exits), the stop move due after a filled leg is
// made, and a position closed otherwise (the stop-loss) cancels the legs
// left. It heartbeats every read; a retried attempt resumes from the leg
// rows, which say what happened.
func (a *Trading) WatchTakeProfitLadder(ctx context.Context, in workflows.TradeRef) (workflows.TakeProfitResult, error) {
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
		res, done, err := a.ladderStep(ctx, l)
		if err != nil || done {
			return res, err
		}
		activity.RecordHeartbeat(ctx, t.TakeProfitStatus)
		select {
		case <-ctx.Done():
			return workflows.TakeProfitResult{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// ladderStep is one read of the ladder: it settles exits, makes a due
// stop move, finishes the ladder, or watches the next leg's target.
func (a *Trading) ladderStep(ctx context.Context, l loaded) (workflows.TakeProfitResult, bool, error) {
	t := l.Trade
	if t.TakeProfitStatus != tpArmed {
		return workflows.TakeProfitResult{Outcome: t.TakeProfitStatus, Target: t.TakeProfitPrice.Decimal}, true, nil
	}
	var legs []schema.TakeProfitLeg
	if err := a.DB.WithContext(ctx).Where("trade_id = ?", t.ID).Order("n").Find(&legs).Error; err != nil {
		return workflows.TakeProfitResult{}, false, err
	}
	var next *schema.TakeProfitLeg
	for i := range legs {
		lg := &legs[i]
		switch {
		case lg.Status == tpTriggered:
			// One exit at a time: wait for it (re-armed when it filled nothing).
			return workflows.TakeProfitResult{}, false, a.followLegExit(ctx, t, *lg)
		case lg.Status == tpFilled && lg.StopMove != "" && lg.StopMovedAt == nil:
			return workflows.TakeProfitResult{}, false, a.moveLadderStop(ctx, t, *lg)
		case lg.Status == tpArmed && next == nil:
			next = lg
		}
	}
	if next == nil {
		res, err := a.finishLadder(ctx, t, legs)
		return res, true, err
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.TakeProfitResult{}, false, err
	}
	side := signal.Side(t.Side)
	pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
	if err != nil {
		return workflows.TakeProfitResult{}, false, nil // asked again; the stop protects meanwhile
	}
	held := pos.Quantity
	if side == signal.SideSell {
		held = held.Neg()
	}
	if !held.IsPositive() {
		res, err := a.cancelLadder(ctx, t)
		return res, true, err
	}
	price, err := b.LastPrice(ctx, t.Symbol)
	if err != nil || !risk.TakeProfitReached(side, price, next.Target) {
		return workflows.TakeProfitResult{}, false, nil
	}
	return workflows.TakeProfitResult{}, false, a.triggerLeg(ctx, l, *next, decimal.Min(next.Quantity, held), price)
}

// triggerLeg records, in one transaction, that the leg's target was
// reached and the exit that closes its quantity at market; the start relay
// starts the exit's workflow.
func (a *Trading) triggerLeg(ctx context.Context, l loaded, leg schema.TakeProfitLeg, qty, price decimal.Decimal) error {
	t := l.Trade
	exitSide, action := signal.SideSell, signal.ActionSell
	if signal.Side(t.Side) == signal.SideSell {
		exitSide, action = signal.SideBuy, signal.ActionBuy
	}
	exit := signal.Signal{Source: l.Signal.Source, Symbol: t.Symbol,
		AssetClass: signal.AssetClass(t.AssetClass), Action: action, Side: exitSide, Quantity: qty, QuantityType: signal.QtyFixed,
		OrderType: signal.OrderMarket, Broker: t.Broker, TakeProfitOf: t.ID,
		Text: fmt.Sprintf("Take-profit TP%d of trade %s: %s %s %s at market (target %s reached at %s)", leg.N, t.ID[:8], exitSide, qty.String(), t.Symbol,
			risk.FormatPrice(leg.Target), risk.FormatPrice(price))}
	_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		var cur schema.TakeProfitLeg
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", leg.ID).Take(&cur).Error; err != nil {
			return trade.Change{}, err
		}
		if cur.Status != tpArmed || tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		// One exit per leg and attempt, ever: a retried step finds it recorded.
		exit.ExternalID = legExternalID(tr.ID, cur.N, cur.Attempts)
		svc := &intake.Service{DB: a.DB, TaskQueue: a.TaskQueue, Timeouts: a.Timeouts, Now: a.Now}
		res, err := svc.RecordFollowUp(tx, intake.Request{UserID: tr.UserID, Signal: exit, Memo: map[string]any{"takeProfitOf": tr.ID, "leg": cur.N}})
		if err != nil {
			return trade.Change{}, err
		}
		if err := tx.Model(&schema.TakeProfitLeg{}).Where("id = ?", cur.ID).Updates(map[string]any{
			"status": tpTriggered, "exit_trade_id": res.TradeID, "attempts": cur.Attempts + 1, "updated_at": a.now()}).Error; err != nil {
			return trade.Change{}, err
		}
		msg := fmt.Sprintf("Take-profit TP%d target %s reached (%s at %s): closing %s %s at market.", cur.N, risk.FormatPrice(cur.Target),
			tr.Symbol, risk.FormatPrice(price), qty.String(), unitsWord(tr))
		return trade.Change{Action: audit.ActionTakeProfitTriggered, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"leg": cur.N, "price": price.String(), "exitTradeId": res.TradeID, "quantity": qty.String()}}, nil
	})
	return err
}

// followLegExit: a leg's exit that ended without filling anything arms
// the leg again, or gives it up after maxTakeProfitAttempts exits (the
// stop-loss still protects what is left). A filled exit is recorded by
// the exit's own fill (ladderLegFilled).
func (a *Trading) followLegExit(ctx context.Context, t schema.Trade, leg schema.TakeProfitLeg) error {
	var exit schema.Trade
	if err := a.DB.WithContext(ctx).Select("id", "status", "filled_quantity", "error_message").Where("id = ?", leg.ExitTradeID).Take(&exit).Error; err != nil {
		return err
	}
	if !trade.Status(exit.Status).Terminal() || exit.FilledQuantity.IsPositive() {
		return nil
	}
	_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		res := tx.Model(&schema.TakeProfitLeg{}).Where("id = ? AND status = ? AND exit_trade_id = ?", leg.ID, tpTriggered, exit.ID)
		if leg.Attempts >= maxTakeProfitAttempts {
			if err := res.Updates(map[string]any{"status": tpFailed, "updated_at": a.now()}).Error; err != nil {
				return trade.Change{}, err
			}
			if res.RowsAffected != 1 {
				return trade.Change{}, trade.ErrNoChange
			}
			msg := fmt.Sprintf("Take-profit TP%d not executed after %d tries (%s). The stop-loss still protects the position.", leg.N, leg.Attempts, exit.ErrorMessage)
			return trade.Change{Action: audit.ActionTakeProfitCancelled, Failed: true, Message: msg, Event: realtime.EventTradeUpdated,
				Details: map[string]any{"leg": leg.N}}, nil
		}
		if err := res.Updates(map[string]any{"status": tpArmed, "exit_trade_id": "", "updated_at": a.now()}).Error; err != nil {
			return trade.Change{}, err
		}
		if res.RowsAffected != 1 {
			return trade.Change{}, trade.ErrNoChange
		}
		msg := fmt.Sprintf("Take-profit TP%d exit not filled (%s); TP%d at %s is armed again.", leg.N, exit.ErrorMessage, leg.N, risk.FormatPrice(leg.Target))
		return trade.Change{Action: audit.ActionTakeProfitArmed, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"leg": leg.N, "failedExitTradeId": exit.ID}}, nil
	})
	return err
}

// finishLadder: no leg is armed or in flight any more.
func (a *Trading) finishLadder(ctx context.Context, t schema.Trade, legs []schema.TakeProfitLeg) (workflows.TakeProfitResult, error) {
	status, filled := tpFilled, 0
	for _, lg := range legs {
		switch lg.Status {
		case tpFilled:
			filled++
		case tpFailed, tpCancelled:
			status = tpFailed
		}
	}
	msg := fmt.Sprintf("Take-profit ladder done: %d of %d legs filled.", filled, countActive(legs))
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.TakeProfitStatus = status
		return trade.Change{Action: audit.ActionTakeProfitFilled, Failed: status != tpFilled, Message: msg, Event: realtime.EventTradeUpdated}, nil
	})
	return workflows.TakeProfitResult{Outcome: status, Message: msg}, err
}

func countActive(legs []schema.TakeProfitLeg) int {
	n := 0
	for _, lg := range legs {
		if lg.Status != legMerged {
			n++
		}
	}
	return n
}

// cancelLadder: the position was closed by the stop-loss or an exit
// before the legs left were reached.
func (a *Trading) cancelLadder(ctx context.Context, t schema.Trade) (workflows.TakeProfitResult, error) {
	var msg string
	_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		var left []schema.TakeProfitLeg
		if err := tx.Where("trade_id = ? AND status = ?", tr.ID, tpArmed).Order("n").Find(&left).Error; err != nil {
			return trade.Change{}, err
		}
		names := make([]string, len(left))
		for i, lg := range left {
			names[i] = "TP" + strconv.Itoa(lg.N)
		}
		if err := tx.Model(&schema.TakeProfitLeg{}).Where("trade_id = ? AND status = ?", tr.ID, tpArmed).
			Updates(map[string]any{"status": tpCancelled, "updated_at": a.now()}).Error; err != nil {
			return trade.Change{}, err
		}
		tr.TakeProfitStatus = tpCancelled
		msg = fmt.Sprintf("Take-profit %s cancelled: the %s position was closed before they were reached (stop-loss or exit).", strings.Join(names, ", "), tr.Symbol)
		return trade.Change{Action: audit.ActionTakeProfitCancelled, Message: msg, Event: realtime.EventTradeUpdated}, nil
	})
	return workflows.TakeProfitResult{Outcome: tpCancelled, Message: msg}, err
}

// moveLadderStop moves the position's stop after the leg filled —
// breakeven (the leg's StopPrice) or trailing (its TrailPercent from the
// current price) — through the stop keeper, and records it once: the
// stop's audit entry and timeline line and the leg's StopMovedAt are
// written in one transaction. A stop already there, or a position already
// flat, is recorded without a broker order.
func (a *Trading) moveLadderStop(ctx context.Context, t schema.Trade, leg schema.TakeProfitLeg) error {
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return err
	}
	owner := fmt.Sprintf("ladder:%s:%d", t.ID, activity.GetInfo(ctx).Attempt)
	k, ok, err := a.openStop(ctx, b, t.Broker, t.UserID, t.BrokerConnectionID, t.Symbol, t.AssetClass, owner)
	if err != nil || !ok {
		return err // busy: the next read tries again
	}
	defer k.release(ctx)
	var cur schema.TakeProfitLeg
	if err := a.DB.WithContext(ctx).Where("id = ?", leg.ID).Take(&cur).Error; err != nil {
		return err
	}
	if cur.StopMovedAt != nil {
		return nil
	}
	class := signal.AssetClass(t.AssetClass)
	compute := func() (decimal.Decimal, risk.Stop, error) {
		pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
		if err != nil || pos.Quantity.IsZero() {
			return pos.Quantity, risk.Stop{}, err
		}
		if cur.StopMove == risk.LadderStopBreakeven {
			return pos.Quantity, risk.Stop{Side: risk.ExitSide(pos.Quantity), Quantity: pos.Quantity.Abs(), StopPrice: cur.StopPrice.Decimal, TrailPercent: decimal.Zero}, nil
		}
		price, err := b.LastPrice(ctx, t.Symbol)
		if err != nil {
			return pos.Quantity, risk.Stop{}, brokerFailure(t.Broker, err)
		}
		s, err := risk.DesiredStop(risk.StopRequest{AssetClass: class, Position: pos.Quantity, AvgEntry: price, Pct: cur.TrailPercent.Decimal, Trailing: true})
		return pos.Quantity, s, err
	}
	position, desired, err := compute()
	if err != nil {
		return err
	}
	markMoved := func(tx *gorm.DB) error {
		now := a.now()
		res := tx.Model(&schema.TakeProfitLeg{}).Where("id = ? AND stop_moved_at IS NULL", cur.ID).Updates(map[string]any{"stop_moved_at": now, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return errors.New("the ladder's stop move was recorded by another attempt")
		}
		return nil
	}
	what := func(s risk.Stop) string {
		if cur.StopMove == risk.LadderStopBreakeven {
			return fmt.Sprintf("to breakeven %s", risk.FormatPrice(s.StopPrice))
		}
		return fmt.Sprintf("to a trailing stop %s%% behind the price", s.TrailPercent.String())
	}
	note := func(ch stopChange) *stopNote {
		switch ch.Action {
		case risk.StopReplace, risk.StopPlace:
			msg := fmt.Sprintf("TP%d filled: stop-loss moved %s (%s %s %s).", cur.N, what(ch.Stop), ch.Stop.Side, ch.Stop.Quantity.String(), t.Symbol)
			return &stopNote{Action: audit.ActionStopLossMoved, Message: msg, TradeID: t.ID, Also: markMoved}
		}
		return nil
	}
	ch, err := k.reconcile(ctx, position, desired, t.ID, note, compute)
	if err != nil {
		return err
	}
	if ch.Action == risk.StopReplace || ch.Action == risk.StopPlace {
		return nil // recorded with the stop
	}
	msg := fmt.Sprintf("TP%d filled: the stop-loss is already %s.", cur.N, what(desired))
	if position.IsZero() || ch.Action == risk.StopNone || ch.Action == risk.StopCancel {
		msg = fmt.Sprintf("TP%d filled: no stop-loss moved, the %s position is closed.", cur.N, t.Symbol)
	}
	_, err = a.record(ctx, t.ID, func(tx *gorm.DB, _ *schema.Trade) (trade.Change, error) {
		if err := markMoved(tx); err != nil {
			return trade.Change{}, trade.ErrNoChange
		}
		return trade.Change{Action: audit.ActionStopLossMoved, Message: msg, Event: realtime.EventTradeUpdated, Details: map[string]any{"leg": cur.N}}, nil
	})
	return err
}

// ladderLegFilled records, in the transaction that records a leg's exit
// fill, that the leg was filled (audit entry and trade.takeProfitFilled
// on the original trade's timeline). rest is the external id after
// "takeprofit:<trade id>:" ("tp2", "tp2:3").
func ladderLegFilled(tx *gorm.DB, exit *schema.Trade, origID, rest string, qty, price decimal.Decimal) error {
	legPart, _, _ := strings.Cut(rest, ":")
	n, err := strconv.Atoi(strings.TrimPrefix(legPart, "tp"))
	if err != nil {
		return nil
	}
	var orig schema.Trade
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", origID).Take(&orig).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	var leg schema.TakeProfitLeg
	if err := tx.Where("trade_id = ? AND n = ? AND status = ? AND exit_trade_id = ?", origID, n, tpTriggered, exit.ID).Take(&leg).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	now := trade.Now()
	leg.Status, leg.FilledQuantity, leg.FillPrice, leg.UpdatedAt = tpFilled, qty, decimal.NewNullDecimal(price), now
	if err := tx.Model(&schema.TakeProfitLeg{}).Where("id = ?", leg.ID).Updates(map[string]any{
		"status": tpFilled, "filled_quantity": qty, "fill_price": leg.FillPrice, "updated_at": now}).Error; err != nil {
		return err
	}
	msg := fmt.Sprintf("Take-profit TP%d filled: %s %s %s at %s.", n, exit.Side, qty.String(), orig.Symbol, risk.FormatPrice(price))
	if _, err := realtime.AppendEvent(tx, orig.UserID, realtime.EventTakeProfitFilled, legEvent(orig, leg, msg)); err != nil {
		return err
	}
	return trade.AppendAuditAndEvent(tx, orig, trade.Change{Action: audit.ActionTakeProfitFilled, Message: msg,
		Details: map[string]any{"leg": n, "exitTradeId": exit.ID, "price": price.String(), "quantity": qty.String()}})
}
