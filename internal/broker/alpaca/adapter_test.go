package alpaca

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newFakeAccount(t *testing.T, cash string) (*Fake, *Adapter, string) {
	t.Helper()
	f := NewFake()
	t.Cleanup(f.Close)
	key, secret := f.CreateAccount(dec(cash))
	a, err := New(broker.Config{Paper: true, Credentials: f.Credentials(key, secret)}, Options{AllowCustomURLs: true})
	if err != nil {
		t.Fatal(err)
	}
	return f, a, key
}

func TestNewValidatesConfig(t *testing.T) {
	creds := broker.Credentials{CredAPIKey: "PKTEST", CredAPISecret: "secret"}
	tests := []struct {
		name     string
		cfg      broker.Config
		opts     Options
		wantErr  bool
		wantBase string
	}{
		{"paper", broker.Config{Paper: true, Credentials: creds}, Options{}, false, PaperBaseURL},
		{"live", broker.Config{Credentials: creds}, Options{}, false, LiveBaseURL},
		{"missing secret", broker.Config{Credentials: broker.Credentials{CredAPIKey: "PK"}}, Options{}, true, ""},
		{"custom url refused in production", broker.Config{Credentials: broker.Credentials{CredAPIKey: "PK", CredAPISecret: "s", CredBaseURL: "http://10.0.0.1"}}, Options{}, true, ""},
		{"custom url allowed for fakes", broker.Config{Credentials: broker.Credentials{CredAPIKey: "PK", CredAPISecret: "s", CredBaseURL: "http://127.0.0.1:9/"}}, Options{AllowCustomURLs: true}, false, "http://127.0.0.1:9"},
		{"custom url must be http", broker.Config{Credentials: broker.Credentials{CredAPIKey: "PK", CredAPISecret: "s", CredBaseURL: "file:///etc/passwd"}}, Options{AllowCustomURLs: true}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg, tt.opts)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.c.tradingURL != tt.wantBase || a.c.dataURL == "" {
				t.Fatalf("urls %s %s", a.c.tradingURL, a.c.dataURL)
			}
		})
	}
	// The limiter key never contains the key id.
	a, _ := New(broker.Config{Credentials: creds}, Options{})
	if a.c.trading.Key == "" || a.c.trading.Key == a.c.data.Key || strings.Contains(a.c.trading.Key, "PKTEST") {
		t.Fatalf("limiter keys %q %q", a.c.trading.Key, a.c.data.Key)
	}
}

func TestUnknownKeyIsAuthFailed(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, err := New(broker.Config{Paper: true, Credentials: f.Credentials("PKNOSUCHKEY", "x")}, Options{AllowCustomURLs: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Connect(testCtx(t)); !errors.Is(err, broker.ErrAuthFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestMarketClosedQueuesStockOrders(t *testing.T) {
	f, a, _ := newFakeAccount(t, "10000")
	f.SetMarketOpen(false)
	c, err := a.Clock(testCtx(t), signal.AssetStock)
	if err != nil || c.IsOpen || !c.NextOpen.After(c.Now) {
		t.Fatalf("clock %+v %v", c, err)
	}
	if c, _ := a.Clock(testCtx(t), signal.AssetCrypto); !c.IsOpen {
		t.Fatal("crypto closed")
	}
	o, err := a.PlaceOrder(testCtx(t), broker.OrderRequest{ClientOrderID: "tee-q", Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec("1"), TimeInForce: broker.TIFDay})
	if err != nil || o.Status != broker.StatusNew {
		t.Fatalf("queued order %+v %v", o, err)
	}
	f.SetMarketOpen(true)
	got, err := a.GetOrderStatus(testCtx(t), o.ID)
	if err != nil || got.Status != broker.StatusFilled {
		t.Fatalf("after open: %s %v", got.Status, err)
	}
}

func TestStopLossTriggersAndSellsPosition(t *testing.T) {
	f, a, _ := newFakeAccount(t, "10000")
	buy := broker.OrderRequest{ClientOrderID: "tee-b", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
		Type: signal.OrderMarket, Quantity: dec("10"), TimeInForce: broker.TIFDay}
	if _, err := a.PlaceOrder(testCtx(t), buy); err != nil {
		t.Fatal(err)
	}
	stop := broker.OrderRequest{ClientOrderID: "tes-b", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideSell,
		Type: signal.OrderStop, Quantity: dec("10"), StopPrice: dec("186.20"), TimeInForce: broker.TIFGTC}
	so, err := a.PlaceOrder(testCtx(t), stop)
	if err != nil || so.Status != broker.StatusNew || !so.StopPrice.Equal(dec("186.20")) {
		t.Fatalf("stop %+v %v", so, err)
	}
	// A second sell for the same shares is refused: they are held by the stop.
	extra := stop
	extra.ClientOrderID = "tes-c"
	if _, err := a.PlaceOrder(testCtx(t), extra); !errors.Is(err, broker.ErrInsufficientFunds) {
		t.Fatalf("oversell err = %v", err)
	}
	f.SetPrice("AAPL", dec("186.00"))
	got, err := a.GetOrderStatus(testCtx(t), so.ID)
	if err != nil || got.Status != broker.StatusFilled || !got.AvgFillPrice.Equal(dec("186")) {
		t.Fatalf("stop after drop: %+v %v", got, err)
	}
	pos, err := a.GetPositions(testCtx(t))
	if err != nil || len(pos) != 0 {
		t.Fatalf("positions %+v %v", pos, err)
	}
	bal, _ := a.GetBalance(testCtx(t))
	// 10000 - 10*190 + 10*186
	if !bal.Cash.Equal(dec("9960")) || !bal.Equity.Equal(dec("9960")) {
		t.Fatalf("balance %+v", bal)
	}
}

func TestCryptoPositionSymbolIsCanonical(t *testing.T) {
	_, a, _ := newFakeAccount(t, "100000")
	if _, err := a.PlaceOrder(testCtx(t), broker.OrderRequest{ClientOrderID: "tee-x", Symbol: "ETH-USD", AssetClass: signal.AssetCrypto,
		Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec("0.5"), TimeInForce: broker.TIFDay}); err != nil {
		t.Fatal(err)
	}
	pos, err := a.GetPositions(testCtx(t))
	if err != nil || len(pos) != 1 || pos[0].Symbol != "ETH-USD" || !pos[0].Quantity.Equal(dec("0.5")) || !pos[0].MarketValue.Equal(dec("1700")) {
		t.Fatalf("positions %+v %v", pos, err)
	}
	p, err := a.LastPrice(testCtx(t), "ETH-USD")
	if err != nil || !p.Equal(dec("3400")) {
		t.Fatalf("price %s %v", p, err)
	}
}

func TestClientOrderIDReusedForDifferentOrderIsRejected(t *testing.T) {
	_, a, _ := newFakeAccount(t, "100000")
	req := broker.OrderRequest{ClientOrderID: "tee-dup", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
		Type: signal.OrderLimit, LimitPrice: dec("100"), Quantity: dec("1"), TimeInForce: broker.TIFDay}
	if _, err := a.PlaceOrder(testCtx(t), req); err != nil {
		t.Fatal(err)
	}
	other := req
	other.Symbol = "MSFT"
	if _, err := a.PlaceOrder(testCtx(t), other); !errors.Is(err, broker.ErrRejected) {
		t.Fatalf("err = %v", err)
	}
}

func TestSharedLimiterSpacesRequests(t *testing.T) {
	_, a, _ := newFakeAccount(t, "1000")
	// Burst of 10, then 90/min: the 12th request waits about 1.3 s.
	start := time.Now()
	for i := 0; i < 11; i++ {
		if _, err := a.GetBalance(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 500*time.Millisecond {
		t.Fatalf("11 requests in %s: limiter not applied", el)
	}
}

// Alpaca has no OCO for crypto or fractional shares: the adapter refuses
// the pair as INVALID_ORDER (the trade path then emulates the take-profit)
// and the fake, speaking Alpaca's rules, refuses it too.
func TestExitPairRefusedForCryptoAndFractions(t *testing.T) {
	h := newHarness(t, brokertest.Caps{})
	b := h.NewAccount(t, decimal.NewFromInt(100000)).(broker.ExitPairPlacer)
	for name, req := range map[string]broker.ExitPairRequest{
		"crypto": {ClientOrderID: "tep-crypto", Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Side: signal.SideSell,
			Quantity: decimal.RequireFromString("0.01"), TakeProfitPrice: decimal.NewFromInt(70000), StopPrice: decimal.NewFromInt(60000)},
		"fraction": {ClientOrderID: "tep-fraction", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideSell,
			Quantity: decimal.RequireFromString("1.5"), TakeProfitPrice: decimal.NewFromInt(200), StopPrice: decimal.NewFromInt(180)},
	} {
		if _, err := b.PlaceExitPair(context.Background(), req); broker.KindOf(err) != broker.KindInvalidOrder {
			t.Errorf("%s: PlaceExitPair = %v, want INVALID_ORDER", name, err)
		}
	}
	if n := h.fake.OCOCount(h.lastKey); n != 0 {
		t.Fatalf("%d OCO orders at the fake", n)
	}
}
