package risk

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// ConcurrentWindow is how close in time two signals for the same symbol
// must arrive to be handled together (SPEC edge case 6).
const ConcurrentWindow = 5 * time.Second

// RecentOrder is another order of the same trader in the same symbol that
// has passed its risk check (pending, at the broker or filled), with the
// time between its signal and the new one.
type RecentOrder struct {
	Side signal.Side
	Gap  time.Duration // absolute difference of the two signals' arrival times
}

// CheckConcurrent applies SPEC edge case 6 to a new order for symbol on
// side: another order in the same symbol whose signal arrived less than
// ConcurrentWindow apart is combined with it when it has the same side and
// conflicts when it has the other. A conflict is a *Rejection with
// CodeConflictingSignal; otherwise combined counts the same-side orders in
// the window (0 when there are none).
//
// Combining does not delay or merge broker orders: the first signal is
// executed at once, and every later one in the window is sized as an
// addition to the earlier ones (their quantities count toward the max
// position rule, see ExposedPosition) and says so in its sizing note.
func CheckConcurrent(symbol string, side signal.Side, recent []RecentOrder) (combined int, err error) {
	for _, r := range recent {
		if r.Gap < 0 {
			r.Gap = -r.Gap
		}
		if r.Gap >= ConcurrentWindow {
			continue
		}
		if r.Side != side {
			return 0, reject(CodeConflictingSignal, msgConflictingSignal(symbol, r.Side, side))
		}
		combined++
	}
	return combined, nil
}

// CombinedNote is the sizing note of an order combined with n earlier
// same-side orders in the window; "" when n is 0.
func CombinedNote(symbol string, side signal.Side, n int) string {
	if n <= 0 {
		return ""
	}
	return msgCombined(symbol, side, n)
}

// PendingOrder is an order of the trader in the symbol that may still add
// to the position: risk-checked but not yet at the broker, or at the
// broker and not finished. Quantity is what it may still add.
type PendingOrder struct {
	Side     signal.Side
	Quantity decimal.Decimal
}

// ExposedPosition is the position the max-position rule must assume for a
// new order on side: the broker's position plus every pending order on the
// same side (buys add to it, sells take from it). Pending orders on the
// other side are ignored: they may still fail, and counting them would let
// the new order exceed the limit when they do. A pending order that has
// already filled at the broker is counted twice for a moment, which only
// errs on the safe side.
func ExposedPosition(side signal.Side, position decimal.Decimal, pending []PendingOrder) decimal.Decimal {
	out := position
	for _, p := range pending {
		if p.Side != side || !p.Quantity.IsPositive() {
			continue
		}
		if side == signal.SideBuy {
			out = out.Add(p.Quantity)
		} else {
			out = out.Sub(p.Quantity)
		}
	}
	return out
}
