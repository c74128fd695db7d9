package paper

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// t0 is a Wednesday, mid-session in New York.
var t0 = time.Date(2024, 3, 13, 15, 0, 0, 0, time.UTC)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// fixture is an engine on a MemoryStore with a static feed, a test clock and
// one account.
type fixture struct {
	e     *Engine
	feed  *StaticFeed
	clock *testClock
	b     broker.Broker
	id    string
}

func newFixture(t *testing.T, cash string, opts ...Option) *fixture {
	t.Helper()
	return newFixtureOn(t, NewMemoryStore(), cash, opts...)
}

func newFixtureOn(t *testing.T, store Store, cash string, opts ...Option) *fixture {
	t.Helper()
	f := &fixture{
		feed: NewStaticFeed(map[string]decimal.Decimal{
			"AAPL":    d("100"),
			"TSLA":    d("200"),
			"BTC-USD": d("50000"),
			"ETH-USD": d("3000"),
		}),
		clock: newTestClock(t0),
		id:    "acct-1",
	}
	f.e = NewEngine(store, f.feed, append([]Option{WithClock(f.clock.Now)}, opts...)...)
	if err := f.e.CreateAccount(context.Background(), f.id, d(cash)); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	f.b = f.e.Broker(f.id)
	return f
}

var orderSeq struct {
	sync.Mutex
	n int
}

func nextClientID() string {
	orderSeq.Lock()
	defer orderSeq.Unlock()
	orderSeq.n++
	return "cid-" + decimal.NewFromInt(int64(orderSeq.n)).String()
}

// req builds an order request; the class follows the symbol.
func req(side signal.Side, typ signal.OrderType, symbol, qty string) broker.OrderRequest {
	return broker.OrderRequest{
		ClientOrderID: nextClientID(),
		Symbol:        symbol,
		AssetClass:    classOf(symbol),
		Side:          side,
		Type:          typ,
		Quantity:      d(qty),
	}
}

func (f *fixture) place(t *testing.T, r broker.OrderRequest) broker.Order {
	t.Helper()
	o, err := f.b.PlaceOrder(context.Background(), r)
	if err != nil {
		t.Fatalf("PlaceOrder(%+v): %v", r, err)
	}
	return o
}

func (f *fixture) status(t *testing.T, id string) broker.Order {
	t.Helper()
	o, err := f.b.GetOrderStatus(context.Background(), id)
	if err != nil {
		t.Fatalf("GetOrderStatus: %v", err)
	}
	return o
}

func (f *fixture) balance(t *testing.T) broker.Balance {
	t.Helper()
	bal, err := f.b.GetBalance(context.Background())
	if err != nil {
		t.Fatalf("GetBalance: %v", err)
	}
	return bal
}

func (f *fixture) position(t *testing.T, symbol string) (broker.Position, bool) {
	t.Helper()
	ps, err := f.b.GetPositions(context.Background())
	if err != nil {
		t.Fatalf("GetPositions: %v", err)
	}
	for _, p := range ps {
		if p.Symbol == symbol {
			return p, true
		}
	}
	return broker.Position{}, false
}

func (f *fixture) matchAll(t *testing.T) {
	t.Helper()
	if err := f.e.MatchAll(context.Background()); err != nil {
		t.Fatalf("MatchAll: %v", err)
	}
}

func eq(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func wantKind(t *testing.T, err error, kind broker.Kind) *broker.Error {
	t.Helper()
	var be *broker.Error
	if !errors.As(err, &be) {
		t.Fatalf("error = %v, want a *broker.Error of kind %s", err, kind)
	}
	if be.Kind != kind {
		t.Fatalf("error kind = %s (%v), want %s", be.Kind, err, kind)
	}
	if be.Broker != Name {
		t.Errorf("error broker = %q, want %q", be.Broker, Name)
	}
	return be
}
