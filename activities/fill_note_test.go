package activities

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

func TestRemainderNote(t *testing.T) {
	q := decimal.RequireFromString
	for _, tc := range []struct {
		name         string
		status       broker.OrderStatus
		filled, size string
		want         string
	}{
		{"cancelled after a partial fill", broker.StatusCancelled, "2", "10", "Filled 2 of 10; the remaining 8 cancelled."},
		{"expired after a partial fill", broker.StatusExpired, "0.5", "1.25", "Filled 0.5 of 1.25; the remaining 0.75 expired."},
		{"filled completely", broker.StatusFilled, "10", "10", ""},
		{"cancelled with nothing filled", broker.StatusCancelled, "0", "10", ""},
		{"rejected", broker.StatusRejected, "0", "10", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := broker.Order{Status: tc.status, FilledQuantity: q(tc.filled), Quantity: q(tc.size)}
			if got := remainderNote(o); got != tc.want {
				t.Fatalf("remainderNote = %q, want %q", got, tc.want)
			}
		})
	}
}
