package security

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/realtime"
)

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Missing, malformed, expired, forged and alg:none tokens (A02, A07).
func TestForgedAndExpiredTokensAreRefused(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	parts := strings.Split(alice.bearer, ".")
	require.Len(t, parts, 3)
	var hdr map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, json.Unmarshal(raw, &hdr))
	require.Equal(t, "HS256", hdr["alg"])
	require.NotEmpty(t, hdr["kid"], "tokens name their signing key")
	var claims map[string]any
	raw, _ = base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, json.Unmarshal(raw, &claims))

	admin := map[string]any{}
	for k, v := range claims {
		admin[k] = v
	}
	admin["role"] = "admin"
	now := time.Now()
	forgedKey := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims))
	forgedKey.Header["kid"] = hdr["kid"]
	signedWithGuess, err := forgedKey.SignedString([]byte("secret"))
	require.NoError(t, err)

	cases := map[string]string{
		"garbage":               "abc",
		"empty bearer":          "",
		"alg none":              b64(map[string]any{"alg": "none", "typ": "JWT", "kid": hdr["kid"]}) + "." + b64(claims) + ".",
		"alg None":              b64(map[string]any{"alg": "None", "typ": "JWT"}) + "." + b64(claims) + ".",
		"payload swapped":       parts[0] + "." + b64(admin) + "." + parts[2],
		"signature stripped":    parts[0] + "." + parts[1] + ".",
		"signed with a guess":   signedWithGuess,
		"other user's subject":  parts[0] + "." + b64(map[string]any{"sub": "x", "sid": claims["sid"], "exp": now.Add(time.Hour).Unix()}) + "." + parts[2],
		"RS256 header, HS body": b64(map[string]any{"alg": "RS256", "kid": hdr["kid"]}) + "." + parts[1] + "." + parts[2],
		"oversized":             strings.Repeat("a", 8000),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			res := alice.do(http.MethodGet, "/api/v1/me", nil, header("Authorization", "Bearer "+tok), noCookies())
			require.Equal(t, http.StatusUnauthorized, res.Status, res.Raw)
		})
	}
	for _, h := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")), "bearer " + alice.bearer, alice.bearer} {
		res := alice.do(http.MethodGet, "/api/v1/me", nil, header("Authorization", h), noCookies())
		require.Equal(t, http.StatusUnauthorized, res.Status, h)
	}
	// The genuine token still works, and its role claim was never trusted.
	res := alice.do(http.MethodGet, "/api/v1/me", nil)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, "trader", res.Body["user"].(map[string]any)["role"])

	// One hour later it has expired.
	s.clock.Advance(time.Hour + time.Minute)
	res = alice.do(http.MethodGet, "/api/v1/me", nil, noCookies())
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "token_expired", res.Body["error"])
}

// Logout destroys the session: every old token gets 401 (FR-024).
func TestLogoutEndsTheSession(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	oldBearer := alice.bearer
	oldCookies := map[string]string{}
	for k, v := range alice.cookies {
		oldCookies[k] = v.Value
	}
	require.Contains(t, oldCookies, "__Host-te_access")
	require.Contains(t, oldCookies, "__Secure-te_refresh")

	// Cookie-based logout needs the CSRF token.
	alice.bearer = ""
	res := alice.do(http.MethodPost, "/auth/logout", nil)
	require.Equal(t, http.StatusForbidden, res.Status, res.Raw)
	res = alice.do(http.MethodPost, "/auth/logout", nil, alice.withCSRF())
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	cleared := map[string]bool{}
	for _, c := range res.Set {
		cleared[c.Name] = c.MaxAge < 0
	}
	require.True(t, cleared["__Host-te_access"] && cleared["__Secure-te_refresh"] && cleared["__Host-te_csrf"], "cookies cleared")

	replay := s.newClient()
	replay.ip, replay.ua = alice.ip, alice.ua
	res = replay.do(http.MethodGet, "/api/v1/me", nil, header("Authorization", "Bearer "+oldBearer))
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "session_ended", res.Body["error"])
	res = replay.do(http.MethodGet, "/api/v1/me", nil, header("Cookie", "__Host-te_access="+oldCookies["__Host-te_access"]))
	require.Equal(t, http.StatusUnauthorized, res.Status)
	res = replay.do(http.MethodPost, "/auth/refresh", nil, header("Cookie", "__Secure-te_refresh="+oldCookies["__Secure-te_refresh"]+
		"; __Host-te_csrf="+oldCookies["__Host-te_csrf"]), header("X-CSRF-Token", oldCookies["__Host-te_csrf"]))
	require.Equal(t, http.StatusUnauthorized, res.Status, res.Raw)
	require.Contains(t, s.actions(alice.userID), audit.ActionLogout)
}

// Refresh rotates; replaying a rotated refresh token revokes the family
// and is logged as SESSION_HIJACK_DETECTED.
func TestRefreshRotationAndReuseDetection(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	refresh := func(c *client, opts ...opt) resp {
		return c.do(http.MethodPost, "/auth/refresh", nil, append([]opt{c.withCSRF()}, opts...)...)
	}
	// Not due yet: the same access token comes back.
	res := refresh(alice)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, false, res.Body["refreshed"])
	require.Equal(t, alice.bearer, res.Body["accessToken"])

	// Without CSRF token: refused.
	res = alice.do(http.MethodPost, "/auth/refresh", nil)
	require.Equal(t, http.StatusForbidden, res.Status)

	// Four minutes before expiry: rotated.
	s.clock.Advance(56 * time.Minute)
	stolen := alice.cookies["__Secure-te_refresh"].Value
	res = refresh(alice)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, true, res.Body["refreshed"])
	require.NotEqual(t, stolen, alice.cookies["__Secure-te_refresh"].Value, "the refresh cookie rotated")
	alice.bearer = res.Body["accessToken"].(string)
	require.Equal(t, http.StatusOK, alice.do(http.MethodGet, "/api/v1/me", nil).Status)
	require.Contains(t, s.actions(alice.userID), audit.ActionTokenRefreshed)

	// The thief (same network and browser, or not) replays the old token.
	thief := s.newClient()
	thief.ip, thief.ua = alice.ip, alice.ua
	thief.cookies["__Secure-te_refresh"] = &http.Cookie{Name: "__Secure-te_refresh", Value: stolen, Path: "/auth"}
	thief.cookies["__Host-te_csrf"] = alice.cookies["__Host-te_csrf"]
	res = refresh(thief)
	require.Equal(t, http.StatusUnauthorized, res.Status, res.Raw)
	require.Equal(t, "session_revoked", res.Body["error"])
	// Everything of the family is dead, Alice's current tokens included.
	res = alice.do(http.MethodGet, "/api/v1/me", nil)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	res = refresh(alice)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	hijack := s.entries(alice.userID, audit.ActionSessionHijackDetected)
	require.Len(t, hijack, 1)
	require.Equal(t, thief.ip, hijack[0].IPAddress)
	require.Contains(t, hijack[0].Details, "refresh_token_reuse")
}

// A session used from another network or browser must sign in again; the
// user is told "New login detected from …" (FR-025, US-004 #5).
func TestSessionBindingOverHTTP(t *testing.T) {
	s := sqliteSuite(t)
	for _, change := range []string{"network", "user agent"} {
		alice := s.user(auth.RoleTrader)
		thief := s.newClient()
		thief.bearer, thief.ua, thief.ip = alice.bearer, alice.ua, "203.0.113.9"
		if change == "user agent" {
			thief.ip, thief.ua = alice.ip, "curl/8.5.0"
		}
		res := thief.do(http.MethodGet, "/api/v1/trades", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, change)
		require.Equal(t, "reauthentication_required", res.Body["error"])
		res = alice.do(http.MethodGet, "/api/v1/trades", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "the session is gone for everyone")
		require.Len(t, s.entries(alice.userID, audit.ActionSessionHijackDetected), 1)

		evs, err := realtime.EventsSince(t.Context(), s.env.DB, alice.userID, 0, 10)
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		last := evs[len(evs)-1]
		require.Equal(t, auth.EventSecurityNotice, last.Type)
		require.Contains(t, last.Payload, "New login detected from "+thief.ip)

		// Signing in again works.
		require.Equal(t, http.StatusOK, alice.login(alice.email).Status)
		require.Equal(t, http.StatusOK, alice.do(http.MethodGet, "/api/v1/trades", nil).Status)
	}
}

// The demo's script token (demo.json) is a real access token.
func TestDemoTokenIsAnAccessToken(t *testing.T) {
	s := sqliteSuite(t)
	script := s.newClient()
	script.bearer, script.ua = s.env.Demo.APIToken, "curl/8.5.0"
	res := script.do(http.MethodGet, "/api/v1/me", nil)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, s.env.Demo.UserID, res.Body["user"].(map[string]any)["id"])
	require.Equal(t, 3, strings.Count(s.env.Demo.APIToken, ".")+1)
}

// Issue 13 #6 over HTTP: refreshing keeps a session going, but never past
// 90 days from the sign-in.
func TestSessionAbsoluteLifetimeOverHTTP(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	refresh := func() resp {
		r := alice.do(http.MethodPost, "/auth/refresh", nil, alice.withCSRF())
		if r.Status == http.StatusOK {
			if tok, ok := r.Body["accessToken"].(string); ok {
				alice.bearer = tok
			}
		}
		return r
	}
	for day := 20; day < 90; day += 20 {
		s.clock.Advance(20 * 24 * time.Hour)
		r := refresh()
		require.Equal(t, http.StatusOK, r.Status, "day %d: %s", day, r.Raw)
	}
	s.clock.Advance(11 * 24 * time.Hour) // day 91
	r := refresh()
	require.Equal(t, http.StatusUnauthorized, r.Status, "past the absolute lifetime: %s", r.Raw)
}
