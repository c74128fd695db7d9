package risk

import (
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
)

// ExitPairFacts is what decides whether a trade's take-profit and stop-loss
// go to the broker as ONE native one-cancels-other pair (DESIGN §8
// Take-profit) or the take-profit is emulated server-side next to the
// position's stop.
type ExitPairFacts struct {
	Broker string // display name
	// Native: the broker's adapter implements broker.ExitPairPlacer.
	Native bool
	// LadderLeg: the trade is one leg of a ladder of ≥ 2 targets.
	LadderLeg bool
	// Filled is the trade's filled quantity; Position the broker's
	// position in the symbol on the trade's side (0 when flat or other side).
	Filled, Position decimal.Decimal
	// OtherStop: a stop working for the position that this trade did not
	// place (another trade's shares share the position).
	OtherStop bool
	// Trailing: the stop would be a trailing stop (not a pair leg).
	Trailing bool
}

// ChooseExitPair says whether the pair is native, and why not when it is
// not (the reason goes on the trade's timeline).
func ChooseExitPair(f ExitPairFacts) (native bool, reason string) {
	switch {
	case !f.Native:
		return false, fmt.Sprintf("%s has no one-cancels-other order for a position's exits", f.Broker)
	case f.LadderLeg:
		return false, "the take-profit is one target of a ladder"
	case f.Trailing:
		return false, "the stop-loss is a trailing stop"
	case f.OtherStop || !f.Filled.Equal(f.Position):
		return false, fmt.Sprintf("the position (%s) is not this trade's %s alone", f.Position, f.Filled)
	}
	return true, ""
}

// ladderLeg matches the external id of one leg of a multi-target signal
// (".../tp2").
var ladderLeg = regexp.MustCompile(`/tp[0-9]+$`)

// IsLadderLeg reports whether a signal's external id is one leg of a ladder.
func IsLadderLeg(externalID string) bool { return ladderLeg.MatchString(externalID) }

// ExitPairPlacedMessage is the timeline line of a native pair.
func ExitPairPlacedMessage(broker, symbol string, qty, takeProfit, stop decimal.Decimal) string {
	return fmt.Sprintf("Take-profit %s and stop-loss %s placed at %s as one one-cancels-other order for %s %s: when one fills, %s cancels the other.",
		FormatPrice(takeProfit), FormatPrice(stop), broker, qty, symbol, broker)
}

// ExitPairEmulatedMessage is the timeline line when the take-profit is
// watched server-side instead.
func ExitPairEmulatedMessage(reason string) string {
	return "Take-profit watched by TradeExec next to the stop-loss (no native pair: " + reason + ")."
}
