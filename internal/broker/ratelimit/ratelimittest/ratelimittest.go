// Package ratelimittest checks a ratelimit.Store the way replicas use it:
// two instances over one backing store (two database handles, as two
// processes have) must together keep every rolling window of a rule within
// its budget, and a pause or ban set through one must hold for the other.
//
//	ratelimittest.Run(t, func(t *testing.T) (a, b ratelimit.Store) { ... })
package ratelimittest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// Open returns two Stores over one fresh backing store.
type Open func(t *testing.T) (a, b ratelimit.Store)

// Run runs every check on fresh stores from open.
func Run(t *testing.T, open Open) {
	t.Run("BudgetHoldsAcrossInstances", func(t *testing.T) { budgetHolds(t, open) })
	t.Run("ConcurrentInstancesStayWithinBudget", func(t *testing.T) { concurrent(t, open) })
	t.Run("PauseIsShared", func(t *testing.T) { pauseShared(t, open) })
	t.Run("BanIsShared", func(t *testing.T) { banShared(t, open) })
	t.Run("AllOrNothing", func(t *testing.T) { allOrNothing(t, open) })
}

type grant struct {
	at     time.Time
	weight int
}

// maxInWindow is the most weight granted in any rolling window [t, t+w).
func maxInWindow(grants []grant, w time.Duration) int {
	sort.Slice(grants, func(i, j int) bool { return grants[i].at.Before(grants[j].at) })
	best, sum, lo := 0, 0, 0
	for hi := range grants {
		sum += grants[hi].weight
		for !grants[lo].at.Add(w).After(grants[hi].at) {
			sum -= grants[lo].weight
			lo++
		}
		best = max(best, sum)
	}
	return best
}

var start = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

// at is a clock stopped at t.
func at(t time.Time) func() time.Time { return func() time.Time { return t } }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// budgetHolds drives both instances in turn on a simulated clock: each
// takes what the shared window allows and waits when told to.
func budgetHolds(t *testing.T, open Open) {
	a, b := open(t)
	stores := []ratelimit.Store{a, b}
	rule := ratelimit.Rule{Limit: 200, Window: time.Minute} // budget 100 per rolling minute
	rng := rand.New(rand.NewPCG(1, 2))
	now := start
	var grants []grant
	end := start.Add(5 * time.Minute)
	for now.Before(end) {
		s := stores[rng.IntN(2)]
		w := 1 + rng.IntN(7)
		wait, err := s.Reserve(ctx(t), at(now), []ratelimit.Cost{{Key: "ip:1", Rule: rule, Weight: w}})
		if err != nil {
			t.Fatal(err)
		}
		if wait > 0 {
			now = now.Add(wait)
			continue
		}
		grants = append(grants, grant{now, w})
		now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
	}
	if got := maxInWindow(grants, rule.Window); got > rule.Budget() {
		t.Fatalf("two instances granted %d units within one rolling minute, budget %d", got, rule.Budget())
	}
	total := 0
	for _, g := range grants {
		total += g.weight
	}
	// Five minutes at (12/13 of) 100 a minute: the window is used, not
	// merely refused.
	if total < 400 {
		t.Fatalf("only %d units granted in 5 minutes; the budget allows about 460", total)
	}
}

// concurrent hammers both instances from several goroutines on the real
// clock: the read-check-write of a reservation must be atomic across
// instances.
func concurrent(t *testing.T, open Open) {
	a, b := open(t)
	rule := ratelimit.Rule{Limit: 60, Window: 1200 * time.Millisecond} // budget 30 per 1.2 s
	deadline := time.Now().Add(2500 * time.Millisecond)
	var mu sync.Mutex
	var grants []grant
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 6 {
		s := []ratelimit.Store{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				// The grant's time is the clock's last reading: the one the
				// store made holding the key.
				var now time.Time
				clock := func() time.Time { now = time.Now(); return now }
				wait, err := s.Reserve(context.Background(), clock, []ratelimit.Cost{{Key: "acct:1", Rule: rule, Weight: 1 + i%3}})
				if err != nil {
					errs <- err
					return
				}
				if wait > 0 {
					time.Sleep(min(wait, 50*time.Millisecond))
					continue
				}
				mu.Lock()
				grants = append(grants, grant{now, 1 + i%3})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := maxInWindow(grants, rule.Window); got > rule.Budget() {
		t.Fatalf("concurrent instances granted %d units within one rolling window, budget %d", got, rule.Budget())
	}
	if len(grants) < 10 {
		t.Fatalf("only %d grants: the stores hardly served", len(grants))
	}
}

func pauseShared(t *testing.T, open Open) {
	a, b := open(t)
	rule := ratelimit.Rule{Limit: 1000, Window: time.Minute}
	cost := []ratelimit.Cost{{Key: "ip:1", Rule: rule, Weight: 1}}
	if err := a.Pause(ctx(t), "ip:1", start.Add(7*time.Second)); err != nil {
		t.Fatal(err)
	}
	// An earlier pause does not shorten it.
	if err := b.Pause(ctx(t), "ip:1", start.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	wait, err := b.Reserve(ctx(t), at(start), cost)
	if err != nil || wait != 7*time.Second {
		t.Fatalf("other instance during the pause: wait %s, %v; want 7s", wait, err)
	}
	other := []ratelimit.Cost{{Key: "ip:2", Rule: rule, Weight: 1}}
	if wait, err := b.Reserve(ctx(t), at(start), other); err != nil || wait != 0 {
		t.Fatalf("another key is not paused: wait %s, %v", wait, err)
	}
	if wait, err := b.Reserve(ctx(t), at(start.Add(7*time.Second)), cost); err != nil || wait != 0 {
		t.Fatalf("after the pause: wait %s, %v", wait, err)
	}
}

func banShared(t *testing.T, open Open) {
	a, b := open(t)
	rule := ratelimit.Rule{Limit: 1000, Window: time.Minute}
	cost := []ratelimit.Cost{{Key: "ip:1", Rule: rule, Weight: 1}, {Key: "acct:9", Rule: rule, Weight: 1}}
	until := start.Add(2 * time.Minute)
	if err := a.Ban(ctx(t), "ip:1", until, "HTTP 418"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Reserve(ctx(t), at(start.Add(time.Minute)), cost)
	var be *ratelimit.BannedError
	if !errors.As(err, &be) || !be.Until.Equal(until) || be.Key != "ip:1" || be.Reason != "HTTP 418" || !errors.Is(err, ratelimit.ErrBanned) {
		t.Fatalf("other instance during the ban: %v, want a BannedError until %s", err, until)
	}
	if wait, err := b.Reserve(ctx(t), at(until), cost); err != nil || wait != 0 {
		t.Fatalf("after the ban: wait %s, %v", wait, err)
	}
}

// allOrNothing: a request that fits one budget but not the other takes
// nothing from either.
func allOrNothing(t *testing.T, open Open) {
	a, b := open(t)
	big := ratelimit.Rule{Limit: 1000, Window: time.Minute}
	small := ratelimit.Rule{Limit: 4, Window: 10 * time.Second} // budget 2
	both := []ratelimit.Cost{{Key: "ip:1", Rule: big, Weight: 1}, {Key: "orders:1", Rule: small, Weight: 1}}
	for i := range 2 {
		if wait, err := a.Reserve(ctx(t), at(start), both); err != nil || wait != 0 {
			t.Fatalf("reservation %d: wait %s, %v", i, wait, err)
		}
	}
	wait, err := b.Reserve(ctx(t), at(start), both)
	if err != nil || wait <= 0 {
		t.Fatalf("third order within 10 s: wait %s, %v; want a wait", wait, err)
	}
	// The refused reservation took no weight from ip:1: 498 more fit.
	if wait, err := b.Reserve(ctx(t), at(start), []ratelimit.Cost{{Key: "ip:1", Rule: big, Weight: 498}}); err != nil || wait != 0 {
		t.Fatalf("ip budget after a refused reservation: wait %s, %v", wait, err)
	}
}
