package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

func deriveKey(secret []byte, info string) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, info, 32)
}

// CSRFToken returns a token for the double-submit cookie of a session: a
// random nonce and an HMAC binding it to the session id. A token planted
// from another site or session does not validate (signed double-submit,
// OWASP CSRF cheat sheet).
func (s *Service) CSRFToken(sessionID string) (string, error) {
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	n := base64.RawURLEncoding.EncodeToString(nonce)
	return n + "." + s.csrfMAC(sessionID, n), nil
}

// CheckCSRF reports whether cookie and header carry the same token and it
// belongs to sessionID. Comparisons are constant-time.
func (s *Service) CheckCSRF(sessionID, cookie, header string) bool {
	if cookie == "" || header == "" || len(cookie) > 128 || sessionID == "" {
		return false
	}
	if !hmac.Equal([]byte(cookie), []byte(header)) {
		return false
	}
	nonce, mac, ok := strings.Cut(cookie, ".")
	if !ok {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(s.csrfMAC(sessionID, nonce)))
}

func (s *Service) csrfMAC(sessionID, nonce string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(sessionID))
	m.Write([]byte{0})
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
