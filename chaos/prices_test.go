package chaos

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
)

// Price walk of the steady symbols while a round runs: every walkEvery,
// each price moves by up to ±walkStep, pulled back toward its starting
// price and kept within ±walkBound of it. A 2% stop-loss fires now and
// then; the steady traders' equity stays near its start.
const (
	walkEvery = 300 * time.Millisecond
	walkStep  = 0.008
	walkBound = 0.04
)

// walkTolerance is how far above the max-position limit a position may be
// worth at a fill, from price moves alone: sized at one price of the walk,
// filled at another ((1+b)/(1-b)).
var walkTolerance = decimal.NewFromFloat((1 + walkBound) / (1 - walkBound))

// priceFeed moves the fake broker's prices.
type priceFeed struct {
	fake *alpaca.Fake

	mu    sync.Mutex
	rnd   *rand.Rand
	base  map[string]float64
	cur   map[string]float64
	moves int
}

func newPriceFeed(fake *alpaca.Fake, seed uint64) *priceFeed {
	p := &priceFeed{fake: fake, rnd: rand.New(rand.NewPCG(seed^0x5eed, seed+99)), base: map[string]float64{}, cur: map[string]float64{}}
	for _, s := range symbols {
		f, _ := fake.Price(s).Float64()
		p.base[s], p.cur[s] = f, f
	}
	return p
}

// walk moves the steady symbols until stop is closed.
func (p *priceFeed) walk(stop <-chan struct{}) {
	tick := time.NewTicker(walkEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			p.step()
		}
	}
}

func (p *priceFeed) step() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range symbols {
		r := p.cur[s]/p.base[s] - 1
		r += (p.rnd.Float64()*2-1)*walkStep - 0.1*r
		r = min(max(r, -walkBound), walkBound)
		next := decimal.NewFromFloat(p.base[s] * (1 + r)).Round(2)
		p.cur[s], _ = next.Float64()
		p.fake.SetPrice(s, next) // fills the working orders it crosses (stops)
		p.moves++
	}
}

// set moves one price at once (a crash), counted as a move.
func (p *priceFeed) set(symbol string, price decimal.Decimal) {
	p.mu.Lock()
	p.moves++
	p.mu.Unlock()
	p.fake.SetPrice(symbol, price)
}

func (p *priceFeed) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.moves
}
