package paper

import (
	"errors"

	"github.com/shopspring/decimal"
)

// quotes caches feed prices for one pass over an account (or over all
// accounts in a MatchAll), so every decision in the pass sees one price per
// symbol and a retried store update repeats the same decisions. Not safe for
// concurrent use.
type quotes struct {
	feed PriceFeed
	m    map[string]quote
}

type quote struct {
	price decimal.Decimal
	err   error
}

var errNonPositivePrice = errors.New("feed returned a price that is not positive")

func newQuotes(feed PriceFeed) *quotes {
	return &quotes{feed: feed, m: map[string]quote{}}
}

// price returns the feed's price of a canonical symbol.
func (q *quotes) price(symbol string) (decimal.Decimal, error) {
	if c, ok := q.m[symbol]; ok {
		return c.price, c.err
	}
	p, err := q.feed.Price(symbol)
	if err == nil && !p.IsPositive() {
		err = errNonPositivePrice
	}
	q.m[symbol] = quote{price: p, err: err}
	return p, err
}

// mark is the price to value symbol at: the feed's price, or fallback when
// the feed has none.
func (q *quotes) mark(symbol string, fallback decimal.Decimal) decimal.Decimal {
	if p, err := q.price(symbol); err == nil {
		return p
	}
	return fallback
}
