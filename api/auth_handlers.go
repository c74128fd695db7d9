package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// DashboardPath is where a browser lands after signing in with a provider.
const DashboardPath = "/dashboard"

// Field limits of the auth bodies (checked before any work is done).
const (
	maxEmailField    = 320
	maxPasswordField = 512
	maxNameField     = 100
)

// sessionResponse answers a sign-in or refresh. The refresh token is never
// in a body: it lives in its HttpOnly cookie.
type sessionResponse struct {
	User        auth.UserInfo `json:"user"`
	AccessToken string        `json:"accessToken"`
	TokenType   string        `json:"tokenType"`
	ExpiresAt   time.Time     `json:"expiresAt"`
	ExpiresIn   int           `json:"expiresIn"`
	CSRFToken   string        `json:"csrfToken"`
	Refreshed   bool          `json:"refreshed"`
}

func (s *Server) answerSession(c *gin.Context, status int, t auth.Tokens) {
	user, err := s.Auth.User(c.Request.Context(), t.UserID)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setSessionCookies(c, t)
	c.JSON(status, sessionResponse{User: user, AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresAt: t.AccessExpiresAt.UTC(),
		ExpiresIn: max(0, int(time.Until(t.AccessExpiresAt).Seconds())), CSRFToken: t.CSRFToken, Refreshed: t.Refreshed})
}

func tooLong(field, value string, limit int) *Error {
	if len(value) > limit || !utf8.ValidString(value) {
		return badRequest(field, field+" is too long or not valid text.")
	}
	return nil
}

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"displayName"`
}

// register: POST /auth/register {email, password, displayName?} — creates a
// trader account and signs it in (201).
func (s *Server) register(c *gin.Context) {
	var req registerRequest
	if !s.bindJSON(c, &req) {
		return
	}
	for _, e := range []*Error{tooLong("email", req.Email, maxEmailField), tooLong("password", req.Password, maxPasswordField),
		tooLong("displayName", req.DisplayName, maxNameField)} {
		if e != nil {
			s.fail(c, e)
			return
		}
	}
	t, err := s.Auth.Register(c.Request.Context(), auth.Registration{Email: req.Email, Password: req.Password, DisplayName: req.DisplayName}, s.client(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.answerSession(c, http.StatusCreated, t)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login: POST /auth/login {email, password}. Any failure is "Authentication
// failed." (401).
func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if !s.bindJSON(c, &req) {
		return
	}
	if len(req.Email) > maxEmailField || len(req.Password) > maxPasswordField {
		s.fail(c, errAuthFailed)
		return
	}
	t, err := s.Auth.Login(c.Request.Context(), req.Email, req.Password, s.client(c))
	var te *auth.ThrottledError
	if errors.As(err, &te) {
		secs := max(1, int(math.Ceil(te.RetryAfter.Seconds())))
		c.Header("Retry-After", strconv.Itoa(secs))
		s.fail(c, &Error{Status: http.StatusTooManyRequests, Code: "sign_in_throttled",
			Message: "Too many failed sign-ins for this address. Try again in " + humanSeconds(secs) + "."})
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.answerSession(c, http.StatusOK, t)
}

// refresh: POST /auth/refresh — with the refresh cookie and the CSRF token.
// Rotates the refresh token when the access token has less than 5 minutes
// left (or is missing); otherwise repeats the current access token with
// "refreshed": false.
func (s *Server) refresh(c *gin.Context) {
	rt := s.cookie(c, refreshCookie)
	if rt == "" {
		s.fail(c, errUnauthorized)
		return
	}
	ctx := c.Request.Context()
	sid, err := s.Auth.SessionForRefreshToken(ctx, rt)
	if err != nil {
		s.clearSessionCookies(c)
		s.fail(c, err)
		return
	}
	if !s.csrfValid(c, sid) {
		s.fail(c, errCSRF)
		return
	}
	current, _, _ := s.accessToken(c)
	t, err := s.Auth.Refresh(ctx, rt, current, s.client(c))
	if err != nil {
		if authError(err) != nil {
			s.clearSessionCookies(c)
		}
		s.fail(c, err)
		return
	}
	s.answerSession(c, http.StatusOK, t)
}

// logout: POST /auth/logout — ends the session in the database, clears the
// cookies; every later request with its tokens gets 401. Cookie-based
// calls need the CSRF token.
func (s *Server) logout(c *gin.Context) {
	ctx := c.Request.Context()
	sid := ""
	token, viaCookie, present := s.accessToken(c)
	if present && token != "" {
		if claims, err := s.Auth.Verify(ctx, token); err == nil {
			sid = claims.SessionID
		}
	}
	if sid == "" {
		if rt := s.cookie(c, refreshCookie); rt != "" {
			if id, err := s.Auth.SessionForRefreshToken(ctx, rt); err == nil {
				sid, viaCookie = id, true
			}
		}
	}
	if sid != "" {
		if viaCookie && !s.csrfValid(c, sid) {
			s.fail(c, errCSRF)
			return
		}
		if err := s.Auth.Logout(ctx, sid, s.client(c)); err != nil && authError(err) == nil {
			s.fail(c, err)
			return
		}
	}
	s.clearSessionCookies(c)
	c.JSON(http.StatusOK, gin.H{"status": "signed_out"})
}

// signedInUser is the user of a valid access cookie, if any (provider
// sign-in while signed in links the provider account).
func (s *Server) signedInUser(c *gin.Context) string {
	token := s.cookie(c, accessCookie)
	if token == "" {
		return ""
	}
	claims, err := s.Auth.Verify(auth.WithClient(c.Request.Context(), s.client(c)), token)
	if err != nil {
		return ""
	}
	return claims.UserID
}

// oauthStart: GET /auth/{provider} — sends the browser to the provider's
// consent page with state and a PKCE S256 challenge.
func (s *Server) oauthStart(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start, err := s.Auth.BeginOAuth(provider, s.signedInUser(c))
		if err != nil {
			s.fail(c, err)
			return
		}
		s.setCookie(c, oauthCookie, start.FlowCookie, start.ExpiresAt)
		c.Redirect(http.StatusFound, start.RedirectURL)
	}
}

// oauthCallback: GET /auth/{provider}/callback?code=…&state=… — validates
// state and verifier, exchanges the code, signs in (creating or linking
// the user), sets the session cookies and redirects to the dashboard.
func (s *Server) oauthCallback(provider string) gin.HandlerFunc {
	return func(c *gin.Context) {
		flow := s.cookie(c, oauthCookie)
		s.clearCookie(c, oauthCookie)
		q := c.Request.URL.Query()
		for _, k := range []string{"code", "state", "error"} {
			if len(q[k]) > 1 || len(q.Get(k)) > 512 {
				s.fail(c, errOAuthState)
				return
			}
		}
		t, err := s.Auth.CompleteOAuth(c.Request.Context(), auth.OAuthCallback{Provider: provider, FlowCookie: flow,
			State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error"), CurrentUserID: s.signedInUser(c)}, s.client(c))
		if err != nil {
			s.fail(c, err)
			return
		}
		s.setSessionCookies(c, t)
		c.Redirect(http.StatusFound, DashboardPath)
	}
}

// me: GET /api/v1/me — the signed-in account.
func (s *Server) me(c *gin.Context) {
	user, err := s.Auth.User(c.Request.Context(), c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": user, "sessionId": c.GetString(ctxSessionID)})
}

type passwordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
}

// changePassword: POST /api/v1/me/password {currentPassword, newPassword} —
// other sessions of the user end (PASSWORD_CHANGED).
func (s *Server) changePassword(c *gin.Context) {
	var req passwordRequest
	if !s.bindJSON(c, &req) {
		return
	}
	for _, e := range []*Error{tooLong("currentPassword", req.CurrentPassword, maxPasswordField), tooLong("newPassword", req.NewPassword, maxPasswordField)} {
		if e != nil {
			s.fail(c, e)
			return
		}
	}
	err := s.Auth.ChangePassword(c.Request.Context(), c.GetString(ctxUserID), c.GetString(ctxSessionID), req.CurrentPassword, req.NewPassword, s.client(c))
	if ae := authError(err); ae != nil && ae.Field == "password" {
		ae.Field = "newPassword"
		err = ae
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "password_changed"})
}
