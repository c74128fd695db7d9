package auth

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth/discordfake"
	"github.com/tradeexec/tradeexec/schema"
)

const callbackURL = "https://trade.example.com/auth/discord/callback"

func discordFixture(t *testing.T, db *gorm.DB) (*fixture, *discordfake.Fake) {
	fake := discordfake.New("client-1", "secret-1", callbackURL)
	t.Cleanup(fake.Close)
	f := newFixture(t, db, func(c *Config) {
		c.Providers = []Provider{NewDiscord(DiscordConfig{ClientID: "client-1", ClientSecret: "secret-1",
			RedirectURL: callbackURL, BaseURL: fake.URL()})}
	})
	return f, fake
}

// consent plays the browser at the provider: it follows the consent URL
// and returns the callback's query.
func consent(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, callbackURL, loc.Scheme+"://"+loc.Host+loc.Path)
	return loc.Query()
}

func (f *fixture) signInWithDiscord(t *testing.T, link string) (Tokens, error) {
	t.Helper()
	start, err := f.svc.BeginOAuth(ProviderDiscord, link)
	require.NoError(t, err)
	q := consent(t, start.RedirectURL)
	return f.svc.CompleteOAuth(context.Background(), OAuthCallback{Provider: ProviderDiscord, FlowCookie: start.FlowCookie,
		State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), CurrentUserID: link}, browser)
}

func TestDiscordSignInCreatesThenFindsTheUser(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		f, fake := discordFixture(t, db)
		start, err := f.svc.BeginOAuth(ProviderDiscord, "")
		require.NoError(t, err)
		u, err := url.Parse(start.RedirectURL)
		require.NoError(t, err)
		q := u.Query()
		require.Equal(t, "S256", q.Get("code_challenge_method"))
		require.NotEmpty(t, q.Get("code_challenge"))
		require.NotEmpty(t, q.Get("state"))
		require.Equal(t, "identify email", q.Get("scope"))
		require.NotContains(t, start.RedirectURL, "secret-1")

		tok, err := f.signInWithDiscord(t, "")
		require.NoError(t, err)
		var user schema.User
		require.NoError(t, db.Take(&user, "id = ?", tok.UserID).Error)
		require.Equal(t, "80351110224678912", *user.DiscordID)
		require.Equal(t, "nelly@example.com", *user.Email)
		require.Equal(t, "Nelly", user.DisplayName)
		require.Equal(t, "trader", user.Role)
		require.Equal(t, []string{ActionUserRegistered, audit.ActionLoginSuccess}, f.actions(tok.UserID))
		require.Equal(t, ProviderDiscord, f.session(tok.SessionID).Provider)

		again, err := f.signInWithDiscord(t, "")
		require.NoError(t, err)
		require.Equal(t, tok.UserID, again.UserID)
		require.Equal(t, 2, fake.Exchanges())
	})
}

func TestDiscordCallbackValidation(t *testing.T) {
	f, fake := discordFixture(t, sqliteDB(t))
	ctx := context.Background()
	start, err := f.svc.BeginOAuth(ProviderDiscord, "")
	require.NoError(t, err)
	q := consent(t, start.RedirectURL)
	other, err := f.svc.BeginOAuth(ProviderDiscord, "")
	require.NoError(t, err)
	cb := func(mod func(*OAuthCallback)) OAuthCallback {
		c := OAuthCallback{Provider: ProviderDiscord, FlowCookie: start.FlowCookie, State: q.Get("state"), Code: q.Get("code")}
		mod(&c)
		return c
	}
	tests := []struct {
		name string
		cb   OAuthCallback
		want error
	}{
		{"missing flow cookie", cb(func(c *OAuthCallback) { c.FlowCookie = "" }), ErrOAuthState},
		{"flow cookie of another attempt", cb(func(c *OAuthCallback) { c.FlowCookie = other.FlowCookie }), ErrOAuthState},
		{"tampered flow cookie", cb(func(c *OAuthCallback) { c.FlowCookie = otherAt(start.FlowCookie, len(start.FlowCookie)-2) }), ErrOAuthState},
		{"wrong state", cb(func(c *OAuthCallback) { c.State = otherAt(c.State, 0) }), ErrOAuthState},
		{"no state", cb(func(c *OAuthCallback) { c.State = "" }), ErrOAuthState},
		{"no code", cb(func(c *OAuthCallback) { c.Code = "" }), ErrOAuthState},
		{"unknown code", cb(func(c *OAuthCallback) { c.Code = "forged" }), ErrOAuthExchange},
		{"unknown provider", cb(func(c *OAuthCallback) { c.Provider = "github" }), ErrProviderNotConfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CompleteOAuth(ctx, tt.cb, browser)
			require.ErrorIs(t, err, tt.want)
		})
	}
	require.Zero(t, fake.Exchanges(), "nothing reached the token endpoint with a bad state")

	// The genuine callback works once; the code is single-use.
	_, err = f.svc.CompleteOAuth(ctx, cb(func(*OAuthCallback) {}), browser)
	require.NoError(t, err)
	_, err = f.svc.CompleteOAuth(ctx, cb(func(*OAuthCallback) {}), browser)
	require.ErrorIs(t, err, ErrOAuthExchange)

	// Expired flow.
	late, err := f.svc.BeginOAuth(ProviderDiscord, "")
	require.NoError(t, err)
	lq := consent(t, late.RedirectURL)
	f.clock.Advance(11 * time.Minute)
	_, err = f.svc.CompleteOAuth(ctx, OAuthCallback{Provider: ProviderDiscord, FlowCookie: late.FlowCookie, State: lq.Get("state"), Code: lq.Get("code")}, browser)
	require.ErrorIs(t, err, ErrOAuthState)
}

func sqliteDB(t *testing.T) *gorm.DB { db, _ := storetestOpen(t); return db }

func TestDiscordDeniedAndProviderFailures(t *testing.T) {
	f, fake := discordFixture(t, sqliteDB(t))
	fake.SetDeny(true)
	_, err := f.signInWithDiscord(t, "")
	require.ErrorIs(t, err, ErrOAuthDenied)
	fake.SetDeny(false)

	// Tokens that expire before the profile call: Discord answers 401.
	fake.SetTokenTTL(-time.Second)
	_, err = f.signInWithDiscord(t, "")
	require.ErrorIs(t, err, ErrOAuthExchange)
}

func TestDiscordPKCEVerifierIsChecked(t *testing.T) {
	fake := discordfake.New("client-1", "secret-1", callbackURL)
	defer fake.Close()
	p := NewDiscord(DiscordConfig{ClientID: "client-1", ClientSecret: "secret-1", RedirectURL: callbackURL, BaseURL: fake.URL()})
	verifier := "v-0123456789012345678901234567890123456789012345"
	q := consent(t, p.AuthCodeURL("state-1", verifier))
	_, err := p.Exchange(context.Background(), q.Get("code"), verifier+"x")
	require.ErrorContains(t, err, "invalid_grant")
	q = consent(t, p.AuthCodeURL("state-2", verifier))
	id, err := p.Exchange(context.Background(), q.Get("code"), verifier)
	require.NoError(t, err)
	require.Equal(t, "80351110224678912", id.Subject)

	bad := NewDiscord(DiscordConfig{ClientID: "client-1", ClientSecret: "wrong", RedirectURL: callbackURL, BaseURL: fake.URL()})
	q = consent(t, bad.AuthCodeURL("s", verifier))
	_, err = bad.Exchange(context.Background(), q.Get("code"), verifier)
	require.ErrorContains(t, err, "invalid_client")
}

func TestDiscordLinking(t *testing.T) {
	f, fake := discordFixture(t, sqliteDB(t))
	ann := f.register("ann@example.com")

	// Signed in, Ann links her Discord account.
	linked, err := f.signInWithDiscord(t, ann.UserID)
	require.NoError(t, err)
	require.Equal(t, ann.UserID, linked.UserID)
	require.Contains(t, f.actions(ann.UserID), audit.ActionCredentialsUpdated)
	var user schema.User
	require.NoError(t, f.db.Take(&user, "id = ?", ann.UserID).Error)
	require.Equal(t, "80351110224678912", *user.DiscordID)

	// The same Discord account cannot be linked to Bob.
	bob := f.register("bob@example.com")
	_, err = f.signInWithDiscord(t, bob.UserID)
	require.ErrorIs(t, err, ErrIdentityInUse)

	// A user the bot created from a Discord id is found, not duplicated;
	// a Discord email that belongs to another account is not merged.
	botUser := f.user(RoleTrader)
	discordID := "111222333444555666"
	require.NoError(t, f.db.Model(&schema.User{}).Where("id = ?", botUser).Update("discord_id", discordID).Error)
	fake.SetUser(discordfake.User{ID: discordID, Username: "carl", Email: "ann@example.com", Verified: true})
	tok, err := f.signInWithDiscord(t, "")
	require.NoError(t, err)
	require.Equal(t, botUser, tok.UserID)

	fake.SetUser(discordfake.User{ID: "999", Username: "dora", Email: "ann@example.com", Verified: true})
	tok, err = f.signInWithDiscord(t, "")
	require.NoError(t, err)
	require.NotEqual(t, ann.UserID, tok.UserID)
	var dora schema.User
	require.NoError(t, f.db.Take(&dora, "id = ?", tok.UserID).Error)
	require.Nil(t, dora.Email, "the address is Ann's; never merged, never duplicated")
}

func TestDiscordLinkFlowNeedsTheSameSignedInUser(t *testing.T) {
	f, _ := discordFixture(t, sqliteDB(t))
	ann := f.register("ann@example.com")
	start, err := f.svc.BeginOAuth(ProviderDiscord, ann.UserID)
	require.NoError(t, err)
	q := consent(t, start.RedirectURL)
	// The callback arrives without Ann's session (or with someone else's).
	for _, current := range []string{"", "someone-else"} {
		_, err = f.svc.CompleteOAuth(context.Background(), OAuthCallback{Provider: ProviderDiscord, FlowCookie: start.FlowCookie,
			State: q.Get("state"), Code: q.Get("code"), CurrentUserID: current}, browser)
		require.ErrorIs(t, err, ErrOAuthState)
	}
}

// otherAt returns s with its i-th character replaced by a different one
// (a fixed replacement would leave one value in 64 unchanged).
func otherAt(s string, i int) string {
	c := byte('x')
	if s[i] == c {
		c = 'y'
	}
	return s[:i] + string(c) + s[i+1:]
}
