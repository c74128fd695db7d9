package security

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
)

// Authentication events reach the audit log with IP and user agent, and
// more than 5 failed logins in 10 minutes raise a security alert (A09).
func TestAuthenticationEventsAreAudited(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	// Six failures from two addresses (each within its own rate limit).
	for i := range 6 {
		c := s.newClient()
		if i >= 3 {
			c.ip = "192.0.2.77"
		}
		r := c.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"})
		require.Equal(t, http.StatusUnauthorized, r.Status)
	}
	s.clock.Advance(time.Second) // six failures: the per-account throttle asks for a second
	require.Equal(t, http.StatusOK, alice.login(alice.email).Status)
	res := alice.do(http.MethodPost, "/api/v1/me/password", map[string]string{"currentPassword": password, "newPassword": "New-Horse-8-Battery"})
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Equal(t, http.StatusOK, alice.do(http.MethodPost, "/auth/logout", nil).Status)

	acts := s.actions(alice.userID)
	for _, a := range []string{auth.ActionUserRegistered, audit.ActionLoginSuccess, audit.ActionLoginFailed, auth.ActionSecurityAlert,
		audit.ActionPasswordChanged, audit.ActionLogout} {
		require.Contains(t, acts, a)
	}
	failed := s.entries(alice.userID, audit.ActionLoginFailed)
	require.Len(t, failed, 6)
	require.NotEmpty(t, failed[0].IPAddress)
	require.Equal(t, alice.ua, failed[0].UserAgent)
	require.Len(t, s.entries(alice.userID, auth.ActionSecurityAlert), 1)
	// Nothing secret in the log.
	for _, e := range s.entries(alice.userID, "") {
		require.NotContains(t, e.Details, password)
		require.NotContains(t, e.Details, "New-Horse-8-Battery")
	}
	ok, err := audit.Verify(t.Context(), s.env.DB, alice.userID)
	require.NoError(t, err)
	require.True(t, ok.Valid, "the chain verifies")
}
