package risk

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// StopLossPrice is the stop price protecting a filled entry (SPEC FR-007,
// US-006 #2): pct percent below the fill for a long entry (side buy), above
// it for a short entry (side sell). TSLA long @ $250, 2% → $245.
//
// Rounding is toward the fill price, to a multiple of tick: up for a long
// stop, down for a short one. The distance from the fill therefore never
// exceeds pct, so a triggered stop never loses more than the trader's
// setting (slippage aside). Should rounding land on the fill price itself,
// the stop moves one tick away so it cannot trigger immediately. A tick of
// zero means no rounding. Use StockTick for US equities.
//
// pct must be in (0, 100) and fillPrice positive; otherwise a *Rejection with
// CodeInvalidOrder is returned.
func StopLossPrice(side signal.Side, fillPrice, pct, tick decimal.Decimal) (decimal.Decimal, error) {
	dir, err := direction(side)
	if err != nil {
		return decimal.Zero, err
	}
	if !fillPrice.IsPositive() {
		return decimal.Zero, reject(CodeInvalidOrder, msgFillPriceNotPositive())
	}
	if !inRange(pct, false) {
		return decimal.Zero, reject(CodeInvalidOrder, msgStopLossRange)
	}
	if dir > 0 { // long: sell stop below the fill
		stop := fillPrice.Mul(hundred.Sub(pct)).Shift(-2)
		if !tick.IsPositive() {
			return stop, nil
		}
		stop = ceilTo(stop, tick)
		if stop.GreaterThanOrEqual(fillPrice) {
			stop = floorTo(fillPrice, tick)
			if stop.Equal(fillPrice) {
				stop = stop.Sub(tick)
			}
			if !stop.IsPositive() {
				return decimal.Zero, reject(CodeInvalidOrder, msgStopBelowTick(fillPrice, tick))
			}
		}
		return stop, nil
	}
	// short: buy stop above the fill
	stop := fillPrice.Mul(hundred.Add(pct)).Shift(-2)
	if !tick.IsPositive() {
		return stop, nil
	}
	stop = floorTo(stop, tick)
	if stop.LessThanOrEqual(fillPrice) {
		stop = ceilTo(fillPrice, tick)
		if stop.Equal(fillPrice) {
			stop = stop.Add(tick)
		}
	}
	return stop, nil
}

// StockTick is the minimum price increment of a US equity order at price
// (SEC Regulation NMS Rule 612): $0.01 at $1.00 and above, $0.0001 below.
func StockTick(price decimal.Decimal) decimal.Decimal {
	if price.LessThan(decimal.NewFromInt(1)) {
		return decimal.New(1, -4)
	}
	return decimal.New(1, -2)
}

// ceilTo rounds q > 0 up to a multiple of step.
func ceilTo(q, step decimal.Decimal) decimal.Decimal {
	n, rem := q.QuoRem(step, 0)
	if rem.IsPositive() {
		n = n.Add(decimal.NewFromInt(1))
	}
	return n.Mul(step)
}
