package risk

import "errors"

// Rejection codes. They are stable identifiers for API responses, audit
// entries and Temporal application-error types.
const (
	CodeInsufficientBuyingPower = "INSUFFICIENT_BUYING_POWER"
	CodePositionLimit           = "POSITION_LIMIT"
	CodeDailyLossLimit          = "DAILY_LOSS_LIMIT"
	CodeCircuitBreaker          = "CIRCUIT_BREAKER"
	CodeAccountLocked           = "ACCOUNT_LOCKED"
	// CodeConflictingSignal: a signal for the other side of the same
	// symbol arrived less than ConcurrentWindow earlier (SPEC edge case 6).
	CodeConflictingSignal = "CONFLICTING_SIGNAL"
	// CodeInvalidOrder: the order cannot be sized (no price, quantity not
	// positive or rounding to zero, percent out of range, no position).
	CodeInvalidOrder = "INVALID_ORDER"
)

// Rejection is a risk rule refusing an order. Message is safe to show to the
// trader as is; Error returns it unchanged.
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (r *Rejection) Error() string { return r.Message }

// Is makes errors.Is(err, &Rejection{Code: CodePositionLimit}) match any
// rejection with that code.
func (r *Rejection) Is(target error) bool {
	t, ok := target.(*Rejection)
	return ok && t.Code != "" && t.Code == r.Code
}

func reject(code, message string) *Rejection {
	return &Rejection{Code: code, Message: message}
}

// CodeOf returns the rejection code of err, or "" when err is not a *Rejection.
func CodeOf(err error) string {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

// AccountLocked is the rejection for an order on an account locked by the
// circuit breaker (until an admin unlocks it).
func AccountLocked() *Rejection {
	return reject(CodeAccountLocked, msgAccountLocked())
}
