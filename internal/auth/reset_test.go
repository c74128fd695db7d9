package auth

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// resetLink reads the token of the newest reset mail queued for userID.
func (f *fixture) resetLink(userID string) string {
	f.t.Helper()
	var m schema.MailOutbox
	require.NoError(f.t, f.db.Where("user_id = ? AND kind = ?", userID, "password_reset").Order("created_at DESC").Take(&m).Error)
	var data map[string]string
	require.NoError(f.t, json.Unmarshal([]byte(m.Data), &data))
	_, q, ok := strings.Cut(data["URL"], "/dashboard#/reset?token=")
	require.True(f.t, ok, data["URL"])
	tok, err := url.QueryUnescape(q)
	require.NoError(f.t, err)
	return tok
}

func TestPasswordResetByMail(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db, func(c *Config) { c.PublicURL = "https://trade.example.com" })
		ctx := context.Background()
		reg := f.register("ann@example.com")
		other, err := f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
		require.NoError(t, err)

		// Unknown addresses answer the same and queue nothing.
		require.NoError(t, f.svc.RequestPasswordReset(ctx, "nobody@example.com", browser))
		require.NoError(t, f.svc.RequestPasswordReset(ctx, "not an address", browser))
		var n int64
		db.Model(&schema.MailOutbox{}).Where("kind = ?", "password_reset").Count(&n)
		require.Zero(t, n)

		require.NoError(t, f.svc.RequestPasswordReset(ctx, " ANN@example.com ", browser))
		tok := f.resetLink(reg.UserID)
		var stored schema.PasswordReset
		require.NoError(t, db.Take(&stored).Error)
		require.NotEqual(t, tok, stored.TokenHash, "the token is stored hashed")

		const newPassword = "Another-Horse-8-Staple"
		require.ErrorIs(t, f.svc.ResetPassword(ctx, tok+"x", newPassword, browser), ErrResetInvalid)
		require.NoError(t, f.svc.ResetPassword(ctx, tok, newPassword, browser))
		require.ErrorIs(t, f.svc.ResetPassword(ctx, tok, "Third-Horse-9-Staple", browser), ErrResetInvalid, "single use")

		// Every session ended; the new password works, the old one not.
		for _, tk := range []Tokens{reg, other} {
			_, err := f.svc.Verify(ctx, tk.AccessToken)
			require.Error(t, err, "a session survived the reset")
		}
		_, err = f.svc.Login(ctx, "ann@example.com", goodPassword, browser)
		require.ErrorIs(t, err, ErrAuthFailed)
		_, err = f.svc.Login(ctx, "ann@example.com", newPassword, browser)
		require.NoError(t, err)
		require.Contains(t, f.actions(reg.UserID), ActionPasswordResetRequested)
		require.Contains(t, f.actions(reg.UserID), ActionPasswordReset)
	})
}

func TestPasswordResetExpiresAndIsRateLimited(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	reg := f.register("bob@example.com")
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "bob@example.com", browser))
	tok := f.resetLink(reg.UserID)
	f.clock.Advance(ResetTTL + time.Second)
	require.ErrorIs(t, f.svc.ResetPassword(ctx, tok, "Another-Horse-8-Staple", browser), ErrResetInvalid, "30 minutes")

	for range MaxResetsPerHour + 2 {
		require.NoError(t, f.svc.RequestPasswordReset(ctx, "bob@example.com", browser))
	}
	var n int64
	f.db.Model(&schema.PasswordReset{}).Where("user_id = ? AND created_at > ?", reg.UserID, f.clock.Now().Add(-time.Hour)).Count(&n)
	require.EqualValues(t, MaxResetsPerHour, n)
}

func TestPasswordResetTokenIsSingleUseUnderConcurrency(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		reg := f.register("cy@example.com")
		require.NoError(t, f.svc.RequestPasswordReset(ctx, "cy@example.com", browser))
		tok := f.resetLink(reg.UserID)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f.svc.ResetPassword(ctx, tok, "Another-Horse-8-Staple"+string(rune('a'+i)), browser)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, ErrResetInvalid)
			}
		}
		require.Equal(t, 1, ok)
	})
}

func TestDiscordOnlyAccountGetsNoResetLink(t *testing.T) {
	f := sqliteFixture(t)
	email := "dee@example.com"
	require.NoError(t, f.db.Create(&schema.User{ID: "u-dee", Email: &email, Role: "trader", CreatedAt: f.clock.Now()}).Error)
	require.NoError(t, f.svc.RequestPasswordReset(context.Background(), email, browser))
	var n int64
	f.db.Model(&schema.MailOutbox{}).Count(&n)
	require.Zero(t, n)
}
