package symbols

import (
	"context"
	"sync"
	"time"
)

// RulesTTL is how long fetched symbol rules are trusted. Exchanges change
// steps and minimums rarely and announce it ahead.
const RulesTTL = time.Hour

// fetchTimeout bounds one fetch shared by several waiters, so that one caller
// giving up does not fail the others.
const fetchTimeout = 30 * time.Second

// Cache is a TTL cache of values fetched per key, safe for concurrent use.
// Concurrent misses on one key share a single fetch. Errors are not cached.
// Adapters use it for symbol rules (TTL 1h) and for the short-lived prices
// behind the minimum order value check.
type Cache[V any] struct {
	ttl   time.Duration
	fetch func(ctx context.Context, key string) (V, error)
	now   func() time.Time

	mu       sync.Mutex
	entries  map[string]entry[V]
	inflight map[string]*call[V]
}

type entry[V any] struct {
	v       V
	expires time.Time
}

type call[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// NewCache returns a cache that calls fetch on a miss and keeps the value
// for ttl.
func NewCache[V any](ttl time.Duration, fetch func(ctx context.Context, key string) (V, error)) *Cache[V] {
	return &Cache[V]{
		ttl:      ttl,
		fetch:    fetch,
		now:      time.Now,
		entries:  map[string]entry[V]{},
		inflight: map[string]*call[V]{},
	}
}

// Get returns the cached value for key or fetches it. A caller whose ctx
// ends stops waiting; the shared fetch goes on for the others.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.v, nil
	}
	cl, ok := c.inflight[key]
	if !ok {
		cl = &call[V]{done: make(chan struct{})}
		c.inflight[key] = cl
		go c.run(context.WithoutCancel(ctx), key, cl)
	}
	c.mu.Unlock()

	select {
	case <-cl.done:
		return cl.v, cl.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func (c *Cache[V]) run(ctx context.Context, key string, cl *call[V]) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	cl.v, cl.err = c.fetch(ctx, key)
	c.mu.Lock()
	if cl.err == nil {
		c.entries[key] = entry[V]{v: cl.v, expires: c.now().Add(c.ttl)}
	}
	delete(c.inflight, key)
	c.mu.Unlock()
	close(cl.done)
}

// Invalidate drops the cached value for key, so the next Get fetches again
// (used when the exchange rejects an order for precision: its rules changed).
func (c *Cache[V]) Invalidate(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}
