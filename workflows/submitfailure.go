package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
)

// SubmitFailure is the detail of a PrepareAndSubmit error raised by its
// submission: the decision the order was submitted on. Any other
// application error of PrepareAndSubmit is PrepareOrder's.
type SubmitFailure struct {
	Prepare PrepareResult `json:"prepare"`
}

// MarkSubmitFailure makes SubmitOrder's error err PrepareAndSubmit's: the
// same type, message and retry behaviour (so the local activity's retry
// policy — SubmitOrder's — applies as it would to SubmitOrder), with the
// decision as its detail. A cancellation is returned as it is.
func MarkSubmitFailure(prep PrepareResult, err error) error {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(app.Message(), app.Type(), temporal.ApplicationErrorOptions{
		NonRetryable:   app.NonRetryable(),
		NextRetryDelay: app.NextRetryDelay(),
		Cause:          app,
		Details:        []any{SubmitFailure{Prepare: prep}},
	})
}

// submitFailureOf reports whether err is PrepareAndSubmit's submission
// failing (MarkSubmitFailure), and the decision it was made on.
func submitFailureOf(err error) (PrepareResult, bool) {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.HasDetails() {
		return PrepareResult{}, false
	}
	var sf SubmitFailure
	if app.Details(&sf) != nil || sf.Prepare.Broker == "" {
		return PrepareResult{}, false
	}
	return sf.Prepare, true
}
