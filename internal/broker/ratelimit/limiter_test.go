package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock whose sleep advances time instantly.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 3, 14, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.slept += d
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestLimiter(published int, opts ...Option) (*Limiter, *fakeClock) {
	c := newFakeClock()
	opts = append([]Option{WithClock(c.Now, c.Sleep)}, opts...)
	return New(published, opts...), c
}

func TestBudgetIsHalfOfPublished(t *testing.T) {
	tests := []struct {
		name      string
		published int
		budget    int
		burst     int
	}{
		{"alpaca", 200, 100, 10},
		{"ibkr", 50, 25, 2},
		{"schwab", 120, 60, 6},
		{"binance weight", 6000, 3000, 300},
		{"tiny", 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLimiter(tt.published)
			if l.Budget() != tt.budget {
				t.Fatalf("budget = %d, want %d", l.Budget(), tt.budget)
			}
			if l.Burst() != tt.burst {
				t.Fatalf("burst = %d, want %d", l.Burst(), tt.burst)
			}
		})
	}
}

// Any rolling minute holds at most the budget (half the published limit).
func TestRollingMinuteNeverExceedsBudget(t *testing.T) {
	for _, published := range []int{200, 50, 120} {
		l, c := newTestLimiter(published)
		ctx := context.Background()
		start := c.Now()
		var stamps []time.Time
		for c.Now().Sub(start) < 3*time.Minute {
			if err := l.Wait(ctx, "cred"); err != nil {
				t.Fatal(err)
			}
			stamps = append(stamps, c.Now())
		}
		for i := range stamps {
			n := 0
			for j := i; j < len(stamps) && stamps[j].Sub(stamps[i]) < time.Minute; j++ {
				n++
			}
			if n > l.Budget() {
				t.Fatalf("published %d: %d requests in one minute from %s, budget %d", published, n, stamps[i].Sub(start), l.Budget())
			}
		}
		// And it does not starve: over 3 minutes close to 3 budgets went out.
		if len(stamps) < 3*l.Budget()*8/10 {
			t.Fatalf("published %d: only %d requests in 3 minutes", published, len(stamps))
		}
	}
}

func TestKeysAreIndependent(t *testing.T) {
	l, c := newTestLimiter(200)
	ctx := context.Background()
	for i := 0; i < l.Burst(); i++ {
		if err := l.Wait(ctx, "a"); err != nil {
			t.Fatal(err)
		}
	}
	before := c.Now()
	if err := l.Wait(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if c.Now() != before {
		t.Fatalf("key b waited %s behind key a", c.Now().Sub(before))
	}
	if err := l.Wait(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if c.Now() == before {
		t.Fatal("key a did not wait after its burst")
	}
}

func TestPauseHonoursRetryAfter(t *testing.T) {
	l, c := newTestLimiter(200)
	ctx := context.Background()
	l.Pause("k", 3*time.Second)
	l.Pause("k", time.Second) // a shorter pause does not shorten the longer one
	if got := l.PausedFor("k"); got != 3*time.Second {
		t.Fatalf("PausedFor = %s", got)
	}
	start := c.Now()
	if err := l.Wait(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if waited := c.Now().Sub(start); waited < 3*time.Second {
		t.Fatalf("waited %s, want >= 3s", waited)
	}
	if l.PausedFor("k") != 0 {
		t.Fatal("still paused")
	}
	// Other keys are not paused.
	start = c.Now()
	if err := l.Wait(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if c.Now() != start {
		t.Fatal("pause leaked to another key")
	}
}

func TestWaitRespectsDeadline(t *testing.T) {
	l, c := newTestLimiter(200)
	l.Pause("k", time.Minute)
	ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(time.Second))
	defer cancel()
	err := l.Wait(ctx, "k")
	if !errors.Is(err, ErrWaitTooLong) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrWaitTooLong + DeadlineExceeded", err)
	}

	// Token wait beyond the deadline also refuses, and gives the token back.
	l2, c2 := newTestLimiter(200)
	for i := 0; i < l2.Burst(); i++ {
		_ = l2.Wait(context.Background(), "k")
	}
	ctx2, cancel2 := context.WithDeadline(context.Background(), c2.Now().Add(time.Millisecond))
	defer cancel2()
	if err := l2.Wait(ctx2, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	cancelled, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if err := l2.Wait(cancelled, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestWaitNWeights(t *testing.T) {
	l, c := newTestLimiter(6000, WithBurst(50)) // budget 3000/min, 2950/min sustained
	ctx := context.Background()
	start := c.Now()
	if err := l.WaitN(ctx, "k", 50); err != nil { // whole bucket, no wait
		t.Fatal(err)
	}
	if c.Now() != start {
		t.Fatal("first full-bucket request waited")
	}
	// A request heavier than the bucket is served in chunks rather than refused.
	if err := l.WaitN(ctx, "k", 120); err != nil {
		t.Fatal(err)
	}
	waited := c.Now().Sub(start)
	perSecond := 2950.0 / 60.0
	want := time.Duration(120 / perSecond * float64(time.Second))
	if waited < want-50*time.Millisecond || waited > want+50*time.Millisecond {
		t.Fatalf("waited %s for weight 120, want about %s", waited, want)
	}
}

func TestObserveUsedWeight(t *testing.T) {
	tests := []struct {
		name       string
		used       int
		limit      int
		wantFactor float64 // of the base rate
		wantPause  bool
	}{
		{"low usage keeps the rate", 100, 6000, 1, false},
		{"exactly half keeps the rate", 3000, 6000, 1, false},
		{"three quarters halves the rate", 4500, 6000, 0.5, false},
		{"almost exhausted floors at a tenth", 5990, 6000, 0.1, false},
		{"exhausted pauses to the next window", 6000, 6000, 0.1, true},
		{"bad limit is ignored", 10, 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, c := newTestLimiter(6000)
			base := l.CurrentRate("k")
			l.ObserveUsedWeight("k", tt.used, tt.limit)
			got := l.CurrentRate("k") / base
			if got < tt.wantFactor-0.001 || got > tt.wantFactor+0.001 {
				t.Fatalf("rate factor = %.3f, want %.3f", got, tt.wantFactor)
			}
			paused := l.PausedFor("k")
			if tt.wantPause {
				// fake clock starts at :00 of a minute, so the window ends in 1m
				if paused != time.Minute {
					t.Fatalf("paused %s, want 1m", paused)
				}
			} else if paused != 0 {
				t.Fatalf("paused %s, want none", paused)
			}
			// Usage dropping back under half restores the configured rate.
			c.Advance(time.Minute)
			l.ObserveUsedWeight("k", 10, 6000)
			if r := l.CurrentRate("k"); r != base {
				t.Fatalf("rate not restored: %.2f, want %.2f", r, base)
			}
		})
	}
}

func TestConcurrentWaitersShareTheBucket(t *testing.T) {
	l := New(200) // real clock: burst 10 then 1.5/s
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < l.Burst(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Wait(ctx, "k"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	if err := l.Wait(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Fatalf("request past the burst did not wait (%s)", time.Since(start))
	}
}

func TestIdleKeysArePruned(t *testing.T) {
	l, c := newTestLimiter(200)
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		_ = l.Wait(ctx, string(rune('a'+i)))
	}
	c.Advance(2 * idleTTL)
	_ = l.Wait(ctx, "z")
	l.mu.Lock()
	n := len(l.keys)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept, want 1", n)
	}
}
