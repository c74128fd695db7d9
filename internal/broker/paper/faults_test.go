package paper

import (
	"context"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func orderCount(t *testing.T, f *fixture) int {
	t.Helper()
	n, err := f.e.OrderCount(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFaultFailPlace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "10000")
	f.e.InjectFaults(f.id, Faults{FailPlace: 2})
	r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "1")
	for i := range 2 {
		_, err := f.b.PlaceOrder(ctx, r)
		if !broker.KindOf(err).Retryable() {
			t.Fatalf("call %d: %v, want a retryable error", i, err)
		}
		wantKind(t, err, broker.KindUnavailable)
	}
	if n := orderCount(t, f); n != 0 {
		t.Fatalf("OrderCount = %d after failed calls", n)
	}
	f.place(t, r)
	if n, calls := orderCount(t, f), f.e.PlaceCalls(f.id); n != 1 || calls != 3 {
		t.Fatalf("OrderCount = %d, PlaceCalls = %d; want 1, 3", n, calls)
	}
}

func TestFaultFailFind(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "10000")
	r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "1")
	o := f.place(t, r)
	f.e.InjectFaults(f.id, Faults{FailFind: 2})
	for range 2 {
		_, _, err := f.b.FindOrderByClientID(ctx, r.ClientOrderID)
		wantKind(t, err, broker.KindUnavailable)
	}
	got, found, err := f.b.FindOrderByClientID(ctx, r.ClientOrderID)
	if err != nil || !found || got.ID != o.ID {
		t.Fatalf("FindOrderByClientID = %q, %v, %v; want %q", got.ID, found, err, o.ID)
	}
}

func TestFaultDropResponse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "10000")
	f.e.InjectFaults(f.id, Faults{DropPlaceResponse: 1})
	r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "1")
	_, err := f.b.PlaceOrder(ctx, r)
	wantKind(t, err, broker.KindUnavailable)
	if n := orderCount(t, f); n != 1 {
		t.Fatalf("OrderCount = %d; the order should exist", n)
	}
	got, found, err := f.b.FindOrderByClientID(ctx, r.ClientOrderID)
	if err != nil || !found {
		t.Fatalf("FindOrderByClientID = %v, %v", found, err)
	}
	again := f.place(t, r) // the retry gets the order, not a second one
	if again.ID != got.ID || orderCount(t, f) != 1 {
		t.Fatalf("retry created a second order")
	}
	eq(t, "cash charged once", f.balance(t).Cash, d("9900"))
}

func TestFaultBlockBeforeCreate(t *testing.T) {
	f := newFixture(t, "10000")
	release := make(chan struct{})
	f.e.InjectFaults(f.id, Faults{Block: release})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := f.b.PlaceOrder(ctx, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
		done <- err
	}()
	waitFor(t, func() bool { return f.e.PlaceCalls(f.id) == 1 })
	cancel() // the worker dies mid-submit
	wantKind(t, <-done, broker.KindUnavailable)
	if n := orderCount(t, f); n != 0 {
		t.Fatalf("OrderCount = %d", n)
	}
	close(release)
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
}

func TestFaultBlockAfterCreate(t *testing.T) {
	f := newFixture(t, "10000")
	release := make(chan struct{})
	f.e.InjectFaults(f.id, Faults{Block: release, BlockAfterCreate: true})
	done := make(chan broker.Order, 1)
	go func() {
		o, err := f.b.PlaceOrder(context.Background(), req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
		if err != nil {
			t.Error(err)
		}
		done <- o
	}()
	waitFor(t, func() bool { return orderCount(t, f) == 1 })
	select {
	case <-done:
		t.Fatal("PlaceOrder returned while blocked")
	default:
	}
	close(release)
	if o := <-done; o.Status != broker.StatusFilled {
		t.Fatalf("status = %s", o.Status)
	}
	f.e.InjectFaults(f.id, Faults{})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Faults.Duplicates: the paper broker can stop de-duplicating by client
// order id, so callers' own lookup is what keeps an order single.
func TestFaultDuplicatePolicies(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		policy    DuplicatePolicy
		wantKind  broker.Kind // of the second call; "" when it succeeds
		wantCount int
		wantSame  bool // the second call answers with the first order
	}{
		{name: "return existing (default)", policy: DuplicatesReturnExisting, wantCount: 1, wantSame: true},
		{name: "accept a second order", policy: DuplicatesAccept, wantCount: 2},
		{name: "reject the reused id", policy: DuplicatesReject, wantKind: broker.KindRejected, wantCount: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "10000")
			f.e.InjectFaults(f.id, Faults{Duplicates: tc.policy})
			r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "1")
			first := f.place(t, r)
			second, err := f.b.PlaceOrder(ctx, r)
			if tc.wantKind != "" {
				wantKind(t, err, tc.wantKind)
			} else if err != nil {
				t.Fatalf("second PlaceOrder: %v", err)
			}
			if n := orderCount(t, f); n != tc.wantCount {
				t.Fatalf("OrderCount = %d, want %d", n, tc.wantCount)
			}
			if tc.wantSame != (second.ID == first.ID) {
				t.Fatalf("second answer %q, first order %q", second.ID, first.ID)
			}
			got, found, err := f.b.FindOrderByClientID(ctx, r.ClientOrderID)
			if err != nil || !found || got.ID != first.ID {
				t.Fatalf("FindOrderByClientID = %q, %v, %v; want the first order %q", got.ID, found, err, first.ID)
			}
		})
	}
}
