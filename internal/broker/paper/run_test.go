package paper

import (
	"context"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// SC-015: a stop triggers within 2 s of the price crossing, with the default
// match interval and nobody polling the order.
func TestRunTriggersStopWithinTwoSeconds(t *testing.T) {
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	stop := f.place(t, stopReq(signal.SideSell, "10", "98"))

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- f.e.Run(ctx) }()

	crossed := time.Now()
	f.feed.Set("AAPL", d("97"))
	for {
		st, err := f.e.store.Load(context.Background(), f.id) // no matching on this path
		if err != nil {
			t.Fatal(err)
		}
		if st.orderByID(stop.ID).Status == broker.StatusFilled {
			break
		}
		if time.Since(crossed) > 2*time.Second {
			t.Fatal("stop not filled within 2s of the price crossing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	st, _ := f.e.store.Load(context.Background(), f.id)
	if st.Working {
		t.Fatal("account still flagged working")
	}
}

func TestMatchAllIgnoresIdleAccounts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "10000")
	if err := f.e.CreateAccount(ctx, "idle", d("1")); err != nil {
		t.Fatal(err)
	}
	f.place(t, limitReq(signal.SideBuy, "1", "90"))
	states, err := f.e.store.ListWorking(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].ID != f.id {
		t.Fatalf("ListWorking = %d accounts", len(states))
	}
}
