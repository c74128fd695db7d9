package paper

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// harness runs the broker conformance suite against the paper broker, built
// the way production builds it (registry factory + account_id credential).
type harness struct {
	caps brokertest.Caps
	e    *Engine
	feed *StaticFeed
	last string // most recently created account
	// noPairs turns the exit pair off on every account.
	noPairs bool
}

func newHarness(caps brokertest.Caps) *harness {
	feed := NewStaticFeed(nil)
	return &harness{caps: caps, e: NewEngine(NewMemoryStore(), feed), feed: feed}
}

func (h *harness) Caps() brokertest.Caps { return h.caps }

func (h *harness) open(t *testing.T, accountID string) broker.Broker {
	t.Helper()
	reg := broker.NewRegistry()
	reg.Register(Name, Factory(h.e))
	b, err := reg.Open(Name, broker.Config{Paper: true, Credentials: broker.Credentials{CredentialAccountID: accountID}})
	if err != nil {
		t.Fatalf("open paper broker: %v", err)
	}
	return b
}

func (h *harness) NewAccount(t *testing.T, cash decimal.Decimal) broker.Broker {
	t.Helper()
	h.last = uuid.NewString()
	if h.noPairs {
		h.e.SetExitPairs(h.last, false)
	}
	if err := h.e.CreateAccount(context.Background(), h.last, cash); err != nil {
		t.Fatal(err)
	}
	return h.open(t, h.last)
}

func (h *harness) NewAccountBadCredentials(t *testing.T) broker.Broker {
	return h.open(t, uuid.NewString()) // no such account
}

func (h *harness) SetPrice(_ *testing.T, symbol string, price decimal.Decimal) {
	h.feed.Set(symbol, price)
}

func (h *harness) FailNext(_ *testing.T, n int) { h.e.InjectFaults(h.last, Faults{FailPlace: n}) }

func (h *harness) DropNextResponse(*testing.T) {
	h.e.InjectFaults(h.last, Faults{DropPlaceResponse: 1})
}

func (h *harness) RateLimitNext(*testing.T, int) {} // no remote API, no rate limit

func (h *harness) OrderCount(t *testing.T) int {
	t.Helper()
	n, err := h.e.OrderCount(context.Background(), h.last)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *harness) SetHalted(t *testing.T, symbol string, halted bool) {
	t.Helper()
	if err := h.e.SetHalted(symbol, halted); err != nil {
		t.Fatal(err)
	}
}

// Without exit pairs (Engine.SetExitPairs off) the adapter is a plain
// broker: the suite skips the pair subtests, and fails if Caps said yes.
func TestConformanceWithoutExitPairs(t *testing.T) {
	h := newHarness(brokertest.Caps{Name: Name, AssetClass: signal.AssetStock, Symbol: "AAPL", Price: d("190.25"),
		Quantity: d("3"), InvalidSymbol: "ZZZZ", NoRemoteRateLimit: true})
	h.noPairs = true
	brokertest.Run(t, h)
}

func TestConformance(t *testing.T) {
	t.Run("stock", func(t *testing.T) {
		brokertest.Run(t, newHarness(brokertest.Caps{
			Name:              Name,
			AssetClass:        signal.AssetStock,
			Symbol:            "AAPL",
			Price:             d("190.25"),
			Quantity:          d("3"),
			InvalidSymbol:     "ZZZZ",
			NoRemoteRateLimit: true,
			ExitPair:          true,
		}))
	})
	t.Run("crypto", func(t *testing.T) {
		brokertest.Run(t, newHarness(brokertest.Caps{
			Name:                 Name,
			AssetClass:           signal.AssetCrypto,
			Symbol:               "BTC-USD",
			Price:                d("65000.5"),
			Quantity:             d("0.015"),
			UnnormalisedQuantity: d("0.0123456789"),
			InvalidSymbol:        "FOO-USD",
			NoRemoteRateLimit:    true,
			ExitPair:             true,
		}))
	})
}
