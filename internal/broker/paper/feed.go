package paper

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// PriceFeed supplies the current price of a canonical symbol ("AAPL",
// "BTC-USD"). Implementations must be safe for concurrent use. A symbol the
// feed does not know yields an error wrapping ErrUnknownSymbol; any other
// error is treated as the feed being temporarily unavailable.
type PriceFeed interface {
	Price(symbol string) (decimal.Decimal, error)
}

// ErrUnknownSymbol is wrapped by feeds for a symbol they have no price for.
var ErrUnknownSymbol = errors.New("unknown symbol")

func unknownSymbol(symbol string) error {
	return fmt.Errorf("%w %s", ErrUnknownSymbol, symbol)
}

func feedKey(symbol string) string { return strings.ToUpper(strings.TrimSpace(symbol)) }

// StaticFeed is a settable price table, the deterministic feed of tests: a
// test moves the market with Set. Safe for concurrent use.
type StaticFeed struct {
	mu     sync.RWMutex
	prices map[string]decimal.Decimal
}

// NewStaticFeed returns a feed holding a copy of prices (may be nil).
func NewStaticFeed(prices map[string]decimal.Decimal) *StaticFeed {
	f := &StaticFeed{prices: make(map[string]decimal.Decimal, len(prices))}
	for s, p := range prices {
		f.prices[feedKey(s)] = p
	}
	return f
}

// Set sets the current price of symbol. A price that is not positive
// removes the symbol, making it unknown again.
func (f *StaticFeed) Set(symbol string, price decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !price.IsPositive() {
		delete(f.prices, feedKey(symbol))
		return
	}
	f.prices[feedKey(symbol)] = price
}

// Price returns the price last set for symbol.
func (f *StaticFeed) Price(symbol string) (decimal.Decimal, error) {
	key := feedKey(symbol)
	f.mu.RLock()
	p, ok := f.prices[key]
	f.mu.RUnlock()
	if !ok {
		return decimal.Decimal{}, unknownSymbol(key)
	}
	return p, nil
}
