package risk

import (
	"errors"
	"fmt"
	"testing"
)

func TestRejectionMatching(t *testing.T) {
	err := fmt.Errorf("prepare order: %w", CheckBuyingPower(dec("1"), dec("2")))
	if !errors.Is(err, &Rejection{Code: CodeInsufficientBuyingPower}) {
		t.Error("errors.Is does not match the code through wrapping")
	}
	if errors.Is(err, &Rejection{Code: CodePositionLimit}) {
		t.Error("errors.Is matches a different code")
	}
	if errors.Is(err, &Rejection{}) {
		t.Error("errors.Is matches an empty code")
	}
	if got := CodeOf(err); got != CodeInsufficientBuyingPower {
		t.Errorf("CodeOf = %q", got)
	}
	if got := CodeOf(errors.New("boom")); got != "" {
		t.Errorf("CodeOf(plain error) = %q, want empty", got)
	}
	if got := CodeOf(nil); got != "" {
		t.Errorf("CodeOf(nil) = %q, want empty", got)
	}
}

func TestRejectionErrorIsTheTraderMessage(t *testing.T) {
	r := AccountLocked()
	if r.Code != CodeAccountLocked || r.Error() != r.Message || r.Message == "" {
		t.Errorf("AccountLocked() = %+v", r)
	}
}
