// Package symbols holds what the crypto adapters share about trading pairs:
// parsing canonical symbols ("BTC-USD"), each exchange's precision rules for a
// pair (quantity step, price tick, minimum quantity and order value) with the
// normalisation that keeps an order from being rejected for precision, and a
// TTL cache that fetches those rules once per hour per pair.
package symbols

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Rules are one exchange's order constraints for one pair, as published by
// the exchange (Binance exchangeInfo filters, Kraken AssetPairs, Coinbase
// products). A zero field means the exchange sets no such constraint.
type Rules struct {
	Symbol      string          // canonical symbol, "BTC-USD"
	BaseStep    decimal.Decimal // quantity increment (lot size / base_increment)
	TickSize    decimal.Decimal // price increment
	MinQty      decimal.Decimal // smallest order quantity in the base asset
	MinNotional decimal.Decimal // smallest order value (quantity x price) in the quote asset
}

// NormalizeQty rounds q down to a whole number of BaseStep. Rounding down
// never buys or sells more than the trader asked for.
func (r Rules) NormalizeQty(q decimal.Decimal) decimal.Decimal {
	return floorToStep(q, r.BaseStep)
}

// NormalizePrice rounds p to a whole number of TickSize in the direction that
// is never worse for the trader: down for a buy (a buy limit never pays more
// than asked; a buy stop triggers no later than asked) and up for a sell (a
// sell limit never receives less than asked; a sell stop-loss triggers no
// later than asked). A zero price stays zero (unset).
func (r Rules) NormalizePrice(p decimal.Decimal, side signal.Side) decimal.Decimal {
	if p.IsZero() || r.TickSize.Sign() <= 0 {
		return p
	}
	if side == signal.SideSell {
		return ceilToStep(p, r.TickSize)
	}
	return floorToStep(p, r.TickSize)
}

// Check validates an already normalised order against the minimums. price is
// the limit price, or the current price for a market order; a zero price skips
// the order-value check. The error is a *broker.Error of KindInvalidOrder with
// a message a trader understands.
func (r Rules) Check(brokerName string, qty, price decimal.Decimal) error {
	if qty.Sign() <= 0 {
		if r.BaseStep.Sign() > 0 {
			return broker.NewError(brokerName, broker.KindInvalidOrder,
				fmt.Sprintf("quantity is smaller than the smallest step %s for %s", r.BaseStep.String(), r.Symbol), nil)
		}
		return broker.NewError(brokerName, broker.KindInvalidOrder, "quantity must be greater than zero", nil)
	}
	if r.MinQty.Sign() > 0 && qty.LessThan(r.MinQty) {
		return broker.NewError(brokerName, broker.KindInvalidOrder,
			fmt.Sprintf("quantity %s is below the exchange minimum %s for %s", qty.String(), r.MinQty.String(), r.Symbol), nil)
	}
	if r.MinNotional.Sign() > 0 && price.Sign() > 0 {
		value := qty.Mul(price)
		if value.LessThan(r.MinNotional) {
			return broker.NewError(brokerName, broker.KindInvalidOrder,
				fmt.Sprintf("order value %s is below the exchange minimum %s for %s",
					value.StringFixedBank(2), r.MinNotional.String(), r.Symbol), nil)
		}
	}
	return nil
}

func floorToStep(v, step decimal.Decimal) decimal.Decimal {
	if step.Sign() <= 0 {
		return v
	}
	n := v.Div(step).Floor()
	// Div rounds to DivisionPrecision digits, which can land a hair below an
	// exact multiple; the product check keeps exact multiples exact.
	if n.Add(decimal.NewFromInt(1)).Mul(step).LessThanOrEqual(v) {
		n = n.Add(decimal.NewFromInt(1))
	}
	return n.Mul(step).Truncate(places(step))
}

func ceilToStep(v, step decimal.Decimal) decimal.Decimal {
	f := floorToStep(v, step)
	if f.Equal(v) {
		return f
	}
	return f.Add(step).Truncate(places(step))
}

// places is the number of decimals a multiple of step needs.
func places(step decimal.Decimal) int32 {
	if e := step.Exponent(); e < 0 {
		return -e
	}
	return 0
}

// StepFromDecimals is 10^-n: Kraken publishes lot_decimals/pair_decimals
// instead of a step.
func StepFromDecimals(n int32) decimal.Decimal {
	return decimal.New(1, -n)
}
