package ibkr

import (
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// harness drives the adapter against the fake gateway for brokertest.
type harness struct {
	fake    *Fake
	opts    []Option
	factory broker.Factory
	conns   int
}

var _ brokertest.Harness = (*harness)(nil)

// Test pacing: IBKR's documented pacing scaled down, the adapter's (orders
// every 500 ms, 10 requests per 100 ms) twice as slow as what the fake
// enforces (250 ms, 10 per 50 ms), as the real adapter's margin is over
// IBKR's: on a loaded 2-core machine the requests' arrival at the fake
// jitters by tens of milliseconds, and 1.6× (0.08) was seen to break.
var (
	testAdapterPacing = DocumentedPacing().Scaled(0.1)
	testFakePacing    = DocumentedPacing().Scaled(0.05)
)

// newHarness starts a fake and a factory configured for fast tests: a
// generous limiter (the real one allows 25 requests a minute), scaled
// pacing, a 600 ms wait after a 429 (the gateway sends no Retry-After) and a
// 5 ms snapshot poll. The test fails if the adapter ever broke the fake's
// pacing.
func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	f := NewFake()
	f.SetPacing(testFakePacing)
	t.Cleanup(f.Close)
	t.Cleanup(func() {
		if v := f.Violations(); v != 0 {
			t.Errorf("the adapter broke IBKR's pacing %d times", v)
		}
	})
	base := []Option{
		WithPrivateGateways(true), // the fake listens on 127.0.0.1
		WithLimiter(ratelimit.New(600000)),
		WithPacing(testAdapterPacing),
		WithRateLimitBackoff(600 * time.Millisecond),
		WithPollInterval(5 * time.Millisecond),
	}
	opts = append(base, opts...)
	return &harness{fake: f, opts: opts, factory: Factory(opts...)}
}

// otherProcess is a harness on the same fake with a factory of its own, as
// in another worker process: no limiter, pacer or session state shared.
func (h *harness) otherProcess() *harness {
	return &harness{fake: h.fake, opts: h.opts, factory: Factory(h.opts...)}
}

func (h *harness) open(t *testing.T, accountID, baseURL string) broker.Broker {
	t.Helper()
	h.conns++
	b, err := h.factory(broker.Config{
		ConnectionID: "conn-" + strconv.Itoa(h.conns),
		UserID:       "user-1",
		Credentials:  broker.Credentials{CredAccountID: accountID, CredBaseURL: baseURL},
	})
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
	id, base := h.fake.NewAccount(cash)
	return h.open(t, id, base)
}

func (h *harness) NewAccountBadCredentials(t *testing.T) broker.Broker {
	id, base := h.fake.NewLoggedOutGateway()
	return h.open(t, id, base)
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
