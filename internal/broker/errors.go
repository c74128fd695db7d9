package broker

import (
	"errors"
	"fmt"
	"time"
)

// Kind is a standard broker error kind (FR-018). Adapters map every broker
// error to one of these; the workflow decides retryability from the kind.
type Kind string

const (
	KindInsufficientFunds Kind = "INSUFFICIENT_FUNDS"
	KindInvalidSymbol     Kind = "INVALID_SYMBOL"
	KindMarketClosed      Kind = "MARKET_CLOSED"
	KindRateLimited       Kind = "RATE_LIMIT_EXCEEDED"
	KindAuthFailed        Kind = "AUTH_FAILED"
	KindUnavailable       Kind = "UNAVAILABLE" // 5xx, timeouts, dropped connections: retryable
	KindRejected          Kind = "ORDER_REJECTED"
	KindNotFound          Kind = "NOT_FOUND"
	KindInvalidOrder      Kind = "INVALID_ORDER" // precision, min notional, bad parameters
	// KindHalted: trading in the symbol is halted (exchange halt or LULD
	// pause). Not retried as such: the trade waits in market_halted and is
	// submitted again when trading resumes.
	KindHalted Kind = "MARKET_HALTED"
)

// Retryable reports whether an operation that failed with this kind may
// succeed if tried again unchanged.
func (k Kind) Retryable() bool {
	return k == KindUnavailable || k == KindRateLimited
}

// Error is the typed error every adapter returns. Message is safe to show to
// the trader (never contains credentials or raw bodies with secrets).
type Error struct {
	Kind       Kind
	Broker     string
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s %s: %s", e.Broker, e.Kind, e.Message)
	}
	return fmt.Sprintf("%s %s", e.Broker, e.Kind)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, broker.ErrInsufficientFunds) work for any *Error
// of that kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && (t.Broker == "" || t.Broker == e.Broker)
}

// Sentinels for errors.Is.
var (
	ErrInsufficientFunds = &Error{Kind: KindInsufficientFunds}
	ErrInvalidSymbol     = &Error{Kind: KindInvalidSymbol}
	ErrMarketClosed      = &Error{Kind: KindMarketClosed}
	ErrRateLimited       = &Error{Kind: KindRateLimited}
	ErrAuthFailed        = &Error{Kind: KindAuthFailed}
	ErrUnavailable       = &Error{Kind: KindUnavailable}
	ErrRejected          = &Error{Kind: KindRejected}
	ErrNotFound          = &Error{Kind: KindNotFound}
	ErrInvalidOrder      = &Error{Kind: KindInvalidOrder}
)

// KindOf returns the kind of err, or KindUnavailable for an error that is not
// a *Error (unknown failures are treated as transient).
func KindOf(err error) Kind {
	var be *Error
	if errors.As(err, &be) {
		return be.Kind
	}
	return KindUnavailable
}

// NewError builds a typed error.
func NewError(brokerName string, kind Kind, msg string, cause error) *Error {
	return &Error{Kind: kind, Broker: brokerName, Message: msg, Err: cause}
}
