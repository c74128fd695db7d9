// Package auth is accounts and sessions: email/password and OAuth sign-in
// (Discord first, through a Provider abstraction on golang.org/x/oauth2 with
// PKCE), JWT access tokens, rotating refresh tokens, session binding, CSRF
// tokens and login-failure tracking. The HTTP surface lives in package api;
// this package holds the rules and the state.
//
// # Tokens
//
//   - Access token: a JWT (HS256, golang-jwt/v5) valid for one hour, with a
//     "kid" header naming its signing key and claims sub (user id), sid
//     (session id), role, iat, nbf, exp, jti, iss and aud. Verify checks the
//     signature, the lifetime and that the session is still alive, so logout
//     and revocation take effect on the next request; the role is read from
//     the database, so a demotion does too.
//   - Refresh token: 256 random bits, opaque, valid 30 days, stored as
//     SHA-256 hex. A session is a refresh-token family: every refresh
//     rotates the token; presenting a rotated token again revokes the whole
//     family and records SESSION_HIJACK_DETECTED.
//
// Signing keys are random 256-bit HMAC keys stored in signing_keys, sealed
// with AES-256-GCM under a key derived by HKDF-SHA256 from JWT_SECRET and
// bound to their kid. Every replica reads the same keys; a key signs for
// KeyRotation (30 days) and verifies until its last token has expired.
// JWT_SECRET never signs anything itself, and a copy of the database alone
// cannot forge a token. (The vault keyring was not used: it is made for
// per-user credential rows and retires key versions yearly, while signing
// keys are system-wide and short-lived.)
//
// # Session binding
//
// A browser session remembers the network (IPv4 /24, IPv6 /48) and the user
// agent it signed in from. A request or refresh from another network or
// user agent ends the session (re-authentication required), is recorded as
// SESSION_HIJACK_DETECTED and the user is told "New login detected from …"
// (a security.notice event on their real-time feed). Verify applies the
// binding when the caller put the request's Client into the context
// (WithClient).
package auth
