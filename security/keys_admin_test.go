package security

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// The admin key routes (DESIGN "Key lifecycle"): status, a JWT signing key
// rotation, a compromised key revoked, a user's sessions ended. Admin only.
func TestAdminKeyRoutes(t *testing.T) {
	storetestEach(t, func(t *testing.T, s *suite) {
		ada, bob := s.user(auth.RoleAdmin), s.user(auth.RoleTrader)
		require.Equal(t, http.StatusForbidden, bob.do(http.MethodGet, "/api/v1/admin/keys", nil).Status)

		st := ada.do(http.MethodGet, "/api/v1/admin/keys", nil)
		require.Equal(t, http.StatusOK, st.Status, st.Raw)
		require.EqualValues(t, 1, st.Body["current"])
		versions := st.Body["versions"].([]any)
		require.Len(t, versions, 1)
		require.EqualValues(t, 1, versions[0].(map[string]any)["rows"], "the demo's paper connection")
		require.NotEmpty(t, st.Body["nextRotation"], "the key-rotation schedule's next run")
		signing := st.Body["signing"].([]any)
		oldKID := signing[0].(map[string]any)["kid"].(string)

		// A new signing key: tokens of the old one keep working.
		rot := ada.do(http.MethodPost, "/api/v1/admin/keys/rotate-signing", nil)
		require.Equal(t, http.StatusOK, rot.Status, rot.Raw)
		newKID := rot.Body["kid"].(string)
		require.NotEqual(t, oldKID, newKID)
		require.Equal(t, http.StatusOK, bob.do(http.MethodGet, "/api/v1/me", nil).Status)

		// The old key compromised: its tokens (bob's) are refused at once.
		bad := ada.do(http.MethodPost, "/api/v1/admin/keys/signing/"+"zz"+"/revoke", nil)
		require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
		rv := ada.do(http.MethodPost, "/api/v1/admin/keys/signing/"+oldKID+"/revoke", nil)
		require.Equal(t, http.StatusOK, rv.Status, rv.Raw)
		require.Equal(t, http.StatusUnauthorized, bob.do(http.MethodGet, "/api/v1/me", nil).Status)

		// Bob signs in again (new key); an admin ends his sessions.
		require.Equal(t, http.StatusOK, bob.login(bob.email).Status)
		require.Equal(t, http.StatusOK, bob.do(http.MethodGet, "/api/v1/me", nil).Status)
		ada.login(ada.email)
		end := ada.do(http.MethodPost, "/api/v1/admin/users/"+bob.userID+"/revoke-sessions", nil)
		require.Equal(t, http.StatusOK, end.Status, end.Raw)
		require.EqualValues(t, 2, end.Body["revoked"])
		require.Equal(t, http.StatusUnauthorized, bob.do(http.MethodGet, "/api/v1/me", nil).Status)
		require.Equal(t, http.StatusBadRequest, ada.do(http.MethodPost, "/api/v1/admin/users/nope/revoke-sessions", nil).Status)

		require.Contains(t, s.actions("system"), "SIGNING_KEY_ROTATED")
		require.Contains(t, s.actions("system"), "SIGNING_KEY_REVOKED")
		require.Contains(t, s.actions(bob.userID), "SESSION_REVOKED")
	})
}
