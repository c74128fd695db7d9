// Package security is the OWASP test suite: it starts the real system
// (internal/apptest: app.Start with the Temporal dev server, a database, the
// worker and the API on a loopback port) and attacks it over HTTP — broken
// access control and IDOR on every /api/v1 route, missing, expired, forged
// and alg:none tokens, session theft, CSRF, injection in every field,
// oversized bodies, rate limits, security headers and error bodies. The
// tests are in the _test files; docs/security.md maps them to the OWASP
// Top 10.
package security
