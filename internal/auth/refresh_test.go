package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

func TestRefreshRotatesWhenDue(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := f.register("ann@example.com")

		// More than 5 minutes left: nothing rotates, the token is repeated.
		f.clock.Advance(30 * time.Minute)
		same, err := f.svc.Refresh(ctx, first.RefreshToken, first.AccessToken, browser)
		require.NoError(t, err)
		require.False(t, same.Refreshed)
		require.Equal(t, first.AccessToken, same.AccessToken)
		require.Empty(t, same.RefreshToken)

		// Under 5 minutes left: a new pair.
		f.clock.Advance(26 * time.Minute)
		second, err := f.svc.Refresh(ctx, first.RefreshToken, first.AccessToken, browser)
		require.NoError(t, err)
		require.True(t, second.Refreshed)
		require.NotEqual(t, first.AccessToken, second.AccessToken)
		require.NotEqual(t, first.RefreshToken, second.RefreshToken)
		require.Equal(t, first.SessionID, second.SessionID, "same family")
		require.WithinDuration(t, f.clock.Now().Add(time.Hour), second.AccessExpiresAt, time.Second)
		require.WithinDuration(t, f.clock.Now().Add(30*24*time.Hour), second.RefreshExpiresAt, time.Second)

		// Without an access token (expired, lost) it always rotates.
		third, err := f.svc.Refresh(ctx, second.RefreshToken, "", browser)
		require.NoError(t, err)
		require.True(t, third.Refreshed)
		require.Contains(t, f.actions(first.UserID), audit.ActionTokenRefreshed)

		// Only hashes are stored.
		var rows []schema.RefreshToken
		require.NoError(t, db.Where("session_id = ?", first.SessionID).Find(&rows).Error)
		require.Len(t, rows, 3)
		for _, r := range rows {
			require.NotEqual(t, third.RefreshToken, r.TokenHash)
			require.Len(t, r.TokenHash, 64)
		}
	})
}

func TestRefreshTokenReuseRevokesTheFamily(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := f.register("ann@example.com")
		second, err := f.svc.Refresh(ctx, first.RefreshToken, "", browser)
		require.NoError(t, err)

		// The thief replays the first (rotated) refresh token.
		_, err = f.svc.Refresh(ctx, first.RefreshToken, "", browser)
		require.ErrorIs(t, err, ErrRefreshReused)

		// The whole family is dead: the current refresh and access tokens too.
		_, err = f.svc.Refresh(ctx, second.RefreshToken, "", browser)
		require.ErrorIs(t, err, ErrSessionEnded)
		_, err = f.svc.Verify(ctx, second.AccessToken)
		require.ErrorIs(t, err, ErrSessionEnded)
		sess := f.session(first.SessionID)
		require.NotNil(t, sess.RevokedAt)
		require.Equal(t, ReasonRefreshReuse, sess.RevokeReason)

		require.Equal(t, 1, count(f.actions(first.UserID), audit.ActionSessionHijackDetected))
		notices := f.notices(first.UserID)
		require.NotEmpty(t, notices)
		require.Contains(t, notices[len(notices)-1].Message, "used twice")

		// A replay after revocation is refused without a second alarm.
		_, err = f.svc.Refresh(ctx, first.RefreshToken, "", browser)
		require.ErrorIs(t, err, ErrSessionEnded)
		require.Equal(t, 1, count(f.actions(first.UserID), audit.ActionSessionHijackDetected))
	})
}

func TestConcurrentRefreshWithinGraceIsNotTheft(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	first := f.register("ann@example.com")
	f.clock.Advance(57 * time.Minute)
	// Two tabs refresh at once with the same cookies.
	var wg sync.WaitGroup
	results := make([]Tokens, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.svc.Refresh(ctx, first.RefreshToken, first.AccessToken, browser)
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.NotEqual(t, results[0].Refreshed, results[1].Refreshed, "exactly one rotates")
	require.Nil(t, f.session(first.SessionID).RevokedAt)

	// After the grace period the same replay is theft.
	f.clock.Advance(DefaultReuseGrace + time.Second)
	_, err := f.svc.Refresh(ctx, first.RefreshToken, first.AccessToken, browser)
	require.ErrorIs(t, err, ErrRefreshReused)
}

func TestRefreshRejects(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	for _, bad := range []string{"", "nope", string(make([]byte, 500))} {
		_, err := f.svc.Refresh(ctx, bad, "", browser)
		require.ErrorIs(t, err, ErrUnauthenticated)
	}
	// An access token is not a refresh token.
	_, err := f.svc.Refresh(ctx, tok.AccessToken, "", browser)
	require.ErrorIs(t, err, ErrUnauthenticated)

	// Expired after 30 days.
	f.clock.Advance(DefaultRefreshTTL + time.Second)
	_, err = f.svc.Refresh(ctx, tok.RefreshToken, "", browser)
	require.ErrorIs(t, err, ErrSessionEnded)
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// Issue 13 #6: a session slides with each refresh but never past its
// absolute lifetime from the sign-in; then the trader signs in again.
func TestSessionHasAnAbsoluteLifetime(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	tok := f.register("ann@example.com")
	signedIn := f.clock.Now()
	for f.clock.Now().Sub(signedIn) < DefaultSessionLifetime-20*24*time.Hour {
		f.clock.Advance(20 * 24 * time.Hour)
		next, err := f.svc.Refresh(ctx, tok.RefreshToken, "", browser)
		require.NoError(t, err, "refresh at %s", f.clock.Now().Sub(signedIn))
		require.False(t, next.RefreshExpiresAt.After(signedIn.Add(DefaultSessionLifetime)), "a refresh extends past the lifetime")
		tok = next
	}
	f.clock.Advance(signedIn.Add(DefaultSessionLifetime).Sub(f.clock.Now()))
	_, err := f.svc.Refresh(ctx, tok.RefreshToken, "", browser)
	require.ErrorIs(t, err, ErrSessionEnded, "90 days after the sign-in the session ends, however often it was refreshed")
}
