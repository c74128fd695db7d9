package paper

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Decimals kept for average prices (a division).
const avgPriceDecimals = 10

// advance brings an account up to now: rolls the day, expires and matches
// working orders and prunes old finished orders. It reports whether the
// state changed. Given the same state, time and quotes it makes the same
// changes, so it can be probed on a copy and repeated inside a store update.
func (e *Engine) advance(st *AccountState, now time.Time, q *quotes) bool {
	changed := e.rollDay(st, now, q)
	if e.matchOrders(st, now, q) {
		changed = true
	}
	if e.prune(st, now) {
		changed = true
	}
	if changed {
		st.UpdatedAt = now
	}
	return changed
}

// rollDay snapshots equity as DayStartEquity on the first access of a new
// UTC day.
func (e *Engine) rollDay(st *AccountState, now time.Time, q *quotes) bool {
	today := dayOf(now)
	if today <= st.Day { // never roll back on a lagging clock
		return false
	}
	st.DayStartEquity = equity(st, q)
	st.Day = today
	return true
}

// prune drops finished orders older than the retention period.
func (e *Engine) prune(st *AccountState, now time.Time) bool {
	cutoff := now.Add(-e.retention)
	kept := st.Orders[:0]
	for _, o := range st.Orders {
		if o.Status.Terminal() && o.UpdatedAt.Before(cutoff) {
			continue
		}
		kept = append(kept, o)
	}
	changed := len(kept) != len(st.Orders)
	clear(st.Orders[len(kept):])
	st.Orders = kept
	return changed
}

// pass is the context of one matching pass over one account.
type pass struct {
	now      time.Time
	q        *quotes
	sessions map[bool]bool              // extended → stock market open
	budget   map[string]decimal.Decimal // symbol → liquidity left in this pass
	halted   map[string]bool            // symbols halted for this pass (nil: none)
}

// matchOrders runs one matching pass over the account's working orders, in
// submission order.
func (e *Engine) matchOrders(st *AccountState, now time.Time, q *quotes) bool {
	p := &pass{now: now, q: q, sessions: map[bool]bool{}, budget: map[string]decimal.Decimal{}, halted: e.haltedSet()}
	changed := false
	for i := range st.Orders {
		if st.Orders[i].Status.Terminal() {
			continue
		}
		if e.matchOrder(st, &st.Orders[i], p) {
			changed = true
			ocoCancel(st, &st.Orders[i])
		}
	}
	return changed
}

func (e *Engine) sessionOpen(p *pass, extended bool) bool {
	open, ok := p.sessions[extended]
	if !ok {
		open, _, _ = e.calendar.Status(p.now, signal.AssetStock, extended)
		p.sessions[extended] = open
	}
	return open
}

// matchOrder expires, triggers and fills one working order as far as the
// current price, liquidity, position and buying power allow.
func (e *Engine) matchOrder(st *AccountState, o *OrderState, p *pass) bool {
	if !o.ExpiresAt.IsZero() && !p.now.Before(o.ExpiresAt) {
		finish(o, broker.StatusExpired, p.now, "")
		return true
	}
	if o.AssetClass == signal.AssetStock && !e.sessionOpen(p, o.ExtendedHours) {
		return false
	}
	if p.halted[o.Symbol] {
		return false // no executions while trading is halted
	}
	price, err := p.q.price(o.Symbol)
	if err != nil {
		return false
	}
	changed := e.fill(st, o, price, p)
	switch {
	case o.Status.Terminal():
	case o.TimeInForce == broker.TIFIOC:
		finish(o, broker.StatusCancelled, p.now, "immediate-or-cancel remainder cancelled")
		changed = true
	case o.TimeInForce == broker.TIFFOK:
		finish(o, broker.StatusCancelled, p.now, "fill-or-kill: not fillable in full at once")
		changed = true
	}
	return changed
}

// fill is matchOrder at a known price.
func (e *Engine) fill(st *AccountState, o *OrderState, price decimal.Decimal, p *pass) bool {
	changed := false
	if o.Type == signal.OrderTrailingStop && trail(o, price) {
		o.UpdatedAt = p.now
		changed = true
	}
	if o.isStopType() && !o.Triggered {
		if !stopCrossed(o, price) {
			return changed
		}
		o.Triggered = true
		o.UpdatedAt = p.now
		changed = true
	}
	if o.hasLimit() && !limitCrossed(o, price) {
		return changed
	}

	fillPrice := price
	if !o.hasLimit() && e.slippage.IsPositive() {
		if o.Side == signal.SideBuy {
			fillPrice = toTick(price.Mul(one.Add(e.slippage)), o.AssetClass, roundUp)
		} else {
			fillPrice = toTick(price.Mul(one.Sub(e.slippage)), o.AssetClass, roundDown)
		}
	}

	qty := o.Remaining()
	liquidity, capped := e.liquidityCap(o.Symbol)
	if capped {
		if left, seen := p.budget[o.Symbol]; seen {
			liquidity = left
		}
		qty = decimal.Min(qty, liquidity)
	}
	held := st.Positions[o.Symbol].Quantity
	if o.ReduceOnly {
		closable := held
		if o.Side == signal.SideBuy {
			closable = held.Neg()
		}
		if !closable.IsPositive() {
			finish(o, broker.StatusCancelled, p.now, "position already closed")
			return true
		}
		qty = decimal.Min(qty, closable)
	}
	if !qty.IsPositive() {
		return changed // no liquidity left in this pass
	}
	if o.TimeInForce == broker.TIFFOK && qty.LessThan(o.Remaining()) {
		finish(o, broker.StatusCancelled, p.now, "fill-or-kill: not fillable in full at once")
		return true
	}
	if !o.ReduceOnly {
		need := e.fillRequirement(o, held, qty, fillPrice)
		if avail := e.buyingPower(st, p.q, o.ID); need.GreaterThan(avail) {
			finish(o, broker.StatusCancelled, p.now, "insufficient buying power at fill: "+
				usd(decimal.Max(avail, decimal.Zero))+" available, "+usd(need)+" required")
			return true
		}
	}

	applyFill(st, o, qty, fillPrice, p.now)
	if capped {
		p.budget[o.Symbol] = liquidity.Sub(qty)
	}
	return true
}

// fillRequirement is the buying power a fill of an opening order consumes,
// given the position it meets: the cost of the part that opens or adds to a
// long, half the value of the part that opens or adds to a short.
func (e *Engine) fillRequirement(o *OrderState, held, qty, price decimal.Decimal) decimal.Decimal {
	if o.Side == signal.SideBuy {
		covers := decimal.Min(qty, decimal.Max(held.Neg(), decimal.Zero))
		return qty.Sub(covers).Mul(price)
	}
	closes := decimal.Min(qty, decimal.Max(held, decimal.Zero))
	return qty.Sub(closes).Mul(price).Mul(shortOrderMargin)
}

// trail moves a trailing stop's watermark and trigger level with the price;
// it reports whether they moved.
func trail(o *OrderState, price decimal.Decimal) bool {
	frac := o.TrailPercent.Div(hundred)
	if o.Side == signal.SideSell {
		if !o.Watermark.IsZero() && !price.GreaterThan(o.Watermark) {
			return false
		}
		o.Watermark = price
		o.StopPrice = toTick(price.Mul(one.Sub(frac)), o.AssetClass, roundNearest)
		return true
	}
	if !o.Watermark.IsZero() && !price.LessThan(o.Watermark) {
		return false
	}
	o.Watermark = price
	o.StopPrice = toTick(price.Mul(one.Add(frac)), o.AssetClass, roundNearest)
	return true
}

// stopCrossed: a sell stop triggers at or below its stop price, a buy stop
// at or above.
func stopCrossed(o *OrderState, price decimal.Decimal) bool {
	if o.Side == signal.SideSell {
		return price.LessThanOrEqual(o.StopPrice)
	}
	return price.GreaterThanOrEqual(o.StopPrice)
}

// limitCrossed: a buy limit fills at or below its limit, a sell limit at or
// above; the fill is at the current price, i.e. the limit or better.
func limitCrossed(o *OrderState, price decimal.Decimal) bool {
	if o.Side == signal.SideBuy {
		return price.LessThanOrEqual(o.LimitPrice)
	}
	return price.GreaterThanOrEqual(o.LimitPrice)
}

// applyFill books a fill of qty at price: cash, position and order.
func applyFill(st *AccountState, o *OrderState, qty, price decimal.Decimal, now time.Time) {
	value := qty.Mul(price)
	delta := qty
	if o.Side == signal.SideBuy {
		st.Cash = st.Cash.Sub(value)
	} else {
		st.Cash = st.Cash.Add(value)
		delta = qty.Neg()
	}

	pos, ok := st.Positions[o.Symbol]
	if !ok {
		pos = PositionState{Symbol: o.Symbol, AssetClass: o.AssetClass, Quantity: decimal.Zero, AvgEntryPrice: decimal.Zero}
	}
	old := pos.Quantity
	next := old.Add(delta)
	switch {
	case old.IsZero() || old.Sign() == delta.Sign(): // open or add
		cost := old.Abs().Mul(pos.AvgEntryPrice).Add(value)
		pos.AvgEntryPrice = cost.DivRound(next.Abs(), avgPriceDecimals)
	case next.Sign() == -old.Sign(): // through flat to the other side
		pos.AvgEntryPrice = price
	}
	pos.Quantity = next
	pos.LastPrice = price
	if next.IsZero() {
		delete(st.Positions, o.Symbol)
	} else {
		st.Positions[o.Symbol] = pos
	}

	filled := o.FilledQuantity.Add(qty)
	o.AvgFillPrice = o.AvgFillPrice.Mul(o.FilledQuantity).Add(value).DivRound(filled, avgPriceDecimals)
	o.FilledQuantity = filled
	o.UpdatedAt = now
	if filled.Equal(o.Quantity) {
		o.Status = broker.StatusFilled
	} else {
		o.Status = broker.StatusPartiallyFilled
	}
}

// finish ends an order.
func finish(o *OrderState, status broker.OrderStatus, now time.Time, reason string) {
	o.Status = status
	o.RejectReason = reason
	o.UpdatedAt = now
}
