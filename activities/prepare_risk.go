package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/market"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// codeNoConnection is the rejection code of a trade with no broker to go to.
const codeNoConnection = "NO_CONNECTION"

// bumpExposureEpoch marks, inside tx, that the trader's exposure at the
// broker changed (an order reached it, or filled): a PrepareOrder that read
// the broker before starts over (invariant 2).
func bumpExposureEpoch(tx *gorm.DB, userID string) error {
	return tx.Model(&schema.User{}).Where("id = ?", userID).
		UpdateColumn("exposure_epoch", gorm.Expr("exposure_epoch + 1")).Error
}

// rejectRule turns a risk rejection into the recorded refusal; any other
// error is returned as is.
func rejectRule(reject func(code, msg string) (workflows.PrepareResult, error), err error) (workflows.PrepareResult, error) {
	var rj *risk.Rejection
	if errors.As(err, &rj) {
		return reject(rj.Code, rj.Message)
	}
	return workflows.PrepareResult{}, err
}

// codeSession refuses a time in force or extended session the broker does
// not execute.
const codeSession = "SESSION_NOT_EXECUTED"

// extendedHoursOrder reports whether an order may execute outside the
// regular session: only when the trader opted in (Settings → Risk) or the
// signal asks for it (extendedHours), only for stocks and only as a limit
// order (what brokers accept there).
func extendedHoursOrder(s risk.Settings, sig signal.Signal, class signal.AssetClass, orderType signal.OrderType) bool {
	return (s.ExtendedHours || sig.ExtendedHours) && class == signal.AssetStock && orderType == signal.OrderLimit
}

// extendedSession reports whether an order goes out in the extended
// session: a stock limit order of a trader who opted in, outside the
// regular session (regular-session orders are sent as such).
func (a *Trading) extendedSession(ctx context.Context, t schema.Trade, sig signal.Signal) bool {
	if t.AssetClass != string(signal.AssetStock) || t.OrderType != string(signal.OrderLimit) ||
		market.StatusAt(a.now(), signal.AssetStock, false).Open {
		return false
	}
	if sig.ExtendedHours {
		return true
	}
	_, s, err := a.settings(ctx, t.UserID)
	return err == nil && s.ExtendedHours
}

// readSizing reads what sizing an order needs from the broker: the
// balance and the position in symbol (zero when flat), in one read of the
// account where the broker has one (broker.AccountReader).
func readSizing(ctx context.Context, b broker.Broker, brokerName, symbol string) (broker.Balance, decimal.Decimal, error) {
	bal, positions, err := broker.ReadAccount(ctx, b)
	if err != nil {
		return broker.Balance{}, decimal.Zero, brokerFailure(brokerName, err)
	}
	for _, p := range positions {
		if p.Symbol == symbol {
			return bal, p.Quantity, nil
		}
	}
	return bal, decimal.Zero, nil
}

// guardView is what the account guard knows about a trader's day.
type guardView struct {
	// block is a day blocked by the loss rules on any of the trader's
	// connections (zero when none).
	block risk.DayState
	// own is this connection's guard row, if the guard has seen it.
	own *schema.RiskGuard
}

// guardDay reads the guard rows of the trader.
func (a *Trading) guardDay(ctx context.Context, userID, connectionID string) (guardView, error) {
	var rows []schema.RiskGuard
	if err := a.DB.WithContext(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return guardView{}, err
	}
	var v guardView
	now := a.now()
	for i, r := range rows {
		if r.ConnectionID == connectionID {
			v.own = &rows[i]
		}
		lvl := risk.LossLevel(r.Level)
		if r.BlockedUntil == nil || !now.Before(*r.BlockedUntil) || !lvl.BlocksTrading() {
			continue
		}
		if lvl.Severity() > v.block.Level.Severity() {
			v.block = risk.DayState{Day: r.Day, StartEquity: r.DayStartEquity, Level: lvl, Message: r.Message, BlockedUntil: r.BlockedUntil.UTC()}
		}
	}
	return v, nil
}

// startEquity is the base of today's drawdown for a live check: the
// guard's when it has seen today, else the broker's start-of-day equity;
// zero when neither is known.
func (v guardView) startEquity(bal broker.Balance, now time.Time) decimal.Decimal {
	if v.own != nil && v.own.Day == risk.TradingDay(now) {
		return v.own.DayStartEquity
	}
	if bal.LastEquity.IsPositive() {
		return bal.LastEquity
	}
	return decimal.Zero
}

// symbolView is what the trader's other orders in the symbol mean for a
// new one.
type symbolView struct {
	// recent: risk-checked orders whose signals arrived within the
	// concurrent-signal window of this one (SPEC edge case 6).
	recent []risk.RecentOrder
	// pending: orders on this connection that may still add to the
	// position beyond what the broker reported.
	pending []risk.PendingOrder
}

// symbolOrders reads, inside PrepareOrder's transaction (the trader's row
// locked), the trader's other orders in t's symbol. Fills bump the
// exposure epoch, so every fill recorded before this transaction is in the
// position PrepareOrder read from the broker; what is counted as pending is
// what is not yet filled as far as the database knows.
func symbolOrders(tx *gorm.DB, t *schema.Trade, connectionID string, window time.Duration) (symbolView, error) {
	var v symbolView
	var rows []schema.Trade
	err := tx.Select("id", "side", "status", "quantity", "filled_quantity", "reserved_notional", "broker_connection_id", "created_at").
		Where("user_id = ? AND symbol = ? AND id <> ? AND broker_connection_id <> '' AND status IN ?", t.UserID, t.Symbol, t.ID,
			[]string{string(trade.StatusPending), string(trade.StatusSubmitted), string(trade.StatusPartialFill), string(trade.StatusFilled), string(trade.StatusHalted)}).
		Where("(status <> ? OR created_at >= ?)", string(trade.StatusFilled), t.CreatedAt.Add(-window)).
		Find(&rows).Error
	if err != nil {
		return v, err
	}
	for _, r := range rows {
		gap := r.CreatedAt.Sub(t.CreatedAt)
		if gap < 0 {
			gap = -gap
		}
		if gap < window {
			v.recent = append(v.recent, risk.RecentOrder{Side: signal.Side(r.Side), Gap: gap})
		}
		if r.BrokerConnectionID != connectionID {
			continue
		}
		switch trade.Status(r.Status) {
		case trade.StatusPending, trade.StatusSubmitted, trade.StatusPartialFill:
			v.pending = append(v.pending, risk.PendingOrder{Side: signal.Side(r.Side), Quantity: r.Quantity.Sub(r.FilledQuantity)})
		case trade.StatusHalted:
			// Re-checked and on its way to the broker (it holds its
			// reservation until the broker answers): it may add to the
			// position like a pending order. One waiting for the halt to
			// end holds none and is checked again before it is sent.
			if r.ReservedNotional.IsPositive() {
				v.pending = append(v.pending, risk.PendingOrder{Side: signal.Side(r.Side), Quantity: r.Quantity.Sub(r.FilledQuantity)})
			}
		}
	}
	return v, nil
}

// sameSizing reports whether a re-check sized the trade as last recorded:
// same side, quantity, connection and sizing note. The price, equity and
// notional behind it move with the market and are not compared.
func sameSizing(t schema.Trade, side signal.Side, qty decimal.Decimal, connectionID, note string) bool {
	return t.Side == string(side) && t.Quantity.Equal(qty) && t.BrokerConnectionID == connectionID && t.SizingNote == note
}

// holdReservation sets, inside tx, the exposure a trade holds without
// recording a change of the trade: a market_halted trade re-reserves on
// each re-check and releases when the broker still refuses (DESIGN §8
// Halts). Bookkeeping of invariant 2, not a state change the trader sees.
func holdReservation(tx *gorm.DB, tradeID string, notional decimal.Decimal) error {
	return tx.Model(&schema.Trade{}).Where("id = ?", tradeID).UpdateColumn("reserved_notional", notional).Error
}

// haltedResizeMessage is the timeline entry of a halted trade whose size
// changed on a re-check (the trade's own message stays the halt's).
func haltedResizeMessage(symbol string, side signal.Side, was, qty, price, equity decimal.Decimal, note string) string {
	msg := fmt.Sprintf("Re-checked while trading in %s is halted: %s %s %s (was %s) at %s (equity %s).",
		symbol, side, qty.String(), symbol, was.String(), risk.FormatPrice(price), risk.FormatUSD(equity))
	if note != "" {
		msg += " " + note
	}
	return msg
}

// liftStopForExit cancels the position's working stop before an exit of
// the same side goes to the broker (brokers hold the shares a working stop
// covers, so the exit would be refused); the row keeps its level for the
// remainder, which PlaceStopLoss protects after the fill. Recorded on the
// trade.
func (a *Trading) liftStopForExit(ctx context.Context, b broker.Broker, brokerName, connectionID string, t schema.Trade, side signal.Side) error {
	var row schema.StopLoss
	err := a.DB.WithContext(ctx).Where("connection_id = ? AND symbol = ? AND status IN ?", connectionID, t.Symbol,
		[]string{stopActive, stopPlacing}).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && row.Side != string(side)) {
		return nil
	}
	if err != nil {
		return err
	}
	k, ok, err := a.openStop(ctx, b, brokerName, t.UserID, connectionID, t.Symbol, t.AssetClass, "trade:"+t.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errStopBusy(t.Symbol)
	}
	defer k.release(ctx)
	active, seen, err := k.working(ctx)
	if err != nil {
		return err
	}
	note := &stopNote{Action: audit.ActionStopLossCancelled, TradeID: t.ID,
		Message: "Stop-loss lifted for the exit order; what remains after the fill is protected again."}
	switch {
	case active:
		filled, err := k.cancel(ctx)
		if err != nil {
			return err
		}
		k.row.Status = stopReleased
		if filled {
			k.row.Status = stopTriggered
			note = &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(t.Symbol, k.row.Quantity), TradeID: t.ID}
		}
	case seen == seenTriggered:
		note = &stopNote{Action: audit.ActionStopLossTriggered, Message: risk.StopTriggeredMessage(t.Symbol, k.row.Quantity), TradeID: t.ID}
	case seen == seenNothing:
		return nil
	default:
		k.row.Status = stopReleased
	}
	return k.save(ctx, note)
}

// errAccountBusy: the trader's account kept changing while PrepareOrder
// checked it; retried by the workflow, then reported.
var errAccountBusy = temporal.NewApplicationError(
	"Your account kept changing while this order was checked against your risk limits. Order not submitted.", "ACCOUNT_BUSY")

// epochBackoff waits a little before re-reading the account after the
// first few stale attempts, so a burst of orders settles: 5 ms doubling to
// 160 ms, with jitter.
func epochBackoff(ctx context.Context, attempt int) error {
	if attempt < 2 {
		return nil
	}
	d := 5 * time.Millisecond << min(attempt-2, 5)
	d += time.Duration(time.Now().UnixNano() % int64(d)) // jitter; no secret involved
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
