package activities

import (
	"context"
	"errors"
	"fmt"
	"github.com/tradeexec/tradeexec/internal/billing"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/market"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// maxEpochRetries bounds how often PrepareOrder re-reads the balance because
// another order of the same trader reached the broker or filled meanwhile
// (a burst of signals for one trader makes many such changes).
const maxEpochRetries = 20

// PrepareOrder routes the trade to a connection, sizes it under the risk
// rules, checks buying power and reserves the exposure atomically per trader
// (invariant 2). A risk refusal is recorded (trade rejected + audit + event)
// and returned as Rejected; broker failures are returned as errors.
func (a *Trading) PrepareOrder(ctx context.Context, in workflows.PrepareInput) (workflows.PrepareResult, error) {
	res, err := a.prepareOrder(ctx, in)
	res.InProcess = broker.InProcess(res.Broker)
	return res, err
}

func (a *Trading) prepareOrder(ctx context.Context, in workflows.PrepareInput) (workflows.PrepareResult, error) {
	l, err := a.load(ctx, in.TradeID)
	if err != nil {
		return workflows.PrepareResult{}, err
	}
	t, sig := l.Trade, l.Signal
	res := workflows.PrepareResult{AssetClass: signal.AssetClass(t.AssetClass), ConnectionID: t.BrokerConnectionID, Broker: t.Broker, Quantity: t.Quantity}

	// Idempotency: a retry after the decision was recorded returns it.
	switch trade.Status(t.Status) {
	case trade.StatusRejected:
		res.Rejected, res.Message = true, t.ErrorMessage
		return res, nil
	case trade.StatusCancelled:
		res.Noop, res.Message = true, t.ErrorMessage
		return res, nil
	case trade.StatusSubmitted, trade.StatusPartialFill, trade.StatusFilled:
		res.MarketOpen = true
		return res, nil
	case trade.StatusPending:
		if !in.Recheck && t.BrokerConnectionID != "" && t.Quantity.IsPositive() && t.ReservedNotional.IsPositive() {
			res.MarketOpen = true
			return res, nil
		}
	}

	reject := func(code, msg string) (workflows.PrepareResult, error) {
		_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
			if trade.Status(tr.Status).Terminal() {
				return trade.Change{}, trade.ErrNoChange
			}
			tr.Status = string(trade.StatusRejected)
			tr.ErrorMessage = msg
			tr.ReservedNotional = decimal.Zero
			return trade.Change{Action: audit.ActionTradeRejected, Failed: true, Message: msg, Event: realtime.EventTradeRejected,
				Details: map[string]any{"code": code}}, nil
		})
		return workflows.PrepareResult{Rejected: true, Code: code, Message: msg, Broker: res.Broker, ConnectionID: res.ConnectionID}, err
	}

	var user schema.User
	if err := a.DB.WithContext(ctx).First(&user, "id = ?", t.UserID).Error; err != nil {
		return res, err
	}
	if user.Locked {
		return reject(risk.CodeAccountLocked, risk.AccountLocked().Message)
	}
	settingsRow, settings, err := a.settings(ctx, t.UserID)
	if err != nil {
		return res, err
	}
	// Approval mode: nothing is routed, sized or reserved until the trader
	// approves; then this whole check runs again.
	if wait, err := a.approvalWait(ctx, t, in, sig.ReversalOf != "" || sig.TakeProfitOf != "", settings); err != nil {
		return res, err
	} else if wait > 0 {
		res.AwaitApproval, res.ApprovalTimeout = true, wait
		return res, nil
	}
	class := signal.AssetClass(t.AssetClass)
	conn, err := a.Brokers.Route(ctx, t.UserID, class, sig.Broker, settingsRow)
	var noConn *brokerconn.ErrNoConnection
	if errors.As(err, &noConn) {
		return reject(codeNoConnection, noConn.Message)
	}
	if err != nil {
		return res, err
	}
	res.ConnectionID, res.Broker = conn.ID, conn.BrokerType
	var limit *billing.LimitError
	if err := a.planAllows(ctx, user, conn); errors.As(err, &limit) {
		return reject(codePlanLimit, limit.Message())
	} else if err != nil {
		return res, err
	}
	// A time in force or extended session the broker does not execute is
	// refused, never sent as something else (the webhook refuses it first;
	// the route may have changed since).
	if se := broker.CheckSession(conn.BrokerType, trade.BrokerDisplayName(conn.BrokerType), sig); se != nil {
		return reject(codeSession, se.Message)
	}
	// The daily loss rules: a day the guard has blocked (on any of the
	// trader's connections) refuses at once, before any broker call.
	day, err := a.guardDay(ctx, t.UserID, conn.ID)
	if err != nil {
		return res, err
	}
	if err := risk.CheckTrading(false, day.block, a.now(), risk.LossState{Level: risk.LossOK}); err != nil {
		return rejectRule(reject, err)
	}
	extended := extendedHoursOrder(settings, sig, class, signal.OrderType(t.OrderType))
	res.ExtendedHours = extended
	b, err := a.Brokers.Open(ctx, conn)
	if err != nil {
		return res, err
	}

	// Market hours (FR-008): the broker's clock; for a limit order of a
	// trader who opted in to extended hours (SPEC edge case 4), the NYSE
	// calendar's 4:00-20:00 ET window (broker clocks report the regular
	// session; brokers take only limit orders outside it). Closed: nothing
	// is sized or reserved now.
	if extended {
		st := market.StatusAt(a.now(), class, true)
		res.MarketOpen, res.NextOpen = st.Open, st.NextOpen
	} else {
		clk, err := b.Clock(ctx, class)
		if err != nil {
			return res, brokerFailure(conn.BrokerType, err)
		}
		res.MarketOpen, res.NextOpen = clk.IsOpen, clk.NextOpen.UTC()
	}
	if !res.MarketOpen {
		return res, nil
	}

	// Reference price: the order's own price, else the last trade, else the
	// price the signal carried.
	price := sig.LimitPrice
	if price.IsZero() {
		price = sig.StopPrice
	}
	if price.IsZero() {
		last, err := b.LastPrice(ctx, t.Symbol)
		switch {
		case err == nil:
			price = last
		case sig.SignalPrice.IsPositive() && broker.KindOf(err) != broker.KindInvalidSymbol:
			price = sig.SignalPrice
		default:
			return res, brokerFailure(conn.BrokerType, err)
		}
	}

	// The position and the balance come from one read of the account
	// (broker.ReadAccount: one query of the paper account, the same two
	// requests as before elsewhere), after the epoch read with the user.
	bal, positionQty, err := readSizing(ctx, b, conn.BrokerType, t.Symbol)
	if err != nil {
		return res, err
	}
	plan := planOrder(sig, positionQty, settings)
	side, qty, qtyType, noop := plan.side, plan.qty, plan.qtyType, plan.noop
	recordNoop := func(noop string) (workflows.PrepareResult, error) {
		_, err := a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
			if trade.Status(tr.Status).Terminal() {
				return trade.Change{}, trade.ErrNoChange
			}
			tr.Status = string(trade.StatusCancelled)
			tr.ErrorMessage = noop
			tr.BrokerConnectionID, tr.Broker = conn.ID, conn.BrokerType
			tr.ReservedNotional = decimal.Zero
			return trade.Change{Action: audit.ActionOrderCancelled, Message: noop, Event: realtime.EventTradeCancelled}, nil
		})
		return workflows.PrepareResult{Noop: true, Message: noop, Broker: conn.BrokerType, ConnectionID: conn.ID}, err
	}
	if noop != "" {
		return recordNoop(noop)
	}

	for attempt := 0; ; attempt++ {
		// Everything read from the broker is read after the epoch: an
		// order of this trader that reaches the broker meanwhile bumps it,
		// and the transaction below then starts over (invariant 2).
		epoch := user.ExposureEpoch
		if attempt > 0 {
			if bal, positionQty, err = readSizing(ctx, b, conn.BrokerType, t.Symbol); err != nil {
				return res, err
			}
			plan = planOrder(sig, positionQty, settings)
			side, qty, qtyType, noop = plan.side, plan.qty, plan.qtyType, plan.noop
			if noop != "" {
				return recordNoop(noop)
			}
		}
		// The day's drawdown as of this balance (the guard may not have
		// seen it yet).
		live := risk.LossState{Level: risk.LossOK}
		if start := day.startEquity(bal, a.now()); start.IsPositive() {
			live = risk.EvaluateDailyLoss(start, bal.Equity, settings)
		}
		if err := risk.CheckTrading(false, risk.DayState{}, a.now(), live); err != nil {
			return rejectRule(reject, err)
		}
		reducing := false
		var rejection, code string
		var size risk.SizeResult
		stale := false
		_, err = a.record(ctx, t.ID, func(tx *gorm.DB, tr *schema.Trade) (trade.Change, error) {
			rejection, code, stale, reducing = "", "", false, false
			var u schema.User
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&u, "id = ?", tr.UserID).Error; err != nil {
				return trade.Change{}, err
			}
			if u.ExposureEpoch != epoch {
				user = u
				stale = true
				return trade.Change{}, trade.ErrNoChange
			}
			if trade.Status(tr.Status).Terminal() {
				return trade.Change{}, trade.ErrNoChange
			}
			refuse := func(err error, details map[string]any) (trade.Change, error) {
				var rj *risk.Rejection
				if !errors.As(err, &rj) {
					return trade.Change{}, err
				}
				rejection, code = rj.Message, rj.Code
				tr.Status = string(trade.StatusRejected)
				tr.ErrorMessage = rj.Message
				tr.BrokerConnectionID, tr.Broker = conn.ID, conn.BrokerType
				tr.ReservedNotional = decimal.Zero
				if details == nil {
					details = map[string]any{}
				}
				details["code"] = rj.Code
				return trade.Change{Action: audit.ActionTradeRejected, Failed: true, Message: rj.Message, Event: realtime.EventTradeRejected, Details: details}, nil
			}
			if u.Locked {
				return refuse(risk.AccountLocked(), nil)
			}
			// SPEC edge case 6: other risk-checked orders in this symbol
			// whose signals arrived within the window; under the user lock,
			// so two concurrent signals see each other.
			others, err := symbolOrders(tx, tr, conn.ID, risk.ConcurrentWindow)
			if err != nil {
				return trade.Change{}, err
			}
			// A take-profit's exit is the trade's own plan, not a second
			// provider's signal: it never conflicts with its entry.
			// Nor does a follower's copy of a leader's exit (the exit is
			// real; copytrade.ConflictExempt).
			var combined int
			if sig.TakeProfitOf == "" && !copytrade.ConflictExempt(sig) {
				combined, err = risk.CheckConcurrent(t.Symbol, side, others.recent)
				if err != nil {
					return refuse(err, nil)
				}
			}
			// Max position counts what the trader's pending orders in this
			// symbol may still add (they are not in the broker's position
			// yet); an order against the position is sized on the position
			// (reducing is never limited).
			sizePos := positionQty
			if !against(side, positionQty) {
				sizePos = risk.ExposedPosition(side, positionQty, others.pending)
			}
			size, err = risk.Size(risk.SizeRequest{
				Symbol: t.Symbol, AssetClass: class, Side: side, QuantityType: qtyType, Quantity: qty,
				Price: price, Equity: bal.Equity, CurrentPositionQty: sizePos, Settings: settings, Manual: in.Manual,
			})
			if err != nil {
				return refuse(err, map[string]any{"positionQuantity": positionQty.String(), "exposedQuantity": sizePos.String()})
			}
			reducing = reducesPosition(side, positionQty, size.Quantity)
			notional := decimal.Zero
			if !reducing {
				notional = size.Notional
				reserved, err := reservedByOthers(tx, tr.UserID, tr.ID)
				if err != nil {
					return trade.Change{}, err
				}
				if err := risk.CheckBuyingPower(risk.Available(bal.BuyingPower, reserved), notional); err != nil {
					return refuse(err, map[string]any{"available": risk.Available(bal.BuyingPower, reserved).String(), "required": notional.String()})
				}
			}
			note := strings.TrimSpace(plan.note + " " + size.Note)
			if c := risk.CombinedNote(t.Symbol, side, combined); c != "" {
				note = strings.TrimSpace(note + " " + c)
			}
			// A retry while the symbol is halted (SPEC edge case 1): every
			// rule above ran and the exposure is reserved again in this
			// transaction, but the trade keeps waiting in market_halted
			// with its message; only a sizing outcome that differs from
			// the one recorded is a change worth an entry (DESIGN §8 Halts).
			halted := trade.Status(tr.Status) == trade.StatusHalted
			if halted && sameSizing(*tr, side, size.Quantity, conn.ID, note) {
				if err := holdReservation(tx, tr.ID, notional); err != nil {
					return trade.Change{}, err
				}
				tr.ReservedNotional = notional
				return trade.Change{}, trade.ErrNoChange
			}
			previous := tr.Quantity
			if !halted {
				tr.Status = string(trade.StatusPending)
				tr.ErrorMessage = ""
			}
			tr.Side = string(side)
			tr.Quantity = size.Quantity
			tr.BrokerConnectionID, tr.Broker = conn.ID, conn.BrokerType
			tr.ReservedNotional = notional
			tr.SizingNote = note
			tr.ReversalEntry = plan.reverse
			msg := fmt.Sprintf("Risk check passed: %s %s %s at %s (equity %s).", side, size.Quantity.String(), t.Symbol, risk.FormatPrice(price), risk.FormatUSD(bal.Equity))
			if note != "" {
				msg = note
			}
			details := map[string]any{
				"quantity": size.Quantity.String(), "requestedQuantity": tr.RequestedQuantity.String(), "price": price.String(),
				"notional": size.Notional.String(), "reduced": size.Reduced, "connectionId": conn.ID, "recheck": in.Recheck,
				"combinedWith": combined, "positionQuantity": positionQty.String(), "exposedQuantity": sizePos.String(),
			}
			if halted {
				msg = haltedResizeMessage(t.Symbol, side, previous, size.Quantity, price, bal.Equity, note)
				details["previousQuantity"] = previous.String()
			}
			return trade.Change{Action: audit.ActionTradeSized, Message: msg, Event: realtime.EventTradeUpdated, Details: details}, nil
		})
		if err != nil {
			return res, err
		}
		if stale {
			if attempt >= maxEpochRetries {
				return res, errAccountBusy
			}
			if err := epochBackoff(ctx, attempt); err != nil {
				return res, err
			}
			continue
		}
		if rejection != "" {
			return workflows.PrepareResult{Rejected: true, Code: code, Message: rejection, Broker: conn.BrokerType, ConnectionID: conn.ID}, nil
		}
		if reducing {
			// The position's working stop holds the shares an exit sells:
			// lift it; PlaceStopLoss protects what remains after the fill.
			if err := a.liftStopForExit(ctx, b, conn.BrokerType, conn.ID, t, side); err != nil {
				return res, err
			}
		}
		res.Quantity = size.Quantity
		res.Message = size.Note
		return res, nil // res.MarketOpen is true here
	}
}

// intent works out side, quantity and quantity type from the signal's action
// and the current position; a non-empty noop says why there is nothing to do.
func intent(sig signal.Signal, position decimal.Decimal) (signal.Side, decimal.Decimal, signal.QuantityType, string) {
	side, qty, qt := sig.Side, sig.Quantity, sig.QuantityType
	switch sig.Action {
	case signal.ActionExit:
		if position.IsZero() {
			return side, qty, qt, fmt.Sprintf("No open %s position to exit.", sig.Symbol)
		}
		side = signal.SideSell
		if position.IsNegative() {
			side = signal.SideBuy
		}
		return side, position.Abs(), signal.QtyFixed, ""
	case signal.ActionAdd:
		if position.IsNegative() {
			side = signal.SideSell
		} else if position.IsPositive() {
			side = signal.SideBuy
		}
	case signal.ActionCancel:
		// Only TradeWorkflows started before versionCancelSignal bring a
		// cancel signal here; newer ones cancel the open orders in the
		// symbol without PrepareOrder (activities.Cancels).
		return side, qty, qt, trade.CancelSignalNotExecutedMessage(sig.Symbol)
	}
	if sig.Sentiment == "flat" {
		// Close only: never open the opposite side.
		closes := (side == signal.SideSell && position.IsPositive()) || (side == signal.SideBuy && position.IsNegative())
		if !closes {
			return side, qty, qt, fmt.Sprintf("Flat signal for %s: no position to close.", sig.Symbol)
		}
		if qt == signal.QtyFixed && qty.IsPositive() && qty.LessThan(position.Abs()) {
			return side, qty, qt, ""
		}
		return side, position.Abs(), signal.QtyFixed, ""
	}
	return side, qty, qt, ""
}

// against reports whether an order on side goes against the position
// (closes or flips it) rather than opening or adding.
func against(side signal.Side, position decimal.Decimal) bool {
	return (side == signal.SideSell && position.IsPositive()) || (side == signal.SideBuy && position.IsNegative())
}

func reducesPosition(side signal.Side, position, qty decimal.Decimal) bool {
	if side == signal.SideSell {
		return position.IsPositive() && qty.LessThanOrEqual(position)
	}
	return position.IsNegative() && qty.LessThanOrEqual(position.Abs())
}

// reservedByOthers sums the exposure other in-flight trades of the user
// hold. A market_halted trade holds one only between its re-check and the
// broker's answer (it waits with none), so it is counted like a pending one.
func reservedByOthers(tx *gorm.DB, userID, tradeID string) (decimal.Decimal, error) {
	var rows []schema.Trade
	if err := tx.Select("reserved_notional").
		Where("user_id = ? AND id <> ? AND status IN ?", userID, tradeID,
			[]string{string(trade.StatusPending), string(trade.StatusHalted), string(trade.StatusSubmitted)}).
		Find(&rows).Error; err != nil {
		return decimal.Zero, err
	}
	sum := decimal.Zero
	for _, r := range rows {
		sum = sum.Add(r.ReservedNotional)
	}
	return sum, nil
}
