package market

import (
	"fmt"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestQueuedMessage(t *testing.T) {
	tests := []struct {
		name     string
		nextOpen time.Time
		now      time.Time
		want     string
	}{
		{"SPEC US-001: Saturday 8pm", utc("2024-06-10T13:30:00Z"), et(2024, 6, 8, 20, 0, 0),
			"Order queued for Monday 9:30am ET"},
		{"Sunday 11:30pm ET is already Monday in UTC", utc("2024-06-10T13:30:00Z"), et(2024, 6, 9, 23, 30, 0),
			"Order queued for Monday 9:30am ET"},
		{"same day", utc("2024-06-11T13:30:00Z"), et(2024, 6, 11, 3, 0, 0),
			"Order queued for today 9:30am ET"},
		{"pre-market open", utc("2024-06-11T08:00:00Z"), et(2024, 6, 10, 21, 0, 0),
			"Order queued for Tuesday 4:00am ET"},
		{"Thanksgiving", utc("2024-11-29T14:30:00Z"), et(2024, 11, 27, 21, 0, 0),
			"Order queued for Friday 9:30am ET"},
		{"noon is pm", et(2024, 6, 11, 12, 0, 0), et(2024, 6, 10, 21, 0, 0),
			"Order queued for Tuesday 12:00pm ET"},
		{"six days ahead uses the weekday", et(2024, 6, 17, 9, 30, 0), et(2024, 6, 11, 9, 0, 0),
			"Order queued for Monday 9:30am ET"},
		{"seven days ahead uses the date", et(2024, 6, 18, 9, 30, 0), et(2024, 6, 11, 9, 0, 0),
			"Order queued for Tue Jun 18 9:30am ET"},
		{"date format", et(2024, 1, 2, 9, 30, 0), et(2023, 12, 20, 12, 0, 0),
			"Order queued for Tue Jan 2 9:30am ET"},
		{"in the past uses the date", et(2024, 6, 10, 9, 30, 0), et(2024, 6, 11, 9, 0, 0),
			"Order queued for Mon Jun 10 9:30am ET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := QueuedMessage(tt.nextOpen, tt.now); got != tt.want {
				t.Errorf("QueuedMessage = %q, want %q", got, tt.want)
			}
		})
	}
}

func ExampleQueuedMessage() {
	now := time.Date(2024, 6, 9, 0, 0, 0, 0, time.UTC) // Saturday 8pm ET
	next := NextOpen(now, signal.AssetStock, false)
	fmt.Println(QueuedMessage(next, now))
	// Output: Order queued for Monday 9:30am ET
}
