package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGatePauseReachesOtherGatesOnTheStore(t *testing.T) {
	c := newFakeClock()
	store := NewMemory()
	a := NewGate(store, nil, GateClock(c.Now, c.Sleep))
	b := NewGate(store, New(6000), GateClock(c.Now, c.Sleep)) // another process, its own bucket
	rule := Rule{Limit: 6000, Window: time.Minute}
	if err := a.Pause(context.Background(), "ip", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	before := c.Now()
	if err := b.Wait(context.Background(), Cost{Key: "ip", Rule: rule, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if waited := c.Now().Sub(before); waited != 3*time.Second {
		t.Fatalf("the other gate waited %s, want the 3s Retry-After", waited)
	}
}

func TestGateBanFailsAtOnce(t *testing.T) {
	c := newFakeClock()
	store := NewMemory()
	a := NewGate(store, nil, GateClock(c.Now, c.Sleep))
	b := NewGate(store, nil, GateClock(c.Now, c.Sleep))
	until := c.Now().Add(2 * time.Minute)
	if err := a.Ban(context.Background(), "ip", until, "418"); err != nil {
		t.Fatal(err)
	}
	before := c.Now()
	err := b.Wait(context.Background(), Cost{Key: "ip", Rule: Rule{Limit: 10, Window: time.Minute}, Weight: 1})
	if !errors.Is(err, ErrBanned) || c.Now() != before {
		t.Fatalf("Wait during a ban = %v after %s; want ErrBanned at once", err, c.Now().Sub(before))
	}
}

func TestGateWaitRespectsDeadline(t *testing.T) {
	c := newFakeClock()
	g := NewGate(nil, nil, GateClock(c.Now, c.Sleep))
	rule := Rule{Limit: 4, Window: time.Minute} // budget 2 a minute
	cost := Cost{Key: "k", Rule: rule, Weight: 2}
	if err := g.Wait(context.Background(), cost); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(10*time.Second))
	defer cancel()
	err := g.Wait(ctx, cost)
	if !errors.Is(err, ErrWaitTooLong) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrWaitTooLong + DeadlineExceeded", err)
	}
}

func TestGateLayersTheLocalBucket(t *testing.T) {
	c := newFakeClock()
	local := New(120, WithClock(c.Now, c.Sleep), WithBurst(1)) // 60 a minute locally, burst 1
	g := NewGate(nil, local, GateClock(c.Now, c.Sleep))
	rule := Rule{Limit: 100000, Window: time.Minute}
	before := c.Now()
	for range 3 {
		if err := g.Wait(context.Background(), Cost{Key: "k", Rule: rule, Weight: 1, Local: true}); err != nil {
			t.Fatal(err)
		}
	}
	if waited := c.Now().Sub(before); waited < time.Second {
		t.Fatalf("three requests after %s: the local bucket (about 1 a second) was not applied", waited)
	}
}

func TestGateObserveUsedWeightAtLimitPausesEveryone(t *testing.T) {
	c := newFakeClock() // 14:30:00
	store := NewMemory()
	a := NewGate(store, nil, GateClock(c.Now, c.Sleep))
	b := NewGate(store, nil, GateClock(c.Now, c.Sleep))
	c.Advance(20 * time.Second)
	if err := a.ObserveUsedWeight(context.Background(), "ip", 6000, 6000, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(context.Background(), Cost{Key: "ip", Rule: Rule{Limit: 6000, Window: time.Minute}, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 3, 3, 14, 31, 0, 0, time.UTC); !c.Now().Equal(want) {
		t.Fatalf("resumed at %s, want the next minute %s", c.Now(), want)
	}
}
