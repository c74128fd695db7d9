// Package performance keeps each trader's trading performance (SPEC
// FR-049, issue 16 item 5): win rate, realized and unrealized P&L, average
// and largest win and loss, and the maximum drawdown of realized P&L,
// overall, per signal source and per symbol.
//
// It is incremental: every fill increment recorded on a trade
// (activities recordPartial/recordFinal, inside trade.Record's
// transaction) is matched against the trader's open lots of that
// connection and symbol, first in first out, and the running aggregates
// are updated in the same transaction (RecordFill). A read (Read) loads
// the aggregates and the open lots only; it never rescans trades.
//
// All amounts are decimal.Decimal. A partly closed lot's cost share is
// cost × closed / quantity rounded to Scale places and the lot keeps the
// exact rest, so realized P&L over a lot's life is exact.
package performance

import (
	"github.com/shopspring/decimal"
)

// Scale is the number of decimal places amounts are rounded to where a
// division is unavoidable (the columns are numeric(38,18)).
const Scale = 18

// Lot sides.
const (
	Long  = "long"
	Short = "short"
)

// Lot is an open lot: Quantity still open and its entry notional Cost
// (quantity × price paid; for a short, the proceeds of the sale).
type Lot struct {
	ID       int64
	Side     string
	Quantity decimal.Decimal
	Cost     decimal.Decimal
	Source   string
}

// Fill is one fill increment: Side buy or sell, Quantity > 0 and Notional
// (quantity × price) of that increment, Source the trade's signal source.
type Fill struct {
	Side     string
	Quantity decimal.Decimal
	Notional decimal.Decimal
	Source   string
}

// Piece is the realized P&L of closing (part of) lots of one source, and
// the cost basis (entry notional) of what it closed.
type Piece struct {
	Source string
	PnL    decimal.Decimal
	Cost   decimal.Decimal
}

// Outcome of matching a fill: Lots is the input lots after the fill
// (same order and length; Quantity zero for a lot closed in full);
// Opened the new lot for what the fill did not close (nil if none);
// Pieces the realized P&L per source of the lots closed, in FIFO order of
// first appearance; Closed is true when the fill closed anything and PnL
// then is its total realized P&L and Cost the cost basis of what it closed.
type Outcome struct {
	Lots   []Lot
	Opened *Lot
	Pieces []Piece
	Closed bool
	PnL    decimal.Decimal
	Cost   decimal.Decimal
}

// Match applies a fill to the open lots, oldest first. A buy closes short
// lots, a sell long lots; the rest of the fill opens a lot on its own
// side (a sell beyond a long position opens a short). Lots of both sides
// never coexist after Match.
func Match(lots []Lot, f Fill) Outcome {
	out := Outcome{Lots: make([]Lot, len(lots)), PnL: decimal.Zero, Cost: decimal.Zero}
	copy(out.Lots, lots)
	closing := Long
	opens := Short
	if f.Side == "buy" {
		closing, opens = Short, Long
	}
	left, proceedsLeft := f.Quantity, f.Notional
	bySource := map[string]int{}
	for i := range out.Lots {
		l := &out.Lots[i]
		if !left.IsPositive() {
			break
		}
		if l.Side != closing || !l.Quantity.IsPositive() {
			continue
		}
		q := decimal.Min(left, l.Quantity)
		// The lot's cost share and the fill's notional share of q.
		costPart := l.Cost
		if !q.Equal(l.Quantity) {
			costPart = l.Cost.Mul(q).DivRound(l.Quantity, Scale)
		}
		fillPart := proceedsLeft
		if !q.Equal(left) {
			fillPart = proceedsLeft.Mul(q).DivRound(left, Scale)
		}
		pnl := fillPart.Sub(costPart) // long: sold for fillPart, paid costPart
		if closing == Short {
			pnl = costPart.Sub(fillPart) // short: sold for costPart, bought back for fillPart
		}
		l.Quantity, l.Cost = l.Quantity.Sub(q), l.Cost.Sub(costPart)
		left, proceedsLeft = left.Sub(q), proceedsLeft.Sub(fillPart)
		if j, ok := bySource[l.Source]; ok {
			out.Pieces[j].PnL = out.Pieces[j].PnL.Add(pnl)
			out.Pieces[j].Cost = out.Pieces[j].Cost.Add(costPart)
		} else {
			bySource[l.Source] = len(out.Pieces)
			out.Pieces = append(out.Pieces, Piece{Source: l.Source, PnL: pnl, Cost: costPart})
		}
		out.Closed = true
		out.PnL = out.PnL.Add(pnl)
		out.Cost = out.Cost.Add(costPart)
	}
	if left.IsPositive() {
		out.Opened = &Lot{Side: opens, Quantity: left, Cost: proceedsLeft, Source: f.Source}
	}
	return out
}

// Increment is the quantity and notional of a fill increment, from a
// trade's cumulative filled quantity and average price before and after
// (brokers report cumulative figures). The notional is the difference of
// the cumulative notionals, which is exact; should a broker's rounded
// average make it inconsistent (not positive), the increment is priced at
// the new average instead.
func Increment(oldQty, oldAvg, newQty, newAvg decimal.Decimal) (qty, notional decimal.Decimal) {
	qty = newQty.Sub(oldQty)
	if !qty.IsPositive() {
		return decimal.Zero, decimal.Zero
	}
	notional = newQty.Mul(newAvg).Sub(oldQty.Mul(oldAvg))
	if !notional.IsPositive() {
		notional = qty.Mul(newAvg)
	}
	return qty, notional.Round(Scale)
}
