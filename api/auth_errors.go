package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tradeexec/tradeexec/internal/auth"
)

// The words users see for authentication and authorization failures, in
// one place. They never say whether an account exists (FR-079).
var (
	errAuthFailed        = &Error{Status: http.StatusUnauthorized, Code: "authentication_failed", Message: "Authentication failed."}
	errTokenExpired      = &Error{Status: http.StatusUnauthorized, Code: "token_expired", Message: "Your access token has expired. Refresh it or sign in again."}
	errSessionEnded      = &Error{Status: http.StatusUnauthorized, Code: "session_ended", Message: "Your session has ended. Please sign in again."}
	errReauthRequired    = &Error{Status: http.StatusUnauthorized, Code: "reauthentication_required", Message: "For your security, please sign in again: this session was used from a new device or network."}
	errSessionRevoked    = &Error{Status: http.StatusUnauthorized, Code: "session_revoked", Message: "Your session was signed out for your security. Please sign in again."}
	errForbidden         = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "You do not have permission to do this."}
	errCSRF              = &Error{Status: http.StatusForbidden, Code: "csrf_failed", Message: "Security check failed (missing or invalid CSRF token). Reload the page and try again."}
	errInvalidEmail      = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "email", Message: "Enter a valid email address."}
	errRegistration      = &Error{Status: http.StatusConflict, Code: "registration_failed", Message: "We could not create an account with that email address. If you already have an account, sign in instead."}
	errWrongPassword     = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Field: "currentPassword", Message: "The current password is not correct."}
	errNoProvider        = &Error{Status: http.StatusNotFound, Code: "provider_not_configured", Message: "Sign-in with this provider is not available on this server."}
	errOAuthState        = &Error{Status: http.StatusBadRequest, Code: "oauth_state_invalid", Message: "This sign-in attempt has expired or was started in another browser. Please start again."}
	errOAuthDenied       = &Error{Status: http.StatusUnauthorized, Code: "oauth_denied", Message: "Sign-in was cancelled."}
	errOAuthFailed       = &Error{Status: http.StatusBadGateway, Code: "oauth_failed", Message: "The sign-in provider did not confirm your identity. Please try again."}
	errIdentityInUse     = &Error{Status: http.StatusConflict, Code: "identity_in_use", Message: "This account at the sign-in provider is already linked to another tradeexec account."}
	errUnsupportedMedia  = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Send the request body as application/json."}
	errSupportNeedsUser  = badRequest("user_id", "Support access needs the user_id of the trader whose trades you are reviewing.")
	errRateLimitTemplate = "Too many requests. Please wait %s and try again."
)

// authError maps the auth package's errors to answers; nil if err is not
// one of them.
func authError(err error) *Error {
	var pe *auth.PasswordPolicyError
	switch {
	case errors.As(err, &pe):
		return &Error{Status: http.StatusBadRequest, Code: "weak_password", Field: "password",
			Message: "Password must contain " + strings.Join(pe.Unmet, ", ") + "."}
	case errors.Is(err, auth.ErrAuthFailed):
		return errAuthFailed
	case errors.Is(err, auth.ErrUnauthenticated):
		return errUnauthorized
	case errors.Is(err, auth.ErrTokenExpired):
		return errTokenExpired
	case errors.Is(err, auth.ErrSessionEnded):
		return errSessionEnded
	case errors.Is(err, auth.ErrFreshSignInRequired):
		return &Error{Status: http.StatusForbidden, Code: "fresh_sign_in_required",
			Message: "To set a password, sign in with Discord again first (within the last 10 minutes), then set it."}
	case errors.Is(err, auth.ErrReauthRequired):
		return errReauthRequired
	case errors.Is(err, auth.ErrRefreshReused):
		return errSessionRevoked
	case errors.Is(err, auth.ErrForbidden):
		return errForbidden
	case errors.Is(err, auth.ErrInvalidEmail):
		return errInvalidEmail
	case errors.Is(err, auth.ErrRegistrationFailed):
		return errRegistration
	case errors.Is(err, auth.ErrWrongPassword):
		return errWrongPassword
	case errors.Is(err, auth.ErrProviderNotConfigured):
		return errNoProvider
	case errors.Is(err, auth.ErrOAuthState):
		return errOAuthState
	case errors.Is(err, auth.ErrOAuthDenied):
		return errOAuthDenied
	case errors.Is(err, auth.ErrOAuthExchange):
		return errOAuthFailed
	case errors.Is(err, auth.ErrIdentityInUse):
		return errIdentityInUse
	}
	return nil
}
