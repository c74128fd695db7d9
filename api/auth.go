package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// Request context keys set by authenticate.
const (
	ctxUserID    = "user_id"
	ctxRole      = "role"
	ctxSessionID = "session_id"
	ctxViaCookie = "via_cookie"
)

// HashToken is how webhook tokens are stored: SHA-256 hex. Tokens are
// 256-bit random values, so a plain hash is enough (no brute force).
func HashToken(token string) string { return auth.HashToken(token) }

func (s *Server) clock() time.Time { return time.Now() }

// client is the caller as the auth package sees it: the IP after trusted
// proxies (Server.TrustedProxies) and the User-Agent header.
func (s *Server) client(c *gin.Context) auth.Client {
	return auth.Client{IP: c.ClientIP(), UserAgent: c.Request.UserAgent()}
}

// accessToken finds the caller's access token: "Authorization: Bearer …"
// (scripts, the dashboard's fetch calls) or else the access cookie
// (viaCookie: state-changing requests then need the CSRF token).
func (s *Server) accessToken(c *gin.Context) (token string, viaCookie, present bool) {
	if h := c.GetHeader("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		return strings.TrimSpace(t), false, ok
	}
	if t := s.cookie(c, accessCookie); t != "" {
		return t, true, true
	}
	return "", false, false
}

// authenticate admits requests with a valid access token of a live session
// whose binding matches this client, and records who they are.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		token, viaCookie, present := s.accessToken(c)
		if !present || token == "" {
			c.Header("WWW-Authenticate", `Bearer realm="tradeexec"`)
			s.fail(c, errUnauthorized)
			return
		}
		ctx := auth.WithClient(c.Request.Context(), s.client(c))
		claims, err := s.Auth.Verify(ctx, token)
		if err != nil {
			if authError(err) != nil {
				c.Header("WWW-Authenticate", `Bearer realm="tradeexec", error="invalid_token"`)
				if viaCookie && !errors.Is(err, auth.ErrTokenExpired) {
					s.clearSessionCookies(c)
				}
			}
			s.fail(c, err)
			return
		}
		c.Set(ctxUserID, claims.UserID)
		c.Set(ctxRole, string(claims.Role))
		c.Set(ctxSessionID, claims.SessionID)
		c.Set(ctxViaCookie, viaCookie)
		c.Next()
	}
}

// unsafeMethod: requests that change state.
func unsafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// csrf enforces the double-submit token on state-changing requests
// authenticated by cookie (FR-030): the X-CSRF-Token header must equal the
// csrf cookie, and the token must belong to the session. Bearer requests
// need none — a browser never attaches that header on its own.
func (s *Server) csrf() gin.HandlerFunc {
	return func(c *gin.Context) {
		if unsafeMethod(c.Request.Method) && c.GetBool(ctxViaCookie) && !s.csrfValid(c, c.GetString(ctxSessionID)) {
			s.fail(c, errCSRF)
			return
		}
		c.Next()
	}
}

func (s *Server) csrfValid(c *gin.Context, sessionID string) bool {
	return s.Auth.CheckCSRF(sessionID, s.cookie(c, csrfCookie), c.GetHeader(headerCSRF))
}
