package sources

import (
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Sizing modes of a subscription.
const (
	// SizingMultiplier scales the provider's size: 0.5 trades half of it.
	SizingMultiplier = "multiplier"
	// SizingFixedAmount makes every entry worth a fixed dollar amount,
	// whatever size the provider posts.
	SizingFixedAmount = "fixed_amount"
)

var (
	maxMultiplier  = decimal.NewFromInt(100)
	maxFixedAmount = decimal.NewFromInt(1_000_000_000)
	hundred        = decimal.NewFromInt(100)
	one            = decimal.NewFromInt(1)
)

// Sizing is how a follower sizes their copy of a source's signals.
type Sizing struct {
	Mode        string          `json:"mode"`
	Multiplier  decimal.Decimal `json:"multiplier"`  // SizingMultiplier: > 0, at most 100
	FixedAmount decimal.Decimal `json:"fixedAmount"` // SizingFixedAmount: dollars, > 0
}

// DefaultSizing copies the provider's size as is.
func DefaultSizing() Sizing { return Sizing{Mode: SizingMultiplier, Multiplier: one} }

// Validate checks the sizing; errors are *Error naming the field.
func (s Sizing) Validate() error {
	switch s.Mode {
	case SizingMultiplier:
		if !s.Multiplier.IsPositive() || s.Multiplier.GreaterThan(maxMultiplier) {
			return invalid("multiplier", "Multiplier must be greater than 0 and at most 100.")
		}
		if s.Multiplier.Exponent() < -4 {
			return invalid("multiplier", "Multiplier may have at most 4 decimal places.")
		}
	case SizingFixedAmount:
		if !s.FixedAmount.IsPositive() || s.FixedAmount.GreaterThan(maxFixedAmount) {
			return invalid("fixedAmount", "Fixed amount must be greater than $0 and at most $1,000,000,000.")
		}
		if s.FixedAmount.Exponent() < -2 {
			return invalid("fixedAmount", "Fixed amount may have at most 2 decimal places (cents).")
		}
	default:
		return invalid("mode", "Sizing must be multiplier or fixed_amount.")
	}
	return nil
}

// Normalized keeps only the field the mode uses (the other is zero).
func (s Sizing) Normalized() Sizing {
	switch s.Mode {
	case SizingMultiplier:
		return Sizing{Mode: s.Mode, Multiplier: s.Multiplier}
	case SizingFixedAmount:
		return Sizing{Mode: s.Mode, FixedAmount: s.FixedAmount}
	}
	return s
}

// Decimal places kept when a size is scaled: crypto quantities and
// percentages to 8, dollar amounts to cents. Risk sizing later rounds the
// quantity down to what the broker trades (whole shares for stocks).
const (
	qtyPlaces    = 8
	dollarPlaces = 2
)

// FollowerSignal is one follower's copy of one leg of a source's signal:
//
//   - Closing signals (exit, cancel, close-only "flat", percent of
//     position) are copied as they are: each follower closes their own
//     position, whatever its size.
//   - fixed_amount: the leg is a dollar_amount order of FixedAmount × the
//     leg's share.
//   - multiplier m: fixed quantity q → q·m; dollar amount d → d·m; percent
//     of equity p → p·m (at most 100); no size from the provider (the
//     trader's risk rules decide) → the trader's max-position percentage
//     × m (at most 100), or still "default" when m = 1 and the leg is the
//     whole position. Each then × the leg's share.
//
// Shadow routes the copy to the follower's paper account. The error is a
// *Error when the size rounds to zero.
func FollowerSignal(leg signal.Leg, sz Sizing, maxPositionPct decimal.Decimal, shadow bool) (signal.Signal, error) {
	s := leg.Signal
	if shadow {
		s.Broker = "paper"
	}
	if closing(s) {
		return s, s.Validate()
	}
	share := leg.Share
	if !share.IsPositive() || share.GreaterThan(hundred) {
		share = hundred
	}
	part := func(d decimal.Decimal) decimal.Decimal { return d.Mul(share).Div(hundred) }
	whole := share.Equal(hundred)

	switch sz.Mode {
	case SizingFixedAmount:
		s.QuantityType = signal.QtyDollarAmount
		s.Quantity = part(sz.FixedAmount).Truncate(dollarPlaces)
	default:
		m := sz.Multiplier
		if !m.IsPositive() {
			m = one
		}
		switch s.QuantityType {
		case signal.QtyFixed:
			s.Quantity = part(s.Quantity.Mul(m)).Truncate(qtyPlaces)
		case signal.QtyDollarAmount:
			s.Quantity = part(s.Quantity.Mul(m)).Truncate(dollarPlaces)
		case signal.QtyPercentOfEquity:
			s.Quantity = part(decimal.Min(s.Quantity.Mul(m), hundred)).Truncate(qtyPlaces)
		case signal.QtyDefault:
			if m.Equal(one) && whole {
				break
			}
			s.QuantityType = signal.QtyPercentOfEquity
			s.Quantity = part(decimal.Min(maxPositionPct.Mul(m), hundred)).Truncate(qtyPlaces)
		}
	}
	if s.QuantityType != signal.QtyDefault && !s.Quantity.IsPositive() {
		return signal.Signal{}, &Error{Code: CodeInvalid, Field: "size", Message: "Your sizing makes this signal's order size zero."}
	}
	if err := s.Validate(); err != nil {
		return signal.Signal{}, err
	}
	return s, nil
}

// closing reports whether a signal only closes positions (never sized by
// the follower's subscription).
func closing(s signal.Signal) bool {
	return s.Action == signal.ActionExit || s.Action == signal.ActionCancel || s.Sentiment == signal.SentimentFlat ||
		s.QuantityType == signal.QtyPercentOfPosition
}
