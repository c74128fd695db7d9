package security

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// burst sends requests until the limit answers 429 and checks that it did
// so after the burst: at least limit requests pass, and at most limit plus
// what refilled while they were sent (one per per/limit).
func burst(t *testing.T, limit int, per time.Duration, send func() resp) {
	t.Helper()
	start := time.Now()
	passed := 0
	for passed <= 2*limit+10 {
		r := send()
		if r.Status == http.StatusTooManyRequests {
			requireLimited(t, r)
			refilled := int(time.Since(start) / (per / time.Duration(limit)))
			require.GreaterOrEqual(t, passed, limit, "the limit allows %d", limit)
			require.LessOrEqual(t, passed, limit+refilled+1, "the limit allows %d plus refills", limit)
			return
		}
		require.Less(t, r.Status, 300, r.Raw)
		passed++
	}
	t.Fatalf("no 429 after %d requests", passed)
}

func requireLimited(t *testing.T, r resp) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	require.Equal(t, "rate_limited", r.Body["error"])
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After in seconds")
	require.Positive(t, secs)
}

// Rate limits per IP (A04, A07): login 5/15 min, register 3/hour,
// refresh 10/min, API 100/min; other IPs are unaffected.
func TestRateLimits(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)

	attacker := s.newClient()
	for range 5 {
		r := attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": "Wrong-Horse-7-Battery"})
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	}
	r := attacker.do(http.MethodPost, "/auth/login", map[string]string{"email": alice.email, "password": password})
	requireLimited(t, r)
	secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	require.Greater(t, secs, 60, "the next login slot is minutes away")
	require.Equal(t, http.StatusOK, alice.login(alice.email).Status, "another IP signs in")

	spammer := s.newClient()
	for i := range 3 {
		r := spammer.do(http.MethodPost, "/auth/register", map[string]string{"email": "spam" + strconv.Itoa(i) + "@example.com", "password": password})
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	}
	requireLimited(t, spammer.do(http.MethodPost, "/auth/register", map[string]string{"email": "spam9@example.com", "password": password}))

	burst(t, 10, time.Minute, func() resp { return alice.do(http.MethodPost, "/auth/refresh", nil, alice.withCSRF()) })

	bob := s.user(auth.RoleTrader)
	burst(t, 100, time.Minute, func() resp { return bob.do(http.MethodGet, "/api/v1/trades", nil) })
	require.Equal(t, http.StatusOK, alice.do(http.MethodGet, "/api/v1/trades", nil).Status, "per IP")
}

// Request size limits (A04): bodies over 64 KiB are refused with 413,
// whether announced by Content-Length or streamed.
func TestOversizedBodies(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `@example.com","password":"x"}`
	for _, p := range []string{"/auth/login", "/auth/register", "/webhooks/tradingview/" + s.env.Demo.WebhookToken} {
		r := s.newClient().do(http.MethodPost, p, big)
		require.Equal(t, http.StatusRequestEntityTooLarge, r.Status, "%s: %s", p, r.Raw)
		require.Equal(t, "body_too_large", r.Body["error"])
	}
	r := alice.do(http.MethodPost, "/api/v1/me/password", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.Status, r.Raw)

	// Chunked, without Content-Length.
	req, err := http.NewRequest(http.MethodPost, s.env.URL()+"/auth/login", io.MultiReader(bytes.NewReader([]byte(big))))
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "192.0.2.200")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
}

// Issue 13 #4 over HTTP: a guesser spread over many addresses (each within
// the per-IP limit) is slowed per account: after 6 failures the next
// attempt waits, even with the right password; not a lockout.
func TestPerAccountThrottleOverHTTP(t *testing.T) {
	s := sqliteSuite(t)
	victim := s.user(auth.RoleTrader)
	for i := range auth.FreeFailures {
		r := s.newClient().do(http.MethodPost, "/auth/login", map[string]string{"email": victim.email, "password": fmt.Sprintf("Guess-%d-Horse!x", i)})
		require.Equal(t, http.StatusUnauthorized, r.Status, r.Raw)
	}
	r := s.newClient().login(victim.email)
	require.Equal(t, http.StatusTooManyRequests, r.Status, r.Raw)
	require.Equal(t, "sign_in_throttled", r.Body["error"])
	require.Equal(t, "1", r.Header.Get("Retry-After"))
	s.clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, s.newClient().login(victim.email).Status, "after the delay the owner signs in")
}
