package symbols

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCacheSharesConcurrentFetches(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	c := NewCache(time.Hour, func(ctx context.Context, key string) (Rules, error) {
		calls.Add(1)
		<-release
		return Rules{Symbol: key}, nil
	})
	var wg sync.WaitGroup
	results := make([]Rules, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Get(context.Background(), "BTC-USD")
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	// Let the goroutines pile up on the one in-flight fetch.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("fetch called %d times, want 1", n)
	}
	for _, r := range results {
		if r.Symbol != "BTC-USD" {
			t.Fatalf("got %+v", r)
		}
	}
	if _, err := c.Get(context.Background(), "BTC-USD"); err != nil || calls.Load() != 1 {
		t.Fatalf("cached Get fetched again: calls=%d err=%v", calls.Load(), err)
	}
}

func TestCacheExpiresAndInvalidates(t *testing.T) {
	var calls atomic.Int32
	c := NewCache(time.Hour, func(ctx context.Context, key string) (int32, error) {
		return calls.Add(1), nil
	})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	v, _ := c.Get(ctx, "k")
	if v != 1 {
		t.Fatalf("first = %d", v)
	}
	now = now.Add(59 * time.Minute)
	if v, _ = c.Get(ctx, "k"); v != 1 {
		t.Fatalf("within TTL = %d, want cached 1", v)
	}
	now = now.Add(2 * time.Minute)
	if v, _ = c.Get(ctx, "k"); v != 2 {
		t.Fatalf("after TTL = %d, want 2", v)
	}
	c.Invalidate("k")
	if v, _ = c.Get(ctx, "k"); v != 3 {
		t.Fatalf("after Invalidate = %d, want 3", v)
	}
}

func TestCacheDoesNotCacheErrors(t *testing.T) {
	var calls atomic.Int32
	boom := errors.New("boom")
	c := NewCache(time.Hour, func(ctx context.Context, key string) (string, error) {
		if calls.Add(1) == 1 {
			return "", boom
		}
		return "ok", nil
	})
	if _, err := c.Get(context.Background(), "k"); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if v, err := c.Get(context.Background(), "k"); err != nil || v != "ok" {
		t.Fatalf("second Get = %q, %v", v, err)
	}
}

func TestCacheCallerCancelDoesNotFailOthers(t *testing.T) {
	release := make(chan struct{})
	c := NewCache(time.Hour, func(ctx context.Context, key string) (string, error) {
		select {
		case <-release:
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Get(ctx, "k")
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller err = %v", err)
	}
	done := make(chan string, 1)
	go func() {
		v, _ := c.Get(context.Background(), "k")
		done <- v
	}()
	close(release)
	if v := <-done; v != "ok" {
		t.Fatalf("second caller got %q", v)
	}
}
