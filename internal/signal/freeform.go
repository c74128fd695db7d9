package signal

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Free-form layout (ParseFreeform): the way signal providers post in their
// channels (Discord, Telegram, Cornix-style), e.g.
//
//	BTC/USDT LONG                    #BTC/USDT                 AAPL buy 100 shares @ 190.50 stop loss 185
//	Entry: 42000                     Buy Zone: 42000 - 42500   Short $SPY 450 SL 455 TP 440
//	SL: 41000                        Sell Targets: 43000 - 44000 - 45000
//	TP1: 43000                       Stop: 41000
//	TP2: 44500
//
// A message is a set of clauses in any order, separated by spaces, line
// breaks or punctuation; words are case-insensitive. The vocabulary follows
// Cornix's published rules (help.cornix.io, "Signal Posting") where they
// say what a form means; where Cornix guesses (it sorts unordered targets,
// makes a short out of "Buy 100 Sell 90") this parser refuses.
//
//	symbol   exactly one: cashtag $TSLA, pair BTC/USDT, #BTC/USDT, BTCUSDT, BINANCE:BTCUSDT,
//	         ticker AAPL (NormalizeSymbol)
//	side     LONG | BUY, or SHORT | SELL, anywhere ("$AMD swing long"). Without a side word the
//	         prices tell it when they leave no doubt: a stop-loss price below every entry is a
//	         long, above every entry a short; without a stop-loss price, targets all above
//	         (long) or all below (short) the entries. Else refused.
//	close    CLOSE | EXIT: close the position (with LONG/SHORT: only that side, never open the other)
//	entry    (ENTRY | ENTRIES | ENTER | LIMIT | BUY | SELL | @ | AT) [PRICE|POINTS|TARGETS|AT] value
//	         value = price                      a limit order at the price
//	               | price (-|to|,|/|n)) price...  several entries (Cornix: "100-200" is TWO
//	                                            entries): Freeform.Entries, highest first for a
//	                                            long, lowest first for a short; the limit price
//	                                            is the first
//	               | (ZONE|RANGE|AREA) price - price  a zone (Cornix "Entry Zone"): Freeform.Entries
//	                                            are its edges, Zone is true, the limit price is the
//	                                            edge reached first (top for a long, bottom for a short)
//	               | ABOVE price | BELOW price   Cornix: above for a long / below for a short is a
//	                                            breakout, a stop order at the price; below for a
//	                                            long / above for a short is a limit order there
//	               | MARKET | NOW | CMP | MKT | CURRENT [MARKET] PRICE    a market order
//	         a price right after the symbol or the side ("Short $SPY 450", "Buy 42000") is the
//	         entry only when a stop-loss or target price confirms it; no entry: a market order
//	stoploss (SL | S/L | STOP [LOSS|TARGETS|PRICE|AT] | STOPLOSS | STOP-LOSS) (price | percent)
//	targets  (TP | TPS | TARGET(S) | TAKE PROFIT | TAKE-PROFIT [TARGETS] | PROFIT TARGETS
//	         | SELL TARGETS | SELL in a buy signal) value {value}    several targets in one clause
//	         | TPn | TARGETn | (TP|TARGET|TAKE PROFIT) n:  value      numbered, TP1 first, no gaps
//	         value = (price | percent) ["(" percent ")"]             the optional share of the position
//	size     (SIZE | QTY | QUANTITY | AMOUNT) (quantity [SHARES|UNITS|COINS] | $dollars | percent of equity)
//	         | quantity (SHARES | UNITS | the symbol)   "100 shares", "0.5 BTC", "buy 50 AAPL"
//	         | BUY|SELL quantity (@|AT) price          "buy 500 @ 8"
//	price    [$] digits [. digits], thousands may be grouped "42,000"; percent = number "%"
//	list     "1)", "1.", "1️⃣" before a value of a list are item numbers
//
// Several targets split the position: each target closes its share (given
// in parentheses, summing to 100%, or equal shares), see Freeform.Legs.
// Tokens made only of punctuation or emoji, and the words SIGNAL, NEW,
// TRADE, SETUP, ALERT, SPOT, PAIR, COIN, SWING, SCALP, DAYTRADE, INTRADAY,
// IDEA, NFA, DYOR, VIP, ORDER, TYPE, REGULAR are decoration; BREAKOUT
// needs an ABOVE/BELOW entry.
//
// Nothing is guessed. A message with two symbols, both sides, no side the
// prices can tell, a clause given twice, leverage or futures, options or
// futures contracts, a stop-loss on the wrong side of the entry or a
// target, targets out of order, or any word outside this layout is refused
// with the reason. Chatter is ErrNoSignal: a message with neither a side,
// nor CLOSE, nor any clause keyword, or one that does not parse and reads
// as a comment (results, questions, negations: freeform_chatter.go).

// ErrNoSignal is returned by ParseFreeform for a message that does not try
// to be a signal (no side, no CLOSE, no entry/stop-loss/target keyword):
// chatter in a signal channel, which the bot ignores silently.
var ErrNoSignal = errors.New("signal: the message is not a signal")

// maxTargets bounds the take-profit targets of one message.
const maxTargets = 10

// Freeform is a parsed free-form message.
type Freeform struct {
	// Signal is the whole position. With exactly one target its
	// TakeProfitPrice/TakeProfitPercent is set; with several, Legs gives
	// it the ladder (TakeProfitTargets).
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
	Price   decimal.Decimal `json:"price"`   // exactly one of Price and Percent is set
	Percent decimal.Decimal `json:"percent"` // distance from the entry fill, in the trade's favour
	// Share is the percent of the position closed at this target; the
	// shares of a message sum to 100 (zero for all: equal shares).
	Share decimal.Decimal `json:"share"`
}

// Leg is one order of a channel signal: the whole position, or one target's
// share of it. Key tells legs of one message apart ("" for a single leg,
// "tp1", "tp2", ...); it is part of each follower's signal ExternalID.
type Leg struct {
	Key    string          `json:"key"`
	Signal Signal          `json:"signal"`
	Share  decimal.Decimal `json:"share"` // percent of the position, 100 for a single leg
	// Entry is the leg's place (1..Entries) in a ladder of limit entries
	// (Key "e1".."eN"); 0 for a leg that is not one. Each follower's entry
	// strategy replaces Share at the fan-out (risk.EntryShares).
	Entry   int `json:"entry,omitempty"`
	Entries int `json:"entries,omitempty"`
}

// SingleLeg wraps a signal that is not split.
func SingleLeg(s Signal) []Leg {
	return []Leg{{Signal: s, Share: hundred}}
}

// Legs are the message's orders: the whole position, with its targets as
// a take-profit ladder (TakeProfitTargets) when it has several — one entry
// whose filled position is closed leg by leg (DESIGN §8). Several entry
// prices that are not a zone make a ladder of limit entries: one leg per
// price in Entries' order (Key "e1".."eN", Entry 1..N), each with the
// message's stop-loss and take-profit (or take-profit ladder), sharing the
// position evenly here; each follower's entry strategy re-shares it at the
// fan-out. Split signals (one entry per target, Key "tp1", "tp2", ...) are
// no longer made; fan-outs recorded with them still run.
func (f Freeform) Legs() []Leg {
	s := f.Signal
	if len(f.Targets) >= 2 {
		s.TakeProfitTargets = append([]Target(nil), f.Targets...)
	}
	if len(f.Entries) < 2 || f.Zone {
		return SingleLeg(s)
	}
	n := len(f.Entries)
	legs := make([]Leg, n)
	even := hundred.Div(decimal.NewFromInt(int64(n))).Truncate(4)
	for i, price := range f.Entries {
		ls := s
		ls.OrderType, ls.LimitPrice, ls.StopPrice = OrderLimit, price, decimal.Zero
		ls.TakeProfitTargets = append([]Target(nil), s.TakeProfitTargets...)
		legs[i] = Leg{Key: fmt.Sprintf("e%d", i+1), Signal: ls, Share: even, Entry: i + 1, Entries: n}
	}
	legs[0].Share = hundred.Sub(even.Mul(decimal.NewFromInt(int64(n - 1))))
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
	"takeProfitTargets": "tp",
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
