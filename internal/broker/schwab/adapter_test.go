package schwab

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func buy(qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "NVDA", AssetClass: signal.AssetStock,
		Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec(qty), TimeInForce: broker.TIFDay}
}

// US-002 #3: three 503s from Schwab end in "Schwab temporarily unavailable.
// Order not submitted." and no order.
func TestThree503sSubmitNothing(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("100000"))
	req := buy("25")
	h.fake.FailNext(3)
	for attempt := 1; attempt <= 3; attempt++ {
		_, err := b.PlaceOrder(testCtx(t), req)
		var be *broker.Error
		if !errors.As(err, &be) || be.Kind != broker.KindUnavailable || be.Broker != Name || be.Message != "Schwab temporarily unavailable" {
			t.Fatalf("attempt %d: %#v", attempt, err)
		}
		if !be.Kind.Retryable() {
			t.Fatal("UNAVAILABLE must be retryable")
		}
		if got := trade.SubmitFailureMessage(be.Broker, be.Kind, be.Message); got != "Schwab temporarily unavailable. Order not submitted." {
			t.Fatalf("trader message %q", got)
		}
	}
	if n := h.fake.OrderCount(); n != 0 {
		t.Fatalf("%d orders after three 503s", n)
	}
	if _, found, err := b.FindOrderByClientID(testCtx(t), req.ClientOrderID); err != nil || found {
		t.Fatalf("FindOrderByClientID = %v, %v", found, err)
	}
}

func TestDroppedAnswerIsRecoveredAtOnce(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("100000"))
	req := buy("3")
	h.fake.DropNextResponse()
	o, err := b.PlaceOrder(testCtx(t), req)
	if err != nil {
		t.Fatalf("PlaceOrder with a dropped answer: %v", err)
	}
	if o.ID == "" || o.ClientOrderID != req.ClientOrderID || o.Status != broker.StatusFilled || !o.FilledQuantity.Equal(dec("3")) {
		t.Fatalf("recovered order %+v", o)
	}
	found, ok, err := b.FindOrderByClientID(testCtx(t), req.ClientOrderID)
	if err != nil || !ok || found.ID != o.ID {
		t.Fatalf("FindOrderByClientID = %+v %v %v", found, ok, err)
	}
	if n := h.fake.OrderCount(); n != 1 {
		t.Fatalf("%d orders", n)
	}
}

func TestIdenticalOrdersWithDifferentClientIDs(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("100000"))
	first, second := buy("1"), buy("1")
	o1, err := b.PlaceOrder(testCtx(t), first)
	if err != nil {
		t.Fatal(err)
	}
	o2, err := b.PlaceOrder(testCtx(t), second)
	if err != nil {
		t.Fatal(err)
	}
	if o1.ID == o2.ID || h.fake.OrderCount() != 2 {
		t.Fatalf("two signals gave orders %s and %s, %d at Schwab", o1.ID, o2.ID, h.fake.OrderCount())
	}
}

// A retry on another worker process (its own memory claims) finds the order
// by shape; distinct signals of identical shape on two processes need a
// shared claim store.
func TestClaimsAcrossProcesses(t *testing.T) {
	t.Run("retry on another process finds the order", func(t *testing.T) {
		h := newHarness(t)
		creds := h.fake.NewAccount(dec("100000"))
		other := Factory(WithApp(h.fake.App()), WithCustomURLs(true), WithLimiter(ratelimit.New(600000)))
		a, err := h.factory(broker.Config{ConnectionID: "c1", Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		b, err := other(broker.Config{ConnectionID: "c1", Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		req := buy("2")
		o1, err := a.PlaceOrder(testCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		o2, err := b.PlaceOrder(testCtx(t), req)
		if err != nil || o2.ID != o1.ID || h.fake.OrderCount() != 1 {
			t.Fatalf("retry on process B: %+v, %v; %d orders", o2, err, h.fake.OrderCount())
		}
	})
	for _, shared := range []bool{false, true} {
		name := "distinct signals, memory claims per process (residual risk)"
		if shared {
			name = "distinct signals, shared claim store"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			creds := h.fake.NewAccount(dec("100000"))
			var claims ClaimStore = NewMemoryClaims(0)
			mk := func() broker.Broker {
				opts := []Option{WithApp(h.fake.App()), WithCustomURLs(true), WithLimiter(ratelimit.New(600000))}
				if shared {
					opts = append(opts, WithClaimStore(claims))
				}
				b, err := Factory(opts...)(broker.Config{ConnectionID: "c1", Credentials: creds})
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			if _, err := mk().PlaceOrder(testCtx(t), buy("2")); err != nil {
				t.Fatal(err)
			}
			if _, err := mk().PlaceOrder(testCtx(t), buy("2")); err != nil {
				t.Fatal(err)
			}
			want := 1 // the second signal adopts the first order: the documented residual risk
			if shared {
				want = 2
			}
			if n := h.fake.OrderCount(); n != want {
				t.Fatalf("%d orders, want %d", n, want)
			}
		})
	}
}

func TestConcurrentSubmissions(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("1000000"))
	const n = 6
	ids := make(chan string, 2*n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := buy("1")
			for try := 0; try < 2; try++ { // a retry of the same signal
				o, err := b.PlaceOrder(testCtx(t), req)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- req.ClientOrderID + "=" + o.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	byCID := map[string]string{}
	orders := map[string]bool{}
	for s := range ids {
		cid, id, _ := strings.Cut(s, "=")
		if prev, ok := byCID[cid]; ok && prev != id {
			t.Fatalf("client id %s got orders %s and %s", cid, prev, id)
		}
		byCID[cid], orders[id] = id, true
	}
	if len(orders) != n || h.fake.OrderCount() != n {
		t.Fatalf("%d distinct orders, %d at Schwab; want %d", len(orders), h.fake.OrderCount(), n)
	}
}

func TestAccessTokenRefreshedBeforeExpiry(t *testing.T) {
	h := newHarness(t)
	h.fake.SetAccessTTL(2 * time.Minute) // less than the 5-minute margin
	creds := h.fake.NewAccount(dec("5000"))
	h.fake.SetAccessTTL(AccessTokenTTL)
	b := h.open(t, creds)
	for i := 0; i < 3; i++ {
		if _, err := b.GetBalance(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.fake.Refreshes(); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	saved := h.store.all()
	if len(saved) != 1 {
		t.Fatalf("%d tokens saved, want 1", len(saved))
	}
	s := saved[0]
	if s.ConnectionID != "conn-1" || s.AccessToken == creds[CredAccessToken] || s.RefreshToken != creds[CredRefreshToken] ||
		time.Until(s.AccessExpiry) < 25*time.Minute {
		t.Fatalf("saved %v", s)
	}
	c := s.Credentials()
	if c[CredAccessToken] != s.AccessToken || c[CredRefreshExpires] != creds[CredRefreshExpires] {
		t.Fatalf("credentials %v", c[CredAccessExpires])
	}
	// A second adapter of the same connection reuses the refreshed token.
	if _, err := h.factoryOpen(t, "conn-1", creds).GetBalance(testCtx(t)); err != nil || h.fake.Refreshes() != 1 {
		t.Fatalf("second adapter: %v, %d refreshes", err, h.fake.Refreshes())
	}
}

func (h *harness) factoryOpen(t *testing.T, connID string, creds broker.Credentials) broker.Broker {
	t.Helper()
	b, err := h.factory(broker.Config{ConnectionID: connID, Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRevokedAccessTokenIsRefreshedOnce(t *testing.T) {
	h := newHarness(t)
	creds := h.fake.NewAccount(dec("5000"))
	b := h.open(t, creds)
	h.fake.RevokeAccessToken(creds[CredAccessToken])
	o, err := b.PlaceOrder(testCtx(t), buy("1"))
	if err != nil || o.Status != broker.StatusFilled {
		t.Fatalf("PlaceOrder after revocation: %+v, %v", o, err)
	}
	if h.fake.Refreshes() != 1 || h.fake.OrderCount() != 1 {
		t.Fatalf("%d refreshes, %d orders", h.fake.Refreshes(), h.fake.OrderCount())
	}
}

func TestExpiredAuthorizationAsksForReconsent(t *testing.T) {
	h := newHarness(t)
	creds := h.fake.NewAccountExpiredAuthorization()
	_, err := h.open(t, creds).Connect(testCtx(t))
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || be.Message != msgReconsent {
		t.Fatalf("Connect: %#v", err)
	}
	for _, secret := range []string{creds[CredAccessToken], creds[CredRefreshToken]} {
		if strings.Contains(err.Error(), secret) || strings.Contains(errors.Unwrap(err).Error(), secret) {
			t.Fatal("error text carries a token")
		}
	}

	// Known expiry: no call to the token endpoint at all.
	creds = h.fake.NewAccount(dec("100"))
	creds[CredAccessExpires] = time.Now().Add(-time.Hour).Format(time.RFC3339)
	creds[CredRefreshExpires] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	before := h.fake.Requests()
	if _, err := h.open(t, creds).GetBalance(testCtx(t)); broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("GetBalance: %v", err)
	}
	if h.fake.Requests() != before {
		t.Fatal("the adapter called Schwab with a refresh token it knew had expired")
	}
}

func TestWrongAppCredentials(t *testing.T) {
	h := newHarness(t)
	creds := h.fake.NewAccount(dec("100"))
	creds[CredAccessExpires] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	creds[CredClientID], creds[CredClientSecret] = h.fake.App().ClientID, "wrong-secret"
	_, err := h.open(t, creds).Connect(testCtx(t))
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || !strings.Contains(be.Message, "application credentials") {
		t.Fatalf("Connect: %v", err)
	}
}

func TestOAuthAuthorizationCodeFlow(t *testing.T) {
	h := newHarness(t)
	o := OAuth{App: h.fake.App(), BaseURL: h.fake.URL()}
	u, err := url.Parse(o.AuthCodeURL("state-123"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != authorizePath || q.Get("client_id") != h.fake.App().ClientID || q.Get("redirect_uri") != h.fake.App().RedirectURL ||
		q.Get("response_type") != "code" || q.Get("state") != "state-123" {
		t.Fatalf("authorize URL %s", u)
	}
	code, number := h.fake.IssueAuthCode(dec("2500"))
	tok, err := o.Exchange(testCtx(t), "conn-9", code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || time.Until(tok.RefreshExpiry) < 6*24*time.Hour ||
		time.Until(tok.AccessExpiry) < 25*time.Minute {
		t.Fatalf("tokens %v", tok)
	}
	creds := tok.Credentials()
	creds[CredBaseURL], creds[CredAccountNumber] = h.fake.URL(), number
	bal, err := h.factoryOpen(t, "conn-9", creds).Connect(testCtx(t))
	if err != nil || !bal.Cash.Equal(dec("2500")) {
		t.Fatalf("Connect with exchanged tokens: %+v, %v", bal, err)
	}
	if _, err := o.Exchange(testCtx(t), "conn-9", code); broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("reused code: %v", err)
	}
	if s := tok.String() + tok.GoString(); strings.Contains(s, tok.AccessToken) || strings.Contains(s, tok.RefreshToken) {
		t.Fatal("Tokens formatting reveals a token")
	}
}

func TestFactoryValidation(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	creds := f.NewAccount(dec("1"))
	without := func(keys ...string) broker.Credentials {
		c := broker.Credentials{}
		for k, v := range creds {
			c[k] = v
		}
		for _, k := range keys {
			delete(c, k)
		}
		return c
	}
	tests := []struct {
		name  string
		opts  []Option
		creds broker.Credentials
	}{
		{"no refresh token", []Option{WithApp(f.App()), WithCustomURLs(true)}, without(CredRefreshToken)},
		{"no app", []Option{WithCustomURLs(true)}, creds},
		{"custom address not allowed", []Option{WithApp(f.App())}, creds},
		{"remote http", []Option{WithApp(f.App()), WithCustomURLs(true)}, func() broker.Credentials {
			c := without()
			c[CredBaseURL] = "http://api.example.com"
			return c
		}()},
		{"bad expiry", []Option{WithApp(f.App()), WithCustomURLs(true)}, func() broker.Credentials {
			c := without()
			c[CredAccessExpires] = "tomorrow"
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Factory(tt.opts...)(broker.Config{Credentials: tt.creds}); broker.KindOf(err) != broker.KindAuthFailed {
				t.Fatalf("error = %v, want AUTH_FAILED", err)
			}
		})
	}
	// The server-wide API host, no base_url credential.
	b, err := Factory(WithApp(f.App()), WithBaseURL(f.URL()), WithLimiter(ratelimit.New(600000)))(broker.Config{Credentials: func() broker.Credentials {
		c := without(CredBaseURL)
		c[CredAccountNumber] = "99999999"
		return c
	}()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Connect(testCtx(t)); broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("unlinked account: %v", err)
	}
}

func TestClock(t *testing.T) {
	saturday := time.Date(2025, 3, 8, 17, 0, 0, 0, time.UTC)
	// Accounts are opened first: their tokens must be valid in real time,
	// the fake's market hours follow its clock.
	h := newHarness(t, WithClock(func() time.Time { return saturday }))
	b := h.NewAccount(t, dec("1000"))
	h.fake.SetClock(func() time.Time { return saturday })
	c, err := b.Clock(testCtx(t), signal.AssetStock)
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2025, 3, 10, 13, 30, 0, 0, time.UTC) // 9:30 EDT
	if c.IsOpen || !c.NextOpen.Equal(monday) || !c.NextClose.Equal(monday.Add(390*time.Minute)) || !c.Now.Equal(saturday) {
		t.Fatalf("clock %+v", c)
	}
	h2 := newHarness(t, WithClock(func() time.Time { return saturday }))
	b2 := h2.NewAccount(t, dec("1"))
	h2.fake.SetClock(func() time.Time { return saturday })
	h2.fake.AddHoliday("2025-03-10")
	if c, err = b2.Clock(testCtx(t), signal.AssetStock); err != nil || !c.NextOpen.Equal(monday.AddDate(0, 0, 1)) {
		t.Fatalf("clock with a Monday holiday %+v, %v", c, err)
	}
	wednesday := time.Date(2025, 3, 12, 15, 0, 0, 0, time.UTC)
	h3 := newHarness(t, WithClock(func() time.Time { return wednesday }))
	b3 := h3.NewAccount(t, dec("1"))
	h3.fake.SetClock(func() time.Time { return wednesday })
	c, err = b3.Clock(testCtx(t), signal.AssetStock)
	if err != nil || !c.IsOpen || !c.NextClose.Equal(time.Date(2025, 3, 12, 20, 0, 0, 0, time.UTC)) ||
		!c.NextOpen.Equal(time.Date(2025, 3, 13, 13, 30, 0, 0, time.UTC)) {
		t.Fatalf("wednesday clock %+v, %v", c, err)
	}
	if _, err := b.Clock(testCtx(t), signal.AssetCrypto); broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("crypto clock: %v", err)
	}
}

func TestOrderTypesReachSchwab(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("100000"))
	if _, err := b.PlaceOrder(testCtx(t), buy("10")); err != nil {
		t.Fatal(err)
	}
	sell := func(typ signal.OrderType, edit func(*broker.OrderRequest)) broker.OrderRequest {
		r := broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "NVDA", AssetClass: signal.AssetStock,
			Side: signal.SideSell, Type: typ, Quantity: dec("1"), TimeInForce: broker.TIFGTC}
		edit(&r)
		return r
	}
	tests := []struct {
		name string
		req  broker.OrderRequest
		want broker.OrderStatus
	}{
		{"limit above the market", sell(signal.OrderLimit, func(r *broker.OrderRequest) { r.LimitPrice = dec("950.004") }), broker.StatusNew},
		{"stop", sell(signal.OrderStop, func(r *broker.OrderRequest) { r.StopPrice = dec("880") }), broker.StatusNew},
		{"stop limit", sell(signal.OrderStopLimit, func(r *broker.OrderRequest) { r.StopPrice, r.LimitPrice = dec("880"), dec("879.5") }), broker.StatusNew},
		{"trailing stop", sell(signal.OrderTrailingStop, func(r *broker.OrderRequest) { r.TrailPercent = dec("2") }), broker.StatusNew},
		{"ioc limit below nothing", sell(signal.OrderLimit, func(r *broker.OrderRequest) {
			r.LimitPrice, r.TimeInForce = dec("2000"), broker.TIFIOC
		}), broker.StatusCancelled},
		{"extended hours market", sell(signal.OrderMarket, func(r *broker.OrderRequest) { r.ExtendedHours = true }), broker.StatusFilled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := b.PlaceOrder(testCtx(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tt.want || o.Type != tt.req.Type || o.Side != signal.SideSell || o.ClientOrderID != tt.req.ClientOrderID {
				t.Fatalf("order %+v", o)
			}
		})
	}
	// The stop fills when the price falls through it; the stop-limit's limit
	// (879.50) is then above the market and rests.
	h.fake.SetPrice("NVDA", dec("870"))
	pos, err := b.GetPositions(testCtx(t))
	if err != nil || len(pos) != 1 || !pos[0].Quantity.Equal(dec("8")) || !pos[0].CurrentPrice.Equal(dec("870")) {
		t.Fatalf("positions %+v, %v", pos, err)
	}
}

func TestRateLimitErrors(t *testing.T) {
	h := newHarness(t)
	h.fake.SetRetryAfter("0.001")
	b := h.NewAccount(t, dec("1000"))
	h.fake.RateLimitNext(50)
	_, err := b.GetBalance(testCtx(t))
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindRateLimited || be.Message != msgRateLimited {
		t.Fatalf("persistent 429: %v", err)
	}
}

func TestRequestsGoThroughTheLimiter(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)
	var slept time.Duration
	lim := ratelimit.New(PublishedLimitPerMinute, ratelimit.WithClock(
		func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			now, slept = now.Add(d), slept+d
			return nil
		}))
	h := newHarness(t, WithLimiter(lim))
	b := h.NewAccount(t, dec("1000"))
	before := h.fake.Requests()
	for i := 0; i < 10; i++ {
		if _, err := b.GetBalance(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	sent := h.fake.Requests() - before
	// 60 a minute with a burst of 6: each request past the burst waits ~1.1 s.
	if want := time.Duration(sent-lim.Burst()) * time.Second; sent <= lim.Burst() || slept < want {
		t.Fatalf("%d requests slept %s, want at least %s", sent, slept, want)
	}
}

func TestLastPrice(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("1"))
	p, err := b.LastPrice(testCtx(t), " nvda ")
	if err != nil || !p.Equal(dec("900")) {
		t.Fatalf("LastPrice = %s, %v", p, err)
	}
	var be *broker.Error
	if _, err := b.LastPrice(testCtx(t), "ZZZQX"); !errors.As(err, &be) || be.Kind != broker.KindInvalidSymbol || !strings.Contains(be.Message, "ZZZQX") {
		t.Fatalf("unknown symbol: %v", err)
	}
}

func TestOrderValidation(t *testing.T) {
	h := newHarness(t)
	b := h.NewAccount(t, dec("10000"))
	tests := []struct {
		name string
		edit func(*broker.OrderRequest)
	}{
		{"no client id", func(r *broker.OrderRequest) { r.ClientOrderID = " " }},
		{"fraction below one share", func(r *broker.OrderRequest) { r.Quantity = dec("0.9") }},
		{"crypto", func(r *broker.OrderRequest) { r.AssetClass = signal.AssetCrypto }},
		{"stop without price", func(r *broker.OrderRequest) { r.Type = signal.OrderStop }},
		{"unknown tif", func(r *broker.OrderRequest) { r.TimeInForce = broker.TIFOPG }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := buy("1")
			tt.edit(&req)
			if _, err := b.PlaceOrder(testCtx(t), req); broker.KindOf(err) != broker.KindInvalidOrder {
				t.Fatalf("error = %v, want INVALID_ORDER", err)
			}
		})
	}
	if n := h.fake.OrderCount(); n != 0 {
		t.Fatalf("%d orders", n)
	}
}

func TestRegister(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	r := broker.NewRegistry()
	Register(r, WithApp(f.App()), WithBaseURL(f.URL()), WithLimiter(ratelimit.New(600000)))
	creds := f.NewAccount(dec("42"))
	delete(creds, CredBaseURL)
	b, err := r.Open(Name, broker.Config{ConnectionID: "c", Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	if bal, err := b.Connect(testCtx(t)); err != nil || !bal.Cash.Equal(dec("42")) {
		t.Fatalf("Connect = %+v, %v", bal, err)
	}
}
