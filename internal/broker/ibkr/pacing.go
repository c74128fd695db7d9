package ibkr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// Pacing is the Client Portal Web API's request pacing for one gateway (one
// brokerage session, one IP), as documented in IBKR Campus, Web API v1.0,
// "Pacing Limitations": a global limit of 10 requests a second through the
// CP Gateway, per-endpoint limits (/iserver/account/orders 1 request per
// 5 seconds, ...), HTTP 429 on a violation and the violator's IP put in a
// penalty box for 10 minutes.
//
// The adapter paces every gateway by it (with pacingMargin on top); the fake
// enforces it. Tests use Scaled copies so that both run fast.
type Pacing struct {
	// PerSecond is the global limit of requests per second.
	PerSecond int
	// Endpoints is the least time between two requests to a path.
	Endpoints map[string]time.Duration
	// PenaltyBox is how long every request is refused after a violation.
	PenaltyBox time.Duration

	second time.Duration // the span PerSecond counts in; 0 is a second (Scaled sets it)
}

// Paths with their own documented limits.
const (
	pathLiveOrders        = "/iserver/account/orders"
	pathPortfolioAccounts = "/portfolio/accounts"
	pathSnapshot          = "/iserver/marketdata/snapshot"
	pathTickle            = "/tickle"
	pathTrades            = "/iserver/account/trades"
)

// DocumentedPacing is IBKR's published pacing for the CP Gateway.
func DocumentedPacing() Pacing {
	return Pacing{
		PerSecond: 10,
		Endpoints: map[string]time.Duration{
			pathLiveOrders:        5 * time.Second,
			pathTrades:            5 * time.Second,
			pathPortfolioAccounts: 5 * time.Second,
			pathSnapshot:          100 * time.Millisecond, // 10 req/s
			pathTickle:            time.Second,
		},
		PenaltyBox: 10 * time.Minute,
	}
}

// Scaled returns p with every duration multiplied by f (the global limit is
// kept per scaled second). Tests run the adapter and the fake on scaled
// pacing; the adapter's scale must be at least the fake's.
func (p Pacing) Scaled(f float64) Pacing {
	out := Pacing{PerSecond: p.PerSecond, PenaltyBox: time.Duration(float64(p.PenaltyBox) * f),
		Endpoints: make(map[string]time.Duration, len(p.Endpoints))}
	for k, d := range p.Endpoints {
		out.Endpoints[k] = time.Duration(float64(d) * f)
	}
	out.second = time.Duration(float64(p.window()) * f)
	return out
}

// window is the span PerSecond counts in (a second, scaled).
func (p Pacing) window() time.Duration {
	if p.second > 0 {
		return p.second
	}
	return time.Second
}

// interval is the least time between two requests to path (0: no limit of
// its own).
func (p Pacing) interval(path string) time.Duration { return p.Endpoints[path] }

// globalInterval spaces requests evenly under the global limit.
func (p Pacing) globalInterval() time.Duration {
	if p.PerSecond <= 0 {
		return 0
	}
	return p.window() / time.Duration(p.PerSecond)
}

// pacingMargin is added to every documented interval the adapter waits: the
// gateway measures arrivals, which network jitter brings closer together
// than the sends.
const pacingMargin = 10 // percent

var errPacedTooLong = errors.New("ibkr: the endpoint's pacing would outlast the request's deadline")

// pacer spaces requests per key (gateway + path): a request reserves the
// earliest slot at least interval after the previous one and sleeps until
// it. Reservations are made in order, so concurrent callers queue. With a
// shared store, the request then also takes the key's one slot per
// interval in the store, which every process shares (WithSharedPacing).
type pacer struct {
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	store ratelimit.Store // nil: this process only

	mu   sync.Mutex
	next map[string]time.Time
}

func newPacer(store ratelimit.Store) *pacer {
	return &pacer{now: time.Now, sleep: sleep, store: store, next: map[string]time.Time{}}
}

// wait blocks until a request for key may go out, interval after the last
// one (plus the margin). It refuses, reserving nothing, when that slot lies
// beyond the context's deadline.
func (p *pacer) wait(ctx context.Context, key string, interval time.Duration) error {
	if interval <= 0 {
		return nil
	}
	interval += interval * pacingMargin / 100
	p.mu.Lock()
	now := p.now()
	at := now
	if n, ok := p.next[key]; ok && n.After(at) {
		at = n
	}
	if dl, ok := ctx.Deadline(); ok && at.After(dl) {
		p.mu.Unlock()
		return errPacedTooLong
	}
	p.next[key] = at.Add(interval)
	if len(p.next) > maxRemembered {
		for k, n := range p.next {
			if n.Before(now) {
				delete(p.next, k)
			}
		}
	}
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
	return p.waitShared(ctx, key, interval)
}

// waitShared takes the key's slot in the shared store: one request per
// interval (a budget of one per rolling window of interval) across every
// process.
func (p *pacer) waitShared(ctx context.Context, key string, interval time.Duration) error {
	if p.store == nil {
		return nil
	}
	cost := []ratelimit.Cost{{Key: "ibkr-pace:" + key, Rule: ratelimit.Rule{Limit: 1, Window: interval}, Weight: 1}}
	for {
		wait, err := p.store.Reserve(ctx, p.now, cost)
		if err != nil {
			return fmt.Errorf("ibkr: shared pacing: %w", err)
		}
		if wait <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && p.now().Add(wait).After(dl) {
			return errPacedTooLong
		}
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}
