package coinbase

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
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
	b, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter), creds
}

func order(cid string, side signal.Side, typ signal.OrderType, qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: cid, Symbol: "BTC-USD", AssetClass: signal.AssetCrypto,
		Side: side, Type: typ, Quantity: d(qty), TimeInForce: broker.TIFGTC}
}

func TestJWTShape(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "10")
	tok, err := a.c.jwtFor(http.MethodPost, "/api/v3/brokerage/orders")
	if err != nil {
		t.Fatal(err)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	h, c := parsed.Header, parsed.Claims.(jwt.MapClaims)
	if h["alg"] != "ES256" || h["kid"] != creds["api_key"] || len(h["nonce"].(string)) != 32 {
		t.Fatalf("header %v", h)
	}
	host := strings.TrimPrefix(f.URL(), "http://")
	if c["iss"] != "cdp" || c["sub"] != creds["api_key"] || c["uri"] != "POST "+host+"/api/v3/brokerage/orders" {
		t.Fatalf("claims %v", c)
	}
	if c["exp"].(float64)-c["nbf"].(float64) != 120 {
		t.Fatalf("lifetime %v", c["exp"].(float64)-c["nbf"].(float64))
	}
}

// TestFakeRefusesBadTokens sends hand-made tokens: the fake must refuse what
// Advanced Trade refuses.
func TestFakeRefusesBadTokens(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "10")
	host := strings.TrimPrefix(f.URL(), "http://")
	path := "/api/v3/brokerage/accounts"
	sign := func(mod func(h map[string]any, c jwt.MapClaims), method jwt.SigningMethod, key any) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": "cdp", "sub": creds["api_key"], "nbf": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "uri": "GET " + host + path}
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = creds["api_key"]
		tok.Header["nonce"] = "0123456789abcdef0123456789abcdef"
		mod(tok.Header, c)
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	none := func(map[string]any, jwt.MapClaims) {}
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"valid", sign(none, jwt.SigningMethodES256, a.c.signer.key), 200},
		{"other key", sign(none, jwt.SigningMethodES256, other), 401},
		{"wrong uri", sign(func(_ map[string]any, c jwt.MapClaims) { c["uri"] = "GET " + host + "/api/v3/brokerage/orders" }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"wrong method", sign(func(_ map[string]any, c jwt.MapClaims) { c["uri"] = "POST " + host + path }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"expired", sign(func(_ map[string]any, c jwt.MapClaims) {
			c["nbf"], c["exp"] = time.Now().Add(-5*time.Minute).Unix(), time.Now().Add(-3*time.Minute).Unix()
		}, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"too long", sign(func(_ map[string]any, c jwt.MapClaims) { c["exp"] = time.Now().Add(time.Hour).Unix() }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"wrong issuer", sign(func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "coinbase-cloud" }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"sub mismatch", sign(func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "organizations/x/apiKeys/y" }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"no nonce", sign(func(h map[string]any, _ jwt.MapClaims) { delete(h, "nonce") }, jwt.SigningMethodES256, a.c.signer.key), 401},
		{"HS256", sign(none, jwt.SigningMethodHS256, []byte("secret")), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.URL()+path, nil)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}

func TestMapError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want broker.Kind
	}{
		{"insufficient", &orderError{Resp: wireErrorResponse{Error: "INSUFFICIENT_FUND", PreviewFailureReason: "PREVIEW_INSUFFICIENT_FUND"}}, broker.KindInsufficientFunds},
		{"product", &orderError{Resp: wireErrorResponse{Error: "INVALID_PRODUCT_ID"}}, broker.KindInvalidSymbol},
		{"size precision", &orderError{Resp: wireErrorResponse{Error: "INVALID_SIZE_PRECISION"}}, broker.KindInvalidOrder},
		{"price precision", &orderError{Resp: wireErrorResponse{Error: "INVALID_PRICE_PRECISION"}}, broker.KindInvalidOrder},
		{"too small", &orderError{Resp: wireErrorResponse{PreviewFailureReason: "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"}}, broker.KindInvalidOrder},
		{"disabled", &orderError{Resp: wireErrorResponse{Error: "ORDER_ENTRY_DISABLED"}}, broker.KindHalted},
		{"ineligible", &orderError{Resp: wireErrorResponse{Error: "INELIGIBLE_PAIR"}}, broker.KindRejected},
		{"unknown reason", &orderError{FailureReason: "UNKNOWN_FAILURE_REASON"}, broker.KindRejected},
		{"401", &apiError{Status: 401, Message: "Unauthorized"}, broker.KindAuthFailed},
		{"403", &apiError{Status: 403, Code: "PERMISSION_DENIED"}, broker.KindAuthFailed},
		{"404", &apiError{Status: 404, Code: "NOT_FOUND"}, broker.KindNotFound},
		{"400", &apiError{Status: 400, Code: "INVALID_ARGUMENT", Message: "bad"}, broker.KindInvalidOrder},
		{"429", &apiError{Status: 429, Code: "RATE_LIMIT_EXCEEDED"}, broker.KindRateLimited},
		{"503", &apiError{Status: 503, Code: "UNAVAILABLE"}, broker.KindUnavailable},
	}
	for _, tt := range tests {
		err := mapError(tt.err)
		var be *broker.Error
		if !errors.As(err, &be) || be.Kind != tt.want || be.Message == "" {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want)
		}
	}
}

func TestOrdersAgainstFake(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "100000")
	ctx := testCtx(t)

	// Below quote_min_size (1 USD): refused locally.
	if _, err := a.PlaceOrder(ctx, order("tiny", signal.SideBuy, signal.OrderMarket, "0.00001")); !errors.Is(err, broker.ErrInvalidOrder) {
		t.Fatalf("tiny: %v", err)
	}
	if f.OrderCountFor(creds["api_key"]) != 0 {
		t.Fatal("tiny order reached the exchange")
	}
	// A stop is sent as a stop-limit 1% through the stop.
	f.SetBalance(creds["api_key"], "BTC", d("1"))
	stop := order("stop", signal.SideSell, signal.OrderStop, "0.5")
	stop.StopPrice = d("45000.005")
	o, err := a.PlaceOrder(ctx, stop)
	if err != nil {
		t.Fatal(err)
	}
	if o.Type != signal.OrderStopLimit || !o.StopPrice.Equal(d("45000.01")) || !o.LimitPrice.Equal(d("44550.01")) || o.Status != broker.StatusNew {
		t.Fatalf("stop %+v", o)
	}
	// An IOC limit below the market is cancelled at once.
	ioc := order("ioc", signal.SideBuy, signal.OrderLimit, "0.01")
	ioc.LimitPrice, ioc.TimeInForce = d("40000"), broker.TIFIOC
	if o, err = a.PlaceOrder(ctx, ioc); err != nil || o.Status != broker.StatusCancelled {
		t.Fatalf("ioc %+v %v", o, err)
	}
	// Cancelling twice succeeds; the second is a no-op.
	rest := order("rest", signal.SideBuy, signal.OrderLimit, "0.01")
	rest.LimitPrice = d("40000")
	o, err = a.PlaceOrder(ctx, rest)
	if err != nil {
		t.Fatal(err)
	}
	bal, _ := a.GetBalance(ctx)
	if !bal.Cash.Equal(d("100000")) || !bal.BuyingPower.Equal(d("99600")) {
		t.Fatalf("balance with a resting buy: %+v", bal)
	}
	if err := a.CancelOrder(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.CancelOrder(ctx, o.ID); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	positions, err := a.GetPositions(ctx)
	if err != nil || len(positions) != 1 || positions[0].Symbol != "BTC-USD" || !positions[0].MarketValue.Equal(d("50000")) {
		t.Fatalf("positions %+v %v", positions, err)
	}
	// A paused product: MARKET_HALTED, whether the product is fetched
	// afresh (a new Factory) or cached as trading (the exchange's own
	// refusal maps to the same kind).
	f.SetTradingDisabled("BTC-USD", true)
	b2, _ := newAccount(t, f, "1000")
	if _, err := b2.PlaceOrder(ctx, order("halt", signal.SideBuy, signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindHalted {
		t.Fatalf("halted: %v", err)
	}
	if _, err := a.PlaceOrder(ctx, order("halt2", signal.SideBuy, signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindHalted {
		t.Fatalf("halted, cached product: %v", err)
	}
	// Resumed: the product cached as disabled is fetched again.
	f.SetTradingDisabled("BTC-USD", false)
	if _, err := b2.PlaceOrder(ctx, order("halt", signal.SideBuy, signal.OrderMarket, "0.01")); err != nil {
		t.Fatalf("after resume: %v", err)
	}
}

func TestFindOrderByClientIDPages(t *testing.T) {
	f := NewFake()
	defer f.Close()
	a, creds := newAccount(t, f, "100000")
	ctx := testCtx(t)
	first, err := a.PlaceOrder(ctx, order("oldest", signal.SideBuy, signal.OrderMarket, "0.001"))
	if err != nil {
		t.Fatal(err)
	}
	// 250 newer orders push it to the third page.
	f.mu.Lock()
	acct := f.accounts[creds["api_key"]]
	for i := range 250 {
		o := *acct.orders[0]
		o.OrderID, o.ClientOrderID = uuid.NewString(), "filler-"+strings.Repeat("x", i%7)+uuid.NewString()
		acct.orders = append(acct.orders, &o)
	}
	f.mu.Unlock()
	o, found, err := a.FindOrderByClientID(ctx, "oldest")
	if err != nil || !found || o.ID != first.ID {
		t.Fatalf("found %v %v %+v", found, err, o)
	}
}

func TestFactory(t *testing.T) {
	f := NewFake()
	defer f.Close()
	creds := f.NewAccount(d("1"))
	if _, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Paper: true, Credentials: creds}); !errors.Is(err, broker.ErrAuthFailed) {
		t.Fatalf("paper: %v", err)
	}
	if _, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: broker.Credentials{"api_key": "k", "api_secret": "nope"}}); !errors.Is(err, broker.ErrAuthFailed) {
		t.Fatalf("bad key: %v", err)
	}
}

// Issue 13 #7: outside dev the factory itself refuses a trader-supplied
// address (not only the API), so no code path can point it elsewhere.
func TestFactoryRefusesCustomBaseURLOutsideDev(t *testing.T) {
	f := NewFake()
	defer f.Close()
	creds := f.NewAccount(d("1"))
	creds["base_url"] = "http://169.254.169.254"
	_, err := Factory(Options{})(broker.Config{Credentials: creds})
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed || !strings.Contains(be.Message, "custom") {
		t.Fatalf("err = %v", err)
	}
}
