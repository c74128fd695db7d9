package churn

import (
	"math"
	"testing"
)

// US-005 #2: the alert names the trader and the top reason in words, with
// the days and counts recovered from the model's log1p feature values.
func TestAlertText(t *testing.T) {
	for _, tc := range []struct {
		reasons []Reason
		want    string
	}{
		{[]Reason{{Feature: FDaysInactive, Value: math.Log1p(14)}, {Feature: FTrades30}}, "User 12345 at risk (85%): Last login or trade 14 days ago"},
		{[]Reason{{Feature: FDaysInactive, Value: math.Log1p(1)}}, "User 12345 at risk (85%): Last login or trade 1 day ago"},
		{[]Reason{{Feature: FSessions30, Value: math.Log1p(2)}}, "User 12345 at risk (85%): 2 logins in the last 30 days"},
		{[]Reason{{Feature: FTradeTrend, Value: -0.7}}, "User 12345 at risk (85%): Fewer trades than the month before"},
		{[]Reason{{Feature: FFailedPayments, Value: 2}}, "User 12345 at risk (85%): 2 failed payments in 90 days"},
		{[]Reason{{Feature: FCancelSched, Value: 1}}, "User 12345 at risk (85%): Cancellation scheduled"},
		{nil, "User 12345 at risk (85%)"},
	} {
		if got := AlertText("12345", 0.85, tc.reasons); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
