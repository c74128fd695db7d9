package schwab

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRegularWindows(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []window
	}{
		{"trading day", `{"equity":{"EQ":{"date":"2025-03-05","marketType":"EQUITY","product":"EQ","isOpen":true,"sessionHours":{
			"preMarket":[{"start":"2025-03-05T07:00:00-05:00","end":"2025-03-05T09:30:00-05:00"}],
			"regularMarket":[{"start":"2025-03-05T09:30:00-05:00","end":"2025-03-05T16:00:00-05:00"}]}}}}`,
			[]window{{time.Date(2025, 3, 5, 14, 30, 0, 0, time.UTC), time.Date(2025, 3, 5, 21, 0, 0, 0, time.UTC)}}},
		{"closed date", `{"equity":{"equity":{"date":"2025-03-08","marketType":"EQUITY","product":"equity","isOpen":false}}}`, nil},
		{"no equity", `{"option":{}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]map[string]wireMarketHours
			if err := json.Unmarshal([]byte(tt.body), &m); err != nil {
				t.Fatal(err)
			}
			got := regularWindows(m)
			if len(got) != len(tt.want) {
				t.Fatalf("windows %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].open.Equal(tt.want[i].open) || !got[i].close.Equal(tt.want[i].close) {
					t.Fatalf("window %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestClockFromWindows(t *testing.T) {
	day := func(d, h, m int) time.Time { return time.Date(2025, 3, d, h, m, 0, 0, time.UTC) }
	wed := window{day(5, 14, 30), day(5, 21, 0)}
	thu := window{day(6, 14, 30), day(6, 21, 0)}
	tests := []struct {
		name     string
		ws       []window
		now      time.Time
		open     bool
		complete bool
		nextOpen time.Time
		close    time.Time
	}{
		{"open, next day known", []window{thu, wed}, day(5, 15, 0), true, true, thu.open, wed.close},
		{"open, next day not fetched yet", []window{wed}, day(5, 15, 0), true, false, time.Time{}, wed.close},
		{"before the open", []window{wed}, day(5, 13, 0), false, true, wed.open, wed.close},
		{"after the close", []window{wed, thu}, day(5, 22, 0), false, true, thu.open, thu.close},
		{"nothing yet", nil, day(8, 12, 0), false, false, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, complete := clockFromWindows(tt.ws, tt.now)
			if c.IsOpen != tt.open || complete != tt.complete || !c.NextOpen.Equal(tt.nextOpen) || !c.NextClose.Equal(tt.close) {
				t.Fatalf("clock %+v complete %v", c, complete)
			}
		})
	}
}
