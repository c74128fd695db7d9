package risk

import "github.com/shopspring/decimal"

// Entry strategies: how a ladder of entry prices (a multi-entry signal,
// "Entry: 100 - 98 - 96") shares the position among its limit orders. The
// first entry is the one the market reaches first (nearest the market).
const (
	EntryStrategyEven       = "even"       // equal shares
	EntryStrategyDecreasing = "decreasing" // weights N..1: the first entry largest
	EntryStrategyIncreasing = "increasing" // weights 1..N: the last entry largest
)

// ValidEntryStrategy reports whether s is a known entry strategy.
func ValidEntryStrategy(s string) bool {
	return s == EntryStrategyEven || s == EntryStrategyDecreasing || s == EntryStrategyIncreasing
}

// sharePlaces are the decimal places of an entry share (percent).
const sharePlaces = 4

// EntryShares is the percent of the position each of n entries takes under
// the strategy (an unknown or empty strategy is even): weights 1 each
// (even), n..1 (decreasing) or 1..n (increasing), each share the weight's
// fraction of 100 truncated to 4 places, the remainder of the rounding
// added to the first entry so the shares always sum to exactly 100. Nil
// for n < 1.
func EntryShares(strategy string, n int) []decimal.Decimal {
	if n < 1 {
		return nil
	}
	weights := make([]int64, n)
	var total int64
	for i := range weights {
		switch strategy {
		case EntryStrategyDecreasing:
			weights[i] = int64(n - i)
		case EntryStrategyIncreasing:
			weights[i] = int64(i + 1)
		default:
			weights[i] = 1
		}
		total += weights[i]
	}
	out := make([]decimal.Decimal, n)
	sum := decimal.Zero
	for i, w := range weights {
		out[i] = hundred.Mul(decimal.NewFromInt(w)).Div(decimal.NewFromInt(total)).Truncate(sharePlaces)
		sum = sum.Add(out[i])
	}
	out[0] = out[0].Add(hundred.Sub(sum))
	return out
}
