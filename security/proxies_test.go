package security

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/config"
)

// trustedProxies builds the API's trusted proxies the way production does:
// TRUSTED_PROXIES through config.Load and app.AuthOptionsFrom. "" is the
// default (trust none).
func trustedProxies(t *testing.T, raw string) func(*app.AuthOptions) {
	t.Helper()
	env := map[string]string{"DATABASE_URL": "postgres://u@db.internal:5432/tradeexec", "TRUSTED_PROXIES": raw}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.ModeMigrate)
	require.NoError(t, err)
	proxies := app.AuthOptionsFrom(cfg).TrustedProxies
	if raw == "" {
		require.Empty(t, proxies)
	}
	return func(o *app.AuthOptions) { o.TrustedProxies = proxies }
}

// Without TRUSTED_PROXIES the X-Forwarded-For header is ignored (A04, A07):
// a client that invents a new address for every attempt is still one
// client (the TCP peer) to the login limit, the audit log and the session
// binding.
func TestForwardedForIgnoredWithoutTrustedProxies(t *testing.T) {
	s := sqliteSuite(t, trustedProxies(t, ""))
	alice := s.user(auth.RoleTrader)

	attacker := s.newClient()
	for range 5 {
		attacker.ip = s.newClient().ip // a fresh spoofed address each time
		r := attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"})
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	}
	attacker.ip = s.newClient().ip
	requireLimited(t, attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": password}))
	// Every client here shares the peer address, so alice is limited too:
	// the price of not naming the load balancer.
	requireLimited(t, alice.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": password}))

	failed := s.entries(alice.userID, audit.ActionLoginFailed)
	require.Len(t, failed, 5)
	for _, e := range failed {
		require.Contains(t, []string{"127.0.0.1", "::1"}, e.IPAddress, "the peer, not X-Forwarded-For")
	}

	// The session is bound to the peer: another claimed address is not
	// another network.
	alice.ip = "203.0.113.9"
	require.Equal(t, http.StatusOK, alice.do(http.MethodGet, "/api/v1/trades", nil).Status)
	require.Empty(t, s.entries(alice.userID, audit.ActionSessionHijackDetected))
}

// With TRUSTED_PROXIES naming the load balancer (here loopback: the test
// client is the proxy), X-Forwarded-For gives each client its own limit
// and session binding; only the address the proxy appended counts, so an
// address the client put in front of it changes nothing.
func TestForwardedForFromTrustedProxy(t *testing.T) {
	s := sqliteSuite(t, trustedProxies(t, "127.0.0.1, ::1"))
	alice := s.user(auth.RoleTrader)

	attacker := s.newClient()
	real := attacker.ip
	for i := range 5 {
		attacker.ip = s.newClient().ip + ", " + real // spoofed hop, then what the proxy appended
		r := attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"})
		require.Equal(t, http.StatusUnauthorized, r.Status, "attempt %d: %s", i, r.Raw)
	}
	attacker.ip = "192.0.2.1, " + real
	requireLimited(t, attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": password}))
	require.Equal(t, http.StatusOK, alice.login(alice.email).Status, "another client is not limited")

	failed := s.entries(alice.userID, audit.ActionLoginFailed)
	require.Len(t, failed, 5)
	for _, e := range failed {
		require.Equal(t, real, e.IPAddress)
	}

	// The session is bound to the forwarded address: the same token from
	// another client address must sign in again.
	alice.ip = "203.0.113.9"
	res := alice.do(http.MethodGet, "/api/v1/trades", nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, res.Raw)
	require.Equal(t, "reauthentication_required", res.Body["error"])
	require.Len(t, s.entries(alice.userID, audit.ActionSessionHijackDetected), 1)
}

// X-Real-IP is not a client address source even from a trusted proxy:
// proxies commonly pass it through from the client unchanged.
func TestRealIPHeaderIgnored(t *testing.T) {
	s := sqliteSuite(t, trustedProxies(t, "127.0.0.1,::1"))
	alice := s.user(auth.RoleTrader)
	attacker := s.newClient()
	for i := range 6 {
		attacker.ip = "" // no X-Forwarded-For: the peer is the client
		r := attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"},
			header("X-Real-IP", s.newClient().ip))
		if i < 5 {
			require.Equal(t, http.StatusUnauthorized, r.Status, "attempt %d: %s", i, r.Raw)
			continue
		}
		requireLimited(t, r)
	}
}
