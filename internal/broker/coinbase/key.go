package coinbase

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// CDP API key secrets come in two types (Coinbase "API key authentication",
// https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication,
// and the official SDK's coinbase/jwt_generator.py _load_private_key in
// github.com/coinbase/coinbase-advanced-py):
//
//   - Ed25519, the default and recommended type: the secret is base64 of 64
//     bytes (32-byte seed followed by the 32-byte public key); the SDK also
//     takes the bare 32-byte seed and a PKCS#8 PEM ("PRIVATE KEY"). Signed
//     EdDSA.
//   - ECDSA (P-256): a PEM "EC PRIVATE KEY" (SEC 1), or PKCS#8. Signed ES256.
//
// The type is read from the secret itself: PEM → its key type, anything else
// must be base64 of an Ed25519 key.

// signer is a parsed CDP key secret and the JWT algorithm it signs with.
type signer struct {
	method jwt.SigningMethod // ES256 or EdDSA
	key    any               // *ecdsa.PrivateKey or ed25519.PrivateKey
}

// keyError says what is wrong with a key secret. It never holds the secret
// or any part of it, so it can be shown and logged.
type keyError struct{ reason string }

func (e *keyError) Error() string { return "coinbase API secret: " + e.reason }

func badKey(reason string) error { return &keyError{reason: reason} }

// ValidateSecret reports whether secret is a usable CDP API key secret
// (Ed25519 base64 or ECDSA PEM). The error explains the problem without
// echoing the secret; nil means Factory will accept it.
func ValidateSecret(secret string) error {
	_, err := parseKey(secret)
	return err
}

// parseKey reads a CDP API key secret. Newlines pasted as the two
// characters `\n` are accepted, as is surrounding whitespace.
func parseKey(secret string) (signer, error) {
	s := strings.TrimSpace(strings.ReplaceAll(secret, `\n`, "\n"))
	if s == "" {
		return signer{}, badKey("it is empty")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		return parsePEMKey(s)
	}
	return parseEd25519Base64(s)
}

func parsePEMKey(s string) (signer, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return signer{}, badKey("it starts like a PEM key but its body is not valid PEM (check that the line breaks were kept)")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return signer{}, badKey("it holds more than one PEM block; paste only the private key")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return signer{}, badKey("the EC PRIVATE KEY block is not a valid ECDSA key")
		}
		return ecSigner(k)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return signer{}, badKey("the PRIVATE KEY block is not a valid PKCS#8 key")
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			return ecSigner(k)
		case ed25519.PrivateKey:
			return signer{method: jwt.SigningMethodEdDSA, key: k}, nil
		}
		return signer{}, badKey("the PRIVATE KEY block is neither an ECDSA (P-256) nor an Ed25519 key")
	}
	return signer{}, badKey("a PEM block of type " + safeLabel(block.Type) + " is not a CDP key; expected EC PRIVATE KEY (ECDSA) or an Ed25519 key")
}

func ecSigner(k *ecdsa.PrivateKey) (signer, error) {
	if k.Curve != elliptic.P256() {
		return signer{}, badKey("the ECDSA key is not on the P-256 curve that Coinbase issues (ES256)")
	}
	return signer{method: jwt.SigningMethodES256, key: k}, nil
}

// parseEd25519Base64 reads the base64 Ed25519 secret Coinbase shows (64
// bytes: seed then public key) or a bare 32-byte seed, as the official SDK
// does. A 64-byte secret whose public half does not belong to its seed is
// refused: every signature made with it would be rejected.
func parseEd25519Base64(s string) (signer, error) {
	compact := strings.Join(strings.Fields(s), "")
	raw, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return signer{}, badKey("it is neither an ECDSA key in PEM form (-----BEGIN EC PRIVATE KEY-----) nor an Ed25519 key in base64")
	}
	switch len(raw) {
	case ed25519.PrivateKeySize: // seed ‖ public key
		k := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(k[ed25519.SeedSize:], raw[ed25519.SeedSize:]) {
			return signer{}, badKey("the Ed25519 key's public half does not match its private half (the secret was altered or truncated)")
		}
		return signer{method: jwt.SigningMethodEdDSA, key: k}, nil
	case ed25519.SeedSize:
		return signer{method: jwt.SigningMethodEdDSA, key: ed25519.NewKeyFromSeed(raw)}, nil
	}
	return signer{}, badKey("an Ed25519 secret decodes to 64 bytes (or a 32-byte seed); this one does not (was it copied whole?)")
}

// safeLabel bounds a PEM type for an error message: it comes from the
// secret's framing, not its key material, but is still kept short and
// printable.
func safeLabel(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return "\"" + strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s) + "\""
}
