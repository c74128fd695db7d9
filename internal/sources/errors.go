package sources

import "errors"

// Error is a refusal worded for the trader (dashboard or Discord reply).
// Field names the offending input, empty when the request as a whole is
// refused.
type Error struct {
	Code    string // invalid | not_found | conflict | forbidden
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeInvalid   = "invalid"
	CodeNotFound  = "not_found"
	CodeConflict  = "conflict"
	CodeForbidden = "forbidden"
)

func invalid(field, msg string) *Error { return &Error{Code: CodeInvalid, Field: field, Message: msg} }

// ErrSourceNotFound is returned for an unknown source, or one the caller
// may not see.
var ErrSourceNotFound = &Error{Code: CodeNotFound, Message: "This channel is not a registered signal source."}

// ErrNotFollowing is returned by Unfollow when there is nothing to undo.
var ErrNotFollowing = &Error{Code: CodeNotFound, Message: "You are not following this signal source."}

// AsError returns err as *Error when it is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}
