package schwab

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// memStore records saved tokens, like the caller's encrypted credential store.
type memStore struct {
	mu    sync.Mutex
	saved []Tokens
}

func (m *memStore) Save(_ context.Context, t Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved = append(m.saved, t)
	return nil
}

func (m *memStore) all() []Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Tokens(nil), m.saved...)
}

// harness drives the adapter against the fake Trader API for brokertest.
type harness struct {
	fake    *Fake
	store   *memStore
	factory broker.Factory
	conns   int
}

var _ brokertest.Harness = (*harness)(nil)

// newHarness starts a fake and a factory with a generous limiter (the real
// one allows 60 requests a minute) and a 0.6 s Retry-After on 429s.
func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	f := NewFake()
	t.Cleanup(f.Close)
	f.SetRetryAfter("0.6")
	store := &memStore{}
	base := []Option{WithApp(f.App()), WithCustomURLs(true), WithLimiter(ratelimit.New(600000)), WithTokenStore(store)}
	return &harness{fake: f, store: store, factory: Factory(append(base, opts...)...)}
}

func (h *harness) open(t *testing.T, creds broker.Credentials) broker.Broker {
	t.Helper()
	h.conns++
	b, err := h.factory(broker.Config{ConnectionID: "conn-" + strconv.Itoa(h.conns), UserID: "user-1", Credentials: creds})
	if err != nil {
		t.Fatalf("factory: %v", err)
	}
	return b
}

func (h *harness) Caps() brokertest.Caps {
	return brokertest.Caps{
		Name:                 Name,
		AssetClass:           signal.AssetStock,
		Symbol:               "AAPL",
		Price:                decimal.RequireFromString("190.00"),
		Quantity:             decimal.NewFromInt(2),
		UnnormalisedQuantity: decimal.RequireFromString("10.5"),
		InvalidSymbol:        "ZZZQX",
		UnknownOrderID:       "987654321",
		ExitPair:             true,
	}
}

func (h *harness) NewAccount(t *testing.T, cash decimal.Decimal) broker.Broker {
	return h.open(t, h.fake.NewAccount(cash))
}

func (h *harness) NewAccountBadCredentials(t *testing.T) broker.Broker {
	return h.open(t, h.fake.NewAccountExpiredAuthorization())
}

func (h *harness) SetPrice(_ *testing.T, symbol string, price decimal.Decimal) {
	h.fake.SetPrice(symbol, price)
}

func (h *harness) FailNext(_ *testing.T, n int)      { h.fake.FailNext(n) }
func (h *harness) DropNextResponse(_ *testing.T)     { h.fake.DropNextResponse() }
func (h *harness) RateLimitNext(_ *testing.T, n int) { h.fake.RateLimitNext(n) }
func (h *harness) OrderCount(_ *testing.T) int       { return h.fake.OrderCount() }
func (h *harness) SetHalted(_ *testing.T, symbol string, halted bool) {
	h.fake.SetHalted(symbol, halted)
}

func TestConformance(t *testing.T) {
	brokertest.Run(t, newHarness(t))
}
