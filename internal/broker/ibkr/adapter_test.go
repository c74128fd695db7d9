package ibkr

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func marketBuy(qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec(qty), TimeInForce: broker.TIFDay}
}

func TestSetupInstructions(t *testing.T) {
	if got, want := SetupInstructions("203.0.113.7"), "Install IB Gateway, enable API access in TWS, whitelist IP: 203.0.113.7"; got != want {
		t.Fatalf("SetupInstructions = %q, want %q", got, want)
	}
}

func TestFactoryCredentials(t *testing.T) {
	public, private := Factory(), Factory(WithPrivateGateways(true))
	const remote = "https://203.0.113.7:5000"
	tests := []struct {
		name    string
		private bool
		creds   broker.Credentials
		ok      bool
		base    string
	}{
		{"bare host", false, broker.Credentials{CredAccountID: "U1", CredBaseURL: remote + "/"}, true, remote + "/v1/api"},
		{"full path", false, broker.Credentials{CredAccountID: "U1", CredBaseURL: remote + "/v1/api/"}, true, remote + "/v1/api"},
		{"default is local", false, broker.Credentials{CredAccountID: "U1"}, false, ""},
		{"loopback", false, broker.Credentials{CredAccountID: "U1", CredBaseURL: "https://127.0.0.1:5000"}, false, ""},
		{"metadata address", false, broker.Credentials{CredAccountID: "U1", CredBaseURL: "https://169.254.169.254"}, false, ""},
		{"private network", false, broker.Credentials{CredAccountID: "U1", CredBaseURL: "https://10.0.0.8:5000"}, false, ""},
		{"default, self-hosted", true, broker.Credentials{CredAccountID: "U1"}, true, DefaultBaseURL},
		{"loopback http, self-hosted", true, broker.Credentials{CredAccountID: "U1", CredBaseURL: "http://127.0.0.1:5000/v1/api"}, true, "http://127.0.0.1:5000/v1/api"},
		{"no account", true, broker.Credentials{CredBaseURL: "https://localhost:5000/v1/api"}, false, ""},
		{"remote http", true, broker.Credentials{CredAccountID: "U1", CredBaseURL: "http://203.0.113.7:5000/v1/api"}, false, ""},
		{"not a url", true, broker.Credentials{CredAccountID: "U1", CredBaseURL: "gateway"}, false, ""},
		{"bad pin", true, broker.Credentials{CredAccountID: "U1", CredTLSSHA256: "abc"}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := public
			if tt.private {
				f = private
			}
			b, err := f(broker.Config{Credentials: tt.creds})
			if !tt.ok {
				if broker.KindOf(err) != broker.KindAuthFailed {
					t.Fatalf("error = %v, want AUTH_FAILED", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := b.(*Adapter).gateway; got != tt.base {
				t.Fatalf("gateway = %q, want %q", got, tt.base)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	h := newHarness(t)
	_, base := h.fake.NewAccount(dec("1000"))
	b := h.open(t, "DU9999999", base)
	_, err := b.Connect(testCtx(t))
	if broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("wrong account: %v, want AUTH_FAILED", err)
	}

	id, base := h.fake.NewLoggedOutGateway()
	_, err = h.open(t, id, base).Connect(testCtx(t))
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || be.Message != msgNotLoggedIn {
		t.Fatalf("logged out: %v", err)
	}
}

func TestLoggedOutAfterConnect(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, err := b.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	h.fake.LogOut(base)
	_, err := b.PlaceOrder(testCtx(t), marketBuy("1"))
	if broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("PlaceOrder after logout: %v, want AUTH_FAILED", err)
	}
	if h.fake.OrderCount() != 0 {
		t.Fatal("order created without a session")
	}
}

func TestBrokerageSessionRestart(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("1")); err != nil {
		t.Fatal(err)
	}
	h.fake.RestartSession(base) // gateway now answers "Please query /accounts first"
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("1")); err != nil {
		t.Fatalf("PlaceOrder after the session restart: %v", err)
	}
	if n := h.fake.OrderCount(); n != 2 {
		t.Fatalf("%d orders, want 2", n)
	}
}

func TestOrderQuestionsAreConfirmed(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	h.fake.AskNext(1)
	o, err := b.PlaceOrder(testCtx(t), marketBuy("3"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != broker.StatusFilled || !o.FilledQuantity.Equal(dec("3")) || !o.AvgFillPrice.Equal(dec("190")) {
		t.Fatalf("order %+v", o)
	}
}

func TestUnavailableAndRateLimitErrors(t *testing.T) {
	h := newHarness(t, WithRateLimitBackoff(time.Millisecond))
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, err := b.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}

	h.fake.FailNext(1)
	_, err := b.PlaceOrder(testCtx(t), marketBuy("1"))
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindUnavailable || be.Message != msgUnavailable || be.Broker != Name {
		t.Fatalf("503: %#v", err)
	}

	h.fake.RateLimitNext(20)
	_, err = b.PlaceOrder(testCtx(t), marketBuy("1"))
	if !errors.As(err, &be) || be.Kind != broker.KindRateLimited || !be.Kind.Retryable() {
		t.Fatalf("persistent 429: %v, want RATE_LIMIT_EXCEEDED", err)
	}
	if n := h.fake.OrderCount(); n != 0 {
		t.Fatalf("%d orders", n)
	}
}

func TestRequestsGoThroughTheLimiter(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)
	var slept time.Duration
	clock := ratelimit.WithClock(
		func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now, slept = now.Add(d), slept+d
			return nil
		})
	lim := ratelimit.New(PublishedLimitPerMinute, clock)
	h := newHarness(t, WithLimiter(lim))
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	before := h.fake.Requests()
	for i := 0; i < 3; i++ {
		if _, err := b.GetBalance(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	sent := h.fake.Requests() - before
	// 25 a minute with a burst of 2: every request past the burst waits
	// ~2.6 s of (fake) time.
	if want := time.Duration(sent-lim.Burst()) * 2 * time.Second; sent <= lim.Burst() || slept < want {
		t.Fatalf("%d requests slept %s, want at least %s", sent, slept, want)
	}
}

func TestConcurrentOrders(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("100000"))
	b := h.open(t, id, base)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := marketBuy("1")
			if _, err := b.PlaceOrder(testCtx(t), req); err != nil {
				errs <- err
				return
			}
			// a concurrent retry of the same order
			if _, err := b.PlaceOrder(testCtx(t), req); err != nil {
				errs <- fmt.Errorf("retry: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := h.fake.OrderCount(); n != 8 {
		t.Fatalf("%d orders, want 8", n)
	}
	pos, err := b.GetPositions(testCtx(t))
	if err != nil || len(pos) != 1 || !pos[0].Quantity.Equal(dec("8")) {
		t.Fatalf("positions %+v, %v", pos, err)
	}
}

func TestClock(t *testing.T) {
	saturday := time.Date(2025, 3, 8, 17, 0, 0, 0, time.UTC)
	h := newHarness(t, WithClock(func() time.Time { return saturday }))
	id, base := h.fake.NewAccount(dec("1000"))
	b := h.open(t, id, base)
	c, err := b.Clock(testCtx(t), signal.AssetStock)
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := time.Date(2025, 3, 10, 13, 30, 0, 0, time.UTC) // Monday 9:30 EDT
	if c.IsOpen || !c.NextOpen.Equal(wantOpen) || !c.Now.Equal(saturday) {
		t.Fatalf("clock %+v", c)
	}
	h.fake.AddHoliday("20250310")
	if c, err = b.Clock(testCtx(t), signal.AssetStock); err != nil || !c.NextOpen.Equal(wantOpen.AddDate(0, 0, 1)) {
		t.Fatalf("clock with Monday holiday %+v, %v", c, err)
	}
	if _, err := b.Clock(testCtx(t), signal.AssetCrypto); broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("crypto clock: %v", err)
	}
}

// The fake serves the documented schedule shape: pre-market (05:00 New York,
// inside "tradingtimes" 04:00-20:00) is not the regular session.
func TestClockPreMarketIsClosed(t *testing.T) {
	preMarket := time.Date(2025, 3, 11, 9, 0, 0, 0, time.UTC) // Tuesday 05:00 EDT
	h := newHarness(t, WithClock(func() time.Time { return preMarket }))
	id, base := h.fake.NewAccount(dec("1000"))
	c, err := h.open(t, id, base).Clock(testCtx(t), signal.AssetStock)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsOpen || !c.NextOpen.Equal(time.Date(2025, 3, 11, 13, 30, 0, 0, time.UTC)) ||
		!c.NextClose.Equal(time.Date(2025, 3, 11, 20, 0, 0, 0, time.UTC)) {
		t.Fatalf("pre-market clock %+v", c)
	}
}

func TestOrderValidation(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	tests := []struct {
		name string
		edit func(*broker.OrderRequest)
	}{
		{"no client id", func(r *broker.OrderRequest) { r.ClientOrderID = "" }},
		{"fraction below one share", func(r *broker.OrderRequest) { r.Quantity = dec("0.5") }},
		{"crypto", func(r *broker.OrderRequest) { r.AssetClass = signal.AssetCrypto }},
		{"limit without price", func(r *broker.OrderRequest) { r.Type = signal.OrderLimit }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := marketBuy("1")
			tt.edit(&req)
			if _, err := b.PlaceOrder(testCtx(t), req); broker.KindOf(err) != broker.KindInvalidOrder {
				t.Fatalf("error = %v, want INVALID_ORDER", err)
			}
		})
	}
	if n := h.fake.OrderCount(); n != 0 {
		t.Fatalf("%d orders", n)
	}
	// A sub-penny limit is rounded to the tick instead of being refused.
	req := marketBuy("1")
	req.Type, req.LimitPrice = signal.OrderLimit, dec("185.129")
	o, err := b.PlaceOrder(testCtx(t), req)
	if err != nil || !o.LimitPrice.Equal(dec("185.12")) {
		t.Fatalf("sub-penny limit: %+v, %v", o, err)
	}
}

func TestStopOrderTriggersOnPrice(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("5")); err != nil {
		t.Fatal(err)
	}
	stop := broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideSell, Type: signal.OrderStop, StopPrice: dec("186.2"), Quantity: dec("5"), TimeInForce: broker.TIFGTC}
	o, err := b.PlaceOrder(testCtx(t), stop)
	if err != nil || o.Status != broker.StatusNew || !o.StopPrice.Equal(dec("186.2")) {
		t.Fatalf("stop: %+v, %v", o, err)
	}
	h.fake.SetPrice("AAPL", dec("186"))
	o, err = b.GetOrderStatus(testCtx(t), o.ID)
	if err != nil || o.Status != broker.StatusFilled || o.ClientOrderID != stop.ClientOrderID {
		t.Fatalf("after the drop: %+v, %v", o, err)
	}
}

func TestPinnedGatewayCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"authenticated": false, "connected": true})
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	good := hex.EncodeToString(sum[:])
	bad := hex.EncodeToString(make([]byte, 32))
	for _, tt := range []struct {
		pin  string
		want broker.Kind
	}{{good, broker.KindAuthFailed}, {bad, broker.KindUnavailable}} {
		b, err := Factory(WithPrivateGateways(true), WithLimiter(ratelimit.New(600000)))(broker.Config{Credentials: broker.Credentials{
			CredAccountID: "U1", CredBaseURL: srv.URL + "/v1/api", CredTLSSHA256: tt.pin}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Connect(testCtx(t)); broker.KindOf(err) != tt.want {
			t.Fatalf("pin %s…: %v, want %s", tt.pin[:8], err, tt.want)
		}
	}
}

func TestLastPriceTrimsSymbol(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("1000"))
	b := h.open(t, id, base)
	p, err := b.LastPrice(testCtx(t), " aapl ")
	if err != nil || !p.Equal(decimal.NewFromInt(190)) {
		t.Fatalf("LastPrice = %s, %v", p, err)
	}
}

func TestDialPublicOnly(t *testing.T) {
	tests := map[string]bool{
		"203.0.113.7:5000":     true,
		"[2001:db8::1]:5000":   true,
		"127.0.0.1:5000":       false,
		"[::1]:5000":           false,
		"10.1.2.3:443":         false,
		"192.168.1.10:5000":    false,
		"169.254.169.254:80":   false,
		"100.64.0.1:5000":      false,
		"0.0.0.0:5000":         false,
		"not-an-ip:5000":       false,
		"[fe80::1%eth0]:5000":  false,
		"172.16.0.1:5000":      false,
		"8.8.8.8:443":          true,
		"224.0.0.1:5000":       false,
		"[fd00::1]:5000":       false,
		"198.51.100.200:15000": true,
		// Issue 13 #7: ranges that embed or reach internal IPv4 addresses,
		// and reserved IPv4 blocks.
		"[64:ff9b::a00:1]:5000":      false, // NAT64 of 10.0.0.1
		"[64:ff9b:1::a00:1]:5000":    false, // local-use NAT64
		"[2002:a00:1::1]:5000":       false, // 6to4 of 10.0.0.1
		"[2001:0:4136:e378::1]:5000": false, // Teredo
		"0.1.2.3:5000":               false,
		"198.18.0.1:5000":            false, // benchmarking
		"198.19.255.254:5000":        false,
		"240.0.0.1:5000":             false, // reserved
		"255.255.255.255:5000":       false,
		"[::ffff:10.0.0.1]:5000":     false, // IPv4-mapped private
		"[::ffff:8.8.8.8]:5000":      true,
		"[2001:4860:4860::8888]:443": true, // 2001:4860 is not Teredo
	}
	for addr, ok := range tests {
		if err := dialPublicOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("dialPublicOnly(%s) = %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestUntrustedCertificateIsAuthFailed(t *testing.T) {
	err := mapError(fmt.Errorf("get: %w", &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}), "login check")
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || be.Message != msgUntrustedCert {
		t.Fatalf("mapError = %v", err)
	}
}

func TestRegister(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	r := broker.NewRegistry()
	Register(r, WithPrivateGateways(true), WithLimiter(ratelimit.New(600000)))
	id, base := f.NewAccount(dec("42"))
	b, err := r.Open(Name, broker.Config{Credentials: broker.Credentials{CredAccountID: id, CredBaseURL: base}})
	if err != nil {
		t.Fatal(err)
	}
	if bal, err := b.Connect(testCtx(t)); err != nil || !bal.Cash.Equal(dec("42")) {
		t.Fatalf("Connect = %+v, %v", bal, err)
	}
}

// Issue 13 #7: the gateway is any address the trader named, so a body that
// is not the gateway's JSON error (an internal service's page) is never
// shown; a JSON reason is shown cleaned of markup.
func TestGatewayErrorBodiesAreNotEchoed(t *testing.T) {
	cases := []struct {
		body, want string
	}{
		{`<html><body>admin console: db password hunter2</body></html>`, "Interactive Brokers rejected the order."},
		{`internal-service: token=abc123`, "Interactive Brokers rejected the order."},
		{`{"error":"Order price exceeds <b>limit</b>"}`, "Interactive Brokers rejected the order: Order price exceeds blimit/b"},
	}
	for _, c := range cases {
		err := mapError(&apiError{Status: http.StatusBadRequest, Message: errorText([]byte(c.body))}, "order")
		var be *broker.Error
		if !errors.As(err, &be) || be.Message != c.want {
			t.Errorf("body %q: message %q, want %q", c.body, be.Message, c.want)
		}
	}
}
