package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
)

func TestSessionBinding(t *testing.T) {
	tests := []struct {
		name    string
		client  Client
		changed bool
	}{
		{"same client", browser, false},
		{"same /24", Client{IP: "203.0.113.99", UserAgent: browser.UserAgent}, false},
		{"new network", Client{IP: "198.51.100.4", UserAgent: browser.UserAgent}, true},
		{"new user agent", Client{IP: browser.IP, UserAgent: "curl/8.5.0"}, true},
		{"no user agent", Client{IP: browser.IP}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sqliteFixture(t)
			ctx := context.Background()
			tok := f.register("ann@example.com")
			_, err := f.svc.Verify(WithClient(ctx, tt.client), tok.AccessToken)
			if !tt.changed {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrReauthRequired)
			// The session is over for everyone, the legitimate user included.
			_, err = f.svc.Verify(WithClient(ctx, browser), tok.AccessToken)
			require.ErrorIs(t, err, ErrSessionEnded)
			_, err = f.svc.Refresh(ctx, tok.RefreshToken, "", browser)
			require.ErrorIs(t, err, ErrSessionEnded)
			require.Equal(t, ReasonBindingChanged, f.session(tok.SessionID).RevokeReason)
			require.Equal(t, 1, count(f.actions(tok.UserID), audit.ActionSessionHijackDetected))
			n := f.notices(tok.UserID)
			require.Len(t, n, 1)
			require.Contains(t, n[0].Message, "New login detected from "+tt.client.IP)
		})
	}
}

func TestRefreshFromNewNetworkRequiresReauth(t *testing.T) {
	f := sqliteFixture(t)
	tok := f.register("ann@example.com")
	_, err := f.svc.Refresh(context.Background(), tok.RefreshToken, "", Client{IP: "198.51.100.4", UserAgent: browser.UserAgent})
	require.ErrorIs(t, err, ErrReauthRequired)
}

func TestLogoutEndsEveryToken(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tok := f.register("ann@example.com")
		other := f.register("bob@example.com")
		require.NoError(t, f.svc.Logout(ctx, tok.SessionID, browser))
		require.NoError(t, f.svc.Logout(ctx, tok.SessionID, browser), "idempotent")
		_, err := f.svc.Verify(ctx, tok.AccessToken)
		require.ErrorIs(t, err, ErrSessionEnded)
		_, err = f.svc.Refresh(ctx, tok.RefreshToken, "", browser)
		require.ErrorIs(t, err, ErrSessionEnded)
		require.Equal(t, 1, count(f.actions(tok.UserID), audit.ActionLogout))
		_, err = f.svc.Verify(ctx, other.AccessToken)
		require.NoError(t, err, "other users unaffected")
	})
}

func TestScriptTokens(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	uid := f.user(RoleTrader)
	tok, err := f.svc.IssueScriptToken(ctx, uid)
	require.NoError(t, err)
	require.Empty(t, tok.RefreshToken)
	// Unbound: any client may use it.
	c, err := f.svc.Verify(WithClient(ctx, Client{IP: "127.0.0.1", UserAgent: "curl/8"}), tok.AccessToken)
	require.NoError(t, err)
	require.Equal(t, uid, c.UserID)
	_, err = f.svc.Verify(WithClient(ctx, browser), tok.AccessToken)
	require.NoError(t, err)
	f.clock.Advance(time.Hour + time.Second)
	_, err = f.svc.Verify(ctx, tok.AccessToken)
	require.Error(t, err)
	_, err = f.svc.IssueScriptToken(ctx, "missing")
	require.ErrorIs(t, err, ErrUnauthenticated)
}

func TestPurge(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	_, _ = f.svc.Login(ctx, "ann@example.com", "wrong", browser)
	f.clock.Advance(DefaultRefreshTTL + 25*time.Hour)
	require.NoError(t, f.svc.Purge(ctx))
	var n int64
	f.db.Table("sessions").Where("id = ?", tok.SessionID).Count(&n)
	require.Zero(t, n)
	f.db.Table("refresh_tokens").Count(&n)
	require.Zero(t, n)
	f.db.Table("login_attempts").Count(&n)
	require.Zero(t, n)
}

func TestCSRFTokens(t *testing.T) {
	f := sqliteFixture(t)
	a, err := f.svc.CSRFToken("session-a")
	require.NoError(t, err)
	b, err := f.svc.CSRFToken("session-b")
	require.NoError(t, err)
	require.True(t, f.svc.CheckCSRF("session-a", a, a))
	require.False(t, f.svc.CheckCSRF("session-a", a, ""), "header missing")
	require.False(t, f.svc.CheckCSRF("session-a", "", a), "cookie missing")
	require.False(t, f.svc.CheckCSRF("session-a", a, b), "mismatch")
	require.False(t, f.svc.CheckCSRF("session-a", b, b), "token of another session")
	require.False(t, f.svc.CheckCSRF("session-a", "x.y", "x.y"), "planted token")
	other := sqliteFixture(t)
	require.False(t, other.svc.CheckCSRF("session-a", a, a), "another secret")
}
