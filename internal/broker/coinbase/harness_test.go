package coinbase

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// harness runs the conformance suite against the adapter and its fake,
// building adapters the way production does: Factory + credentials.
type harness struct {
	fake    *Fake
	factory broker.Factory
	keyType KeyType
}

func newHarness(t *testing.T, kt KeyType) *harness {
	t.Helper()
	f := NewFake()
	t.Cleanup(f.Close)
	return &harness{fake: f, factory: Factory(Options{AllowCustomURLs: true}), keyType: kt}
}

func TestConformance(t *testing.T) { brokertest.Run(t, newHarness(t, KeyECDSA)) }

// TestConformanceEd25519 runs the suite with Ed25519 keys, the default CDP
// key type.
func TestConformanceEd25519(t *testing.T) { brokertest.Run(t, newHarness(t, KeyEd25519)) }

func (h *harness) Caps() brokertest.Caps {
	return brokertest.Caps{
		Name:                 Name,
		AssetClass:           signal.AssetCrypto,
		Symbol:               "BTC-USD",
		Price:                decimal.NewFromInt(50000),
		Quantity:             decimal.RequireFromString("0.01"),
		UnnormalisedQuantity: decimal.RequireFromString("0.0123456789"),
		InvalidSymbol:        "NOPE-USD",
		ExitPair:             true,
	}
}

func (h *harness) open(t *testing.T, creds broker.Credentials) broker.Broker {
	t.Helper()
	b, err := h.factory(broker.Config{ConnectionID: "c1", UserID: "u1", Credentials: creds})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return b
}

func (h *harness) NewAccount(t *testing.T, cash decimal.Decimal) broker.Broker {
	return h.open(t, h.fake.NewAccountWithKey(cash, h.keyType))
}

// NewAccountBadCredentials signs with a valid key of the same type that is
// not the one registered for the key name.
func (h *harness) NewAccountBadCredentials(t *testing.T) broker.Broker {
	creds := h.fake.NewAccountWithKey(decimal.NewFromInt(100), h.keyType)
	other := h.fake.NewAccountWithKey(decimal.NewFromInt(100), h.keyType)
	creds["api_secret"] = other["api_secret"]
	return h.open(t, creds)
}

func (h *harness) SetPrice(t *testing.T, symbol string, price decimal.Decimal) {
	h.fake.SetPrice(symbol, price)
}
func (h *harness) FailNext(t *testing.T, n int)      { h.fake.FailNext(n) }
func (h *harness) DropNextResponse(t *testing.T)     { h.fake.DropNextResponse() }
func (h *harness) RateLimitNext(t *testing.T, n int) { h.fake.RateLimitNext(n) }
func (h *harness) OrderCount(t *testing.T) int       { return h.fake.OrderCount() }
func (h *harness) SetHalted(t *testing.T, symbol string, halted bool) {
	h.fake.SetHalted(symbol, halted)
}
