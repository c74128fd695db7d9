package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// A position's take-profit and stop-loss as ONE broker-native
// one-cancels-other pair (DESIGN §8 Take-profit). When a trade opens a
// position with a take-profit, its adapter implements
// broker.ExitPairPlacer and the trade's fill is the whole position,
// PlaceExitPair places the pair instead of the lone stop: the position's
// stop row (stoplife.go) holds the pair's stop leg and the pair id, so
// every path that cancels or replaces the stop (an exit lifting it, the
// loss rules flattening, a later fill amending it) cancels the pair.
// FollowExitPair then polls the pair and records which leg filled; the
// broker cancels the other. A pair cancelled while the position is still
// held hands the take-profit to the server-side watch (takeprofit.go).

// Take-profit modes (schema.Trade.TakeProfitMode).
const (
	tpNative   = "native"
	tpEmulated = "emulated"
)

// States of the pair's stop leg on the trade (TakeProfitStopStatus).
const (
	legWorking   = "working"
	legFilled    = "filled"
	legCancelled = "cancelled"
)

// pairPurpose is the client-order-id purpose of a trade's pair; its ids
// start with "tep-" (trade.ClientOrderID), which is how a stop row being
// placed is known to be a pair.
const pairPurpose = "pair"

func pairClientID(tradeID string) string { return trade.ClientOrderID("pair/"+tradeID, pairPurpose) }

func isPairClientID(id string) bool { return strings.HasPrefix(id, "tep-") }

// PlaceExitPair places the trade's take-profit and stop-loss as the
// broker's native pair when the rules allow (risk.ChooseExitPair), and
// records on the trade which path its take-profit takes and why.
// Idempotent: the pair's client order id is derived from the trade; a
// retried attempt finds the pair (FindExitPair) instead of placing a
// second, and a trade whose path is recorded answers it again.
func (a *Trading) PlaceExitPair(ctx context.Context, in workflows.TradeRef) (workflows.ExitPairResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.ExitPairResult{}, err
	}
	t, sig := l.Trade, l.Signal
	switch t.TakeProfitMode {
	case tpNative:
		return workflows.ExitPairResult{Native: true, PairID: t.TakeProfitPairID}, nil
	case tpEmulated:
		return workflows.ExitPairResult{}, nil
	}
	if !sig.HasTakeProfit() || !t.FilledQuantity.IsPositive() || !t.FillPrice.Valid {
		return workflows.ExitPairResult{}, nil
	}
	blocked, err := a.tradingBlocked(ctx, t.UserID)
	if err != nil || blocked {
		return workflows.ExitPairResult{}, err // PlaceStopLoss says why nothing is placed
	}
	_, settings, err := a.settings(ctx, t.UserID)
	if err != nil {
		return workflows.ExitPairResult{}, err
	}
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return workflows.ExitPairResult{}, err
	}
	placer, native := b.(broker.ExitPairPlacer)
	name := trade.BrokerDisplayName(t.Broker)
	if !native {
		return a.emulate(ctx, t, fmt.Sprintf("%s has no one-cancels-other order for a position's exits", name))
	}
	k, ok, err := a.openStop(ctx, b, t.Broker, t.UserID, t.BrokerConnectionID, t.Symbol, t.AssetClass, "trade:"+t.ID)
	if err != nil {
		return workflows.ExitPairResult{}, err
	}
	if !ok {
		return workflows.ExitPairResult{}, errStopBusy(t.Symbol)
	}
	defer k.release(ctx)
	cid := pairClientID(t.ID)
	// Settle the row first: a pair an earlier attempt placed is adopted;
	// a stop the broker finished is no longer active.
	active, _, err := k.working(ctx)
	if err != nil {
		return workflows.ExitPairResult{}, err
	}
	mine := k.row.TradeID == t.ID && k.row.ClientOrderID == cid
	if !mine || !active {
		pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
		if err != nil {
			return workflows.ExitPairResult{}, err
		}
		held := pos.Quantity
		if signal.Side(t.Side) == signal.SideSell {
			held = held.Neg()
		}
		if !pos.AvgEntry.IsPositive() {
			pos.AvgEntry = t.FillPrice.Decimal
		}
		pct := sig.StopLossPercent
		if pct.IsZero() {
			pct = settings.StopLossPct
		}
		stop, err := risk.DesiredStop(risk.StopRequest{AssetClass: signal.AssetClass(t.AssetClass), Position: pos.Quantity, AvgEntry: pos.AvgEntry,
			Price: sig.StopLossPrice, Pct: pct, Trailing: settings.TrailingStop})
		if err != nil && held.IsPositive() {
			return workflows.ExitPairResult{}, temporal.NewNonRetryableApplicationError(err.Error(), risk.CodeInvalidOrder, err)
		}
		// A stop working for this trade's own position (the account guard
		// protected it while the pair was delayed) is replaced by the pair;
		// one another trade set means the position is shared.
		otherStop := active && !mine && k.row.TradeID != t.ID
		if useNative, why := risk.ChooseExitPair(risk.ExitPairFacts{Broker: name, Native: true, LadderLeg: risk.IsLadderLeg(sig.ExternalID),
			Filled: t.FilledQuantity, Position: decimal.Max(held, decimal.Zero), OtherStop: otherStop, Trailing: stop.TrailPercent.IsPositive()}); !useNative {
			return a.emulate(ctx, t, why)
		}
		target := risk.TakeProfitTarget(sig, signal.Side(t.Side), t.FillPrice.Decimal)
		if active && !mine {
			if filled, err := k.cancel(ctx); err != nil {
				return workflows.ExitPairResult{}, err
			} else if filled {
				k.row.Status = stopTriggered
				if err := k.save(ctx, &stopNote{Action: audit.ActionStopLossTriggered, TradeID: t.ID,
					Message: risk.StopTriggeredMessage(t.Symbol, k.row.Quantity)}); err != nil {
					return workflows.ExitPairResult{}, err
				}
				return workflows.ExitPairResult{}, temporal.NewApplicationError(
					fmt.Sprintf("the %s stop-loss executed while it was being replaced by the pair; retrying", t.Symbol), "STOP_MOVED")
			}
			k.row.Status = stopClosed
		}
		if !mine {
			// A new placement: the row says "placing under the pair's id"
			// before the broker hears of it, so a crash leaves a trace.
			k.row.Version++
			k.row.Side, k.row.Quantity = string(stop.Side), stop.Quantity
			k.row.StopPrice, k.row.TrailPercent = decimal.NewNullDecimal(stop.StopPrice), decimal.NullDecimal{}
			k.row.Status, k.row.OrderID, k.row.PairID, k.row.ClientOrderID, k.row.TradeID = stopPlacing, "", "", cid, t.ID
			if err := k.save(ctx, nil); err != nil {
				return workflows.ExitPairResult{}, err
			}
		}
		pair, found, err := placer.FindExitPair(ctx, cid)
		if err != nil {
			return workflows.ExitPairResult{}, brokerFailure(t.Broker, err)
		}
		if !found {
			pair, err = placer.PlaceExitPair(ctx, broker.ExitPairRequest{ClientOrderID: cid, Symbol: t.Symbol, AssetClass: signal.AssetClass(t.AssetClass),
				Side: stop.Side, Quantity: stop.Quantity, TakeProfitPrice: target, StopPrice: stop.StopPrice, TimeInForce: broker.TIFGTC})
			if kind := broker.KindOf(err); kind == broker.KindInvalidOrder || kind == broker.KindRejected {
				k.row.Status = stopClosed
				if err := k.save(ctx, nil); err != nil {
					return workflows.ExitPairResult{}, err
				}
				return a.emulate(ctx, t, fmt.Sprintf("%s refused the pair: %s", name, brokerMessage(err)))
			}
			if err != nil {
				return workflows.ExitPairResult{}, brokerFailure(t.Broker, err)
			}
		}
		k.row.Status, k.row.OrderID, k.row.PairID = stopActive, pair.StopLoss.ID, pair.ID
		if err := k.save(ctx, &stopNote{Action: audit.ActionStopLossPlaced, TradeID: t.ID,
			Message: risk.StopPlacedMessage("placed", t.Symbol, stopOf(k.row)) + " It is one leg of a one-cancels-other pair with the take-profit."}); err != nil {
			return workflows.ExitPairResult{}, err
		}
		return a.recordPairPlaced(ctx, t.ID, name, pair, target, k.row)
	}
	pair, err := placer.GetExitPair(ctx, k.row.PairID)
	if err != nil {
		return workflows.ExitPairResult{}, brokerFailure(t.Broker, err)
	}
	return a.recordPairPlaced(ctx, t.ID, name, pair, pair.TakeProfit.LimitPrice, k.row)
}

// recordPairPlaced records the take-profit leg on the trade (audit
// TAKE_PROFIT_ARMED, event trade.takeProfitPlaced).
func (a *Trading) recordPairPlaced(ctx context.Context, tradeID, name string, pair broker.ExitPair, target decimal.Decimal, row schema.StopLoss) (workflows.ExitPairResult, error) {
	msg := risk.ExitPairPlacedMessage(name, row.Symbol, row.Quantity, target, row.StopPrice.Decimal)
	_, err := a.record(ctx, tradeID, func(_ *gorm.DB, t *schema.Trade) (trade.Change, error) {
		if t.TakeProfitMode != "" {
			return trade.Change{}, trade.ErrNoChange
		}
		t.TakeProfitPrice, t.TakeProfitStatus = decimal.NewNullDecimal(target), tpArmed
		t.TakeProfitMode, t.TakeProfitOrderID, t.TakeProfitPairID, t.TakeProfitStopStatus = tpNative, pair.TakeProfit.ID, pair.ID, legWorking
		return trade.Change{Action: audit.ActionTakeProfitArmed, Message: msg, Event: realtime.EventTakeProfitPlaced,
			Details: map[string]any{"target": target.String(), "mode": tpNative, "pairId": pair.ID, "takeProfitOrderId": pair.TakeProfit.ID,
				"stopOrderId": pair.StopLoss.ID, "stopPrice": row.StopPrice.Decimal.String(), "quantity": row.Quantity.String()}}, nil
	})
	return workflows.ExitPairResult{Native: true, PairID: pair.ID, Message: msg}, err
}

// emulate records that the take-profit is watched server-side, and why.
func (a *Trading) emulate(ctx context.Context, t schema.Trade, why string) (workflows.ExitPairResult, error) {
	msg := risk.ExitPairEmulatedMessage(why)
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitMode != "" {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.TakeProfitMode = tpEmulated
		return trade.Change{Action: audit.ActionTakeProfitEmulated, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"mode": tpEmulated, "reason": why}}, nil
	})
	return workflows.ExitPairResult{Reason: why, Message: msg}, err
}

func brokerMessage(err error) string {
	var be *broker.Error
	if errors.As(err, &be) && be.Message != "" {
		return be.Message
	}
	return err.Error()
}

// FollowExitPair polls the trade's native pair (heartbeating) until it is
// done, and records it: the take-profit filled (the broker cancelled the
// stop; the stop row is closed), the stop filled (the stop-fill
// bookkeeping; the take-profit is cancelled), or both cancelled by an exit
// or the loss rules — then a position still held hands the take-profit to
// the server-side watch (Outcome "emulate"). A restarted attempt resumes
// from the trade row and the broker's pair.
func (a *Trading) FollowExitPair(ctx context.Context, in workflows.TradeRef) (workflows.TakeProfitResult, error) {
	for {
		l, err := a.load(ctx, in.TradeID)
		if err != nil {
			return workflows.TakeProfitResult{}, err
		}
		t := l.Trade
		if t.TakeProfitMode != tpNative || t.TakeProfitStatus != tpArmed {
			out := workflows.TakeProfitResult{Outcome: t.TakeProfitStatus, Target: t.TakeProfitPrice.Decimal}
			if t.TakeProfitMode == tpEmulated && t.TakeProfitStatus == tpArmed {
				out.Outcome = "emulate"
			}
			return out, nil
		}
		poll := a.TakeProfitPoll
		switch {
		case poll > 0:
		case t.Broker == "paper":
			poll = defaultTakeProfitPoll
		default:
			poll = liveTakeProfitPoll
		}
		if err := a.followPairOnce(ctx, t); err != nil && !retryLater(err) {
			return workflows.TakeProfitResult{}, err
		}
		activity.RecordHeartbeat(ctx, t.TakeProfitStatus)
		select {
		case <-ctx.Done():
			return workflows.TakeProfitResult{}, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// retryLater: the broker did not answer, or another step holds the stop;
// the next poll tries again.
func retryLater(err error) bool {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		switch app.Type() {
		case "STOP_BUSY", string(broker.KindUnavailable), string(broker.KindRateLimited):
			return true
		}
	}
	return false
}

// followPairOnce reads the pair once and records what the broker did.
func (a *Trading) followPairOnce(ctx context.Context, t schema.Trade) error {
	b, err := a.brokerFor(ctx, t)
	if err != nil {
		return err
	}
	placer, ok := b.(broker.ExitPairPlacer)
	if !ok {
		return a.handOver(ctx, t, "the connection no longer has a native pair")
	}
	pair, err := placer.GetExitPair(ctx, t.TakeProfitPairID)
	if err != nil && broker.KindOf(err) != broker.KindNotFound {
		return brokerFailure(t.Broker, err)
	}
	tp, sl := pair.TakeProfit, pair.StopLoss
	switch {
	case err != nil: // the broker no longer knows the pair
		return a.pairEnded(ctx, b, t, "the broker no longer reports the pair")
	case tp.Status == broker.StatusFilled:
		if !sl.Status.Terminal() {
			// The broker cancels the stop leg itself; should it not (yet),
			// a stop working on a flat position must not stay behind.
			if err := placer.CancelExitPair(ctx, t.TakeProfitPairID); err != nil {
				return brokerFailure(t.Broker, err)
			}
		}
		return a.pairTakeProfitFilled(ctx, b, t, tp)
	case sl.Status == broker.StatusFilled:
		return a.pairStopFilled(ctx, b, t)
	case pair.Done():
		return a.pairEnded(ctx, b, t, "the pair was cancelled (an exit, a cancel or the account's loss rules)")
	}
	return nil
}

// pairTakeProfitFilled: the take-profit leg filled and the broker cancelled
// the stop. The position's stop row is closed (its order is the cancelled
// leg) and the take-profit recorded filled, each with its audit entry.
func (a *Trading) pairTakeProfitFilled(ctx context.Context, b broker.Broker, t schema.Trade, leg broker.Order) error {
	name := trade.BrokerDisplayName(t.Broker)
	k, ok, err := a.openStop(ctx, b, t.Broker, t.UserID, t.BrokerConnectionID, t.Symbol, t.AssetClass, "trade:"+t.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errStopBusy(t.Symbol)
	}
	defer k.release(ctx)
	if k.row.PairID == t.TakeProfitPairID && k.row.Status == stopActive {
		k.row.Status = stopClosed
		if err := k.save(ctx, &stopNote{Action: audit.ActionStopLossCancelled, TradeID: t.ID,
			Message: fmt.Sprintf("Stop-loss cancelled by %s: the take-profit filled (one cancels the other).", name)}); err != nil {
			return err
		}
	}
	msg := fmt.Sprintf("Take-profit filled at %s: %s %s %s at %s; %s cancelled the stop-loss.", name, leg.Side, leg.FilledQuantity, t.Symbol,
		risk.FormatPrice(leg.AvgFillPrice), name)
	_, err = a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		// The broker-side take-profit exit is a fill of the trader's
		// position (performance; the leg's own cumulative figures).
		// Counted once per leg order, whichever path saw it filled.
		if leg.Side == signal.SideBuy || leg.Side == signal.SideSell {
			if err := performance.RecordOrderFill(tx, performance.FillEvent{UserID: tr.UserID, ConnectionID: tr.BrokerConnectionID,
				Symbol: tr.Symbol, Source: tr.Source, TradeID: tr.ID, Side: string(leg.Side), At: a.now()},
				legOrder(t.TakeProfitPairID, leg, "tp").ID, leg.FilledQuantity, leg.AvgFillPrice); err != nil {
				return trade.Change{}, err
			}
		}
		// ... and a leader's fill that followers copy.
		if err := a.pairTakeProfitCopied(tx, tr, leg); err != nil {
			return trade.Change{}, err
		}
		tr.TakeProfitStatus, tr.TakeProfitStopStatus = tpFilled, legCancelled
		return trade.Change{Action: audit.ActionTakeProfitFilled, Message: msg, Event: realtime.EventTakeProfitFilled,
			Details: map[string]any{"mode": tpNative, "orderId": leg.ID, "price": leg.AvgFillPrice.String(), "quantity": leg.FilledQuantity.String()}}, nil
	})
	return err
}

// pairStopFilled: the stop leg filled and the broker cancelled the
// take-profit. The stop row records the execution as any stop's (the
// keeper reads the pair: triggered) and the take-profit is cancelled.
func (a *Trading) pairStopFilled(ctx context.Context, b broker.Broker, t schema.Trade) error {
	name := trade.BrokerDisplayName(t.Broker)
	k, ok, err := a.openStop(ctx, b, t.Broker, t.UserID, t.BrokerConnectionID, t.Symbol, t.AssetClass, "trade:"+t.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errStopBusy(t.Symbol)
	}
	defer k.release(ctx)
	if k.row.PairID == t.TakeProfitPairID {
		if _, seen, err := k.working(ctx); err != nil {
			return err
		} else if seen == seenTriggered {
			if err := k.save(ctx, &stopNote{Action: audit.ActionStopLossTriggered, TradeID: t.ID,
				Message: risk.StopTriggeredMessage(t.Symbol, k.row.Quantity)}); err != nil {
				return err
			}
		}
	}
	return a.cancelPairTakeProfit(ctx, t, legFilled, fmt.Sprintf("Take-profit at %s cancelled by %s: the stop-loss filled (one cancels the other).",
		risk.FormatPrice(t.TakeProfitPrice.Decimal), name))
}

// pairEnded: neither leg filled and the pair is gone. A position still
// held on the trade's side keeps its take-profit, now watched server-side
// (the step that cancelled the pair placed or lifted the stop itself); a
// flat position cancels it.
func (a *Trading) pairEnded(ctx context.Context, b broker.Broker, t schema.Trade, why string) error {
	pos, err := positionIn(ctx, b, t.Broker, t.Symbol)
	if err != nil {
		return err
	}
	held := pos.Quantity
	if signal.Side(t.Side) == signal.SideSell {
		held = held.Neg()
	}
	if held.IsPositive() {
		return a.handOver(ctx, t, why)
	}
	return a.cancelPairTakeProfit(ctx, t, legCancelled, fmt.Sprintf("Take-profit at %s cancelled: %s and the %s position is closed.",
		risk.FormatPrice(t.TakeProfitPrice.Decimal), why, t.Symbol))
}

// handOver turns a native take-profit into a server-side one.
func (a *Trading) handOver(ctx context.Context, t schema.Trade, why string) error {
	msg := fmt.Sprintf("Take-profit at %s now watched by TradeExec: %s.", risk.FormatPrice(t.TakeProfitPrice.Decimal), why)
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitMode != tpNative || tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.TakeProfitMode, tr.TakeProfitStopStatus = tpEmulated, legCancelled
		return trade.Change{Action: audit.ActionTakeProfitEmulated, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"mode": tpEmulated, "reason": why}}, nil
	})
	return err
}

func (a *Trading) cancelPairTakeProfit(ctx context.Context, t schema.Trade, stopLeg, msg string) error {
	_, err := a.record(ctx, t.ID, func(_ *gorm.DB, tr *schema.Trade) (trade.Change, error) {
		if tr.TakeProfitStatus != tpArmed {
			return trade.Change{}, trade.ErrNoChange
		}
		tr.TakeProfitStatus, tr.TakeProfitStopStatus = tpCancelled, stopLeg
		return trade.Change{Action: audit.ActionTakeProfitCancelled, Message: msg, Event: realtime.EventTradeUpdated,
			Details: map[string]any{"mode": tr.TakeProfitMode}}, nil
	})
	return err
}

// legOrder is a pair's leg with an order id to count its fill by (the
// pair's id and the leg when the broker reports none for the leg).
func legOrder(pairID string, leg broker.Order, which string) broker.Order {
	if leg.ID == "" {
		leg.ID = "pair:" + pairID + "/" + which
	}
	return leg
}

// pairRow: the row's stop is (or is being placed as) a pair's stop leg.
func (k *stopKeeper) pairRow() bool {
	return k.row.PairID != "" || (k.row.Status == stopPlacing && isPairClientID(k.row.ClientOrderID))
}

// pairWorking is stopKeeper.working for a pair's stop leg: the pair is
// read as a whole (at Coinbase both legs are one order). A pair being
// placed is adopted when the broker has it; a take-profit fill closes the
// row (no stop is left, the shares are sold); a stop fill is triggered.
func (k *stopKeeper) pairWorking(ctx context.Context) (bool, string, error) {
	placer, ok := k.b.(broker.ExitPairPlacer)
	if !ok {
		return false, seenNothing, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the %s stop-loss is a one-cancels-other pair this connection cannot read", k.row.Symbol), string(broker.KindInvalidOrder), nil)
	}
	var pair broker.ExitPair
	var err error
	switch k.row.Status {
	case stopPlacing:
		var found bool
		pair, found, err = placer.FindExitPair(ctx, k.row.ClientOrderID)
		if err != nil {
			return false, seenNothing, brokerFailure(k.name, err)
		}
		if !found {
			return false, seenNothing, nil
		}
		k.row.OrderID, k.row.PairID = pair.StopLoss.ID, pair.ID
	case stopActive:
		pair, err = placer.GetExitPair(ctx, k.row.PairID)
		if broker.KindOf(err) == broker.KindNotFound {
			k.row.Status = stopClosed
			return false, seenDropped, nil
		}
		if err != nil {
			return false, seenNothing, brokerFailure(k.name, err)
		}
	default:
		return false, seenNothing, nil
	}
	switch {
	case pair.StopLoss.Status == broker.StatusFilled:
		k.row.Status = stopTriggered
		k.executed = append(k.executed, legOrder(k.row.PairID, pair.StopLoss, "sl"))
		return false, seenTriggered, nil
	case pair.TakeProfit.Status == broker.StatusFilled, pair.StopLoss.Status.Terminal():
		k.row.Status = stopClosed
		// A leg that filled (in part) before the pair ended is a fill of
		// the position all the same.
		for _, leg := range []broker.Order{legOrder(k.row.PairID, pair.TakeProfit, "tp"), legOrder(k.row.PairID, pair.StopLoss, "sl")} {
			if leg.FilledQuantity.IsPositive() {
				k.executed = append(k.executed, leg)
			}
		}
		return false, seenDropped, nil
	}
	if k.row.Status == stopPlacing {
		k.row.Status = stopActive
		return true, seenAdopted, nil
	}
	return true, seenNothing, nil
}

// cancelPair is stopKeeper.cancel for a pair: both legs are cancelled and
// the pair is read until it is done. filled is true when either leg
// executed first (the position is not what the caller computed from).
func (k *stopKeeper) cancelPair(ctx context.Context) (bool, error) {
	placer, ok := k.b.(broker.ExitPairPlacer)
	if !ok {
		return false, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the %s stop-loss is a one-cancels-other pair this connection cannot cancel", k.row.Symbol), string(broker.KindInvalidOrder), nil)
	}
	err := placer.CancelExitPair(ctx, k.row.PairID)
	switch kind := broker.KindOf(err); {
	case err == nil, kind == broker.KindRejected:
	case kind == broker.KindNotFound:
		return false, nil
	default:
		return false, brokerFailure(k.name, err)
	}
	deadline := time.Now().Add(cancelSettle)
	for {
		pair, err := placer.GetExitPair(ctx, k.row.PairID)
		if broker.KindOf(err) == broker.KindNotFound {
			return false, nil
		}
		if err != nil {
			return false, brokerFailure(k.name, err)
		}
		if pair.Done() {
			for _, leg := range []broker.Order{legOrder(k.row.PairID, pair.StopLoss, "sl"), legOrder(k.row.PairID, pair.TakeProfit, "tp")} {
				if leg.FilledQuantity.IsPositive() {
					k.executed = append(k.executed, leg)
				}
			}
			return pair.StopLoss.Status == broker.StatusFilled || pair.TakeProfit.FilledQuantity.IsPositive(), nil
		}
		if time.Now().After(deadline) {
			return false, temporal.NewApplicationError(fmt.Sprintf("the %s exit pair is still working after the cancel; retrying", k.row.Symbol), string(broker.KindUnavailable))
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
