// Package ratelimit keeps every broker adapter at or under half of the
// broker's published request limit (FR-016), per credential (or per
// application, for brokers that limit per app): one token bucket per key,
// built on golang.org/x/time/rate. Requests wait for a token instead of
// failing; a broker's Retry-After pauses the key; an exchange's used-weight
// header slows the key down once the exchange reports more than half of its
// limit used (other processes may share the credential).
//
// One Limiter is shared by every adapter instance of a broker in a process
// (adapters are built per call, the bucket must outlive them); keys are
// opaque strings, typically a hash of the API key id.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Headroom is the share of the broker's published limit this system uses.
const Headroom = 0.5

// DefaultWeightWindow is the window of exchanges' used-weight counters
// (Binance X-MBX-USED-WEIGHT-1M and friends).
const DefaultWeightWindow = time.Minute

// idleTTL is how long an unused, fully refilled key is kept.
const idleTTL = 10 * time.Minute

// minSlowFactor bounds how far ObserveUsedWeight slows a key down.
const minSlowFactor = 0.1

// ErrWaitTooLong is returned (wrapped with context.DeadlineExceeded) when the
// wait for a token would outlast the context's deadline.
var ErrWaitTooLong = errors.New("rate limit wait would exceed the deadline")

// Limiter is a set of token buckets keyed by credential. Safe for concurrent use.
type Limiter struct {
	budget int        // requests (or weight) per minute this system may use
	burst  int        // bucket size
	base   rate.Limit // sustained refill rate
	window time.Duration
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error

	// shared, when set, is the budget every replica draws from (FR-016:
	// half of the broker's limit per account, not per process); keys are
	// stored under namespace.
	published int
	shared    Store
	namespace string

	mu       sync.Mutex
	keys     map[string]*bucket
	lastScan time.Time
}

type bucket struct {
	lim *rate.Limiter

	mu          sync.Mutex
	pausedUntil time.Time
	lastUse     time.Time
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock replaces the wall clock and sleeping (tests use a fake clock whose
// sleep advances time).
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(l *Limiter) {
		l.now = now
		l.sleep = sleep
	}
}

// WithBurst sets the bucket size (default: a tenth of the budget, at least 1).
// For weight-based exchanges it should be at least the heaviest request's
// weight; heavier requests are still served, in bucket-sized chunks.
func WithBurst(n int) Option {
	return func(l *Limiter) {
		if n > 0 {
			l.burst = n
		}
	}
}

// WithWeightWindow sets the window of the exchange's used-weight counter.
func WithWeightWindow(d time.Duration) Option {
	return func(l *Limiter) {
		if d > 0 {
			l.window = d
		}
	}
}

// WithShared makes every key's budget hold across processes: after its
// local token, a request also takes its weight from store's rolling window
// (the same Budget per minute), and a Pause is written there for every
// replica. namespace keeps brokers apart in the store ("alpaca:").
func WithShared(store Store, namespace string) Option {
	return func(l *Limiter) { l.shared, l.namespace = store, namespace }
}

// New returns a Limiter for a broker whose published limit is
// publishedPerMinute requests (or weight units) per minute. It uses at most
// Headroom of it: the sustained rate and the burst are chosen so that any
// rolling 60-second window holds at most Budget() units.
func New(publishedPerMinute int, opts ...Option) *Limiter {
	budget := int(float64(publishedPerMinute) * Headroom)
	if budget < 1 {
		budget = 1
	}
	l := &Limiter{
		published: publishedPerMinute,
		budget:    budget,
		burst:     max(1, budget/10),
		window:    DefaultWeightWindow,
		now:       time.Now,
		sleep:     sleepCtx,
		keys:      map[string]*bucket{},
	}
	for _, o := range opts {
		o(l)
	}
	if l.burst > budget {
		l.burst = budget
	}
	// burst + rate*60s <= budget: a full bucket plus one minute of refill
	// never exceeds the budget within a minute.
	sustained := budget - l.burst
	if sustained < 1 {
		sustained = 1
	}
	l.base = rate.Limit(float64(sustained) / 60.0)
	return l
}

// Budget is the number of requests (or weight units) per minute this limiter
// allows per key: Headroom of the published limit.
func (l *Limiter) Budget() int { return l.budget }

// Burst is the bucket size per key.
func (l *Limiter) Burst() int { return l.burst }

// Wait blocks until one request for key may be sent.
func (l *Limiter) Wait(ctx context.Context, key string) error {
	return l.WaitN(ctx, key, 1)
}

// WaitN blocks until a request of the given weight for key may be sent. It
// honours a pause set by Pause or ObserveUsedWeight. It returns the context's
// error when the context ends first, or an error wrapping both ErrWaitTooLong
// and context.DeadlineExceeded when the wait would outlast the deadline.
func (l *Limiter) WaitN(ctx context.Context, key string, weight int) error {
	if weight < 1 {
		weight = 1
	}
	b := l.bucket(key)
	for remaining := weight; remaining > 0; {
		chunk := min(remaining, l.burst)
		if err := l.waitPause(ctx, b); err != nil {
			return err
		}
		now := l.now()
		r := b.lim.ReserveN(now, chunk)
		if !r.OK() { // cannot happen: chunk <= burst
			return fmt.Errorf("ratelimit: weight %d exceeds bucket size %d", chunk, l.burst)
		}
		if d := r.DelayFrom(now); d > 0 {
			if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
				r.CancelAt(now)
				return fmt.Errorf("%w (%s): %w", ErrWaitTooLong, d.Round(time.Millisecond), context.DeadlineExceeded)
			}
			if err := l.sleep(ctx, d); err != nil {
				r.CancelAt(l.now())
				return err
			}
		}
		remaining -= chunk
	}
	// A pause that started while this request waited for its token (a 429 on
	// another request of the same key) applies to it too.
	if err := l.waitPause(ctx, b); err != nil {
		return err
	}
	if l.shared != nil {
		if err := l.waitShared(ctx, key, weight); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.lastUse = l.now()
	b.mu.Unlock()
	return nil
}

// Pause stops all requests for key for d from now (the broker's Retry-After).
// A longer pause already in force is kept.
func (l *Limiter) Pause(key string, d time.Duration) {
	if d <= 0 {
		return
	}
	b := l.bucket(key)
	until := l.now().Add(d)
	b.mu.Lock()
	if until.After(b.pausedUntil) {
		b.pausedUntil = until
	}
	b.mu.Unlock()
	if l.shared != nil {
		// Best effort: the local pause holds in this process either way.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = l.shared.Pause(ctx, l.namespace+key, until)
		cancel()
	}
}

// waitShared takes weight from key's budget in the shared store, waiting
// while other replicas used it (or a pause they wrote is in force).
func (l *Limiter) waitShared(ctx context.Context, key string, weight int) error {
	c := []Cost{{Key: l.namespace + key, Rule: Rule{Limit: l.published, Window: time.Minute}, Weight: weight}}
	return reserveShared(ctx, l.shared, c, l.now, l.sleep)
}

// PausedFor reports how long key is still paused (0 when it is not).
func (l *Limiter) PausedFor(key string) time.Duration {
	b := l.bucket(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.pausedUntil.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

// ObserveUsedWeight feeds the exchange's used-weight header (weight used in
// the current window out of limit). Up to Headroom of the limit the key runs
// at its configured rate; above it the rate shrinks in proportion to what is
// left of the limit (down to a tenth); at or over the limit the key pauses
// until the exchange's window rolls over.
func (l *Limiter) ObserveUsedWeight(key string, used, limit int) {
	if limit <= 0 || used < 0 {
		return
	}
	b := l.bucket(key)
	now := l.now()
	half := float64(limit) * Headroom
	switch {
	case used >= limit:
		b.lim.SetLimitAt(now, l.base*minSlowFactor)
		next := now.Truncate(l.window).Add(l.window)
		b.mu.Lock()
		if next.After(b.pausedUntil) {
			b.pausedUntil = next
		}
		b.mu.Unlock()
	case float64(used) > half:
		factor := (float64(limit) - float64(used)) / (float64(limit) - half)
		factor = max(factor, minSlowFactor)
		b.lim.SetLimitAt(now, l.base*rate.Limit(factor))
	default:
		b.lim.SetLimitAt(now, l.base)
	}
}

// CurrentRate is the refill rate of key in units per minute (after any
// slow-down by ObserveUsedWeight).
func (l *Limiter) CurrentRate(key string) float64 {
	return float64(l.bucket(key).lim.Limit()) * 60
}

func (l *Limiter) waitPause(ctx context.Context, b *bucket) error {
	for {
		b.mu.Lock()
		until := b.pausedUntil
		b.mu.Unlock()
		now := l.now()
		if !now.Before(until) {
			return nil
		}
		d := until.Sub(now)
		if dl, ok := ctx.Deadline(); ok && until.After(dl) {
			return fmt.Errorf("%w (paused %s): %w", ErrWaitTooLong, d.Round(time.Millisecond), context.DeadlineExceeded)
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (l *Limiter) bucket(key string) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastScan) > idleTTL {
		l.lastScan = now
		for k, b := range l.keys {
			b.mu.Lock()
			idle := now.Sub(b.lastUse) > idleTTL && !now.Before(b.pausedUntil)
			b.mu.Unlock()
			if idle && b.lim.TokensAt(now) >= float64(l.burst) {
				delete(l.keys, k)
			}
		}
	}
	b, ok := l.keys[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.base, l.burst), lastUse: now}
		l.keys[key] = b
	}
	return b
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
