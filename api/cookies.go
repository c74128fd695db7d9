package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// Browser sessions live in cookies:
//
//	access   HttpOnly, SameSite=Lax, Path=/, 1 h   — the JWT, for cookie-authenticated requests
//	refresh  HttpOnly, SameSite=Strict, Path=/auth, 30 days — only /auth/refresh and /auth/logout see it
//	csrf     readable by the page, SameSite=Strict, Path=/ — the double-submit token (X-CSRF-Token)
//	oauth    HttpOnly, SameSite=Lax, Path=/, 10 min — state + PKCE verifier of a provider sign-in (__Host-)
//	schwab   HttpOnly, SameSite=Lax, Path=/, 10 min — the state of the Schwab consent this browser started
//
// They are Secure, with the __Host- / __Secure- name prefixes, whenever
// PUBLIC_URL is https (everywhere but `tradeexec dev` on http://127.0.0.1).
const (
	cookieAccess  = "te_access"
	cookieRefresh = "te_refresh"
	cookieCSRF    = "te_csrf"
	cookieOAuth   = "te_oauth"
	cookieSchwab  = "te_schwab"

	// headerCSRF carries the double-submit token.
	headerCSRF = "X-CSRF-Token"
)

type cookieSpec struct {
	base     string
	path     string
	httpOnly bool
	sameSite http.SameSite
}

var (
	accessCookie  = cookieSpec{cookieAccess, "/", true, http.SameSiteLaxMode}
	refreshCookie = cookieSpec{cookieRefresh, "/auth", true, http.SameSiteStrictMode}
	csrfCookie    = cookieSpec{cookieCSRF, "/", false, http.SameSiteStrictMode}
	// Path=/ so the name can carry __Host- (a __Secure- cookie on /auth can
	// be planted by a sibling subdomain; a __Host- one cannot).
	oauthCookie = cookieSpec{cookieOAuth, "/", true, http.SameSiteLaxMode}
	// schwabCookie binds a Schwab consent to the browser that started it:
	// it holds the consent's state; the callback (a top-level GET from
	// Schwab, so SameSite=Lax sends it) must present the same.
	schwabCookie = cookieSpec{cookieSchwab, "/", true, http.SameSiteLaxMode}
)

// secureCookies reports whether cookies must be Secure (PUBLIC_URL https).
func (s *Server) secureCookies() bool {
	return !strings.HasPrefix(s.PublicURL, "http://")
}

// name is the cookie's name: __Host- (Path=/) or __Secure- prefixed when
// Secure, so a sibling subdomain or plain-HTTP page cannot plant it.
func (s *Server) cookieName(spec cookieSpec) string {
	if !s.secureCookies() {
		return spec.base
	}
	if spec.path == "/" {
		return "__Host-" + spec.base
	}
	return "__Secure-" + spec.base
}

func (s *Server) setCookie(c *gin.Context, spec cookieSpec, value string, expires time.Time) {
	maxAge := int(time.Until(expires).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	// #nosec G124 -- Secure is set whenever PUBLIC_URL is https (config refuses http outside dev mode); only `tradeexec dev` on plain http gets non-Secure cookies.
	http.SetCookie(c.Writer, &http.Cookie{Name: s.cookieName(spec), Value: value, Path: spec.path, MaxAge: maxAge,
		Expires: expires.UTC(), Secure: s.secureCookies(), HttpOnly: spec.httpOnly, SameSite: spec.sameSite})
}

func (s *Server) clearCookie(c *gin.Context, spec cookieSpec) {
	// #nosec G124 -- clears a cookie; attributes as in setCookie.
	http.SetCookie(c.Writer, &http.Cookie{Name: s.cookieName(spec), Value: "", Path: spec.path, MaxAge: -1,
		Expires: time.Unix(0, 0).UTC(), Secure: s.secureCookies(), HttpOnly: spec.httpOnly, SameSite: spec.sameSite})
}

func (s *Server) cookie(c *gin.Context, spec cookieSpec) string {
	v, err := c.Cookie(s.cookieName(spec))
	if err != nil || len(v) > 4096 {
		return ""
	}
	return v
}

// setSessionCookies stores a sign-in or rotation in the browser.
func (s *Server) setSessionCookies(c *gin.Context, t auth.Tokens) {
	s.setCookie(c, accessCookie, t.AccessToken, t.AccessExpiresAt)
	if t.RefreshToken != "" {
		s.setCookie(c, refreshCookie, t.RefreshToken, t.RefreshExpiresAt)
	}
	if t.CSRFToken != "" {
		exp := t.RefreshExpiresAt
		if exp.IsZero() {
			exp = t.AccessExpiresAt
		}
		s.setCookie(c, csrfCookie, t.CSRFToken, exp)
	}
}

func (s *Server) clearSessionCookies(c *gin.Context) {
	s.clearCookie(c, accessCookie)
	s.clearCookie(c, refreshCookie)
	s.clearCookie(c, csrfCookie)
}
