package binance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newAccount(t *testing.T, f *Fake, opts Options, cash string) (*Adapter, broker.Credentials) {
	t.Helper()
	creds := f.NewAccount(d(cash))
	opts.AllowCustomURLs = true // the fake's address
	b, err := Factory(opts)(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter), creds
}

func buy(cid string, typ signal.OrderType, qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: cid, Symbol: "BTC-USD", AssetClass: signal.AssetCrypto,
		Side: signal.SideBuy, Type: typ, Quantity: d(qty), TimeInForce: broker.TIFGTC}
}

func TestSymbolMapping(t *testing.T) {
	tests := []struct{ in, wire, back string }{
		{"BTC-USD", "BTCUSDT", "BTC-USD"},
		{"ETH-USDT", "ETHUSDT", "ETH-USD"},
		{"ETH-BTC", "ETHBTC", "ETH-BTC"},
		{"sol-eur", "SOLEUR", "SOL-EUR"},
	}
	for _, tt := range tests {
		p, err := symbols.Parse(Name, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := toWireSymbol(p); got != tt.wire {
			t.Errorf("toWireSymbol(%s) = %s, want %s", tt.in, got, tt.wire)
		}
		if got := canonicalSymbol(p.Base, strings.TrimPrefix(tt.wire, p.Base)); got != tt.back {
			t.Errorf("canonicalSymbol = %s, want %s", got, tt.back)
		}
	}
}

func TestWireClientID(t *testing.T) {
	short := "tee-0123456789abcdef0123456789ab"
	if got := wireClientID(short); got != short {
		t.Fatalf("valid id changed to %q", got)
	}
	long := "trade/signal/discord/1234567890/user/42"
	got := wireClientID(long)
	if got != wireClientID(long) || len(got) > 36 || !clientIDPattern.MatchString(got) {
		t.Fatalf("wireClientID(%q) = %q: not a stable valid Binance id", long, got)
	}
	if wireClientID(long+"x") == got {
		t.Fatal("different ids map to the same wire id")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  apiError
		want broker.Kind
	}{
		{"insufficient", apiError{Status: 400, Code: -2010, Msg: "Account has insufficient balance for requested action."}, broker.KindInsufficientFunds},
		{"stop would trigger", apiError{Status: 400, Code: -2010, Msg: "Stop price would trigger immediately."}, broker.KindRejected},
		{"invalid symbol", apiError{Status: 400, Code: -1121, Msg: "Invalid symbol."}, broker.KindInvalidSymbol},
		{"lot size", apiError{Status: 400, Code: -1013, Msg: "Filter failure: LOT_SIZE"}, broker.KindInvalidOrder},
		{"notional", apiError{Status: 400, Code: -1013, Msg: "Filter failure: NOTIONAL"}, broker.KindInvalidOrder},
		{"symbol not trading", apiError{Status: 400, Code: -2010, Msg: "Market is closed."}, broker.KindHalted},
		{"symbol not trading (-1013)", apiError{Status: 400, Code: -1013, Msg: "Market is closed."}, broker.KindHalted},
		{"precision", apiError{Status: 400, Code: -1111, Msg: "Parameter 'quantity' has too much precision."}, broker.KindInvalidOrder},
		{"bad key format", apiError{Status: 401, Code: -2014, Msg: "API-key format invalid."}, broker.KindAuthFailed},
		{"bad key", apiError{Status: 401, Code: -2015, Msg: "Invalid API-key, IP, or permissions for action."}, broker.KindAuthFailed},
		{"bad signature", apiError{Status: 400, Code: -1022, Msg: "Signature for this request is not valid."}, broker.KindAuthFailed},
		{"timestamp", apiError{Status: 400, Code: -1021, Msg: "Timestamp for this request is outside of the recvWindow."}, broker.KindUnavailable},
		{"no such order", apiError{Status: 400, Code: -2013, Msg: "Order does not exist."}, broker.KindNotFound},
		{"unknown order", apiError{Status: 400, Code: -2011, Msg: "Unknown order sent."}, broker.KindNotFound},
		{"429", apiError{Status: 429, Code: -1003, Msg: "Too much request weight used"}, broker.KindRateLimited},
		{"418", apiError{Status: 418, Code: -1003, Msg: "IP banned"}, broker.KindRateLimited},
		{"503", apiError{Status: 503, Code: -1001, Msg: "Internal error"}, broker.KindUnavailable},
		{"unknown code", apiError{Status: 400, Code: -9999, Msg: "Something new."}, broker.KindRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapError(&tt.err)
			var be *broker.Error
			if !errors.As(err, &be) || be.Kind != tt.want || be.Message == "" {
				t.Fatalf("mapError = %v, want kind %s", err, tt.want)
			}
		})
	}
}

// TestFakeVerifiesSignature sends hand-made requests: the fake must refuse
// what Binance refuses.
func TestFakeVerifiesSignature(t *testing.T) {
	f := NewFake()
	defer f.Close()
	creds := f.NewAccount(d("100"))
	key, secret := creds["api_key"], creds["api_secret"]
	now := time.Now().UnixMilli()
	signed := func(q string) string { return q + "&signature=" + sign([]byte(secret), q) }
	ts := "timestamp=" + strconv.FormatInt(now, 10)
	tests := []struct {
		name   string
		key    string
		query  string
		status int
		code   string
	}{
		{"valid", key, signed("recvWindow=5000&" + ts), 200, ""},
		{"no key", "", signed(ts), 401, "-2014"},
		{"unknown key", "0123456789abcdef0123456789abcdef", signed(ts), 401, "-2015"},
		{"tampered", key, signed(ts) + "&omitZeroBalances=true", 400, "-1022"},
		{"wrong secret", key, ts + "&signature=" + sign([]byte("nope"), ts), 400, "-1022"},
		{"no signature", key, ts, 400, "-1102"},
		{"stale timestamp", key, signed("timestamp=" + strconv.FormatInt(now-10_000, 10)), 400, "-1021"},
		{"future timestamp", key, signed("timestamp=" + strconv.FormatInt(now+5_000, 10)), 400, "-1021"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.URL()+"/api/v3/account?"+tt.query, nil)
			if tt.key != "" {
				req.Header.Set("X-MBX-APIKEY", tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.code) {
				t.Fatalf("HTTP %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if resp.Header.Get("X-MBX-USED-WEIGHT-1M") == "" {
				t.Fatal("no X-MBX-USED-WEIGHT-1M header")
			}
		})
	}
}

func TestPlaceOrderNormalisesAndChecksMinimums(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, Options{}, "100000")
	ctx := testCtx(t)

	// Below the 5 USDT minimum order value: refused before anything is sent.
	_, err := a.PlaceOrder(ctx, buy("tee-small", signal.OrderMarket, "0.00005"))
	if !errors.Is(err, broker.ErrInvalidOrder) || !strings.Contains(err.Error(), "below the exchange minimum 5") {
		t.Fatalf("tiny order: %v", err)
	}
	// Below one step after rounding.
	_, err = a.PlaceOrder(ctx, buy("tee-dust", signal.OrderMarket, "0.000009"))
	if !errors.Is(err, broker.ErrInvalidOrder) {
		t.Fatalf("dust order: %v", err)
	}
	if n := f.OrderCountFor(creds["api_key"]); n != 0 {
		t.Fatalf("%d orders reached the exchange", n)
	}

	// A buy limit with too many decimals is rounded down to the tick.
	req := buy("tee-limit", signal.OrderLimit, "0.0100009")
	req.LimitPrice = d("40000.129")
	o, err := a.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !o.LimitPrice.Equal(d("40000.12")) || !o.Quantity.Equal(d("0.01")) || o.Status != broker.StatusNew {
		t.Fatalf("order %+v", o)
	}

	// A sell stop-limit rounds its prices up to the tick.
	f.SetBalance(creds["api_key"], "BTC", d("1"))
	sell := broker.OrderRequest{ClientOrderID: "tee-stop", Symbol: "BTC-USD", Side: signal.SideSell,
		Type: signal.OrderStopLimit, Quantity: d("0.5"), StopPrice: d("45000.001"), LimitPrice: d("44900.001"), TimeInForce: broker.TIFGTC}
	o, err = a.PlaceOrder(ctx, sell)
	if err != nil {
		t.Fatal(err)
	}
	if !o.StopPrice.Equal(d("45000.01")) || !o.LimitPrice.Equal(d("44900.01")) || o.Type != signal.OrderStopLimit {
		t.Fatalf("stop order %+v", o)
	}
	// A stop above the market for a sell would trigger at once: Binance refuses.
	sell.ClientOrderID, sell.StopPrice, sell.LimitPrice = "tee-stop2", d("60000"), d("59000")
	if _, err := a.PlaceOrder(ctx, sell); !errors.Is(err, broker.ErrRejected) {
		t.Fatalf("immediate stop: %v", err)
	}
	// Trailing stops are not offered on Binance spot.
	tr := buy("tee-trail", signal.OrderTrailingStop, "0.01")
	if _, err := a.PlaceOrder(ctx, tr); !errors.Is(err, broker.ErrInvalidOrder) {
		t.Fatalf("trailing stop: %v", err)
	}
}

func TestSymbolNotTradingIsHalted(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, _ := newAccount(t, f, Options{}, "100000")
	// Cache the symbol while it trades, then break it: the exchange's own
	// refusal is MARKET_HALTED too.
	if _, err := a.PlaceOrder(testCtx(t), buy("tee-a", signal.OrderMarket, "0.01")); err != nil {
		t.Fatal(err)
	}
	f.SetStatus("BTCUSDT", "BREAK")
	if _, err := a.PlaceOrder(testCtx(t), buy("tee-x", signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindHalted {
		t.Fatalf("err = %v", err)
	}
	// A fresh adapter reads BREAK from exchangeInfo and refuses before
	// sending; after the resume the refreshed status lets the order through.
	b, _ := newAccount(t, f, Options{}, "100000")
	if _, err := b.PlaceOrder(testCtx(t), buy("tee-y", signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindHalted {
		t.Fatalf("err = %v", err)
	}
	f.SetStatus("BTCUSDT", "TRADING")
	if _, err := b.PlaceOrder(testCtx(t), buy("tee-y", signal.OrderMarket, "0.01")); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}

func TestRateLimitGivesUpAfterDeadline(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, _ := newAccount(t, f, Options{}, "1000")
	f.RateLimitNext(100)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := a.GetBalance(ctx)
	if !errors.Is(err, broker.ErrRateLimited) {
		t.Fatalf("err = %v, want RATE_LIMIT_EXCEEDED", err)
	}
	f.RateLimitNext(0)
}

// TestFindOrderByClientIDWithoutMemo finds orders from another process's
// adapter: open orders are scanned, filled ones found through the balances.
func TestFindOrderByClientIDWithoutMemo(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, Options{}, "100000")
	ctx := testCtx(t)
	filled, err := a.PlaceOrder(ctx, buy("tee-filled", signal.OrderMarket, "0.01"))
	if err != nil {
		t.Fatal(err)
	}
	rest := buy("tee-resting", signal.OrderLimit, "0.01")
	rest.LimitPrice = d("30000")
	resting, err := a.PlaceOrder(ctx, rest)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	for cid, want := range map[string]string{"tee-filled": filled.ID, "tee-resting": resting.ID} {
		o, found, err := other.FindOrderByClientID(ctx, cid)
		if err != nil || !found || o.ID != want || o.ClientOrderID != cid || o.Symbol != "BTC-USD" {
			t.Fatalf("Find(%s) = %+v, %v, %v", cid, o, found, err)
		}
	}
	if _, found, err := other.FindOrderByClientID(ctx, "tee-none"); found || err != nil {
		t.Fatalf("unknown: %v %v", found, err)
	}
}

func TestFactoryValidatesCredentials(t *testing.T) {
	tests := []struct {
		name  string
		creds broker.Credentials
	}{
		{"no key", broker.Credentials{"api_secret": "s"}},
		{"no secret", broker.Credentials{"api_key": "k"}},
		{"bad base url", broker.Credentials{"api_key": "k", "api_secret": "s", "base_url": "ftp://x"}},
	}
	for _, tt := range tests {
		if _, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: tt.creds}); !errors.Is(err, broker.ErrAuthFailed) {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	b, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Paper: true, Credentials: broker.Credentials{"api_key": "k", "api_secret": "s"}})
	if err != nil || b.(*Adapter).c.baseURL != TestnetURL {
		t.Fatalf("paper: %v", err)
	}
}

func TestSignMatchesDocumentedExample(t *testing.T) {
	secret := []byte("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j")
	got := sign(secret, "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559")
	// Example from the Binance SIGNED endpoint documentation.
	if got != "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71" {
		t.Fatalf("signature %s", got)
	}
}

// Issue 13 #7: outside dev the factory itself refuses a trader-supplied
// address (not only the API), so no code path can point it elsewhere.
func TestFactoryRefusesCustomBaseURLOutsideDev(t *testing.T) {
	_, err := Factory(Options{})(broker.Config{Credentials: broker.Credentials{"api_key": "k", "api_secret": "x", "base_url": "http://169.254.169.254"}})
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || !strings.Contains(be.Message, "custom") {
		t.Fatalf("err = %v", err)
	}
}
