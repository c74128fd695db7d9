package binance

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/dblimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// recordingStore records what every request takes from the shared budgets.
type recordingStore struct {
	ratelimit.Store
	mu    sync.Mutex
	costs []ratelimit.Cost
}

func (r *recordingStore) Reserve(ctx context.Context, now func() time.Time, costs []ratelimit.Cost) (time.Duration, error) {
	r.mu.Lock()
	r.costs = append(r.costs, costs...)
	r.mu.Unlock()
	return r.Store.Reserve(ctx, now, costs)
}

func (r *recordingStore) taken() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, c := range r.costs {
		out[c.Key] += c.Weight
	}
	return out
}

// Binance counts request weight per IP: every tenant draws from one budget
// of the server's address; new orders also from their account's budget.
func TestWeightIsCountedPerIPAndOrdersPerAccount(t *testing.T) {
	f := NewFake()
	defer f.Close()
	rec := &recordingStore{Store: ratelimit.NewMemory()}
	factory := Factory(Options{AllowCustomURLs: true, Store: rec})
	open := func() *Adapter {
		b, err := factory(broker.Config{Credentials: f.NewAccount(d("100000"))})
		if err != nil {
			t.Fatal(err)
		}
		return b.(*Adapter)
	}
	a, b := open(), open()
	if a.c.ipKey != b.c.ipKey {
		t.Fatalf("two tenants have different IP budgets %q and %q", a.c.ipKey, b.c.ipKey)
	}
	if a.c.acctKey == b.c.acctKey || strings.Contains(a.c.acctKey, a.c.apiKey) || strings.Contains(a.c.ipKey, a.c.apiKey) {
		t.Fatalf("account budgets %q / %q: not per account, or carrying the API key", a.c.acctKey, b.c.acctKey)
	}
	ctx := testCtx(t)
	if _, err := a.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.taken()[a.c.ipKey]; got != 2*weightAccount {
		t.Fatalf("IP budget took %d, want %d (two account reads)", got, 2*weightAccount)
	}
	if _, err := a.PlaceOrder(ctx, buy("tee-w", signal.OrderMarket, "0.01")); err != nil {
		t.Fatal(err)
	}
	taken := rec.taken()
	if taken[a.c.acctKey] != 1 || taken[b.c.acctKey] != 0 {
		t.Fatalf("order budgets %v: want one order on a's account only", taken)
	}
	// exchangeInfo 20 + ticker 2 + query by client id 4 + new order 1.
	if want := 2*weightAccount + weightExchangeInfo + weightTickerPrice + weightQueryOrder + weightNewOrder; taken[a.c.ipKey] != want {
		t.Fatalf("IP budget took %d, want %d", taken[a.c.ipKey], want)
	}
}

// process is one api/worker process: its own Factory (in-process buckets,
// caches) over the shared database.
func process(t *testing.T, db *dblimit.Store, opts Options) broker.Factory {
	t.Helper()
	opts.AllowCustomURLs, opts.Store = true, db
	return Factory(opts)
}

func openOn(t *testing.T, factory broker.Factory, creds broker.Credentials) *Adapter {
	t.Helper()
	b, err := factory(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter)
}

// One tenant's 429 slows every tenant on the same address, in every
// process sharing the database: the other process does not send until the
// Retry-After has passed.
func TestRateLimitOfOneTenantPausesEveryTenantAcrossProcesses(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, dbA, dbB *gorm.DB) {
		f := NewFake()
		defer f.Close()
		tenantA := openOn(t, process(t, dblimit.New(dbA), Options{}), f.NewAccount(d("1000")))
		tenantB := openOn(t, process(t, dblimit.New(dbB), Options{}), f.NewAccount(d("1000")))

		f.RateLimitNext(1) // Retry-After: 1
		short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if _, err := tenantA.GetBalance(short); !errors.Is(err, broker.ErrRateLimited) {
			t.Fatalf("tenant A after a 429: %v", err)
		}
		hits := f.Hits("GET /api/v3/account")

		// Tenant B, another process: still inside A's Retry-After, its
		// request stays home.
		short2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel2()
		if _, err := tenantB.GetBalance(short2); !errors.Is(err, broker.ErrRateLimited) {
			t.Fatalf("tenant B during A's Retry-After: %v, want RATE_LIMIT_EXCEEDED", err)
		}
		if got := f.Hits("GET /api/v3/account"); got != hits {
			t.Fatalf("tenant B sent %d requests during the pause", got-hits)
		}
		// With time to wait, B is served once the pause is over.
		if _, err := tenantB.GetBalance(testCtx(t)); err != nil {
			t.Fatalf("tenant B after the pause: %v", err)
		}
	})
}

// A 418 bans the server's address: every tenant in every process gets the
// typed ban error at once and nothing reaches Binance until the ban ends.
func TestIPBanStopsEveryTenantAcrossProcesses(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, dbA, dbB *gorm.DB) {
		f := NewFake()
		defer f.Close()
		tenantA := openOn(t, process(t, dblimit.New(dbA), Options{}), f.NewAccount(d("1000")))
		tenantB := openOn(t, process(t, dblimit.New(dbB), Options{}), f.NewAccount(d("1000")))

		f.BanFor(1500 * time.Millisecond) // Retry-After: 2
		start := time.Now()
		_, err := tenantA.GetBalance(testCtx(t))
		var be *broker.Error
		if !errors.As(err, &be) || be.Kind != broker.KindRateLimited || !errors.Is(err, ratelimit.ErrBanned) ||
			!strings.Contains(be.Message, "banned this server's IP address") || be.RetryAfter < time.Second || be.RetryAfter > 2*time.Second {
			t.Fatalf("tenant A on a 418: %#v", err)
		}
		if time.Since(start) > time.Second {
			t.Fatalf("the ban was waited out (%s) instead of answered", time.Since(start))
		}
		hits := f.Hits("GET /api/v3/account") + f.Hits("GET /api/v3/exchangeInfo") + f.Hits("POST /api/v3/order")

		_, err = tenantB.PlaceOrder(testCtx(t), buy("tee-ban", signal.OrderMarket, "0.001"))
		var banned *ratelimit.BannedError
		if !errors.As(err, &banned) || broker.KindOf(err) != broker.KindRateLimited {
			t.Fatalf("tenant B during the ban: %v, want the typed ban error", err)
		}
		if got := f.Hits("GET /api/v3/account") + f.Hits("GET /api/v3/exchangeInfo") + f.Hits("POST /api/v3/order"); got != hits {
			t.Fatalf("%d requests reached Binance during the ban", got-hits)
		}
		time.Sleep(time.Until(banned.Until) + 50*time.Millisecond)
		if _, err := tenantB.GetBalance(testCtx(t)); err != nil {
			t.Fatalf("after the ban: %v", err)
		}
	})
}

// FR-016 per account, not per process: two processes placing orders for
// one account together stay within half of Binance's order limit.
func TestOrderBudgetOfAnAccountHoldsAcrossProcesses(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, dbA, dbB *gorm.DB) {
		f := NewFake()
		defer f.Close()
		creds := f.NewAccount(d("100000"))
		// Published 4 orders per 1.2 s: the budget is 2 per rolling 1.2 s.
		opts := Options{OrderRule: ratelimit.Rule{Limit: 4, Window: 1200 * time.Millisecond}}
		procs := []*Adapter{
			openOn(t, process(t, dblimit.New(dbA), opts), creds),
			openOn(t, process(t, dblimit.New(dbB), opts), creds),
		}
		ctx := testCtx(t)
		// Warm both processes' symbol caches so only orders are timed.
		for _, p := range procs {
			if _, err := p.LastPrice(ctx, "BTC-USD"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := p.symbol(ctx, "BTC-USD"); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		for i := range 6 {
			req := buy("tee-fr16-"+string(rune('a'+i)), signal.OrderMarket, "0.001")
			if _, err := procs[i%2].PlaceOrder(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
		// Six orders at 2 per rolling 1.2 s take at least two windows; two
		// separate budgets would send them all at once.
		if el := time.Since(start); el < 2400*time.Millisecond {
			t.Fatalf("6 orders took %s: the account's budget was not shared by the processes", el)
		}
		if n := f.OrderCountFor(creds["api_key"]); n != 6 {
			t.Fatalf("%d orders reached the exchange, want 6", n)
		}
	})
}

// An OCO takes 2 orders of the account's ORDERS budget (rest-api.md
// "Unfilled Order Count: 2"), a new order 1, reads and cancels none.
func TestUnfilledOrders(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/v3/order", 1}, {"POST", "/api/v3/orderList/oco", 2}, {"GET", "/api/v3/orderList", 0},
		{"DELETE", "/api/v3/orderList", 0}, {"GET", "/api/v3/order", 0},
	} {
		if got := unfilledOrders(c.method, c.path); got != c.want {
			t.Errorf("%s %s: %d orders, want %d", c.method, c.path, got, c.want)
		}
	}
}
