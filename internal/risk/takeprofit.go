package risk

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// TakeProfitTarget is a trade's take-profit target: the signal's price, or
// its percentage from the entry's fill price in the trade's favour.
func TakeProfitTarget(sig signal.Signal, side signal.Side, fill decimal.Decimal) decimal.Decimal {
	if sig.TakeProfitPrice.IsPositive() {
		return sig.TakeProfitPrice
	}
	move := fill.Mul(sig.TakeProfitPercent).Div(hundred)
	if side == signal.SideSell {
		return fill.Sub(move)
	}
	return fill.Add(move)
}

// TakeProfitReached reports whether price is at or beyond the target for
// the position's side (a long takes profit above, a short below).
func TakeProfitReached(side signal.Side, price, target decimal.Decimal) bool {
	if side == signal.SideSell {
		return price.LessThanOrEqual(target)
	}
	return price.GreaterThanOrEqual(target)
}
