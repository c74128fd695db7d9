package security

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// CSRF (A01): state-changing requests authenticated by cookie need the
// double-submit token of their own session.
func TestCSRFDoubleSubmit(t *testing.T) {
	s := sqliteSuite(t)
	alice, bob := s.user(auth.RoleTrader), s.user(auth.RoleTrader)
	alice.bearer = "" // a browser: cookies only
	cancel := "/api/v1/trades/" + s.trade(alice, "filled") + "/cancel"
	password := map[string]string{"currentPassword": "x", "newPassword": "y"}

	cases := []struct {
		name string
		opts []opt
	}{
		{"no token", nil},
		{"header without cookie", []opt{header("X-CSRF-Token", alice.cookies["__Host-te_csrf"].Value),
			header("Cookie", "__Host-te_access="+alice.cookies["__Host-te_access"].Value)}},
		{"wrong token", []opt{header("X-CSRF-Token", "forged.value")}},
		{"another session's token", []opt{header("Cookie", "__Host-te_access="+alice.cookies["__Host-te_access"].Value+
			"; __Host-te_csrf="+bob.cookies["__Host-te_csrf"].Value), header("X-CSRF-Token", bob.cookies["__Host-te_csrf"].Value)}},
	}
	for _, c := range cases {
		for _, target := range []struct {
			path string
			body any
		}{{cancel, nil}, {"/api/v1/me/password", password}} {
			res := alice.do(http.MethodPost, target.path, target.body, c.opts...)
			require.Equal(t, http.StatusForbidden, res.Status, "%s %s: %s", c.name, target.path, res.Raw)
			require.Equal(t, "csrf_failed", res.Body["error"])
		}
	}
	// With the token the request goes through to the handler.
	res := alice.do(http.MethodPost, cancel, nil, alice.withCSRF())
	require.Equal(t, http.StatusConflict, res.Status, res.Raw)
	// Reads need no token; bearer requests need none either.
	require.Equal(t, http.StatusOK, alice.do(http.MethodGet, "/api/v1/trades", nil).Status)
	res = bob.do(http.MethodPost, "/api/v1/trades/"+s.trade(bob, "filled")+"/cancel", nil, noCookies())
	require.Equal(t, http.StatusConflict, res.Status, res.Raw)

	// Sign-in endpoints take JSON only: a cross-site form cannot post them.
	for _, p := range []string{"/auth/login", "/auth/register"} {
		res := s.newClient().do(http.MethodPost, p, []byte("email=a%40b.c&password=x"), header("Content-Type", "application/x-www-form-urlencoded"))
		require.Equal(t, http.StatusUnsupportedMediaType, res.Status, p)
	}
}
