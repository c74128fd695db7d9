package paper

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

var (
	// shortInitialMargin is Reg T initial margin on a short sale: 150% of
	// the short market value is held against cash (which includes the
	// sale's proceeds).
	shortInitialMargin = decimal.RequireFromString("1.5")
	// shortOrderMargin is what a new short sale takes from buying power per
	// dollar sold: the 150% requirement less the 100% proceeds.
	shortOrderMargin = decimal.RequireFromString("0.5")
)

// equity is cash plus the market value of every position (negative for
// shorts).
func equity(st *AccountState, q *quotes) decimal.Decimal {
	eq := st.Cash
	for _, p := range st.Positions {
		eq = eq.Add(p.Quantity.Mul(q.mark(p.Symbol, p.LastPrice)))
	}
	return eq
}

// buyingPower is cash less the margin held for short positions and the
// amounts reserved by working opening orders, leaving out the order
// excludeID (empty: none). Longs are bought with cash only.
func (e *Engine) buyingPower(st *AccountState, q *quotes, excludeID string) decimal.Decimal {
	bp := st.Cash
	for _, p := range st.Positions {
		if p.Quantity.IsNegative() {
			held := p.Quantity.Abs().Mul(q.mark(p.Symbol, p.LastPrice)).Mul(shortInitialMargin)
			bp = bp.Sub(held)
		}
	}
	for i := range st.Orders {
		o := &st.Orders[i]
		if o.ID == excludeID {
			continue
		}
		bp = bp.Sub(e.reservation(o, q))
	}
	return bp
}

// reservation is the buying power a working opening order holds: the full
// expected cost of a buy, the margin of a short sale. Reduce-only orders and
// finished orders hold none.
func (e *Engine) reservation(o *OrderState, q *quotes) decimal.Decimal {
	if o.Status.Terminal() || o.ReduceOnly {
		return decimal.Zero
	}
	rem := o.Remaining()
	price := q.mark(o.Symbol, o.RefPrice)
	if o.Side == signal.SideBuy {
		return rem.Mul(e.expectedBuyPrice(o, price))
	}
	return rem.Mul(decimal.Max(price, o.LimitPrice)).Mul(shortOrderMargin)
}

// expectedBuyPrice is the most a buy is expected to pay per unit at the
// current price: its limit, or for stops the higher of trigger and price,
// plus slippage on market-style fills.
func (e *Engine) expectedBuyPrice(o *OrderState, price decimal.Decimal) decimal.Decimal {
	switch o.Type {
	case signal.OrderLimit, signal.OrderStopLimit:
		return o.LimitPrice
	case signal.OrderStop, signal.OrderTrailingStop:
		price = decimal.Max(price, o.StopPrice)
	}
	return price.Mul(one.Add(e.slippage))
}

// committed is how much of the position in symbol working reduce-only
// orders on side already close, leaving out the order excludeID.
func committed(st *AccountState, symbol string, side signal.Side, excludeID string) decimal.Decimal {
	sum := decimal.Zero
	pairs := map[string]decimal.Decimal{} // an exit pair closes its quantity once
	for i := range st.Orders {
		o := &st.Orders[i]
		if o.ID == excludeID || o.Symbol != symbol || o.Side != side || !o.ReduceOnly || o.Status.Terminal() {
			continue
		}
		if o.PairID != "" {
			pairs[o.PairID] = decimal.Max(pairs[o.PairID], o.Remaining())
			continue
		}
		sum = sum.Add(o.Remaining())
	}
	for _, q := range pairs {
		sum = sum.Add(q)
	}
	return sum
}
