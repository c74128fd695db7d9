package dblimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/dblimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
)

// FR-016 across replicas: two processes' limiters for one credential
// (each with its own full token bucket) together send no more than the
// credential's budget per minute when they share the database; a pause
// one of them learns (a 429) holds the other back too.
func TestLimitersShareTheBudgetAcrossProcesses(t *testing.T) {
	for _, d := range ratelimittest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			a, b := ratelimittest.OpenShared(t, d)
			// Published 20/min → budget 10; each bucket alone would allow 10 at once.
			la := ratelimit.New(20, ratelimit.WithBurst(10), ratelimit.WithShared(dblimit.New(a), "test:"))
			lb := ratelimit.New(20, ratelimit.WithBurst(10), ratelimit.WithShared(dblimit.New(b), "test:"))
			var sent atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				l := la
				if i%2 == 1 {
					l = lb
				}
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					err := l.Wait(ctx, "key-1")
					switch {
					case err == nil:
						sent.Add(1)
					case !errors.Is(err, context.DeadlineExceeded):
						t.Errorf("wait: %v", err)
					}
				})
			}
			wg.Wait()
			if n := sent.Load(); n > 10 || n == 0 {
				t.Fatalf("%d requests sent within 2 s by two processes; the shared budget allows 10 a minute", n)
			}

			// A pause written by one process holds the other.
			la.Pause("key-2", 3*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := lb.Wait(ctx, "key-2"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the other process sent during the pause: %v", err)
			}
		})
	}
}
