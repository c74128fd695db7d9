// Package copytrade holds the rules of copy trading (issue 17, SPEC US-011):
// who may see a leader's profile, how a leader's fill is sized for a
// follower (proportional to equity, fixed multiplier, fixed amount, capped
// by the follower's max position and the broker's minimum), how a leader's
// exit closes a follower's copied position, and when the copy loss limit
// pauses copying. Pure functions over decimals; no I/O.
package copytrade

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Visibility of a leader's profile.
type Visibility string

const (
	Public    Visibility = "public"    // everyone; listed in search and leaderboards
	Followers Visibility = "followers" // the leader's followers only
	Private   Visibility = "private"   // nobody but the leader
)

// ValidVisibility reports whether v is one of the three visibilities.
func ValidVisibility(v string) bool {
	switch Visibility(v) {
	case Public, Followers, Private:
		return true
	}
	return false
}

// Profile is what the visibility rules need of a leader.
type Profile struct {
	LeaderID   string
	AllowCopy  bool
	Visibility Visibility
}

// Viewer is who asks.
type Viewer struct {
	UserID string
	// Follows: the viewer is an approved follower of the leader (follow
	// active or paused; a pending request does not count).
	Follows bool
}

// ErrProfilePrivate is the answer to a viewer who may not see a profile;
// its text is what the dashboard shows ("Profile Private").
var ErrProfilePrivate = errors.New("Profile Private")

// CanView reports whether v may see p's profile and statistics — the one
// rule of the copy API and the leaderboards (issue 17 gap 7): the leader
// always; nobody else unless the leader allows copy trading (opting in is
// what makes a profile visible at all); then everyone when public, the
// leader's approved followers when followers-only, nobody when private.
func CanView(p Profile, v Viewer) bool {
	if v.UserID != "" && v.UserID == p.LeaderID {
		return true
	}
	if !p.AllowCopy {
		return false
	}
	switch p.Visibility {
	case Public:
		return true
	case Followers:
		return v.Follows
	}
	return false
}

// Listed reports whether p appears in search results and leaderboards:
// only public leaders who allow copying.
func Listed(p Profile) bool {
	return p.AllowCopy && p.Visibility == Public
}

// CanFollow says why v cannot start following p ("" when they can): the
// leader must allow copying, and a private profile cannot be found to be
// followed; a followers-only leader can be asked by whoever knows the
// profile link — the request waits for the leader's approval
// (InitialStatus).
func CanFollow(p Profile, followerID string) string {
	switch {
	case followerID == p.LeaderID:
		return "You cannot copy yourself."
	case !p.AllowCopy || p.Visibility == Private:
		return "This trader does not allow copy trading."
	}
	return ""
}

// Mode is a follower's sizing mode.
type Mode string

const (
	Proportional Mode = "proportional" // leader fill value ÷ leader equity × follower equity
	Multiplier   Mode = "multiplier"   // leader quantity × Multiplier
	FixedAmount  Mode = "fixed_amount" // every entry worth FixedAmount
)

// ValidMode reports whether m is a sizing mode.
func ValidMode(m string) bool {
	switch Mode(m) {
	case Proportional, Multiplier, FixedAmount:
		return true
	}
	return false
}

// Sizing is a follower's settings for one leader.
type Sizing struct {
	Mode        Mode
	Multiplier  decimal.Decimal
	FixedAmount decimal.Decimal
	// MaxPosition caps the value of the copied position in the symbol
	// (copied + this order, at the fill price); zero means no cap.
	MaxPosition decimal.Decimal
}

// Rules are the broker's quantity constraints: Step the increment (1
// share for stocks), Min the smallest order (zero: one Step).
type Rules struct {
	Step decimal.Decimal
	Min  decimal.Decimal
}

// Entry is a leader's entry (or add) fill and the follower's situation.
type Entry struct {
	Symbol         string
	Units          string          // "shares" or "units", for messages
	Quantity       decimal.Decimal // the leader's filled quantity
	Price          decimal.Decimal // the leader's fill price
	LeaderEquity   decimal.Decimal
	FollowerEquity decimal.Decimal
	// Copied is the quantity the follower already holds from this leader in
	// the symbol (absolute).
	Copied decimal.Decimal
}

// SkipError is a copy that is not sent, with the reason the follower is
// shown.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return e.Reason }

// AsSkip returns the SkipError in err.
func AsSkip(err error) (*SkipError, bool) {
	var s *SkipError
	ok := errors.As(err, &s)
	return s, ok
}

func skipf(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

// EntryQuantity sizes a follower's copy of a leader's entry:
//
//   - proportional: Quantity × Price ÷ LeaderEquity × FollowerEquity ÷ Price
//     (the same share of equity; SPEC US-011 #2: 5% of $10,000 = $500 → 1
//     share at $500);
//   - multiplier: Quantity × Multiplier;
//   - fixed_amount: FixedAmount ÷ Price;
//
// then capped so the copied position stays within MaxPosition and rounded
// down to the broker's step. A size below the broker's minimum is a
// *SkipError saying so (never a silent zero).
func EntryQuantity(s Sizing, e Entry, r Rules) (decimal.Decimal, error) {
	if !e.Quantity.IsPositive() || !e.Price.IsPositive() {
		return decimal.Zero, skipf("The leader's fill has no quantity or price.")
	}
	step := r.Step
	if !step.IsPositive() {
		step = decimal.NewFromInt(1)
	}
	minQty := decimal.Max(r.Min, step)
	units := e.Units
	if units == "" {
		units = "shares"
	}
	var want decimal.Decimal
	switch s.Mode {
	case Proportional:
		if !e.LeaderEquity.IsPositive() {
			return decimal.Zero, skipf("The leader's account value is not known yet, so a proportional size cannot be computed.")
		}
		if !e.FollowerEquity.IsPositive() {
			return decimal.Zero, skipf("Your account value is not known yet (no balance synced from your broker), so a proportional size cannot be computed.")
		}
		value := e.Quantity.Mul(e.Price).Mul(e.FollowerEquity).Div(e.LeaderEquity)
		want = value.Div(e.Price)
	case Multiplier:
		if !s.Multiplier.IsPositive() {
			return decimal.Zero, skipf("Your multiplier must be greater than zero.")
		}
		want = e.Quantity.Mul(s.Multiplier)
	case FixedAmount:
		if !s.FixedAmount.IsPositive() {
			return decimal.Zero, skipf("Your fixed amount must be greater than zero.")
		}
		want = s.FixedAmount.Div(e.Price)
	default:
		return decimal.Zero, skipf("Unknown sizing mode %q.", s.Mode)
	}
	capped := false
	if s.MaxPosition.IsPositive() {
		room := s.MaxPosition.Div(e.Price).Sub(e.Copied.Abs())
		if room.LessThan(want) {
			want, capped = decimal.Max(room, decimal.Zero), true
		}
	}
	qty := floorStep(want, step)
	if qty.LessThan(minQty) {
		if capped {
			return decimal.Zero, skipf("Copy of %s skipped: your max position of %s is reached (%s %s copied at %s).",
				e.Symbol, risk.FormatUSD(s.MaxPosition), e.Copied.Abs().String(), units, risk.FormatPrice(e.Price))
		}
		return decimal.Zero, skipf("Copy of %s skipped: your size is %s %s, below the broker's minimum order of %s %s.",
			e.Symbol, trim(want), units, minQty.String(), units)
	}
	return qty, nil
}

// ExitFraction is the share of the leader's position an exit of qty
// closes: qty ÷ |position before|, at most 1; 1 when the position is not
// known (closing everything copied is the safe reading).
func ExitFraction(positionBefore, qty decimal.Decimal) decimal.Decimal {
	before := positionBefore.Abs()
	if !before.IsPositive() || qty.GreaterThanOrEqual(before) {
		return decimal.NewFromInt(1)
	}
	return qty.Div(before)
}

// ExitQuantity is the follower's share of a leader's exit: the copied
// quantity × fraction, rounded down to the step; a full exit (fraction 1)
// closes all of it. A share below the broker's minimum is a *SkipError
// (the copied position stays open; the next exit takes it).
func ExitQuantity(symbol, units string, copied, fraction decimal.Decimal, r Rules) (decimal.Decimal, error) {
	held := copied.Abs()
	if !held.IsPositive() {
		return decimal.Zero, skipf("Exit of %s not copied: you hold no copied position in it.", symbol)
	}
	if fraction.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return held, nil
	}
	step := r.Step
	if !step.IsPositive() {
		step = decimal.NewFromInt(1)
	}
	minQty := decimal.Max(r.Min, step)
	qty := floorStep(held.Mul(fraction), step)
	if qty.LessThan(minQty) {
		if units == "" {
			units = "shares"
		}
		return decimal.Zero, skipf("Partial exit of %s not copied: your share is %s of %s %s, below the broker's minimum order of %s %s; your copied position stays open.",
			symbol, trim(held.Mul(fraction)), held.String(), units, minQty.String(), units)
	}
	return qty, nil
}

// Position is a follower's copied position in one symbol.
type Position struct {
	Quantity    decimal.Decimal // signed
	AvgPrice    decimal.Decimal
	RealizedPnL decimal.Decimal
	LastPrice   decimal.Decimal // zero: AvgPrice
}

// Loss is the copy P&L of the positions, realized + unrealized (negative
// is a loss).
func Loss(ps []Position) decimal.Decimal {
	total := decimal.Zero
	for _, p := range ps {
		total = total.Add(p.RealizedPnL)
		last := p.LastPrice
		if !last.IsPositive() {
			last = p.AvgPrice
		}
		total = total.Add(last.Sub(p.AvgPrice).Mul(p.Quantity))
	}
	return total
}

// PauseThreshold is the share of the loss limit at which copying pauses
// (SPEC US-011 #4: a -$1,000 limit trips at -$500, "Loss limit approaching").
var PauseThreshold = decimal.NewFromFloat(0.5)

// LossLimitReached reports whether pnl reaches the pause point of limit
// (a positive amount; zero means no limit) and the message the follower is
// sent.
func LossLimitReached(pnl, limit decimal.Decimal, leader string) (bool, string) {
	if !limit.IsPositive() {
		return false, ""
	}
	at := limit.Mul(PauseThreshold)
	if pnl.Neg().LessThan(at) {
		return false, ""
	}
	return true, msgLossLimitApproaching(leader, pnl, limit)
}

// Apply updates a copied position with a fill of the follower's copy
// (signed qty: positive buys) at price: adding keeps a weighted average,
// reducing realizes P&L against the average.
func Apply(p Position, qty, price decimal.Decimal) Position {
	p.LastPrice = price
	if qty.IsZero() {
		return p
	}
	same := p.Quantity.IsZero() || p.Quantity.Sign() == qty.Sign()
	if same {
		total := p.Quantity.Add(qty)
		p.AvgPrice = p.AvgPrice.Mul(p.Quantity.Abs()).Add(price.Mul(qty.Abs())).Div(total.Abs())
		p.Quantity = total
		return p
	}
	closing := decimal.Min(qty.Abs(), p.Quantity.Abs())
	dir := decimal.NewFromInt(int64(p.Quantity.Sign()))
	p.RealizedPnL = p.RealizedPnL.Add(price.Sub(p.AvgPrice).Mul(closing).Mul(dir))
	rest := qty.Abs().Sub(closing)
	p.Quantity = p.Quantity.Sub(closing.Mul(dir))
	if rest.IsPositive() {
		// Beyond the copied position: the rest opens the other way.
		p.Quantity = rest.Mul(decimal.NewFromInt(int64(qty.Sign())))
		p.AvgPrice = price
	} else if p.Quantity.IsZero() {
		p.AvgPrice = decimal.Zero
	}
	return p
}

// FlipOpen is the part of a leader's exit fill beyond the leader's
// position before it — the opening of the other side when the fill flips
// the position (long 10, sell 15: 5 short); zero for any other fill.
func FlipOpen(kind string, positionBefore, qty decimal.Decimal) decimal.Decimal {
	switch kind {
	case KindEntry, KindAdd:
		return decimal.Zero
	}
	if positionBefore.IsZero() || !qty.GreaterThan(positionBefore.Abs()) {
		return decimal.Zero
	}
	return qty.Sub(positionBefore.Abs())
}

// ConflictExempt reports whether sig is a follower's copy of a leader's
// exit (close only): the 5-second conflicting-signal rule (SPEC edge case
// 6) never refuses it — the leader's exit really happened, and refusing
// its copy would leave the follower holding what the leader sold.
func ConflictExempt(sig signal.Signal) bool {
	return sig.Source == signal.SourceCopy && sig.Sentiment == signal.SentimentFlat
}

// InitialStatus is the status of a follow request: a followers-only
// leader's new follower waits for the leader's approval (SPEC US-011 #5
// "approved followers"); an approved follow keeps its standing when its
// settings change; a public leader's follower starts at once.
func InitialStatus(p Profile, existing string) string {
	switch existing {
	case StatusActive, StatusPaused:
		return StatusActive
	}
	if p.Visibility == Followers {
		return StatusPending
	}
	return StatusActive
}

func floorStep(v, step decimal.Decimal) decimal.Decimal {
	if !v.IsPositive() {
		return decimal.Zero
	}
	n := v.Div(step).Floor()
	if n.Add(decimal.NewFromInt(1)).Mul(step).LessThanOrEqual(v) {
		n = n.Add(decimal.NewFromInt(1))
	}
	places := int32(0)
	if e := step.Exponent(); e < 0 {
		places = -e
	}
	return n.Mul(step).Truncate(places)
}

// trim shows a computed size with at most 4 decimals.
func trim(d decimal.Decimal) string {
	s := d.Truncate(4).String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
