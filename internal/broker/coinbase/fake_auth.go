package coinbase

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// The fake's side of CDP API key authentication, written from Coinbase's
// description of the bearer JWT
// (https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication)
// with the standard library only: it shares no code with the adapter's
// signing (key.go, client.go, golang-jwt), so a token the adapter builds
// wrongly (algorithm, signature encoding, claims) is refused here as
// Coinbase would refuse it.

// KeyType is the kind of CDP API key a fake account is issued.
type KeyType int

const (
	// KeyECDSA is a P-256 key; its secret is a PEM "EC PRIVATE KEY" and
	// tokens are signed ES256.
	KeyECDSA KeyType = iota
	// KeyEd25519 is the default CDP key type today; its secret is base64 of
	// the 64-byte private key (seed ‖ public key) and tokens are signed
	// EdDSA.
	KeyEd25519
)

// fakeKey is the public half of a registered CDP key.
type fakeKey struct {
	alg string // the only JWT alg this key verifies: "ES256" or "EdDSA"
	ec  *ecdsa.PublicKey
	ed  ed25519.PublicKey
}

// newFakeKey issues a key of type kt: the secret as Coinbase shows it and the
// public half the fake keeps.
func newFakeKey(kt KeyType) (secret string, pub fakeKey) {
	if kt == KeyEd25519 {
		pubKey, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("ed25519: " + err.Error())
		}
		return base64.StdEncoding.EncodeToString(priv), fakeKey{alg: "EdDSA", ed: pubKey}
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("ecdsa: " + err.Error())
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		panic("x509: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), fakeKey{alg: "ES256", ec: &priv.PublicKey}
}

// NewAccount creates an account holding cash USD with an ECDSA CDP key and
// returns its credentials (api_key = key name, api_secret = EC private key
// PEM, base_url).
func (f *Fake) NewAccount(cash decimal.Decimal) broker.Credentials {
	return f.NewAccountWithKey(cash, KeyECDSA)
}

// NewAccountWithKey creates an account holding cash USD with a CDP key of
// type kt (api_secret: PEM for ECDSA, base64 for Ed25519).
func (f *Fake) NewAccountWithKey(cash decimal.Decimal, kt KeyType) broker.Credentials {
	secret, pub := newFakeKey(kt)
	name := "organizations/" + uuid.NewString() + "/apiKeys/" + uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[name] = &fakeAccount{
		key:       pub,
		available: map[string]decimal.Decimal{cashCurrency: cash},
		hold:      map[string]decimal.Decimal{},
	}
	f.lastKey = name
	return broker.Credentials{"api_key": name, "api_secret": secret, "base_url": f.srv.URL}
}

type jwtHeader struct {
	Alg   string `json:"alg"`
	Kid   string `json:"kid"`
	Nonce string `json:"nonce"`
}

type jwtClaims struct {
	Iss string       `json:"iss"`
	Sub string       `json:"sub"`
	Nbf *json.Number `json:"nbf"`
	Exp *json.Number `json:"exp"`
	URI string       `json:"uri"`
}

// authLeeway is the clock skew tolerated on nbf and exp.
const authLeeway = 5 * time.Second

// authenticate verifies the bearer JWT as Advanced Trade does: signed by the
// key named in kid with that key's algorithm (EdDSA for Ed25519 keys, ES256
// for ECDSA keys), a nonce in the header, iss "cdp", sub = kid, nbf/exp
// present, current and at most two minutes apart, and a uri claim naming
// this exact request's method, host and path. Runs with f.mu held.
func (f *Fake) authenticate(r *http.Request) (*fakeAccount, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, false
	}
	var h jwtHeader
	if !decodeSegment(parts[0], &h) || h.Nonce == "" {
		return nil, false
	}
	acct := f.accounts[h.Kid]
	if acct == nil || h.Alg != acct.key.alg {
		return nil, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !acct.key.verify(parts[0]+"."+parts[1], sig) {
		return nil, false
	}
	var c jwtClaims
	if !decodeSegment(parts[1], &c) || c.Iss != "cdp" || c.Sub != h.Kid || c.Nbf == nil || c.Exp == nil {
		return nil, false
	}
	nbf, err1 := c.Nbf.Float64()
	exp, err2 := c.Exp.Float64()
	now := float64(f.now().Unix())
	leeway := authLeeway.Seconds()
	switch {
	case err1 != nil || err2 != nil || math.IsNaN(nbf) || math.IsNaN(exp):
		return nil, false
	case now+leeway < nbf, now-leeway >= exp, exp-nbf > jwtLifetime.Seconds():
		return nil, false
	case c.URI != r.Method+" "+r.Host+r.URL.Path:
		return nil, false
	}
	return acct, true
}

// verify checks a JWS signature: ES256 is the 64-byte r ‖ s of an ECDSA
// P-256 signature over SHA-256 (RFC 7518 §3.4, not DER); EdDSA is the
// Ed25519 signature over the signing input (RFC 8037).
func (k fakeKey) verify(signingInput string, sig []byte) bool {
	switch k.alg {
	case "ES256":
		if len(sig) != 64 || k.ec == nil {
			return false
		}
		digest := sha256.Sum256([]byte(signingInput))
		rr, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k.ec, digest[:], rr, ss)
	case "EdDSA":
		return len(k.ed) == ed25519.PublicKeySize && ed25519.Verify(k.ed, []byte(signingInput), sig)
	}
	return false
}

func decodeSegment(seg string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v) == nil
}
