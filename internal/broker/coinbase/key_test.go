package coinbase

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Test keys published with the official SDK's test suite:
// github.com/coinbase/coinbase-advanced-py, tests/constants.py (v1.8.4).
// They are throwaway keys that sign nothing real.
const (
	sdkECSecret = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49\nAwEHoUQDQgAEbAtpLlSZYVOwYICz+uEyxcS29vRIujiES/gQ1DC7FV4zK4JuYE9v\nqDyGZQYjdXHLM7I6f/QnnOITL+dXYWBHRA==\n-----END EC PRIVATE KEY-----\n"
	// The Ed25519 key as Coinbase shows it: base64 of seed ‖ public key.
	sdkEd25519Secret = "k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputDOKsRAwgyrpEQLeBtS1znTmzPX6Xr2eOWpzx6nW8knkA=="
	// The same key wrapped in PKCS#8 PEM, and as the bare 32-byte seed.
	sdkEd25519PKCS8 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJNAVJ4tKdL2RtQXaVY0uqIASe5MZut9ACdnTfrbqbrQ\n-----END PRIVATE KEY-----\n"
	sdkEd25519Seed  = "k0BUni0p0vZG1BdpVjS6ogBJ7kxm630AJ2dN+tuputA="
)

func TestParseKeyReadsBothKeyTypes(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		name, secret string
		alg          string
	}{
		{"ECDSA SEC 1 PEM (SDK fixture)", sdkECSecret, "ES256"},
		{"ECDSA PEM pasted on one line with \\n", strings.ReplaceAll(sdkECSecret, "\n", `\n`), "ES256"},
		{"ECDSA PKCS#8 PEM", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8})), "ES256"},
		{"Ed25519 64-byte base64 (SDK fixture)", sdkEd25519Secret, "EdDSA"},
		{"Ed25519 with a trailing newline", sdkEd25519Secret + "\n", "EdDSA"},
		{"Ed25519 PKCS#8 PEM (SDK fixture)", sdkEd25519PKCS8, "EdDSA"},
		{"Ed25519 32-byte seed (SDK fixture)", sdkEd25519Seed, "EdDSA"},
	}
	raw, _ := base64.StdEncoding.DecodeString(sdkEd25519Secret)
	wantEdPub := ed25519.PublicKey(raw[32:])
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseKey(tt.secret)
			if err != nil {
				t.Fatalf("parseKey: %v", err)
			}
			if s.method.Alg() != tt.alg {
				t.Fatalf("alg %s, want %s", s.method.Alg(), tt.alg)
			}
			if ed, ok := s.key.(ed25519.PrivateKey); ok && strings.Contains(tt.name, "SDK") && !ed.Public().(ed25519.PublicKey).Equal(wantEdPub) {
				t.Fatal("the SDK's three forms of one Ed25519 key gave different keys")
			}
			if err := ValidateSecret(tt.secret); err != nil {
				t.Fatalf("ValidateSecret: %v", err)
			}
		})
	}
}

func TestParseKeyRefusesMalformedSecretsWithoutEchoingThem(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024) // #nosec G403 -- a throwaway key the parser must refuse
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	raw, _ := base64.StdEncoding.DecodeString(sdkEd25519Secret)
	altered := append([]byte{}, raw...)
	altered[40] ^= 0xff // the public half no longer belongs to the seed
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(raw[:n]) }
	tests := []struct {
		name, secret, want string
	}{
		{"empty", "  ", "empty"},
		{"not a key (SDK's bad_secret)", "bad_secret", "neither an ECDSA key"},
		{"invalid base64", "not-valid-base64!!!", "neither an ECDSA key"},
		{"31 bytes", b64(31), "64 bytes"},
		{"33 bytes", b64(33), "64 bytes"},
		{"63 bytes (truncated copy)", b64(63), "64 bytes"},
		{"65 bytes", base64.StdEncoding.EncodeToString(append(append([]byte{}, raw...), 0)), "64 bytes"},
		{"public half altered", base64.StdEncoding.EncodeToString(altered), "public half does not match"},
		{"PEM with a broken body (SDK)", "-----BEGIN EC PRIVATE KEY-----\nNOTVALIDDATA\n-----END EC PRIVATE KEY-----\n", "not a valid ECDSA key"},
		{"PEM without its END line", "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKwf3Uox30cRWzRBOPoPOH5p0Gpb0Dt8zUKXUEM5fMkGoAoGCCqGSM49\n", "not valid PEM"},
		{"EC key on P-384", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: p384DER})), "P-256"},
		{"RSA key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})), "neither an ECDSA (P-256) nor an Ed25519"},
		{"a certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")})), "not a CDP key"},
		{"two PEM blocks", sdkECSecret + sdkEd25519PKCS8, "more than one PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseKey(tt.secret)
			var ke *keyError
			if !errors.As(err, &ke) {
				t.Fatalf("err = %v, want a *keyError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %q, want it to say %q", err, tt.want)
			}
			assertNoSecret(t, err.Error(), tt.secret)
			if ValidateSecret(tt.secret) == nil {
				t.Fatal("ValidateSecret accepted it")
			}
		})
	}
}

// assertNoSecret fails when msg carries the secret or any 12-character run
// of it (key material, not the PEM framing).
func assertNoSecret(t *testing.T, msg, secret string) {
	t.Helper()
	body := secret
	for _, frame := range []string{"-----BEGIN EC PRIVATE KEY-----", "-----END EC PRIVATE KEY-----",
		"-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"} {
		body = strings.ReplaceAll(body, frame, "\n")
	}
	for _, line := range strings.Fields(body) {
		for i := 0; i+12 <= len(line); i++ {
			if strings.Contains(msg, line[i:i+12]) {
				t.Fatalf("message %q echoes the secret", msg)
			}
		}
	}
}

func TestFactoryExplainsMalformedSecret(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString([]byte("thirty-three bytes of key materia"))
	_, err := Factory(Options{})(broker.Config{Credentials: broker.Credentials{"api_key": "organizations/o/apiKeys/k", "api_secret": secret}})
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindAuthFailed {
		t.Fatalf("err = %v, want AUTH_FAILED", err)
	}
	for _, want := range []string{"not usable", "64 bytes", "Ed25519", "ECDSA"} {
		if !strings.Contains(be.Message, want) {
			t.Errorf("message %q does not say %q", be.Message, want)
		}
	}
	assertNoSecret(t, be.Error(), secret)
	if _, err := Factory(Options{})(broker.Config{Credentials: broker.Credentials{"api_secret": sdkEd25519Secret}}); broker.KindOf(err) != broker.KindAuthFailed {
		t.Fatalf("no key name: %v", err)
	}
}

// TestJWTAlgorithmFollowsKeyType: each key type signs with its algorithm and
// the token verifies with the key's public half (golang-jwt here, the fake's
// own verifier in TestBothKeyTypesTradeAgainstFake).
func TestJWTAlgorithmFollowsKeyType(t *testing.T) {
	for _, tt := range []struct {
		secret, alg string
	}{{sdkEd25519Secret, "EdDSA"}, {sdkECSecret, "ES256"}} {
		a, err := Factory(Options{AllowCustomURLs: true})(broker.Config{Credentials: broker.Credentials{
			"api_key": "organizations/test-organization/apiKeys/test-api-key", "api_secret": tt.secret, "base_url": "http://127.0.0.1:1"}})
		if err != nil {
			t.Fatal(err)
		}
		c := a.(*Adapter).c
		tok, err := c.jwtFor("GET", "/api/v3/brokerage/accounts")
		if err != nil {
			t.Fatal(err)
		}
		var pub any
		switch k := c.signer.key.(type) {
		case ed25519.PrivateKey:
			pub = k.Public()
		case *ecdsa.PrivateKey:
			pub = &k.PublicKey
		}
		parsed, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil }, jwt.WithValidMethods([]string{tt.alg}))
		if err != nil || parsed.Header["alg"] != tt.alg {
			t.Fatalf("%s: %v %v", tt.alg, err, parsed.Header)
		}
	}
}
