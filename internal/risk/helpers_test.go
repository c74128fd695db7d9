package risk

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// assertRejection checks err is a *Rejection with the code and exact message.
func assertRejection(t *testing.T, err error, code, message string) {
	t.Helper()
	var r *Rejection
	if !errors.As(err, &r) {
		t.Fatalf("error = %v (%T), want *Rejection %s", err, err, code)
	}
	if r.Code != code || r.Message != message {
		t.Errorf("rejection = %s %q\n           want %s %q", r.Code, r.Message, code, message)
	}
}
