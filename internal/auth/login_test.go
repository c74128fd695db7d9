package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

func TestRegisterAndLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		reg, err := f.svc.Register(ctx, Registration{Email: "  Ann@Example.COM ", Password: goodPassword, DisplayName: "Ann"}, browser)
		require.NoError(t, err)
		require.Equal(t, RoleTrader, reg.Role)
		var u schema.User
		require.NoError(t, db.Take(&u, "id = ?", reg.UserID).Error)
		require.Equal(t, "ann@example.com", *u.Email)
		require.NotContains(t, u.PasswordHash, goodPassword)

		tok, err := f.svc.Login(ctx, "ANN@example.com", goodPassword, browser)
		require.NoError(t, err)
		require.Equal(t, reg.UserID, tok.UserID)
		require.NotEqual(t, reg.SessionID, tok.SessionID)
		require.Equal(t, []string{ActionUserRegistered, audit.ActionLoginSuccess, audit.ActionLoginSuccess}, f.actions(reg.UserID))

		_, err = f.svc.Register(ctx, Registration{Email: "ann@example.com", Password: goodPassword}, browser)
		require.ErrorIs(t, err, ErrRegistrationFailed)
	})
}

func TestRegisterValidation(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	for _, email := range []string{"", "ann", "ann@", "@example.com", "Ann <ann@example.com>", "ann@example", "a b@example.com", "ann@example.com\r\nBcc: x@y.z"} {
		_, err := f.svc.Register(ctx, Registration{Email: email, Password: goodPassword}, browser)
		require.ErrorIs(t, err, ErrInvalidEmail, "%q", email)
	}
	_, err := f.svc.Register(ctx, Registration{Email: "ann@example.com", Password: "short"}, browser)
	var pe *PasswordPolicyError
	require.True(t, errors.As(err, &pe))
}

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	f.register("ann@example.com")
	noPassword := f.user(RoleTrader)
	email := "discord-only@example.com"
	require.NoError(t, f.db.Model(&schema.User{}).Where("id = ?", noPassword).Update("email", email).Error)
	cases := []struct{ email, password string }{
		{"ann@example.com", "Wrong-Horse-7-Battery"},
		{"nobody@example.com", goodPassword},
		{email, ""},
		{email, goodPassword},
		{"not an email", goodPassword},
		{"' OR 1=1 --", "' OR 1=1 --"},
	}
	for _, c := range cases {
		_, err := f.svc.Login(ctx, c.email, c.password, browser)
		require.ErrorIs(t, err, ErrAuthFailed, c.email)
		require.Equal(t, "auth: authentication failed", err.Error())
	}
	var n int64
	f.db.Model(&schema.LoginAttempt{}).Where("succeeded = ?", false).Count(&n)
	require.EqualValues(t, len(cases), n)
}

func TestFailedLoginsRaiseASecurityAlert(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	alerts := func() int { return count(f.actions(tok.UserID), ActionSecurityAlert) }
	for i := 1; i <= 5; i++ {
		_, err := f.svc.Login(ctx, "ann@example.com", "Wrong-Horse-7-Battery", Client{IP: "198.51.100." + string(rune('0'+i))})
		require.ErrorIs(t, err, ErrAuthFailed)
	}
	require.Zero(t, alerts(), "5 failures are not yet suspicious")
	_, _ = f.svc.Login(ctx, "ann@example.com", "Wrong-Horse-7-Battery", browser)
	require.Equal(t, 1, alerts(), "the 6th failure within 10 minutes alerts")
	f.clock.Advance(time.Second) // the per-account throttle's first delay (throttle.go)
	_, _ = f.svc.Login(ctx, "ann@example.com", "Wrong-Horse-7-Battery", browser)
	require.Equal(t, 1, alerts(), "one alert per burst")
	require.Equal(t, 7, count(f.actions(tok.UserID), audit.ActionLoginFailed))

	// Failures spread over more than 10 minutes do not alert.
	g := sqliteFixture(t)
	g.register("bob@example.com")
	for range 8 {
		_, _ = g.svc.Login(ctx, "bob@example.com", "Wrong-Horse-7-Battery", browser)
		g.clock.Advance(3 * time.Minute)
	}
	var u schema.User
	require.NoError(t, g.db.Take(&u, "email = ?", "bob@example.com").Error)
	require.Zero(t, count(g.actions(u.ID), ActionSecurityAlert))

	// Unknown accounts alert on the system chain.
	h := sqliteFixture(t)
	for range 6 {
		_, _ = h.svc.Login(ctx, "ghost@example.com", goodPassword, browser)
	}
	require.Equal(t, 1, count(h.actions(audit.SystemUserID), ActionSecurityAlert))
	require.Equal(t, 6, count(h.actions(audit.AnonymousUserID), audit.ActionLoginFailed))
}

func TestNewLoginNotice(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	require.Empty(t, f.notices(tok.UserID), "first sign-in is not news")
	_, err := f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
	require.NoError(t, err)
	require.Empty(t, f.notices(tok.UserID), "known client")
	phone := Client{IP: "198.51.100.20", UserAgent: "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"}
	_, err = f.svc.Login(ctx, "ann@example.com", goodPassword, phone)
	require.NoError(t, err)
	n := f.notices(tok.UserID)
	require.Len(t, n, 1)
	require.Equal(t, "New login detected from 198.51.100.20 (Chrome on Android). If this wasn't you, change your password now.", n[0].Message)
}

func TestChangePassword(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a := f.register("ann@example.com")
		b, err := f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
		require.NoError(t, err)

		require.ErrorIs(t, f.svc.ChangePassword(ctx, a.UserID, a.SessionID, "Wrong-Horse-7-Battery", "New-Horse-8-Battery", browser), ErrWrongPassword)
		var pe *PasswordPolicyError
		require.True(t, errors.As(f.svc.ChangePassword(ctx, a.UserID, a.SessionID, goodPassword, "weak", browser), &pe))

		require.NoError(t, f.svc.ChangePassword(ctx, a.UserID, a.SessionID, goodPassword, "New-Horse-8-Battery", browser))
		_, err = f.svc.Verify(ctx, a.AccessToken)
		require.NoError(t, err, "the changing session stays")
		_, err = f.svc.Verify(ctx, b.AccessToken)
		require.ErrorIs(t, err, ErrSessionEnded, "other sessions end")
		_, err = f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
		require.ErrorIs(t, err, ErrAuthFailed)
		_, err = f.svc.Login(ctx, "ann@example.com", "New-Horse-8-Battery", browser)
		require.NoError(t, err)
		acts := f.actions(a.UserID)
		require.Equal(t, 2, count(acts, audit.ActionPasswordChanged), "one failed, one done")

		// A Discord-only account sets its first password without a current
		// one — but only from a Discord sign-in of the last 10 minutes
		// (issue 13 #6): a stolen older session cannot add a password.
		uid := f.user(RoleTrader)
		require.ErrorIs(t, f.svc.ChangePassword(ctx, uid, "", "", "First-Horse-9-Battery", browser), ErrFreshSignInRequired)
		now := f.clock.Now()
		for _, sess := range []schema.Session{
			{ID: "s-old", UserID: uid, Kind: KindBrowser, Provider: ProviderDiscord, CreatedAt: now.Add(-FreshSignIn - time.Minute), ExpiresAt: now.Add(time.Hour)},
			{ID: "s-dev", UserID: uid, Kind: KindScript, Provider: "dev", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{ID: "s-new", UserID: uid, Kind: KindBrowser, Provider: ProviderDiscord, CreatedAt: now.Add(-time.Minute), ExpiresAt: now.Add(time.Hour)},
		} {
			require.NoError(t, f.db.Create(&sess).Error)
		}
		require.ErrorIs(t, f.svc.ChangePassword(ctx, uid, "s-old", "", "First-Horse-9-Battery", browser), ErrFreshSignInRequired)
		require.ErrorIs(t, f.svc.ChangePassword(ctx, uid, "s-dev", "", "First-Horse-9-Battery", browser), ErrFreshSignInRequired)
		require.NoError(t, f.svc.ChangePassword(ctx, uid, "s-new", "", "First-Horse-9-Battery", browser))
		require.Equal(t, 1, count(f.actions(uid), audit.ActionCredentialsUpdated))
	})
}

func TestLoginUpgradesLegacyHash(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	legacy, err := bcryptHash(goodPassword)
	require.NoError(t, err)
	require.NoError(t, f.db.Model(&schema.User{}).Where("id = ?", tok.UserID).Update("password_hash", legacy).Error)
	_, err = f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
	require.NoError(t, err)
	var u schema.User
	require.NoError(t, f.db.Take(&u, "id = ?", tok.UserID).Error)
	require.Contains(t, u.PasswordHash, "$argon2id$")
}
