package store

import (
	"errors"
	"fmt"
)

// ErrUnsupportedURL is returned by Open for a database URL whose scheme is
// neither SQLite nor PostgreSQL, or that is malformed.
var ErrUnsupportedURL = errors.New("unsupported database URL")

// ErrUnavailable is returned by Open and Ping when the database cannot be
// reached or initialised.
var ErrUnavailable = errors.New("database unavailable")

// ErrBusy is returned by InTx when a SQLite write transaction could not get
// the write lock within the busy timeout.
var ErrBusy = errors.New("database busy")

// OpenError describes a failure of Open. Its message names the problem and
// the redacted URL; it never contains a password.
type OpenError struct {
	URL    string // redacted
	Reason string // already scrubbed of secrets
	Kind   error  // ErrUnsupportedURL or ErrUnavailable
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("open database %s: %s", e.URL, e.Reason)
}

// Unwrap lets errors.Is(err, store.ErrUnavailable) work.
func (e *OpenError) Unwrap() error { return e.Kind }

func openErr(kind error, databaseURL, reason string) error {
	return &OpenError{URL: RedactURL(databaseURL), Reason: scrub(reason, databaseURL), Kind: kind}
}
