package kraken

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newAccount(t *testing.T, f *Fake, cash string) (*Adapter, broker.Credentials) {
	t.Helper()
	creds := f.NewAccount(d(cash))
	b, err := Factory(testOptions())(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter), creds
}

func buy(cid string, typ signal.OrderType, qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: cid, Symbol: "BTC-USD", AssetClass: signal.AssetCrypto,
		Side: signal.SideBuy, Type: typ, Quantity: d(qty), TimeInForce: broker.TIFGTC}
}

// TestAPISignDocumentedExample checks the signature against the worked
// example of Kraken's "Spot REST Authentication" guide.
func TestAPISignDocumentedExample(t *testing.T) {
	secret := "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
	key, err := decodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	got := apiSign(key, "/0/private/AddOrder", "1616492376594",
		"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25")
	want := "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
	if got != want {
		t.Fatalf("API-Sign = %s, want %s", got, want)
	}
}

func TestAssetNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"XXBT", "BTC"}, {"ZUSD", "USD"}, {"XETH", "ETH"}, {"XXDG", "DOGE"},
		{"SOL", "SOL"}, {"XTZ", "XTZ"}, {"XBT.F", ""}, {"ETH2.S", ""},
	}
	for _, tt := range tests {
		if got := canonicalAsset(tt.in); got != tt.want {
			t.Errorf("canonicalAsset(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := krakenAsset("BTC") + krakenAsset("USD"); got != "XBTUSD" {
		t.Errorf("pair name %s", got)
	}
}

func TestWireClOrdID(t *testing.T) {
	long := "tee-0123456789abcdef0123456789ab"
	got := wireClOrdID(long)
	if got != wireClOrdID(long) || !validClOrdID(got) || len(got) != 36 {
		t.Fatalf("wireClOrdID(%q) = %q", long, got)
	}
	if wireClOrdID("short-id_1") != "short-id_1" {
		t.Fatal("short free text changed")
	}
	u := "D15708C1-DBB6-465D-B77D-47258319CC90"
	if wireClOrdID(u) != strings.ToLower(u) {
		t.Fatal("UUID changed")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		errs   []string
		status int
		want   broker.Kind
	}{
		{[]string{"EOrder:Insufficient funds"}, 200, broker.KindInsufficientFunds},
		{[]string{"EQuery:Unknown asset pair"}, 200, broker.KindInvalidSymbol},
		{[]string{"EAPI:Invalid key"}, 200, broker.KindAuthFailed},
		{[]string{"EAPI:Invalid signature"}, 200, broker.KindAuthFailed},
		{[]string{"EAPI:Invalid nonce"}, 200, broker.KindAuthFailed},
		{[]string{"EGeneral:Permission denied"}, 200, broker.KindAuthFailed},
		{[]string{"EAPI:Rate limit exceeded"}, 200, broker.KindRateLimited},
		{[]string{"EOrder:Rate limit exceeded"}, 200, broker.KindRateLimited},
		{[]string{"EService:Throttled: 1700000000"}, 200, broker.KindRateLimited},
		{[]string{"EService:Unavailable"}, 200, broker.KindUnavailable},
		{[]string{"EService:Busy"}, 200, broker.KindUnavailable},
		{[]string{"EService:Unavailable"}, 503, broker.KindUnavailable},
		{[]string{"Bad Gateway"}, 502, broker.KindUnavailable},
		{[]string{"EService:Market in cancel_only mode"}, 200, broker.KindHalted},
		{[]string{"EService:Market in post_only mode"}, 200, broker.KindHalted},
		{[]string{"EGeneral:Invalid arguments:volume"}, 200, broker.KindInvalidOrder},
		{[]string{"EOrder:Order minimum not met"}, 200, broker.KindInvalidOrder},
		{[]string{"EOrder:Cost minimum not met"}, 200, broker.KindInvalidOrder},
		{[]string{"EOrder:Orders limit exceeded"}, 200, broker.KindInvalidOrder},
		{[]string{"EOrder:Unknown order"}, 200, broker.KindNotFound},
		{[]string{"EOrder:Invalid order"}, 200, broker.KindNotFound},
		{[]string{"EFuture:Something new"}, 200, broker.KindRejected},
	}
	for _, tt := range tests {
		err := mapError(&apiError{Status: tt.status, Errors: tt.errs})
		var be *broker.Error
		if !errors.As(err, &be) || be.Kind != tt.want || be.Message == "" {
			t.Errorf("%v (HTTP %d) → %v, want %s", tt.errs, tt.status, err, tt.want)
		}
	}
}

func TestFakeRefusesBadAuth(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "100")
	ctx := testCtx(t)
	if _, err := a.GetBalance(ctx); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name  string
		creds broker.Credentials
	}{
		{"unknown key", broker.Credentials{"api_key": "nope", "api_secret": creds["api_secret"], "base_url": f.URL()}},
		{"wrong secret", broker.Credentials{"api_key": creds["api_key"], "api_secret": "d3Jvbmc=", "base_url": f.URL()}},
	}
	for _, tt := range bad {
		b, err := Factory(testOptions())(broker.Config{Credentials: tt.creds})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.GetBalance(ctx); !errors.Is(err, broker.ErrAuthFailed) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// Another application pushed the key's nonce far ahead: refused, with a
	// message saying so, after a bounded number of re-signs.
	f.mu.Lock()
	f.accounts[creds["api_key"]].lastNonce = time.Now().Add(time.Hour).UnixMicro()
	f.mu.Unlock()
	_, err := a.GetBalance(ctx)
	if !errors.Is(err, broker.ErrAuthFailed) || !strings.Contains(err.Error(), "nonce") {
		t.Fatalf("nonce: %v", err)
	}
}

func TestConcurrentCallsKeepNoncesIncreasing(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, _ := newAccount(t, f, "100")
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.GetBalance(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestPlaceOrderNormalisesAndChecksMinimums(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "100000")
	ctx := testCtx(t)

	if _, err := a.PlaceOrder(ctx, buy("small", signal.OrderMarket, "0.00005")); !errors.Is(err, broker.ErrInvalidOrder) ||
		!strings.Contains(err.Error(), "below the exchange minimum 0.0001") {
		t.Fatalf("below ordermin: %v", err)
	}
	if n := f.OrderCountFor(creds["api_key"]); n != 0 {
		t.Fatalf("%d orders reached the exchange", n)
	}
	req := buy("limit-1", signal.OrderLimit, "0.123456789")
	req.LimitPrice = d("40000.19")
	o, err := a.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Quantity.Equal(d("0.12345678")) || !o.LimitPrice.Equal(d("40000.1")) || o.Status != broker.StatusNew || o.Symbol != "BTC-USD" {
		t.Fatalf("order %+v", o)
	}
	bal, err := a.GetBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := d("0.12345678").Mul(d("40000.1"))
	if !bal.Cash.Equal(d("100000")) || !bal.BuyingPower.Equal(d("100000").Sub(held)) {
		t.Fatalf("balance %+v, want buying power less %s", bal, held)
	}

	// A sell stop-limit: prices rounded up to the tick.
	f.SetBalance(creds["api_key"], "XXBT", d("1"))
	sell := broker.OrderRequest{ClientOrderID: "stop-1", Symbol: "BTC-USD", Side: signal.SideSell, Type: signal.OrderStopLimit,
		Quantity: d("0.5"), StopPrice: d("45000.01"), LimitPrice: d("44900.01"), TimeInForce: broker.TIFGTC}
	o, err = a.PlaceOrder(ctx, sell)
	if err != nil {
		t.Fatal(err)
	}
	if !o.StopPrice.Equal(d("45000.1")) || !o.LimitPrice.Equal(d("44900.1")) || o.Type != signal.OrderStopLimit {
		t.Fatalf("stop order %+v", o)
	}
	positions, err := a.GetPositions(ctx)
	if err != nil || len(positions) != 1 || positions[0].Symbol != "BTC-USD" || !positions[0].MarketValue.Equal(d("50000")) {
		t.Fatalf("positions %+v, %v", positions, err)
	}
}

// TestTickSizeCoarserThanPairDecimals: tick_size is its own field
// (get-tradable-asset-pairs: "minimum increment between valid price
// levels"), not always 10^-pair_decimals; prices follow tick_size.
func TestTickSizeCoarserThanPairDecimals(t *testing.T) {
	f := NewFake()
	defer f.Close()
	f.AddPair("XLTCZUSD", "LTCUSD", "LTC/USD", "XLTC", "ZUSD", 8, 2, "0.05", "0.05", "0.5", "70")
	a, _ := newAccount(t, f, "100000")
	req := broker.OrderRequest{ClientOrderID: "ltc-1", Symbol: "LTC-USD", AssetClass: signal.AssetCrypto,
		Side: signal.SideBuy, Type: signal.OrderLimit, Quantity: d("1"), LimitPrice: d("60.03"), TimeInForce: broker.TIFGTC}
	o, err := a.PlaceOrder(testCtx(t), req)
	if err != nil || !o.LimitPrice.Equal(d("60")) {
		t.Fatalf("order %+v, %v; want the limit floored to the 0.05 tick", o, err)
	}
}

func TestRestrictedMarket(t *testing.T) {
	f := NewFake()
	defer f.Close()
	f.SetStatus("XBTUSD", "limit_only")
	a, _ := newAccount(t, f, "100000")
	if _, err := a.PlaceOrder(testCtx(t), buy("m", signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindHalted {
		t.Fatalf("market in limit_only: %v", err)
	}
	lim := buy("l", signal.OrderLimit, "0.01")
	lim.LimitPrice = d("40000")
	if _, err := a.PlaceOrder(testCtx(t), lim); err != nil {
		t.Fatalf("limit in limit_only: %v", err)
	}
}

func TestThrottledWaitsUntilTimestamp(t *testing.T) {
	c := &client{now: func() time.Time { return time.Unix(1_700_000_000, 0) }, rlBackoff: 3 * time.Second}
	if got := c.rateLimitWait(&apiError{Errors: []string{"EService:Throttled: 1700000002"}}); got != 2*time.Second {
		t.Fatalf("wait %s", got)
	}
	if got := c.rateLimitWait(&apiError{Errors: []string{"EAPI:Rate limit exceeded"}}); got != 3*time.Second {
		t.Fatalf("wait %s", got)
	}
}

func TestFactory(t *testing.T) {
	if _, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Paper: true, Credentials: broker.Credentials{"api_key": "k", "api_secret": "c2VjcmV0"}}); !errors.Is(err, broker.ErrAuthFailed) {
		t.Fatalf("paper: %v", err)
	}
	if _, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: broker.Credentials{"api_key": "k", "api_secret": "not base64!"}}); !errors.Is(err, broker.ErrAuthFailed) {
		t.Fatalf("bad secret: %v", err)
	}
	b, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: broker.Credentials{"api_key": "k", "api_secret": "c2VjcmV0"}})
	if err != nil || b.(*Adapter).c.baseURL != ProductionURL {
		t.Fatalf("default: %v", err)
	}
}

// Issue 13 #7: outside dev the factory itself refuses a trader-supplied
// address (not only the API), so no code path can point it elsewhere.
func TestFactoryRefusesCustomBaseURLOutsideDev(t *testing.T) {
	_, err := Factory(Options{})(broker.Config{Credentials: broker.Credentials{"api_key": "k", "api_secret": "c2VjcmV0", "base_url": "http://169.254.169.254"}})
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || !strings.Contains(be.Message, "custom") {
		t.Fatalf("err = %v", err)
	}
}
