package risk

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// A take-profit ladder (DESIGN §8 Take-profit): a signal with targets
// TP1..TPn closes its filled position in n legs, each its share of the
// position at its target. The rules here split the position; the
// activities arm, watch and record the legs.

// LadderRequest is what SplitLadder needs.
type LadderRequest struct {
	Side    signal.Side     // the entry's side
	Fill    decimal.Decimal // the entry's fill price (percent targets are measured from it)
	Filled  decimal.Decimal // the filled position to close (> 0)
	Targets []signal.Target // in the signal's order; shares all zero means equal
	// Step is the broker's quantity increment for the symbol; Min its
	// smallest order quantity (zero: one step).
	Step decimal.Decimal
	Min  decimal.Decimal
}

// LadderLeg is one leg of a split position.
type LadderLeg struct {
	N        int             `json:"n"`      // 1-based: TP1, TP2, ...
	Target   decimal.Decimal `json:"target"` // the price that triggers the leg's exit
	Share    decimal.Decimal `json:"share"`  // percent of the position the signal asked for
	Quantity decimal.Decimal `json:"quantity"`
	// MergedInto is the leg that takes this leg's quantity (it would have
	// fallen below the broker's minimum order); 0 when the leg trades.
	MergedInto int `json:"mergedInto,omitempty"`
}

// Merged reports whether the leg was merged into a neighbour.
func (l LadderLeg) Merged() bool { return l.MergedInto != 0 }

var errLadderShares = errors.New("the target shares must all be given and sum to 100%, or all be left out (equal shares)")

// Shares are the percent of the position each target closes: as given
// (they must sum to 100), or equal when none is given (the last target
// takes the rounding remainder so they sum to exactly 100).
func Shares(targets []signal.Target) ([]decimal.Decimal, error) {
	n := len(targets)
	out := make([]decimal.Decimal, n)
	given := 0
	sum := decimal.Zero
	for i, t := range targets {
		if t.Share.IsPositive() {
			given++
			out[i] = t.Share
			sum = sum.Add(t.Share)
		} else if t.Share.IsNegative() {
			return nil, errLadderShares
		}
	}
	switch {
	case given == n && sum.Equal(hundred):
		return out, nil
	case given == 0 && n > 0:
		each := hundred.Div(decimal.NewFromInt(int64(n))).Truncate(8)
		rest := hundred
		for i := range out {
			out[i] = each
			if i == n-1 {
				out[i] = rest
			}
			rest = rest.Sub(each)
		}
		return out, nil
	}
	return nil, errLadderShares
}

// LadderTargetPrice is one target's price: given, or its percent from the
// fill in the trade's favour.
func LadderTargetPrice(t signal.Target, side signal.Side, fill decimal.Decimal) decimal.Decimal {
	return TakeProfitTarget(signal.Signal{TakeProfitPrice: t.Price, TakeProfitPercent: t.Percent}, side, fill)
}

// SplitLadder splits the filled position into its legs:
//
//  1. each leg's quantity is its share of the position in whole broker
//     steps, rounded down, and the steps left over go one each to the legs
//     that lost the most to the rounding (the earlier leg on a tie, within
//     a millionth of a step), so the
//     legs always sum to the position (a remainder below one step, which a
//     broker's own fill never leaves, goes to the last leg);
//  2. a leg below the broker's minimum order (or empty) is merged into its
//     neighbour — the leg before it, or the next one for the first leg —
//     which exits its quantity at the neighbour's target; repeated until
//     every leg that trades is at least the minimum or only one is left.
func SplitLadder(req LadderRequest) ([]LadderLeg, error) {
	if len(req.Targets) < 2 {
		return nil, fmt.Errorf("a ladder needs at least two targets, got %d", len(req.Targets))
	}
	if !req.Filled.IsPositive() {
		return nil, errors.New("nothing filled to split")
	}
	shares, err := Shares(req.Targets)
	if err != nil {
		return nil, err
	}
	step := req.Step
	if !step.IsPositive() {
		return nil, errors.New("the broker's quantity step must be positive")
	}
	units := req.Filled.Div(step).Floor()
	residual := req.Filled.Sub(units.Mul(step))
	legs := make([]LadderLeg, len(req.Targets))
	whole := make([]decimal.Decimal, len(legs))
	frac := make([]decimal.Decimal, len(legs))
	given := decimal.Zero
	equal := !req.Targets[0].Share.IsPositive()
	for i, t := range req.Targets {
		ideal := units.Mul(shares[i]).Div(hundred)
		if equal { // exactly units/n each, so a tie is a tie
			ideal = units.Div(decimal.NewFromInt(int64(len(legs))))
		}
		whole[i] = ideal.Floor()
		frac[i] = ideal.Sub(whole[i])
		given = given.Add(whole[i])
		legs[i] = LadderLeg{N: i + 1, Target: LadderTargetPrice(t, req.Side, req.Fill), Share: shares[i]}
	}
	for left := units.Sub(given); left.IsPositive(); left = left.Sub(decimal.NewFromInt(1)) {
		best := 0
		for i := range frac {
			if frac[i].Sub(frac[best]).GreaterThan(remainderTie) {
				best = i
			}
		}
		whole[best] = whole[best].Add(decimal.NewFromInt(1))
		frac[best] = decimal.NewFromInt(-1)
	}
	for i := range legs {
		legs[i].Quantity = whole[i].Mul(step)
	}
	legs[len(legs)-1].Quantity = legs[len(legs)-1].Quantity.Add(residual)

	minQty := decimal.Max(req.Min, step)
	for {
		active := activeLegs(legs)
		if len(active) < 2 {
			break
		}
		small := -1
		for pos, i := range active {
			if legs[i].Quantity.LessThan(minQty) {
				small = pos
				break
			}
		}
		if small < 0 {
			break
		}
		into := active[0]
		if small > 0 {
			into = active[small-1]
		} else {
			into = active[1]
		}
		from := active[small]
		legs[into].Quantity = legs[into].Quantity.Add(legs[from].Quantity)
		legs[from].Quantity = decimal.Zero
		legs[from].MergedInto = legs[into].N
		for i := range legs { // legs merged into the one merged now follow it
			if legs[i].MergedInto == legs[from].N {
				legs[i].MergedInto = legs[into].N
			}
		}
	}
	return legs, nil
}

// remainderTie: rounding remainders closer than this (in steps) are a tie,
// won by the earlier leg — equal shares written out (33.33333333 ×2 and
// 33.33333334) round like equal shares.
var remainderTie = decimal.New(1, -6)

func activeLegs(legs []LadderLeg) []int {
	var out []int
	for i, l := range legs {
		if !l.Merged() {
			out = append(out, i)
		}
	}
	return out
}

// LadderSplitNote is the timeline line of a split: each leg with its
// target and quantity, and which legs were merged and why.
func LadderSplitNote(legs []LadderLeg, symbol, units string, minQty decimal.Decimal) string {
	parts := make([]string, 0, len(legs))
	var merged []string
	for _, l := range legs {
		if l.Merged() {
			merged = append(merged, fmt.Sprintf("TP%d merged into TP%d (its share would be below the broker's minimum order of %s %s)",
				l.N, l.MergedInto, minQty.String(), units))
			continue
		}
		parts = append(parts, fmt.Sprintf("TP%d %s %s at %s", l.N, l.Quantity.String(), units, FormatPrice(l.Target)))
	}
	msg := fmt.Sprintf("Take-profit ladder armed for %s: %s.", symbol, strings.Join(parts, ", "))
	if len(merged) > 0 {
		msg += " " + strings.Join(merged, "; ") + "."
	}
	return msg + " The stop-loss stays on what is left until each leg is reached."
}

// Stop moves after a ladder leg fills (the trader's setting, overridable
// per channel subscription).
const (
	LadderStopNone      = "none"
	LadderStopBreakeven = "breakeven" // after TP1: the stop moves to the entry (plus an offset)
	LadderStopTrail     = "trail"     // after TPk: the stop trails the price
)

// ValidLadderStop reports whether mode is a known stop move.
func ValidLadderStop(mode string) bool {
	return mode == LadderStopNone || mode == LadderStopBreakeven || mode == LadderStopTrail
}

// LadderStopPlan is the stop move of one ladder.
type LadderStopPlan struct {
	Mode       string
	OffsetPct  decimal.Decimal // breakeven: percent beyond the entry, in the trade's favour
	TrailAfter int             // trail: after this target (k of TPk)
	TrailPct   decimal.Decimal // trail: distance in percent
}

// StopMoveLeg is the leg whose fill moves the stop: TP1 for breakeven, TPk
// for trailing — or the leg that took its quantity when it was merged. 0
// when nothing moves: no move asked, or that leg is the last one to trade
// (nothing is left to protect after it).
func (p LadderStopPlan) StopMoveLeg(legs []LadderLeg) int {
	var k int
	switch p.Mode {
	case LadderStopBreakeven:
		k = 1
	case LadderStopTrail:
		k = p.TrailAfter
	default:
		return 0
	}
	if k < 1 || k > len(legs) {
		return 0
	}
	n := k
	if m := legs[k-1].MergedInto; m != 0 {
		n = m
	}
	active := activeLegs(legs)
	if len(active) == 0 || legs[active[len(active)-1]].N == n {
		return 0
	}
	return n
}

// BreakevenPrice is the stop after TP1: the entry's fill price moved by
// offsetPct in the trade's favour (above for a long, below for a short),
// on the asset's tick toward the entry.
func BreakevenPrice(side signal.Side, class signal.AssetClass, fill, offsetPct decimal.Decimal) decimal.Decimal {
	move := fill.Mul(offsetPct).Div(hundred)
	tick := decimal.New(1, -2)
	if class == signal.AssetStock {
		tick = StockTick(fill)
	}
	if class == signal.AssetCrypto {
		tick = decimal.New(1, -8)
	}
	if side == signal.SideSell {
		return fill.Sub(move).Div(tick).Ceil().Mul(tick)
	}
	return fill.Add(move).Div(tick).Floor().Mul(tick)
}

// validLadderSettings checks a trader's ladder stop settings.
func validLadderSettings(s Settings, check func(ok bool, field, msg string)) {
	check(s.LadderStop == "" || ValidLadderStop(s.LadderStop), "ladderStop", msgLadderStop)
	check(!s.BreakevenOffsetPct.IsNegative() && s.BreakevenOffsetPct.LessThan(hundred), "breakevenOffsetPct", msgBreakevenOffset)
	if s.LadderStop != LadderStopTrail && s.TrailAfterTarget == 0 && s.LadderTrailPct.IsZero() {
		return // not used, not set
	}
	check(s.TrailAfterTarget >= 1 && s.TrailAfterTarget <= 9, "trailAfterTarget", msgTrailAfterTarget)
	check(inRange(s.LadderTrailPct, false), "ladderTrailPct", msgLadderTrailPct)
}
