package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWT registered claim values.
const (
	Issuer   = "tradeexec"
	Audience = "tradeexec-api"
	// maxTokenLength: longer bearer strings are refused before parsing.
	maxTokenLength = 4096
)

// Claims is what a verified access token says, with the role as the
// database has it now.
type Claims struct {
	UserID    string
	SessionID string
	Role      Role
	KeyID     string
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Verifier checks access tokens; the WebSocket handler uses it too. Verify
// fails with ErrUnauthenticated, ErrTokenExpired, ErrSessionEnded or
// ErrReauthRequired (when ctx carries a Client that does not match the
// session's binding, see WithClient).
type Verifier interface {
	Verify(ctx context.Context, token string) (Claims, error)
}

var _ Verifier = (*Service)(nil)

type jwtClaims struct {
	SID  string `json:"sid"`
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// sign issues an access token for a session with key.
func (s *Service) sign(key *signingKey, userID, sessionID string, role Role, expires time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	now := s.now()
	claims := jwtClaims{
		SID:  sessionID,
		Role: string(role),
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   userID,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
			ID:        hex.EncodeToString(jti),
		},
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = key.kid
	signed, err := tok.SignedString(key.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign access token: %w", err)
	}
	return signed, nil
}

// parse checks an access token's signature, algorithm, issuer, audience
// and lifetime; it does not look at the session.
func (s *Service) parse(ctx context.Context, token string) (Claims, error) {
	if token == "" || len(token) > maxTokenLength {
		return Claims{}, ErrUnauthenticated
	}
	var kid string
	var jc jwtClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{algHS256}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(s.cfg.Leeway),
		jwt.WithTimeFunc(s.now),
		jwt.WithStrictDecoding(),
	)
	_, err := parser.ParseWithClaims(token, &jc, func(t *jwt.Token) (any, error) {
		k, ok := t.Header["kid"].(string)
		if !ok || k == "" || len(k) > 64 {
			return nil, errors.New("missing kid")
		}
		key, ok := s.keys.lookup(ctx, k)
		if !ok {
			return nil, errors.New("unknown kid")
		}
		kid = k
		return key.secret, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Claims{}, ErrTokenExpired
	case err != nil:
		return Claims{}, ErrUnauthenticated
	case jc.Subject == "" || jc.SID == "" || jc.ExpiresAt == nil || jc.IssuedAt == nil:
		return Claims{}, ErrUnauthenticated
	}
	return Claims{UserID: jc.Subject, SessionID: jc.SID, Role: Role(jc.Role), KeyID: kid, TokenID: jc.ID,
		IssuedAt: jc.IssuedAt.UTC(), ExpiresAt: jc.ExpiresAt.UTC()}, nil
}

// Verify checks an access token and that its session is alive; the
// returned Role is the user's current role. See Verifier.
func (s *Service) Verify(ctx context.Context, token string) (Claims, error) {
	c, err := s.parse(ctx, token)
	if err != nil {
		return Claims{}, err
	}
	sess, role, err := s.liveSession(ctx, c.SessionID)
	if err != nil {
		return Claims{}, err
	}
	if sess.UserID != c.UserID {
		return Claims{}, ErrUnauthenticated
	}
	if client, ok := ClientFrom(ctx); ok {
		if err := s.checkBinding(ctx, sess, client); err != nil {
			return Claims{}, err
		}
	}
	c.Role = role
	return c, nil
}
