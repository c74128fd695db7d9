package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/auth/discordfake"
)

func discordSuite(t *testing.T) (*suite, *discordfake.Fake) {
	fake := discordfake.New("client-1", "secret-1", publicURL+"/auth/discord/callback")
	t.Cleanup(fake.Close)
	s := sqliteSuite(t, func(o *app.AuthOptions) {
		o.Discord = &auth.DiscordConfig{ClientID: "client-1", ClientSecret: "secret-1", BaseURL: fake.URL()}
	})
	return s, fake
}

// atDiscord follows the consent redirect at the fake and returns the
// callback path + query to bring back to our server.
func atDiscord(t *testing.T, location string) string {
	t.Helper()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(location)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, publicURL+"/auth/discord/callback", back.Scheme+"://"+back.Host+back.Path)
	return back.Path + "?" + back.RawQuery
}

// Discord sign-in end to end over HTTP: PKCE S256, state bound to the
// browser, single-use code, session cookie, dashboard redirect.
func TestDiscordSignInOverHTTP(t *testing.T) {
	s, fake := discordSuite(t)
	browser := s.newClient()
	start := browser.do(http.MethodGet, "/auth/discord", nil)
	require.Equal(t, http.StatusFound, start.Status, start.Raw)
	loc, err := url.Parse(start.Header.Get("Location"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), fake.URL()+"/oauth2/authorize"))
	require.Equal(t, "S256", loc.Query().Get("code_challenge_method"))
	require.NotEmpty(t, loc.Query().Get("state"))
	flow := browser.cookies["__Host-te_oauth"]
	require.NotNil(t, flow, "the flow cookie is __Host- (a sibling subdomain cannot plant it)")
	require.True(t, flow.HttpOnly && flow.Secure)
	require.Equal(t, "/", flow.Path)
	require.Empty(t, flow.Domain)
	require.NotContains(t, flow.Value, loc.Query().Get("state"), "the flow cookie is sealed")

	callback := atDiscord(t, loc.String())

	// The callback in another browser (login CSRF) fails.
	other := s.newClient()
	res := other.do(http.MethodGet, callback, nil)
	require.Equal(t, http.StatusBadRequest, res.Status, res.Raw)
	require.Equal(t, "oauth_state_invalid", res.Body["error"])
	// A tampered state fails.
	res = browser.do(http.MethodGet, strings.Replace(callback, "state=", "state=x", 1), nil)
	require.Equal(t, http.StatusBadRequest, res.Status, res.Raw)

	// The flow cookie was consumed by the failed attempt: start again.
	start = browser.do(http.MethodGet, "/auth/discord", nil)
	callback = atDiscord(t, start.Header.Get("Location"))
	res = browser.do(http.MethodGet, callback, nil)
	require.Equal(t, http.StatusFound, res.Status, res.Raw)
	require.Equal(t, "/dashboard", res.Header.Get("Location"))
	access := browser.cookies["__Host-te_access"]
	require.NotNil(t, access)
	require.True(t, access.Secure && access.HttpOnly && access.SameSite == http.SameSiteLaxMode)

	me := browser.do(http.MethodGet, "/api/v1/me", nil)
	require.Equal(t, http.StatusOK, me.Status, me.Raw)
	user := me.Body["user"].(map[string]any)
	require.Equal(t, true, user["discordLinked"])
	require.Equal(t, "nelly@example.com", user["email"])
	require.Equal(t, []string{auth.ActionUserRegistered, audit.ActionLoginSuccess}, s.actions(user["id"].(string)))

	// Replaying the callback: no flow cookie any more, and the code is spent.
	res = browser.do(http.MethodGet, callback, nil)
	require.Equal(t, http.StatusBadRequest, res.Status, res.Raw)
	require.Equal(t, 1, fake.Exchanges())

	// Declined consent.
	fake.SetDeny(true)
	start = browser.do(http.MethodGet, "/auth/discord", nil)
	res = browser.do(http.MethodGet, atDiscord(t, start.Header.Get("Location")), nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, res.Raw)
	require.Equal(t, "oauth_denied", res.Body["error"])
}

func TestDiscordNotConfigured(t *testing.T) {
	s := sqliteSuite(t)
	res := s.newClient().do(http.MethodGet, "/auth/discord", nil)
	require.Equal(t, http.StatusNotFound, res.Status)
	require.Equal(t, "provider_not_configured", res.Body["error"])
}
