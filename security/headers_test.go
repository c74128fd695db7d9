package security

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// Security headers on every kind of answer (A05; FR-072, FR-075, FR-080).
func TestSecurityHeaders(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	anon := s.newClient()
	answers := map[string]resp{
		"health":      anon.do(http.MethodGet, "/health", nil),
		"api 200":     alice.do(http.MethodGet, "/api/v1/trades", nil),
		"api 401":     anon.do(http.MethodGet, "/api/v1/trades", nil),
		"login 401":   anon.do(http.MethodPost, "/auth/login", map[string]string{"email": "a@b.co", "password": "x"}),
		"unknown 404": anon.do(http.MethodGet, "/nowhere", nil),
		"webhook 404": anon.do(http.MethodPost, "/webhooks/tradingview/"+strings.Repeat("x", 43), "{}"),
	}
	for name, r := range answers {
		h := r.Header
		require.True(t, strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'self'"), name)
		require.Contains(t, h.Get("Content-Security-Policy"), "frame-ancestors 'none'", name)
		require.NotContains(t, h.Get("Content-Security-Policy"), "unsafe", name)
		require.Equal(t, "max-age=31536000; includeSubDomains; preload", h.Get("Strict-Transport-Security"), name)
		require.Equal(t, "DENY", h.Get("X-Frame-Options"), name)
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"), name)
		require.Equal(t, "strict-origin-when-cross-origin", h.Get("Referrer-Policy"), name)
		require.Empty(t, h.Get("Server"), name)
		require.Empty(t, h.Get("X-Powered-By"), name)
		if name != "health" && name != "unknown 404" {
			require.Equal(t, "no-store", h.Get("Cache-Control"), name)
		}
	}
}

// Session cookies are Secure, HttpOnly (but the CSRF token) and SameSite,
// with __Host-/__Secure- names (A05, A07).
func TestSessionCookieAttributes(t *testing.T) {
	s := sqliteSuite(t)
	r := s.newClient().do(http.MethodPost, "/auth/register", map[string]string{"email": "cookie@example.com", "password": password})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	got := map[string]*http.Cookie{}
	for _, c := range r.Set {
		got[c.Name] = c
	}
	want := map[string]struct {
		path     string
		httpOnly bool
		sameSite http.SameSite
	}{
		"__Host-te_access":    {"/", true, http.SameSiteLaxMode},
		"__Secure-te_refresh": {"/auth", true, http.SameSiteStrictMode},
		"__Host-te_csrf":      {"/", false, http.SameSiteStrictMode},
	}
	require.Len(t, got, len(want))
	for name, w := range want {
		c := got[name]
		require.NotNil(t, c, name)
		require.True(t, c.Secure, name)
		require.Equal(t, w.httpOnly, c.HttpOnly, name)
		require.Equal(t, w.sameSite, c.SameSite, name)
		require.Equal(t, w.path, c.Path, name)
		require.Empty(t, c.Domain, name)
		require.Positive(t, c.MaxAge, name)
	}
	require.NotContains(t, r.Raw, got["__Secure-te_refresh"].Value, "the refresh token is never in a body")
}

// Error bodies (A04, A09; FR-079): JSON {error, message}, no internals,
// and login failures never say whether the account exists.
func TestErrorBodiesAreSanitized(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	wrongPassword := s.newClient().do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"})
	noAccount := s.newClient().do(http.MethodPost, "/auth/login", map[string]string{"email": "nobody@example.com", "password": password})
	require.Equal(t, http.StatusUnauthorized, wrongPassword.Status)
	require.Equal(t, wrongPassword.Raw, noAccount.Raw, "no user enumeration")
	require.Equal(t, "Authentication failed.", noAccount.Body["message"])

	answers := []resp{
		wrongPassword,
		s.newClient().do(http.MethodPost, "/auth/login", "{not json"),
		s.newClient().do(http.MethodPost, "/auth/login", `{"email":"a@b.co","password":"x","admin":true}`),
		s.newClient().do(http.MethodPost, "/auth/login", `{"email":1,"password":[]}`),
		s.newClient().do(http.MethodPost, "/auth/register", map[string]string{"email": "weak@example.com", "password": "weak"}),
		s.newClient().do(http.MethodPost, "/auth/refresh", nil),
		s.newClient().do(http.MethodGet, "/auth/discord", nil),
		s.newClient().do(http.MethodGet, "/auth/discord/callback?code=x&state=y", nil),
		alice.do(http.MethodGet, "/api/v1/trades?limit=abc", nil),
		alice.do(http.MethodGet, "/api/v1/trades/not-a-uuid", nil),
		alice.do(http.MethodGet, "/api/v1/audit", nil),
		alice.do(http.MethodDelete, "/api/v1/trades", nil),
	}
	for _, r := range answers {
		require.Less(t, r.Status, 500, r.Raw)
		require.NotEmpty(t, r.Body["error"], r.Raw)
		require.NotEmpty(t, r.Body["message"], r.Raw)
		low := strings.ToLower(r.Raw)
		for _, l := range leaks {
			require.NotContains(t, low, l, r.Raw)
		}
	}
	weak := answers[4]
	require.Equal(t, "weak_password", weak.Body["error"])
	require.Equal(t, "Password must contain at least 12 characters, an upper-case letter, a digit, a special character.", weak.Body["message"])
}
