package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestThrottleDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 5: 0, 6: time.Second, 7: 2 * time.Second, 11: 32 * time.Second,
		15: 512 * time.Second, 16: MaxThrottleDelay, 60: MaxThrottleDelay} {
		require.Equal(t, want, throttleDelay(n), "n=%d", n)
	}
}

// Issue 13 #4: after 6 failures each attempt waits a doubling delay — even
// with the right password and from another IP — and the owner gets in once
// it has passed (not a lockout); unknown addresses behave the same.
func TestPerAccountThrottle(t *testing.T) {
	f := sqliteFixture(t)
	ctx := context.Background()
	f.register("tom@example.com")
	other := Client{IP: "198.51.100.9", UserAgent: browser.UserAgent}
	for range FreeFailures {
		_, err := f.svc.Login(ctx, "tom@example.com", "wrong-Password-1!", browser)
		require.ErrorIs(t, err, ErrAuthFailed)
	}
	_, err := f.svc.Login(ctx, "tom@example.com", goodPassword, other)
	var te *ThrottledError
	require.True(t, errors.As(err, &te), "4th attempt: %v", err)
	require.Equal(t, time.Second, te.RetryAfter)

	f.clock.Advance(time.Second)
	_, err = f.svc.Login(ctx, "tom@example.com", "wrong-Password-1!", other)
	require.ErrorIs(t, err, ErrAuthFailed)
	_, err = f.svc.Login(ctx, "tom@example.com", goodPassword, browser)
	require.True(t, errors.As(err, &te))
	require.Equal(t, 2*time.Second, te.RetryAfter, "the delay doubles")

	f.clock.Advance(2 * time.Second)
	_, err = f.svc.Login(ctx, "tom@example.com", goodPassword, browser)
	require.NoError(t, err, "not a lockout: the owner gets in after the delay")
	_, err = f.svc.Login(ctx, "tom@example.com", "wrong-Password-1!", browser)
	require.ErrorIs(t, err, ErrAuthFailed, "a success resets the count")

	for range FreeFailures {
		_, _ = f.svc.Login(ctx, "nobody@example.com", "whatever-Password-1!", browser)
	}
	_, err = f.svc.Login(ctx, "nobody@example.com", "whatever-Password-1!", browser)
	require.True(t, errors.As(err, &te), "unknown addresses are throttled alike (no enumeration)")
}
