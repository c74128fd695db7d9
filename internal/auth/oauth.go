package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
)

// Identity is who a provider says the user is.
type Identity struct {
	Provider      string
	Subject       string // the provider's stable user id
	Email         string
	EmailVerified bool
	DisplayName   string
}

// Provider is an OAuth2 sign-in provider (Discord now; GitHub and Google
// plug in the same way).
type Provider interface {
	// Name is the provider's path segment and sessions.provider value.
	Name() string
	// AuthCodeURL is where to send the browser: the consent page, with
	// state and the S256 challenge of verifier.
	AuthCodeURL(state, verifier string) string
	// Exchange trades the callback's code (with the PKCE verifier) for a
	// token and fetches the user's profile.
	Exchange(ctx context.Context, code, verifier string) (Identity, error)
}

// OAuth2Provider is a Provider for any authorization-code provider with
// PKCE, built on golang.org/x/oauth2; Profile reads the identity with the
// authorized client.
type OAuth2Provider struct {
	ProviderName string
	Config       oauth2.Config
	HTTPClient   *http.Client
	Profile      func(ctx context.Context, client *http.Client) (Identity, error)
}

// Name implements Provider.
func (p *OAuth2Provider) Name() string { return p.ProviderName }

// AuthCodeURL implements Provider.
func (p *OAuth2Provider) AuthCodeURL(state, verifier string) string {
	return p.Config.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
}

// Exchange implements Provider.
func (p *OAuth2Provider) Exchange(ctx context.Context, code, verifier string) (Identity, error) {
	if p.HTTPClient != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, p.HTTPClient)
	}
	tok, err := p.Config.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Identity{}, fmt.Errorf("token exchange: %s (%s)", re.ErrorCode, re.Response.Status)
		}
		return Identity{}, fmt.Errorf("token exchange: %w", err)
	}
	id, err := p.Profile(ctx, p.Config.Client(ctx, tok))
	if err != nil {
		return Identity{}, fmt.Errorf("profile: %w", err)
	}
	id.Provider = p.ProviderName
	return id, nil
}

// OAuth flows: the browser carries the state and PKCE verifier in a sealed,
// short-lived cookie, so any replica can finish the flow and a callback URL
// cannot be replayed into another browser (login CSRF).
const flowTTL = 10 * time.Minute

type oauthFlow struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Link     string `json:"l,omitempty"` // user id to link the identity to
	Expires  int64  `json:"x"`
}

// OAuthStart is how to begin a provider sign-in.
type OAuthStart struct {
	RedirectURL string    // the provider's consent page
	FlowCookie  string    // value of the flow cookie to set (HttpOnly)
	ExpiresAt   time.Time // of the flow cookie
}

// BeginOAuth starts a sign-in with provider. linkUserID, when set (the
// user is signed in), links the provider account to that user instead of
// signing in.
func (s *Service) BeginOAuth(provider, linkUserID string) (OAuthStart, error) {
	p, ok := s.providers[provider]
	if !ok {
		return OAuthStart{}, ErrProviderNotConfigured
	}
	state, err := newOpaqueToken()
	if err != nil {
		return OAuthStart{}, err
	}
	verifier := oauth2.GenerateVerifier()
	exp := s.now().Add(flowTTL)
	sealed, err := s.sealFlow(oauthFlow{Provider: provider, State: state, Verifier: verifier, Link: linkUserID, Expires: exp.Unix()})
	if err != nil {
		return OAuthStart{}, err
	}
	return OAuthStart{RedirectURL: p.AuthCodeURL(state, verifier), FlowCookie: sealed, ExpiresAt: exp}, nil
}

// OAuthCallback is what the provider's redirect brought back.
type OAuthCallback struct {
	Provider   string
	FlowCookie string
	State      string
	Code       string
	Error      string // the provider's error parameter (access_denied …)
	// CurrentUserID is the signed-in user, if any (linking).
	CurrentUserID string
}

// CompleteOAuth validates the callback (state from this browser's flow,
// PKCE verifier), exchanges the code, creates or links the user and starts
// a session.
func (s *Service) CompleteOAuth(ctx context.Context, cb OAuthCallback, c Client) (Tokens, error) {
	p, ok := s.providers[cb.Provider]
	if !ok {
		return Tokens{}, ErrProviderNotConfigured
	}
	flow, err := s.openFlow(cb.FlowCookie)
	if err != nil || flow.Provider != cb.Provider || s.now().Unix() > flow.Expires ||
		len(cb.State) != len(flow.State) || subtle.ConstantTimeCompare([]byte(cb.State), []byte(flow.State)) != 1 {
		return Tokens{}, ErrOAuthState
	}
	if cb.Error != "" {
		if cb.Error == "access_denied" {
			return Tokens{}, ErrOAuthDenied
		}
		return Tokens{}, ErrOAuthExchange
	}
	if cb.Code == "" || len(cb.Code) > 512 {
		return Tokens{}, ErrOAuthState
	}
	if flow.Link != "" && flow.Link != cb.CurrentUserID {
		return Tokens{}, ErrOAuthState
	}
	id, err := p.Exchange(ctx, cb.Code, flow.Verifier)
	if err != nil {
		s.log.Warn("oauth exchange failed", zap.String("provider", cb.Provider), zap.Error(err))
		return Tokens{}, ErrOAuthExchange
	}
	if id.Subject == "" || len(id.Subject) > 128 {
		return Tokens{}, ErrOAuthExchange
	}
	key, err := s.keys.signing(ctx)
	if err != nil {
		return Tokens{}, err
	}
	var out Tokens
	notified := false
	err = store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		user, err := s.resolveIdentity(tx, id, flow.Link, c)
		if err != nil {
			return err
		}
		if err := appendAudit(tx, audit.Entry{UserID: user.ID, Action: audit.ActionLoginSuccess, ResourceType: "User",
			ResourceID: user.ID, Details: map[string]any{"method": id.Provider}}, c); err != nil {
			return err
		}
		if notified, err = s.noticeIfNewClient(tx, user.ID, c); err != nil {
			return err
		}
		out, err = s.startSession(tx, key, user, id.Provider, c)
		return err
	})
	if errors.Is(err, ErrIdentityInUse) {
		return Tokens{}, err
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("auth: %s sign-in: %w", cb.Provider, err)
	}
	if notified {
		s.committed(out.UserID)
	}
	return out, nil
}

func (s *Service) flowAEAD() (cipher.AEAD, error) {
	block, err := aes.NewCipher(s.flowKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *Service) sealFlow(f oauthFlow) (string, error) {
	aead, err := s.flowAEAD()
	if err != nil {
		return "", err
	}
	pt, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, pt, []byte("oauth-flow"))), nil
}

func (s *Service) openFlow(v string) (oauthFlow, error) {
	var f oauthFlow
	if v == "" || len(v) > 2048 {
		return f, ErrOAuthState
	}
	blob, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return f, ErrOAuthState
	}
	aead, err := s.flowAEAD()
	if err != nil {
		return f, err
	}
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return f, ErrOAuthState
	}
	pt, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], []byte("oauth-flow"))
	if err != nil || json.Unmarshal(pt, &f) != nil {
		return f, ErrOAuthState
	}
	return f, nil
}
