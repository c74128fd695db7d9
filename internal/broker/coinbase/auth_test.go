package coinbase

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

var keyTypes = []struct {
	name string
	kt   KeyType
	alg  string
}{{"Ed25519", KeyEd25519, "EdDSA"}, {"ECDSA", KeyECDSA, "ES256"}}

func openAccount(t *testing.T, creds broker.Credentials) *Adapter {
	t.Helper()
	b, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: creds})
	if err != nil {
		t.Fatalf("Factory: %v", err)
	}
	return b.(*Adapter)
}

// Both CDP key types connect and trade against the fake, which checks each
// token with its own verifier (fake_auth.go), not the adapter's code.
func TestBothKeyTypesTradeAgainstFake(t *testing.T) {
	for _, k := range keyTypes {
		t.Run(k.name, func(t *testing.T) {
			f := NewFake()
			defer f.Close()
			creds := f.NewAccountWithKey(d("100000"), k.kt)
			if k.kt == KeyEd25519 && strings.Contains(creds["api_secret"], "BEGIN") {
				t.Fatalf("an Ed25519 secret is base64, got %q…", creds["api_secret"][:10])
			}
			a := openAccount(t, creds)
			if a.c.signer.method.Alg() != k.alg {
				t.Fatalf("signs %s, want %s", a.c.signer.method.Alg(), k.alg)
			}
			ctx := testCtx(t)
			bal, err := a.Connect(ctx)
			if err != nil || !bal.Cash.Equal(d("100000")) {
				t.Fatalf("Connect: %+v %v", bal, err)
			}
			o, err := a.PlaceOrder(ctx, order("tee-"+k.name, signal.SideBuy, signal.OrderMarket, "0.01"))
			if err != nil || o.Status != broker.StatusFilled || !o.FilledQuantity.Equal(d("0.01")) {
				t.Fatalf("PlaceOrder: %+v %v", o, err)
			}
			if f.OrderCountFor(creds["api_key"]) != 1 {
				t.Fatalf("%d orders at the fake", f.OrderCountFor(creds["api_key"]))
			}
		})
	}
}

// A secret that parses but is not the key registered under the name is
// refused by the fake with 401, which the adapter reports as AUTH_FAILED —
// for either key type, and for a key of the other type.
func TestWrongKeyIsRefusedAsAuthFailed(t *testing.T) {
	f := NewFake()
	defer f.Close()
	cases := []struct {
		name     string
		own, use KeyType
	}{
		{"other Ed25519 key", KeyEd25519, KeyEd25519},
		{"other ECDSA key", KeyECDSA, KeyECDSA},
		{"ECDSA key for an Ed25519 name", KeyEd25519, KeyECDSA},
		{"Ed25519 key for an ECDSA name", KeyECDSA, KeyEd25519},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := f.NewAccountWithKey(d("100"), c.own)
			creds["api_secret"] = f.NewAccountWithKey(d("100"), c.use)["api_secret"]
			a := openAccount(t, creds)
			_, err := a.Connect(testCtx(t))
			var be *broker.Error
			if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed {
				t.Fatalf("Connect = %v, want AUTH_FAILED", err)
			}
			if ae, ok := asAPIError(err); !ok || ae.Status != http.StatusUnauthorized {
				t.Fatalf("cause %v, want the fake's 401", err)
			}
			if _, err := a.PlaceOrder(testCtx(t), order("tee-wrong", signal.SideBuy, signal.OrderMarket, "0.01")); broker.KindOf(err) != broker.KindAuthFailed {
				t.Fatalf("PlaceOrder = %v, want AUTH_FAILED", err)
			}
		})
	}
}

// TestFakeRefusesBadEd25519Tokens sends hand-made tokens for an Ed25519 key:
// the fake refuses what Advanced Trade refuses.
func TestFakeRefusesBadEd25519Tokens(t *testing.T) {
	f := NewFake()
	defer f.Close()
	creds := f.NewAccountWithKey(d("10"), KeyEd25519)
	own := openAccount(t, creds).c.signer.key
	host := strings.TrimPrefix(f.URL(), "http://")
	path := "/api/v3/brokerage/accounts"
	sign := func(method jwt.SigningMethod, key any, mod func(h map[string]any, c jwt.MapClaims)) string {
		now := time.Now()
		c := jwt.MapClaims{"iss": "cdp", "sub": creds["api_key"], "nbf": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "uri": "GET " + host + path}
		tok := jwt.NewWithClaims(method, c)
		tok.Header["kid"] = creds["api_key"]
		tok.Header["nonce"] = "0123456789abcdef0123456789abcdef"
		if mod != nil {
			mod(tok.Header, c)
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	valid := sign(jwt.SigningMethodEdDSA, own, nil)
	parts := strings.Split(valid, ".")
	// Signed by the right key, but the header names another algorithm.
	lying := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"JWT","kid":"` + creds["api_key"] + `","nonce":"0123456789abcdef"}`))
		sig := ed25519.Sign(own.(ed25519.PrivateKey), []byte(h+"."+parts[1]))
		return h + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	}()
	tests := []struct {
		name, token string
		want        int
	}{
		{"valid", valid, 200},
		{"other Ed25519 key", sign(jwt.SigningMethodEdDSA, otherEd, nil), 401},
		{"ES256 for an Ed25519 key", sign(jwt.SigningMethodES256, otherEC, nil), 401},
		{"alg none", parts[0] + "." + parts[1] + ".", 401},
		{"header alg ES256 on an EdDSA signature", lying, 401},
		{"claims swapped after signing", parts[0] + "." + strings.Split(sign(jwt.SigningMethodEdDSA, own,
			func(_ map[string]any, c jwt.MapClaims) { c["uri"] = "GET " + host + "/api/v3/brokerage/orders" }), ".")[1] + "." + parts[2], 401},
		{"wrong uri", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) { c["uri"] = "POST " + host + path }), 401},
		{"expired", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) {
			c["nbf"], c["exp"] = time.Now().Add(-5*time.Minute).Unix(), time.Now().Add(-3*time.Minute).Unix()
		}), 401},
		{"not yet valid", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) {
			c["nbf"], c["exp"] = time.Now().Add(time.Minute).Unix(), time.Now().Add(2*time.Minute).Unix()
		}), 401},
		{"too long", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) { c["exp"] = time.Now().Add(time.Hour).Unix() }), 401},
		{"no exp", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) { delete(c, "exp") }), 401},
		{"wrong issuer", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) { c["iss"] = "coinbase-cloud" }), 401},
		{"sub mismatch", sign(jwt.SigningMethodEdDSA, own, func(_ map[string]any, c jwt.MapClaims) { c["sub"] = "organizations/x/apiKeys/y" }), 401},
		{"no nonce", sign(jwt.SigningMethodEdDSA, own, func(h map[string]any, _ jwt.MapClaims) { delete(h, "nonce") }), 401},
		{"unknown kid", sign(jwt.SigningMethodEdDSA, own, func(h map[string]any, _ jwt.MapClaims) { h["kid"] = "organizations/x/apiKeys/y" }), 401},
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
