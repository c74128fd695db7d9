package signal

import (
	"errors"
	"strconv"

	"github.com/shopspring/decimal"
)

// Free-form layout (ParseFreeform): the way signal providers post in their
// channels, e.g.
//
//	BTC/USDT LONG
//	Entry: 42000
//	SL: 41000
//	TP1: 43000
//	TP2: 44500
//
// A message is a set of clauses in any order, separated by spaces, line
// breaks or punctuation; words are case-insensitive.
//
//	symbol   exactly one: cashtag $TSLA, pair BTC/USDT, BTCUSDT, BINANCE:BTCUSDT, ticker AAPL (NormalizeSymbol)
//	side     LONG | BUY, or SHORT | SELL; required unless the message closes
//	close    CLOSE | EXIT: close the position (with LONG/SHORT: only that side, never open the other)
//	entry    (ENTRY [PRICE|ZONE|AT] | @) value
//	         value = price           a limit order at the price
//	               | price - price   a zone ("42000-42500", "42000 to 42500"): a limit order at the
//	                                 zone's top for a long, its bottom for a short, so it fills inside
//	                                 the zone or better
//	               | MARKET | NOW | CMP
//	         no entry: a market order
//	stoploss (SL | STOP [LOSS] | STOPLOSS | STOP-LOSS) [PRICE] (price | percent)
//	targets  (TP | TARGET | TARGETS | TAKE PROFIT) value {value}    several targets in one clause
//	         | TPn | TARGETn | (TP|TARGET) n:  value                  numbered, TP1 first, no gaps
//	         value = (price | percent) ["(" percent ")"]             the optional share of the position
//	size     (SIZE | QTY | QUANTITY | AMOUNT) (quantity [SHARES|UNITS|COINS] | $dollars | percent of equity)
//	price    [$] digits [. digits], thousands may be grouped "42,000"; percent = number "%"
//
// Several targets split the position: each target closes its share (given
// in parentheses, summing to 100%, or equal shares), see Freeform.Legs.
// Tokens made only of punctuation or emoji, and the words SIGNAL, NEW,
// TRADE, SETUP, ALERT, SPOT, PAIR, COIN are decoration.
//
// Nothing is guessed. A message with two symbols, both sides, no side, a
// clause given twice, leverage or futures, a stop-loss on the wrong side of
// the entry or a target, targets out of order, or any word outside this
// layout is refused with the reason. A message with neither a side, nor
// CLOSE, nor any clause keyword is chatter: ErrNoSignal.

// ErrNoSignal is returned by ParseFreeform for a message that does not try
// to be a signal (no side, no CLOSE, no entry/stop-loss/target keyword):
// chatter in a signal channel, which the bot ignores silently.
var ErrNoSignal = errors.New("signal: the message is not a signal")

// maxTargets bounds the take-profit targets of one message.
const maxTargets = 10

// Freeform is a parsed free-form message.
type Freeform struct {
	// Signal is the whole position. With exactly one target its
	// TakeProfitPrice/TakeProfitPercent is set; with several it carries no
	// take-profit (each leg has its own).
	Signal Signal
	// Targets are the take-profit targets in order; nil with fewer than two.
	Targets []Target
	// Entries are the distinct entry prices of a multi-entry signal
	// ("Entry: 42000 - 41500 - 41000", "Buy 100-200": Cornix reads a dash
	// list as several entries), in the order the market reaches them: highest
	// first for a long, lowest first for a short. Signal.LimitPrice is
	// Entries[0]. Nil with fewer than two. The trader's entry strategy
	// (even / decreasing / increasing) sizes the ladder.
	Entries []decimal.Decimal
	// Zone says Entries are the two edges of an entry zone ("Entry zone:
	// 100-200", "Buy Zone: ..."): Cornix places the entry orders inside the
	// range by the entry strategy. Signal.LimitPrice is the edge reached
	// first (the zone's top for a long, its bottom for a short), so a single
	// order fills inside the zone or better.
	Zone bool
}

// Target is one take-profit target of a split position.
type Target struct {
	Price   decimal.Decimal // exactly one of Price and Percent is set
	Percent decimal.Decimal // distance from the entry fill, in the trade's favour
	// Share is the percent of the position closed at this target; the
	// shares of a message sum to 100.
	Share decimal.Decimal
}

// Leg is one order of a channel signal: the whole position, or one target's
// share of it. Key tells legs of one message apart ("" for a single leg,
// "tp1", "tp2", ...); it is part of each follower's signal ExternalID.
type Leg struct {
	Key    string          `json:"key"`
	Signal Signal          `json:"signal"`
	Share  decimal.Decimal `json:"share"` // percent of the position, 100 for a single leg
}

// SingleLeg wraps a signal that is not split.
func SingleLeg(s Signal) []Leg {
	return []Leg{{Signal: s, Share: hundred}}
}

// Legs splits the message into its orders: one per target with that
// target's take-profit and share, or the whole signal as one leg. The
// quantity of each leg is still the whole position's; sizing applies Share.
func (f Freeform) Legs() []Leg {
	if len(f.Targets) < 2 {
		return SingleLeg(f.Signal)
	}
	legs := make([]Leg, len(f.Targets))
	for i, t := range f.Targets {
		s := f.Signal
		s.TakeProfitPrice, s.TakeProfitPercent = t.Price, t.Percent
		legs[i] = Leg{Key: "tp" + strconv.Itoa(i+1), Signal: s, Share: t.Share}
	}
	return legs
}

// freeformFields maps Validate's field names to the words of the layout.
var freeformFields = map[string]string{
	"limitPrice":        "entry",
	"stopLoss":          "sl",
	"stopLossPrice":     "sl",
	"stopLossPercent":   "sl",
	"takeProfit":        "tp",
	"takeProfitPrice":   "tp",
	"takeProfitPercent": "tp",
	"quantity":          "size",
	"text":              "message",
}

// ParseFreeform parses a message in the free-form layout. The caller sets
// ExternalID (the Discord message id). Errors are *ParseError, or
// ErrNoSignal for chatter.
func ParseFreeform(text string) (Freeform, error) {
	f, pe := parseFreeform(text)
	if pe != nil {
		if pe == errNoSignalMarker {
			return Freeform{}, ErrNoSignal
		}
		return Freeform{}, pe
	}
	return f, nil
}
