package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Gate layers the in-process token bucket (Limiter: smooth, no I/O) over a
// shared Store (the budget every replica draws from). A request waits for
// its local tokens first, then for room in the shared window; a pause or a
// ban set by any process through the Store applies to all of them.
type Gate struct {
	local *Limiter
	store Store
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// GateOption configures a Gate.
type GateOption func(*Gate)

// GateClock replaces the wall clock and sleeping (tests).
func GateClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) GateOption {
	return func(g *Gate) { g.now, g.sleep = now, sleep }
}

// NewGate returns a Gate over store (nil: a new Memory) with the in-process
// bucket local (nil: none).
func NewGate(store Store, local *Limiter, opts ...GateOption) *Gate {
	if store == nil {
		store = NewMemory()
	}
	g := &Gate{local: local, store: store, now: time.Now, sleep: sleepCtx}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Local is the in-process bucket (nil when there is none).
func (g *Gate) Local() *Limiter { return g.local }

// Wait blocks until every cost may be sent. It returns a *BannedError at
// once while a key is banned, the context's error when it ends, or an error
// wrapping ErrWaitTooLong and context.DeadlineExceeded when the wait would
// outlast the deadline; a Store failure is returned as is.
func (g *Gate) Wait(ctx context.Context, costs ...Cost) error {
	if g.local != nil {
		for _, c := range costs {
			if c.Local {
				if err := g.local.WaitN(ctx, c.Key, c.Weight); err != nil {
					return err
				}
			}
		}
	}
	return reserveShared(ctx, g.store, costs, g.now, g.sleep)
}

// reserveShared takes costs from store, waiting while they do not fit (the
// budget is used by other replicas, or a pause is in force); it gives up
// when the wait would outlast the context's deadline.
func reserveShared(ctx context.Context, store Store, costs []Cost, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	for {
		wait, err := store.Reserve(ctx, now, costs)
		if err != nil {
			return err
		}
		if wait <= 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && now().Add(wait).After(dl) {
			return fmt.Errorf("%w (shared budget, %s): %w", ErrWaitTooLong, wait.Round(time.Millisecond), context.DeadlineExceeded)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Pause makes every request for key, in every process sharing the store,
// wait for d from now.
func (g *Gate) Pause(ctx context.Context, key string, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if g.local != nil {
		g.local.Pause(key, d)
	}
	return g.store.Pause(ctx, key, g.now().Add(d))
}

// Ban refuses every request for key, in every process sharing the store,
// until until.
func (g *Gate) Ban(ctx context.Context, key string, until time.Time, reason string) error {
	return g.store.Ban(ctx, key, until, reason)
}

// ObserveUsedWeight feeds an exchange's used-weight header to the local
// bucket of key (see Limiter.ObserveUsedWeight); at or over the limit every
// process pauses until the exchange's window rolls over.
func (g *Gate) ObserveUsedWeight(ctx context.Context, key string, used, limit int, window time.Duration) error {
	if g.local != nil {
		g.local.ObserveUsedWeight(key, used, limit)
	}
	if limit > 0 && used >= limit && window > 0 {
		now := g.now()
		return g.store.Pause(ctx, key, now.Truncate(window).Add(window))
	}
	return nil
}
