package paper

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// StartingPrices are the prices a RandomWalkFeed starts common symbols at.
// Symbols not listed start at the feed's default price.
var StartingPrices = map[string]decimal.Decimal{
	"AAPL":      decimal.RequireFromString("190.00"),
	"MSFT":      decimal.RequireFromString("420.00"),
	"NVDA":      decimal.RequireFromString("120.00"),
	"AMZN":      decimal.RequireFromString("185.00"),
	"GOOGL":     decimal.RequireFromString("170.00"),
	"META":      decimal.RequireFromString("500.00"),
	"TSLA":      decimal.RequireFromString("250.00"),
	"AMD":       decimal.RequireFromString("160.00"),
	"NFLX":      decimal.RequireFromString("650.00"),
	"SPY":       decimal.RequireFromString("550.00"),
	"QQQ":       decimal.RequireFromString("480.00"),
	"IWM":       decimal.RequireFromString("210.00"),
	"BTC-USD":   decimal.RequireFromString("65000.00"),
	"ETH-USD":   decimal.RequireFromString("3500.00"),
	"SOL-USD":   decimal.RequireFromString("150.00"),
	"XRP-USD":   decimal.RequireFromString("0.55"),
	"DOGE-USD":  decimal.RequireFromString("0.15"),
	"ADA-USD":   decimal.RequireFromString("0.45"),
	"LTC-USD":   decimal.RequireFromString("80.00"),
	"AVAX-USD":  decimal.RequireFromString("35.00"),
	"LINK-USD":  decimal.RequireFromString("15.00"),
	"BTC-USDT":  decimal.RequireFromString("65000.00"),
	"ETH-USDT":  decimal.RequireFromString("3500.00"),
	"SOL-USDT":  decimal.RequireFromString("150.00"),
	"DOGE-USDT": decimal.RequireFromString("0.15"),
}

// Random walk defaults.
const (
	defaultWalkVolatility = 0.001 // standard deviation of one step's relative move (0.1%)
	maxWalkSigmas         = 4.0   // steps are clamped to ±4 standard deviations
)

var (
	defaultWalkPrice = decimal.NewFromInt(100)
	minWalkPrice     = decimal.New(1, -6)
)

// RandomWalkFeed is the development price source: every symbol follows a
// seeded geometric random walk, so a given seed and call sequence always
// produce the same prices. Observe pins a symbol to a real last price (for
// example the price carried by a signal); the walk continues from there.
// Safe for concurrent use.
type RandomWalkFeed struct {
	mu         sync.Mutex
	rng        *rand.Rand
	prices     map[string]decimal.Decimal
	start      map[string]decimal.Decimal
	volatility float64
	defPrice   decimal.Decimal
}

// WalkOption configures a RandomWalkFeed.
type WalkOption func(*RandomWalkFeed)

// WalkVolatility sets the standard deviation of one step's relative price
// move (0.001 = 0.1% per Tick). It is a simulation parameter, not a price.
func WalkVolatility(sigma float64) WalkOption {
	return func(f *RandomWalkFeed) {
		if sigma >= 0 {
			f.volatility = sigma
		}
	}
}

// WalkDefaultPrice sets the starting price of symbols missing from the
// starting-price table.
func WalkDefaultPrice(p decimal.Decimal) WalkOption {
	return func(f *RandomWalkFeed) {
		if p.IsPositive() {
			f.defPrice = p
		}
	}
}

// WalkStartPrices adds or overrides starting prices.
func WalkStartPrices(prices map[string]decimal.Decimal) WalkOption {
	return func(f *RandomWalkFeed) {
		for s, p := range prices {
			if p.IsPositive() {
				f.start[feedKey(s)] = p
			}
		}
	}
}

// NewRandomWalkFeed returns a random-walk feed seeded with seed.
func NewRandomWalkFeed(seed uint64, opts ...WalkOption) *RandomWalkFeed {
	f := &RandomWalkFeed{
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), // #nosec G404 -- simulated prices, seeded for reproducibility, not a secret
		prices:     map[string]decimal.Decimal{},
		start:      make(map[string]decimal.Decimal, len(StartingPrices)),
		volatility: defaultWalkVolatility,
		defPrice:   defaultWalkPrice,
	}
	for s, p := range StartingPrices {
		f.start[s] = p
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Price returns the current price of symbol, starting its walk on first use.
func (f *RandomWalkFeed) Price(symbol string) (decimal.Decimal, error) {
	key := feedKey(symbol)
	if key == "" {
		return decimal.Decimal{}, unknownSymbol(symbol)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.prices[key]
	if !ok {
		p, ok = f.start[key]
		if !ok {
			p = f.defPrice
		}
		f.prices[key] = p
	}
	return p, nil
}

// Observe sets symbol's current price to a real observation; non-positive
// prices are ignored.
func (f *RandomWalkFeed) Observe(symbol string, price decimal.Decimal) {
	key := feedKey(symbol)
	if key == "" || !price.IsPositive() {
		return
	}
	f.mu.Lock()
	f.prices[key] = price
	f.mu.Unlock()
}

// Tick moves every symbol seen so far one step, in symbol order so the
// sequence is reproducible.
func (f *RandomWalkFeed) Tick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	symbols := make([]string, 0, len(f.prices))
	for s := range f.prices {
		symbols = append(symbols, s)
	}
	sort.Strings(symbols)
	for _, s := range symbols {
		z := f.rng.NormFloat64()
		z = max(-maxWalkSigmas, min(maxWalkSigmas, z))
		factor := decimal.NewFromFloat(1 + f.volatility*z)
		next := walkRound(f.prices[s].Mul(factor))
		if next.LessThan(minWalkPrice) {
			next = minWalkPrice
		}
		f.prices[s] = next
	}
}

// Run calls Tick every interval until ctx ends.
func (f *RandomWalkFeed) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.Tick()
		}
	}
}

// walkRound rounds a simulated price to cents from $1 up and to six decimals
// below, so penny assets keep moving.
func walkRound(p decimal.Decimal) decimal.Decimal {
	if p.GreaterThanOrEqual(decimal.NewFromInt(1)) {
		return p.Round(2)
	}
	return p.Round(6)
}
