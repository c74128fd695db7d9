package market

import (
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestNYSESessionOn(t *testing.T) {
	tests := []struct {
		name      string
		date      time.Time
		extended  bool
		wantOK    bool
		wantOpen  string
		wantClose string
	}{
		{"winter day (EST)", time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), false, true,
			"2024-01-10T14:30:00Z", "2024-01-10T21:00:00Z"},
		{"summer day (EDT)", time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC), false, true,
			"2024-06-10T13:30:00Z", "2024-06-10T20:00:00Z"},
		{"Monday after spring-forward", time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC), false, true,
			"2025-03-10T13:30:00Z", "2025-03-10T20:00:00Z"},
		{"Friday before spring-forward", time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC), false, true,
			"2025-03-07T14:30:00Z", "2025-03-07T21:00:00Z"},
		{"Monday after fall-back", time.Date(2024, 11, 4, 0, 0, 0, 0, time.UTC), false, true,
			"2024-11-04T14:30:00Z", "2024-11-04T21:00:00Z"},
		{"day after Thanksgiving closes 1pm", time.Date(2024, 11, 29, 0, 0, 0, 0, time.UTC), false, true,
			"2024-11-29T14:30:00Z", "2024-11-29T18:00:00Z"},
		{"July 3 closes 1pm EDT", time.Date(2025, 7, 3, 0, 0, 0, 0, time.UTC), false, true,
			"2025-07-03T13:30:00Z", "2025-07-03T17:00:00Z"},
		{"Christmas Eve closes 1pm", time.Date(2025, 12, 24, 0, 0, 0, 0, time.UTC), false, true,
			"2025-12-24T14:30:00Z", "2025-12-24T18:00:00Z"},
		{"extended hours 4am-8pm", time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC), true, true,
			"2024-06-10T08:00:00Z", "2024-06-11T00:00:00Z"},
		{"extended hours end 5pm on early-close days", time.Date(2024, 12, 24, 0, 0, 0, 0, time.UTC), true, true,
			"2024-12-24T09:00:00Z", "2024-12-24T22:00:00Z"},
		{"day given in New York time", time.Date(2025, 7, 3, 23, 0, 0, 0, newYork), false, true,
			"2025-07-03T13:30:00Z", "2025-07-03T17:00:00Z"},
		{"Independence Day closed", time.Date(2025, 7, 4, 0, 0, 0, 0, time.UTC), false, false, "", ""},
		{"Saturday closed", time.Date(2025, 7, 5, 0, 0, 0, 0, time.UTC), false, false, "", ""},
		{"holiday closed in extended hours too", time.Date(2025, 7, 4, 0, 0, 0, 0, time.UTC), true, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Session
			var ok bool
			if tt.extended {
				s, ok = NYSEExtendedSessionOn(tt.date)
			} else {
				s, ok = NYSESessionOn(tt.date)
			}
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				if s != (Session{}) {
					t.Errorf("closed day returned session %+v", s)
				}
				return
			}
			if !s.Open.Equal(utc(tt.wantOpen)) || !s.Close.Equal(utc(tt.wantClose)) {
				t.Errorf("session = %v - %v, want %s - %s", s.Open, s.Close, tt.wantOpen, tt.wantClose)
			}
			if s.Open.Location() != time.UTC || s.Close.Location() != time.UTC {
				t.Errorf("session times not in UTC: %v %v", s.Open.Location(), s.Close.Location())
			}
		})
	}
}

func TestSessionContains(t *testing.T) {
	s, _ := NYSESessionOn(time.Date(2024, 6, 10, 0, 0, 0, 0, time.UTC))
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{s.Open.Add(-time.Nanosecond), false},
		{s.Open, true},
		{s.Close.Add(-time.Nanosecond), true},
		{s.Close, false},
	} {
		if got := s.Contains(tt.at); got != tt.want {
			t.Errorf("Contains(%v) = %v, want %v", tt.at, got, tt.want)
		}
	}
}
