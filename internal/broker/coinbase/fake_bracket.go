package coinbase

import (
	"github.com/shopspring/decimal"
)

// The fake's trigger_bracket_gtc, written from the Advanced Trade
// create-order reference (order_configuration.trigger_bracket_gtc:
// base_size, limit_price, stop_trigger_price) and the official SDKs'
// order models (order_type "BRACKET", trigger_status STOP_PENDING /
// STOP_TRIGGERED): ONE order exiting a held position — "as soon as a fill
// occurs for the order at one of the specified price levels, the other
// side is automatically disabled" (Advanced Trade order types guide). A SELL bracket rests as a limit
// at limit_price above the market; when the last trade falls to
// stop_trigger_price the stop side triggers and sells at the market
// (Coinbase places it as a stop-limit 5% through the trigger, which a
// liquid book fills at once). The base size is held while it rests.

// bracketProblem checks a bracket's prices: on the tick, the take-profit
// above and the stop trigger below the last trade (for a SELL; a BUY
// bracket mirrors it).
func bracketProblem(side string, price, limit decimal.Decimal, stopText string, tick decimal.Decimal) *fakeReply {
	stop, err := decimal.NewFromString(stopText)
	if err != nil || stop.Sign() <= 0 || !stop.Mod(tick).IsZero() {
		r := refuse("INVALID_STOP_PRICE", "PREVIEW_INVALID_STOP_PRICE", "Invalid stop trigger price")
		return &r
	}
	if (side == "SELL" && (!limit.GreaterThan(price) || !stop.LessThan(price))) ||
		(side == "BUY" && (!limit.LessThan(price) || !stop.GreaterThan(price))) {
		r := refuse("INVALID_LIMIT_PRICE", "PREVIEW_INVALID_LIMIT_PRICE", "Bracket limit and stop trigger prices must be on either side of the last trade price")
		return &r
	}
	return nil
}

// matchBrackets executes the OPEN brackets of a product at its new price
// (f.mu held).
func (f *Fake) matchBrackets(p *cbProduct) {
	price := dec(p.Price)
	for _, a := range f.accounts {
		for _, o := range a.orders {
			c := o.OrderConfiguration.TriggerBracketGTC
			if c == nil || o.Status != "OPEN" || o.ProductID != p.ProductID {
				continue
			}
			limit, stop, size := dec(c.LimitPrice), dec(c.StopTriggerPrice), dec(c.BaseSize)
			sell := o.Side == "SELL"
			switch {
			case (sell && price.GreaterThanOrEqual(limit)) || (!sell && price.LessThanOrEqual(limit)):
				f.fillBracket(a, p, o, size, limit)
			case (sell && price.LessThanOrEqual(stop)) || (!sell && price.GreaterThanOrEqual(stop)):
				o.TriggerStatus = "STOP_TRIGGERED"
				f.fillBracket(a, p, o, size, price)
			}
		}
	}
}

func (f *Fake) fillBracket(a *fakeAccount, p *cbProduct, o *cbOrder, size, at decimal.Decimal) {
	base, quote := p.BaseCurrencyID, p.QuoteCurrencyID
	value := size.Mul(at)
	if o.Side == "SELL" {
		a.hold[base] = a.hold[base].Sub(size)
		a.available[quote] = a.available[quote].Add(value)
	} else {
		a.hold[quote] = a.hold[quote].Sub(size.Mul(dec(o.OrderConfiguration.TriggerBracketGTC.LimitPrice)))
		a.available[base] = a.available[base].Add(size)
	}
	now := f.now().UTC()
	o.Status, o.FilledSize, o.AverageFilledPrice, o.FilledValue, o.NumberOfFills = "FILLED", size.String(), at.String(), value.String(), "1"
	o.CompletionPercentage, o.TotalValueAfterFees, o.Settled, o.OutstandingHoldAmount = "100", value.String(), true, "0"
	o.LastFillTime = &now
}

// FailNextBracket makes the next n trigger_bracket_gtc submissions
// answer 503 (other orders go through).
func (f *Fake) FailNextBracket(n int) { f.mu.Lock(); f.failBracket = n; f.mu.Unlock() }

// BracketCount is how many trigger_bracket_gtc orders the key's account
// created.
func (f *Fake) BracketCount(keyName string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if a := f.accounts[keyName]; a != nil {
		for _, o := range a.orders {
			if o.OrderConfiguration.TriggerBracketGTC != nil {
				n++
			}
		}
	}
	return n
}

// BracketStates lists the key's brackets as "<status>/<trigger_status>".
func (f *Fake) BracketStates(keyName string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	if a := f.accounts[keyName]; a != nil {
		for _, o := range a.orders {
			if o.OrderConfiguration.TriggerBracketGTC != nil {
				out[o.Status+"/"+o.TriggerStatus]++
			}
		}
	}
	return out
}
