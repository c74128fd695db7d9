package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

func TestVerifyAcceptsIssuedToken(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		tok := f.register("ann@example.com")
		c, err := f.svc.Verify(context.Background(), tok.AccessToken)
		require.NoError(t, err)
		require.Equal(t, tok.UserID, c.UserID)
		require.Equal(t, tok.SessionID, c.SessionID)
		require.Equal(t, RoleTrader, c.Role)
		require.NotEmpty(t, c.KeyID)
		require.WithinDuration(t, f.clock.Now().Add(time.Hour), c.ExpiresAt, time.Second)

		// The role comes from the database, not the token.
		require.NoError(t, db.Model(&schema.User{}).Where("id = ?", tok.UserID).Update("role", "support").Error)
		c, err = f.svc.Verify(context.Background(), tok.AccessToken)
		require.NoError(t, err)
		require.Equal(t, RoleSupport, c.Role)
	})
}

// forge builds a token with arbitrary header and claims, signed with key
// (or unsigned when key is nil).
func forge(t *testing.T, header, claims map[string]any, key []byte, method jwt.SigningMethod) string {
	t.Helper()
	if key == nil {
		h, _ := json.Marshal(header)
		c, _ := json.Marshal(claims)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
	}
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func TestVerifyRejectsBadTokens(t *testing.T) {
	f := sqliteFixture(t)
	tok := f.register("ann@example.com")
	good, err := f.svc.parse(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	key, ok := f.svc.keys.lookup(context.Background(), good.KeyID)
	require.True(t, ok)
	now := f.clock.Now()
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": Issuer, "aud": []string{Audience}, "sub": tok.UserID, "sid": tok.SessionID, "role": "admin",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	hdr := map[string]any{"kid": good.KeyID}
	parts := strings.Split(tok.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), `"role":"trader"`, `"role":"admin"`, 1)
	require.NotEqual(t, string(payload), tampered)

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrUnauthenticated},
		{"garbage", "not.a.jwt", ErrUnauthenticated},
		{"oversized", strings.Repeat("a", 5000), ErrUnauthenticated},
		{"alg none", forge(t, map[string]any{"alg": "none", "typ": "JWT", "kid": good.KeyID}, claims(nil), nil, nil), ErrUnauthenticated},
		{"alg none no kid", forge(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), nil, nil), ErrUnauthenticated},
		{"forged with other key", forge(t, hdr, claims(nil), []byte(strings.Repeat("k", 32)), jwt.SigningMethodHS256), ErrUnauthenticated},
		{"HS512 with the real key", forge(t, hdr, claims(nil), key.secret, jwt.SigningMethodHS512), ErrUnauthenticated},
		{"unknown kid", forge(t, map[string]any{"kid": "0000"}, claims(nil), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"no kid", forge(t, map[string]any{}, claims(nil), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2], ErrUnauthenticated},
		{"wrong issuer", forge(t, hdr, claims(func(c map[string]any) { c["iss"] = "evil" }), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"wrong audience", forge(t, hdr, claims(func(c map[string]any) { c["aud"] = "other" }), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"no expiry", forge(t, hdr, claims(func(c map[string]any) { delete(c, "exp") }), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"expired", forge(t, hdr, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), key.secret, jwt.SigningMethodHS256), ErrTokenExpired},
		{"issued in the future", forge(t, hdr, claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
		{"unknown session", forge(t, hdr, claims(func(c map[string]any) { c["sid"] = "6f1c4a52-7d1e-4a43-9d1a-2f6d1b0e9a11" }), key.secret, jwt.SigningMethodHS256), ErrSessionEnded},
		{"session of another user", forge(t, hdr, claims(func(c map[string]any) { c["sub"] = "someone-else" }), key.secret, jwt.SigningMethodHS256), ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.Verify(context.Background(), tt.token)
			require.ErrorIs(t, err, tt.want)
		})
	}
	// A correctly signed token with the right claims passes (the forge
	// helper itself is sound), and its role claim is not trusted.
	c, err := f.svc.Verify(context.Background(), forge(t, hdr, claims(nil), key.secret, jwt.SigningMethodHS256))
	require.NoError(t, err)
	require.Equal(t, RoleTrader, c.Role)
}

func TestTokenExpiresAfterAnHour(t *testing.T) {
	f := sqliteFixture(t)
	tok := f.register("ann@example.com")
	f.clock.Advance(time.Hour - time.Minute)
	_, err := f.svc.Verify(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	f.clock.Advance(time.Minute + DefaultLeeway + time.Second)
	_, err = f.svc.Verify(context.Background(), tok.AccessToken)
	require.ErrorIs(t, err, ErrTokenExpired)
}

func TestSigningKeyRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		old := f.register("ann@example.com")
		oldClaims, err := f.svc.Verify(ctx, old.AccessToken)
		require.NoError(t, err)

		kid, err := f.svc.RotateSigningKey(ctx, "test")
		require.NoError(t, err)
		require.NotEqual(t, oldClaims.KeyID, kid)
		fresh := f.register("bob@example.com")
		freshClaims, err := f.svc.Verify(ctx, fresh.AccessToken)
		require.NoError(t, err)
		require.Equal(t, kid, freshClaims.KeyID, "new tokens carry the new kid")
		_, err = f.svc.Verify(ctx, old.AccessToken)
		require.NoError(t, err, "tokens of the previous key stay valid until they expire")

		// A second replica (same DB and secret) verifies both.
		other, err := New(ctx, Config{DB: db, Secret: f.cfg.Secret, Now: f.clock.Now, Password: testParams})
		require.NoError(t, err)
		_, err = other.Verify(ctx, old.AccessToken)
		require.NoError(t, err)
		_, err = other.Verify(ctx, fresh.AccessToken)
		require.NoError(t, err)

		// A revoked key stops verifying at once.
		require.NoError(t, f.svc.RevokeSigningKey(ctx, oldClaims.KeyID, "test"))
		_, err = f.svc.Verify(ctx, old.AccessToken)
		require.ErrorIs(t, err, ErrUnauthenticated)

		// Scheduled rotation: after 30 days the next token uses a new key.
		f.clock.Advance(DefaultKeyRotation + time.Minute)
		later := f.register("cy@example.com")
		laterClaims, err := f.svc.Verify(ctx, later.AccessToken)
		require.NoError(t, err)
		require.NotEqual(t, kid, laterClaims.KeyID)
	})
}

func TestSigningKeysAreSealedWithTheSecret(t *testing.T) {
	db, _ := storetestOpen(t)
	ctx := context.Background()
	f := newFixture(t, db)
	tok := f.register("ann@example.com")
	var rows []schema.SigningKey
	require.NoError(t, db.Find(&rows).Error)
	require.Len(t, rows, 1)
	key, ok := f.svc.keys.lookup(ctx, rows[0].KID)
	require.True(t, ok)
	require.NotContains(t, string(rows[0].Sealed), string(key.secret), "stored sealed, not in clear")

	// Another JWT_SECRET cannot read the key: it creates its own and does
	// not accept tokens signed with the unreadable one.
	other, err := New(ctx, Config{DB: db, Secret: secret(t), Password: testParams})
	require.NoError(t, err)
	_, err = other.Verify(ctx, tok.AccessToken)
	require.ErrorIs(t, err, ErrUnauthenticated)
	require.NoError(t, db.Model(&schema.SigningKey{}).Count(new(int64)).Error)
	var n int64
	db.Model(&schema.SigningKey{}).Count(&n)
	require.EqualValues(t, 2, n)
}

func TestNewRejectsShortSecret(t *testing.T) {
	db, _ := storetestOpen(t)
	_, err := New(context.Background(), Config{DB: db, Secret: []byte("short")})
	require.Error(t, err)
}
