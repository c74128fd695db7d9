package auth

import (
	"errors"
	"strings"
)

// Errors returned by the package. They carry no secrets; package api turns
// them into the words a user sees (api/auth_errors.go).
var (
	// ErrAuthFailed: wrong email or password, or no such account — the two
	// are deliberately indistinguishable.
	ErrAuthFailed = errors.New("auth: authentication failed")
	// ErrUnauthenticated: no token, or a malformed, forged or unknown one.
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrTokenExpired: the access token's lifetime is over; refresh it.
	ErrTokenExpired = errors.New("auth: access token expired")
	// ErrSessionEnded: the session was logged out, revoked or has expired.
	ErrSessionEnded = errors.New("auth: session ended")
	// ErrReauthRequired: the session was used from another network or user
	// agent and has been ended; sign in again.
	ErrReauthRequired = errors.New("auth: session used from a new network or device")
	// ErrFreshSignInRequired: setting a first password on an account that
	// has none (Discord-only) needs a Discord sign-in of the last
	// FreshSignIn, so a stolen session cannot add a password and keep the
	// account.
	ErrFreshSignInRequired = errors.New("auth: a fresh sign-in is required")
	// ErrRefreshReused: a rotated refresh token was presented again; the
	// whole session family has been revoked.
	ErrRefreshReused = errors.New("auth: refresh token reuse detected")
	// ErrForbidden: authenticated, but the role may not do this.
	ErrForbidden = errors.New("auth: forbidden for this role")
	// ErrInvalidEmail: the email address is not a valid address.
	ErrInvalidEmail = errors.New("auth: invalid email address")
	// ErrRegistrationFailed: an account with that email cannot be created
	// (typically: it exists already).
	ErrRegistrationFailed = errors.New("auth: registration failed")
	// ErrWrongPassword: the current password given to ChangePassword does
	// not match.
	ErrWrongPassword = errors.New("auth: current password does not match")
	// ErrProviderNotConfigured: no OAuth provider of that name is set up.
	ErrProviderNotConfigured = errors.New("auth: sign-in provider not configured")
	// ErrOAuthState: the OAuth callback's state is missing, expired or does
	// not belong to this browser.
	ErrOAuthState = errors.New("auth: invalid or expired sign-in attempt")
	// ErrOAuthDenied: the user declined consent at the provider.
	ErrOAuthDenied = errors.New("auth: sign-in cancelled at the provider")
	// ErrOAuthExchange: the provider refused the code or the profile call.
	ErrOAuthExchange = errors.New("auth: sign-in provider exchange failed")
	// ErrIdentityInUse: the provider account is linked to another user.
	ErrIdentityInUse = errors.New("auth: provider account already linked to another user")
)

// PasswordPolicyError lists the rules a new password does not meet.
type PasswordPolicyError struct {
	Unmet []string // e.g. "at least 12 characters", "a digit"
}

func (e *PasswordPolicyError) Error() string {
	return "auth: password must contain " + strings.Join(e.Unmet, ", ")
}
