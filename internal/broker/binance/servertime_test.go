package binance

import (
	"errors"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// A server clock out of step with ours: the first signed request gets
// -1021, the adapter reads /api/v3/time, retries once with the offset, and
// every adapter of the Factory signs with it from then on.
func TestServerTimeOffsetAfterMinus1021(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Second, -10 * time.Second} {
		t.Run(skew.String(), func(t *testing.T) {
			f := NewFake()
			defer f.Close()
			f.SetClockOffset(skew)
			factory := Factory(Options{AllowCustomURLs: true})
			a := openOn(t, factory, f.NewAccount(d("100000")))
			ctx := testCtx(t)
			if _, err := a.GetBalance(ctx); err != nil {
				t.Fatalf("with the server %s off: %v", skew, err)
			}
			if n := f.Hits("GET /api/v3/time"); n != 1 {
				t.Fatalf("server time read %d times, want once", n)
			}
			if got := a.c.clock.get(); (got - skew).Abs() > 500*time.Millisecond {
				t.Fatalf("offset %s, want about %s", got, skew)
			}
			// Another tenant of the same Factory, and an order: no more
			// -1021, no more time reads.
			b := openOn(t, factory, f.NewAccount(d("100000")))
			accountReads := f.Hits("GET /api/v3/account")
			if _, err := b.GetBalance(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := b.PlaceOrder(ctx, buy("tee-time", signal.OrderMarket, "0.001")); err != nil {
				t.Fatal(err)
			}
			if f.Hits("GET /api/v3/time") != 1 || f.Hits("GET /api/v3/account") != accountReads+1 {
				t.Fatalf("the offset was not reused: %d time reads, %d account reads", f.Hits("GET /api/v3/time"), f.Hits("GET /api/v3/account")-accountReads)
			}
		})
	}
}

// A -1021 that persists after the re-read is answered, not retried again.
func TestMinus1021IsRetriedOnce(t *testing.T) {
	r := newReplay(t)
	r.answer("GET /api/v3/account", 400, `{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}`)
	r.answer("GET /api/v3/time", 200, `{"serverTime":1499827319559}`)
	a := r.adapter(t, Options{})
	_, err := a.GetBalance(testCtx(t))
	var ae *apiError
	if !errors.As(err, &ae) || ae.Code != -1021 || broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("err = %v, want the -1021 answer", err)
	}
	if r.hits("GET /api/v3/account") != 2 || r.hits("GET /api/v3/time") != 1 {
		t.Fatalf("account %d times, time %d times; want 2 and 1", r.hits("GET /api/v3/account"), r.hits("GET /api/v3/time"))
	}
}
