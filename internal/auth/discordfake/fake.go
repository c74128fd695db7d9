// Package discordfake is a local Discord OAuth2 server for tests and
// offline development: the authorization endpoint (auto-consent, or a
// denial), the token endpoint and /api/v10/users/@me. It checks what
// Discord checks and answers the way Discord does:
//
//   - /oauth2/authorize needs response_type=code, a known client_id and a
//     registered redirect_uri (otherwise an error page, no redirect); with
//     a code_challenge only S256 is accepted. Consent redirects to
//     redirect_uri?code=…&state=…; a denial to
//     redirect_uri?error=access_denied&error_description=…&state=….
//   - /api/oauth2/token (application/x-www-form-urlencoded) authenticates
//     the client with HTTP Basic or client_id/client_secret in the form
//     (401 {"error":"invalid_client"}); authorization codes live 10 minutes,
//     are single-use (a second use also revokes the tokens issued for the
//     code, RFC 6749 §4.1.2), must come with the same redirect_uri and,
//     when a challenge was sent, a code_verifier whose S256 matches
//     (400 {"error":"invalid_grant","error_description":…}). Tokens are
//     Bearer, expire after expires_in seconds (604800 unless changed) and
//     can be refreshed (the refresh token rotates).
//   - /api/v10/users/@me answers the user object for a live token with the
//     identify scope (email and verified only with the email scope), and
//     401 {"message": "401: Unauthorized", "code": 0} otherwise.
//
// Sources: discord.com/developers/docs/topics/oauth2 and
// discord.com/.well-known/oauth-authorization-server (endpoints, S256 only,
// client_secret_basic/post), RFC 6749 §4.1 and §5.2 (error bodies),
// RFC 7636 §4.6 (verifier check).
package discordfake

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// User is the Discord account that consents.
type User struct {
	ID         string
	Username   string
	GlobalName string
	Email      string
	Verified   bool
}

// Defaults.
const (
	CodeTTL         = 10 * time.Minute
	DefaultTokenTTL = 7 * 24 * time.Hour
)

// Fake is a running fake Discord. Safe for concurrent use.
type Fake struct {
	srv          *httptest.Server
	clientID     string
	clientSecret string
	redirects    []string

	mu       sync.Mutex
	offset   time.Duration
	user     User
	deny     bool
	tokenTTL time.Duration
	codes    map[string]*grant
	tokens   map[string]*token // by access token
	refresh  map[string]*token // by refresh token
	exchange int
}

type grant struct {
	clientID  string
	redirect  string
	challenge string
	scopes    []string
	user      User
	expires   time.Time
	used      bool
	issued    []*token
}

type token struct {
	access  string
	refresh string
	scopes  []string
	user    User
	expires time.Time
	revoked bool
}

// New starts a fake Discord for one OAuth application.
func New(clientID, clientSecret string, redirectURIs ...string) *Fake {
	f := &Fake{clientID: clientID, clientSecret: clientSecret, redirects: redirectURIs,
		user:     User{ID: "80351110224678912", Username: "nelly", GlobalName: "Nelly", Email: "nelly@example.com", Verified: true},
		tokenTTL: DefaultTokenTTL, codes: map[string]*grant{}, tokens: map[string]*token{}, refresh: map[string]*token{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/authorize", f.authorize)
	mux.HandleFunc("GET /api/oauth2/authorize", f.authorize)
	mux.HandleFunc("POST /api/oauth2/token", f.token)
	mux.HandleFunc("GET /api/v10/users/@me", f.me)
	mux.HandleFunc("GET /api/users/@me", f.me)
	f.srv = httptest.NewServer(mux)
	return f
}

// URL is the fake's base URL (DiscordConfig.BaseURL).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// SetUser sets the account that consents from now on.
func (f *Fake) SetUser(u User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user = u
}

// SetDeny makes the user decline consent (true) or accept (false).
func (f *Fake) SetDeny(deny bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = deny
}

// SetTokenTTL sets the lifetime of tokens issued from now on.
func (f *Fake) SetTokenTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenTTL = d
}

// Advance moves the fake's clock forward (codes and tokens expire).
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offset += d
}

// Exchanges counts successful code exchanges.
func (f *Fake) Exchanges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchange
}

func (f *Fake) clock() time.Time { return time.Now().Add(f.offset) }

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != f.clientID {
		http.Error(w, "Unknown Application", http.StatusBadRequest)
		return
	}
	i := slices.Index(f.redirects, q.Get("redirect_uri"))
	if i < 0 {
		http.Error(w, "Invalid OAuth2 redirect_uri", http.StatusBadRequest)
		return
	}
	// Only a registered redirect URI is ever followed.
	redirect := f.redirects[i]
	back, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "Invalid OAuth2 redirect_uri", http.StatusBadRequest)
		return
	}
	answer := func(params url.Values) {
		if s := q.Get("state"); s != "" {
			params.Set("state", s)
		}
		back.RawQuery = params.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		answer(url.Values{"error": {"unsupported_response_type"}, "error_description": {"Unsupported response type"}})
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && method != "S256" {
		answer(url.Values{"error": {"invalid_request"}, "error_description": {"Invalid code_challenge_method"}})
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "identify") && !slices.Contains(scopes, "email") {
		answer(url.Values{"error": {"invalid_scope"}, "error_description": {"The requested scope is invalid, unknown, or malformed."}})
		return
	}
	f.mu.Lock()
	if f.deny {
		f.mu.Unlock()
		answer(url.Values{"error": {"access_denied"}, "error_description": {"The resource owner or authorization server denied the request"}})
		return
	}
	code := random()
	f.codes[code] = &grant{clientID: f.clientID, redirect: redirect, challenge: challenge, scopes: scopes, user: f.user,
		expires: f.clock().Add(CodeTTL)}
	f.mu.Unlock()
	answer(url.Values{"code": {code}})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	_ = json.NewEncoder(w).Encode(body)
}

func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != f.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(f.clientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		f.exchangeCode(w, r)
	case "refresh_token":
		f.refreshToken(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (f *Fake) exchangeCode(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.codes[r.PostForm.Get("code")]
	if !ok || f.clock().After(g.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", `Invalid "code" in request.`)
		return
	}
	if g.used {
		for _, t := range g.issued {
			t.revoked = true
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", `Invalid "code" in request.`)
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirect {
		oauthError(w, http.StatusBadRequest, "invalid_grant", `Invalid "redirect_uri" in request.`)
		return
	}
	if g.challenge != "" {
		verifier := r.PostForm.Get("code_verifier")
		sum := sha256.Sum256([]byte(verifier))
		if len(verifier) < 43 || len(verifier) > 128 ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
			oauthError(w, http.StatusBadRequest, "invalid_grant", `Invalid "code_verifier"`)
			return
		}
	}
	g.used = true
	t := f.issue(g.user, g.scopes)
	g.issued = append(g.issued, t)
	f.exchange++
	f.writeToken(w, t)
}

func (f *Fake) refreshToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.refresh[r.PostForm.Get("refresh_token")]
	if !ok || old.revoked {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "")
		return
	}
	old.revoked = true
	delete(f.refresh, old.refresh)
	f.writeToken(w, f.issue(old.user, old.scopes))
}

// issue creates a token; the caller holds mu.
func (f *Fake) issue(u User, scopes []string) *token {
	t := &token{access: random(), refresh: random(), scopes: scopes, user: u, expires: f.clock().Add(f.tokenTTL)}
	f.tokens[t.access] = t
	f.refresh[t.refresh] = t
	return t
}

func (f *Fake) writeToken(w http.ResponseWriter, t *token) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": t.access, "token_type": "Bearer", "expires_in": int(f.tokenTTL.Seconds()),
		"refresh_token": t.refresh, "scope": strings.Join(t.scopes, " "),
	})
}

func (f *Fake) me(w http.ResponseWriter, r *http.Request) {
	unauthorized := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message": "401: Unauthorized", "code": 0}`))
	}
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		unauthorized()
		return
	}
	f.mu.Lock()
	t, ok := f.tokens[access]
	live := ok && !t.revoked && f.clock().Before(t.expires) && slices.Contains(t.scopes, "identify")
	var u User
	var email bool
	if live {
		u, email = t.user, slices.Contains(t.scopes, "email")
	}
	f.mu.Unlock()
	if !live {
		unauthorized()
		return
	}
	body := map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "avatar": nil,
		"global_name": nil, "mfa_enabled": false, "locale": "en-US", "flags": 0, "premium_type": 0, "public_flags": 0}
	if u.GlobalName != "" {
		body["global_name"] = u.GlobalName
	}
	if email {
		body["email"], body["verified"] = u.Email, u.Verified
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
