package alpaca

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// harness drives the adapter against the fake, building adapters the way
// production does: Factory + credentials (pointing at the fake).
type harness struct {
	caps    brokertest.Caps
	fake    *Fake
	lastKey string
	// noPair hides ExitPairPlacer: Alpaca has no OCO for crypto (the
	// adapter refuses it, TestExitPairRefusedForCrypto), so the crypto
	// suite runs the adapter as the trade path sees it there.
	noPair bool
}

func newHarness(t *testing.T, caps brokertest.Caps) *harness {
	f := NewFake()
	t.Cleanup(f.Close)
	return &harness{caps: caps, fake: f}
}

func (h *harness) Caps() brokertest.Caps { return h.caps }

func (h *harness) open(t *testing.T, creds broker.Credentials) broker.Broker {
	t.Helper()
	reg := broker.NewRegistry()
	Register(reg, Options{AllowCustomURLs: true})
	b, err := reg.Open(Name, broker.Config{ConnectionID: "conn-1", UserID: "user-1", Paper: true, Credentials: creds})
	if err != nil {
		t.Fatalf("open adapter: %v", err)
	}
	return b
}

func (h *harness) NewAccount(t *testing.T, cash decimal.Decimal) broker.Broker {
	key, secret := h.fake.CreateAccount(cash)
	h.lastKey = key
	b := h.open(t, h.fake.Credentials(key, secret))
	if h.noPair {
		return struct{ broker.Broker }{b}
	}
	return b
}

func (h *harness) NewAccountBadCredentials(t *testing.T) broker.Broker {
	key, _ := h.fake.CreateAccount(decimal.NewFromInt(1000))
	return h.open(t, h.fake.Credentials(key, "not-the-secret"))
}

func (h *harness) SetPrice(_ *testing.T, symbol string, price decimal.Decimal) {
	h.fake.SetPrice(symbol, price)
}
func (h *harness) FailNext(_ *testing.T, n int)      { h.fake.FailNextOrders(n) }
func (h *harness) DropNextResponse(_ *testing.T)     { h.fake.DropNextOrderResponse() }
func (h *harness) RateLimitNext(_ *testing.T, n int) { h.fake.RateLimitNext(n) }
func (h *harness) OrderCount(_ *testing.T) int       { return h.fake.OrderCount(h.lastKey) }
func (h *harness) SetHalted(_ *testing.T, symbol string, halted bool) {
	h.fake.SetHalted(symbol, halted)
}

func TestConformanceStocks(t *testing.T) {
	brokertest.Run(t, newHarness(t, brokertest.Caps{
		Name:                 Name,
		AssetClass:           signal.AssetStock,
		Symbol:               "AAPL",
		Price:                decimal.RequireFromString("190.00"),
		Quantity:             decimal.NewFromInt(2),
		UnnormalisedQuantity: decimal.RequireFromString("1.1234567891234"),
		InvalidSymbol:        "ZZZZ",
		ExitPair:             true,
	}))
}

func TestConformanceCrypto(t *testing.T) {
	h := newHarness(t, brokertest.Caps{
		Name:                 Name,
		AssetClass:           signal.AssetCrypto,
		Symbol:               "BTC-USD",
		Price:                decimal.RequireFromString("65000.00"),
		Quantity:             decimal.RequireFromString("0.01"),
		UnnormalisedQuantity: decimal.RequireFromString("0.0123456789123"),
		InvalidSymbol:        "ZZZ-USD",
	})
	h.noPair = true
	brokertest.Run(t, h)
}
