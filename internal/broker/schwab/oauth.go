package schwab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// OAuth2 for Schwab: the authorization-code flow (the dashboard's "Connect
// Schwab" and re-consent) and the refresh of the 30-minute access token with
// the 7-day refresh token. Tokens are secrets: nothing here logs them, and
// errors never carry them.

const (
	// AccessTokenTTL and RefreshTokenTTL are Schwab's token lifetimes.
	AccessTokenTTL  = 30 * time.Minute
	RefreshTokenTTL = 7 * 24 * time.Hour

	// refreshBefore is how long before expiry an access token is replaced.
	refreshBefore = 5 * time.Minute

	authorizePath = "/v1/oauth/authorize"
	tokenPath     = "/v1/oauth/token" // #nosec G101 -- URL path, not a credential
)

// Credential keys of a Schwab connection.
const (
	CredAccessToken    = "access_token"
	CredRefreshToken   = "refresh_token"
	CredAccessExpires  = "access_token_expires_at"  // RFC 3339
	CredRefreshExpires = "refresh_token_expires_at" // RFC 3339
	CredAccountNumber  = "account_number"           // plain account number; optional with one account
	CredClientID       = "client_id"                // app key; overrides WithApp
	CredClientSecret   = "client_secret"            // app secret; overrides WithApp
	CredBaseURL        = "base_url"                 // API host, DefaultBaseURL when empty
)

// Trader-facing message when the trader must authorize the app again.
const msgReconsent = "Your Schwab authorization has expired. Reconnect Schwab in Settings → Brokers to keep trading."

// App is the application registered at developer.schwab.com.
type App struct {
	ClientID     string // app key
	ClientSecret string
	RedirectURL  string // callback URL registered with the app
}

// Tokens are a connection's OAuth tokens.
type Tokens struct {
	ConnectionID  string
	AccessToken   string
	RefreshToken  string
	AccessExpiry  time.Time
	RefreshExpiry time.Time // zero when unknown
}

// Credentials returns the token fields to store in the connection's
// (encrypted) credentials.
func (t Tokens) Credentials() broker.Credentials {
	c := broker.Credentials{
		CredAccessToken:   t.AccessToken,
		CredRefreshToken:  t.RefreshToken,
		CredAccessExpires: t.AccessExpiry.UTC().Format(time.RFC3339),
	}
	if !t.RefreshExpiry.IsZero() {
		c[CredRefreshExpires] = t.RefreshExpiry.UTC().Format(time.RFC3339)
	}
	return c
}

// String hides the secrets should a Tokens value ever be formatted.
func (t Tokens) String() string {
	return fmt.Sprintf("schwab.Tokens{connection %s, access expires %s}", t.ConnectionID, t.AccessExpiry.UTC().Format(time.RFC3339))
}

// GoString hides the secrets from %#v.
func (t Tokens) GoString() string { return t.String() }

// TokenStore persists refreshed tokens: the caller merges
// Tokens.Credentials() into the connection's encrypted credentials. A failed
// Save does not fail the request that refreshed (the refresh token is
// unchanged, the next adapter refreshes again); implementations log it.
type TokenStore interface {
	Save(ctx context.Context, t Tokens) error
}

// tokensFromCredentials reads the stored tokens.
func tokensFromCredentials(connectionID string, c broker.Credentials) (Tokens, error) {
	t := Tokens{
		ConnectionID: connectionID,
		AccessToken:  strings.TrimSpace(c[CredAccessToken]),
		RefreshToken: strings.TrimSpace(c[CredRefreshToken]),
	}
	if t.RefreshToken == "" {
		return t, errors.New("the Schwab connection has no refresh token")
	}
	for key, dst := range map[string]*time.Time{CredAccessExpires: &t.AccessExpiry, CredRefreshExpires: &t.RefreshExpiry} {
		if v := strings.TrimSpace(c[key]); v != "" {
			ts, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return t, fmt.Errorf("the Schwab connection's %s is not an RFC 3339 time", key)
			}
			*dst = ts
		}
	}
	return t, nil
}

func oauthConfig(app App, base string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     app.ClientID,
		ClientSecret: app.ClientSecret,
		RedirectURL:  app.RedirectURL,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + authorizePath,
			TokenURL:  base + tokenPath,
			AuthStyle: oauth2.AuthStyleInHeader, // Basic base64(app key:secret)
		},
	}
}

// OAuth runs the authorization-code flow for one app.
type OAuth struct {
	App        App
	BaseURL    string       // DefaultBaseURL when empty
	HTTPClient *http.Client // default: 10 s timeout
}

func (o OAuth) base() string {
	if o.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(o.BaseURL, "/")
}

// AuthCodeURL is where the dashboard sends the trader to authorize the app
// (also for re-consent once the refresh token expired). state protects the
// callback against CSRF.
func (o OAuth) AuthCodeURL(state string) string {
	return oauthConfig(o.App, o.base()).AuthCodeURL(state)
}

// Exchange trades the code of the callback for tokens. The refresh token
// lives RefreshTokenTTL from now.
func (o OAuth) Exchange(ctx context.Context, connectionID, code string) (Tokens, error) {
	hc := o.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	tok, err := oauthConfig(o.App, o.base()).Exchange(context.WithValue(ctx, oauth2.HTTPClient, hc), code)
	if err != nil {
		return Tokens{}, tokenError(err, "Schwab did not accept the authorization. Start the connection again.")
	}
	return Tokens{
		ConnectionID:  connectionID,
		AccessToken:   tok.AccessToken,
		RefreshToken:  tok.RefreshToken,
		AccessExpiry:  tok.Expiry.UTC(),
		RefreshExpiry: time.Now().Add(RefreshTokenTTL).UTC(),
	}, nil
}

// tokenSource holds one connection's tokens and refreshes the access token
// when less than refreshBefore remains. Safe for concurrent use; one refresh
// at a time.
type tokenSource struct {
	conf  *oauth2.Config
	http  *http.Client
	store TokenStore

	mu  sync.Mutex
	tok Tokens
}

// token returns a valid access token, refreshing it first when needed.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.tok.AccessToken != "" && now.Add(refreshBefore).Before(s.tok.AccessExpiry) {
		return s.tok.AccessToken, nil
	}
	if !s.tok.RefreshExpiry.IsZero() && !now.Before(s.tok.RefreshExpiry) {
		return "", newErr(broker.KindAuthFailed, msgReconsent, errors.New("schwab: refresh token expired"))
	}
	// An expired token makes the oauth2 source refresh.
	old := &oauth2.Token{RefreshToken: s.tok.RefreshToken, Expiry: now.Add(-time.Hour)}
	tok, err := s.conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, s.http), old).Token()
	if err != nil {
		return "", tokenError(err, msgReconsent)
	}
	next := s.tok
	next.AccessToken, next.AccessExpiry = tok.AccessToken, tok.Expiry.UTC()
	if tok.RefreshToken != "" && tok.RefreshToken != s.tok.RefreshToken {
		next.RefreshToken, next.RefreshExpiry = tok.RefreshToken, now.Add(RefreshTokenTTL).UTC()
	}
	s.tok = next
	if s.store != nil {
		_ = s.store.Save(ctx, next) // see TokenStore: a failed save is the store's to log
	}
	return next.AccessToken, nil
}

// invalidate drops an access token the API refused, so the next call
// refreshes (unless a concurrent call already replaced it).
func (s *tokenSource) invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok.AccessToken == token {
		s.tok.AccessToken, s.tok.AccessExpiry = "", time.Time{}
	}
}

// adopt takes stored tokens that are newer than the held ones (the vault
// was updated by another process's refresh).
func (s *tokenSource) adopt(t Tokens) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.RefreshToken != s.tok.RefreshToken {
		s.tok = t
		return
	}
	if t.AccessToken != "" && t.AccessExpiry.After(s.tok.AccessExpiry) {
		s.tok.AccessToken, s.tok.AccessExpiry = t.AccessToken, t.AccessExpiry
	}
}

// tokenError maps a failure of the token endpoint: a refused grant or app
// credential is AUTH_FAILED (authMsg), an overloaded endpoint UNAVAILABLE.
func tokenError(err error, authMsg string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		// The error body may echo the refresh token's digest: keep only the code.
		cause := fmt.Errorf("schwab token endpoint: http %d %s", re.Response.StatusCode, re.ErrorCode)
		switch code := re.Response.StatusCode; {
		case code == http.StatusTooManyRequests:
			return newErr(broker.KindRateLimited, "Schwab rate limit reached; the request will be retried.", cause)
		case code >= 500:
			return newErr(broker.KindUnavailable, msgUnavailable, cause)
		case re.ErrorCode == "invalid_client" || code == http.StatusUnauthorized && re.ErrorCode == "":
			return newErr(broker.KindAuthFailed, "Schwab refused the application credentials. Contact support.", cause)
		default:
			return newErr(broker.KindAuthFailed, authMsg, cause)
		}
	}
	// Transport failures (their text names the endpoint, never a token).
	return newErr(broker.KindUnavailable, msgUnavailable, fmt.Errorf("schwab token endpoint: %w", err))
}
