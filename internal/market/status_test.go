package market

import (
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func et(y int, m time.Month, day, hour, minute, sec int) time.Time {
	return time.Date(y, m, day, hour, minute, sec, 0, newYork)
}

func TestStatusAtStocks(t *testing.T) {
	tests := []struct {
		name      string
		now       time.Time
		extended  bool
		wantOpen  bool
		nextOpen  string // empty: now
		nextClose string
	}{
		{"SPEC US-001: Saturday 8pm → Monday 9:30am", et(2024, 6, 8, 20, 0, 0), false, false,
			"2024-06-10T13:30:00Z", "2024-06-10T20:00:00Z"},
		{"Saturday 8pm on spring-forward weekend → Monday 9:30am EDT", et(2025, 3, 8, 20, 0, 0), false, false,
			"2025-03-10T13:30:00Z", "2025-03-10T20:00:00Z"},
		{"Friday after close on fall-back weekend → Monday 9:30am EST", et(2024, 11, 1, 17, 0, 0), false, false,
			"2024-11-04T14:30:00Z", "2024-11-04T21:00:00Z"},
		{"Friday 16:00:00 exactly is closed", et(2024, 6, 7, 16, 0, 0), false, false,
			"2024-06-10T13:30:00Z", "2024-06-10T20:00:00Z"},
		{"Friday 15:59:59 is open", et(2024, 6, 7, 15, 59, 59), false, true,
			"", "2024-06-07T20:00:00Z"},
		{"9:30:00 exactly is open", et(2024, 6, 7, 9, 30, 0), false, true,
			"", "2024-06-07T20:00:00Z"},
		{"9:29:59 waits for 9:30 the same day", et(2024, 6, 7, 9, 29, 59), false, false,
			"2024-06-07T13:30:00Z", "2024-06-07T20:00:00Z"},
		{"Thanksgiving Wednesday night → Friday 9:30am early-close day", et(2024, 11, 27, 21, 0, 0), false, false,
			"2024-11-29T14:30:00Z", "2024-11-29T18:00:00Z"},
		{"day after Thanksgiving 1:00pm is closed → Monday", et(2024, 11, 29, 13, 0, 0), false, false,
			"2024-12-02T14:30:00Z", "2024-12-02T21:00:00Z"},
		{"Good Friday → Monday", et(2025, 4, 18, 10, 0, 0), false, false,
			"2025-04-21T13:30:00Z", "2025-04-21T20:00:00Z"},
		{"Thursday before Good Friday after close → Monday", et(2026, 4, 2, 16, 30, 0), false, false,
			"2026-04-06T13:30:00Z", "2026-04-06T20:00:00Z"},
		{"Fri Dec 31 2027 is open (Saturday New Year not observed)", et(2027, 12, 31, 10, 0, 0), false, true,
			"", "2027-12-31T21:00:00Z"},
		{"Fri Dec 31 2027 evening → Mon Jan 3 2028", et(2027, 12, 31, 20, 0, 0), false, false,
			"2028-01-03T14:30:00Z", "2028-01-03T21:00:00Z"},
		{"Christmas Eve 2027 (observed Christmas) → Monday Dec 27", et(2027, 12, 23, 16, 0, 0), false, false,
			"2027-12-27T14:30:00Z", "2027-12-27T21:00:00Z"},
		{"Carter day of mourning skipped", et(2025, 1, 8, 17, 0, 0), false, false,
			"2025-01-10T14:30:00Z", "2025-01-10T21:00:00Z"},
		{"Independence Day 2026 observed Friday → Monday July 6", et(2026, 7, 2, 16, 0, 0), false, false,
			"2026-07-06T13:30:00Z", "2026-07-06T20:00:00Z"},
		{"MLK weekend → Tuesday", et(2025, 1, 18, 12, 0, 0), false, false,
			"2025-01-21T14:30:00Z", "2025-01-21T21:00:00Z"},
		{"extended: 3am waits for 4am", et(2024, 6, 11, 3, 0, 0), true, false,
			"2024-06-11T08:00:00Z", "2024-06-12T00:00:00Z"},
		{"extended: pre-market 4:00am open", et(2024, 6, 11, 4, 0, 0), true, true,
			"", "2024-06-12T00:00:00Z"},
		{"extended: after-hours 19:59 open", et(2024, 6, 11, 19, 59, 0), true, true,
			"", "2024-06-12T00:00:00Z"},
		{"extended: 20:00 closed → next day 4am", et(2024, 6, 11, 20, 0, 0), true, false,
			"2024-06-12T08:00:00Z", "2024-06-13T00:00:00Z"},
		{"extended: early-close day 16:59 open", et(2024, 12, 24, 16, 59, 0), true, true,
			"", "2024-12-24T22:00:00Z"},
		{"extended: early-close day 17:00 closed → Dec 26 4am", et(2024, 12, 24, 17, 0, 0), true, false,
			"2024-12-26T09:00:00Z", "2024-12-27T01:00:00Z"},
		{"extended: Saturday 8pm → Monday 4am", et(2024, 6, 8, 20, 0, 0), true, false,
			"2024-06-10T08:00:00Z", "2024-06-11T00:00:00Z"},
		{"now given in another zone", time.Date(2024, 6, 9, 9, 0, 0, 0, time.FixedZone("JST", 9*3600)), false, false,
			"2024-06-10T13:30:00Z", "2024-06-10T20:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StatusAt(tt.now, signal.AssetStock, tt.extended)
			wantNext := tt.now.UTC()
			if tt.nextOpen != "" {
				wantNext = utc(tt.nextOpen)
			}
			if got.Open != tt.wantOpen || !got.NextOpen.Equal(wantNext) || !got.NextClose.Equal(utc(tt.nextClose)) {
				t.Errorf("StatusAt(%v) = %+v, want open=%v next=%v close=%s", tt.now, got, tt.wantOpen, wantNext, tt.nextClose)
			}
			if got.NextOpen.Location() != time.UTC || got.NextClose.Location() != time.UTC {
				t.Errorf("times not in UTC: %+v", got)
			}
			if n := NextOpen(tt.now, signal.AssetStock, tt.extended); !n.Equal(got.NextOpen) {
				t.Errorf("NextOpen = %v, StatusAt.NextOpen = %v", n, got.NextOpen)
			}
		})
	}
}

func TestStatusAtCrypto(t *testing.T) {
	for _, now := range []time.Time{
		et(2024, 6, 8, 20, 0, 0),   // Saturday night
		et(2024, 12, 25, 12, 0, 0), // Christmas
		et(2025, 3, 9, 2, 30, 0),   // inside the spring-forward gap
	} {
		for _, ext := range []bool{false, true} {
			got := StatusAt(now, signal.AssetCrypto, ext)
			if !got.Open || !got.NextOpen.Equal(now) || !got.NextClose.IsZero() || got.NextOpen.Location() != time.UTC {
				t.Errorf("crypto at %v (extended=%v) = %+v, want always open", now, ext, got)
			}
		}
	}
}

// Every moment of a year: when closed, NextOpen is the first instant at which
// the market is open, and nothing in between is open.
func TestStatusAtNextOpenIsOpen(t *testing.T) {
	for _, ext := range []bool{false, true} {
		start := et(2025, 1, 1, 0, 0, 0)
		for now := start; now.Before(start.AddDate(1, 0, 0)); now = now.Add(97 * time.Minute) {
			s := StatusAt(now, signal.AssetStock, ext)
			if s.Open {
				continue
			}
			if !s.NextOpen.After(now) {
				t.Fatalf("closed at %v but NextOpen %v is not later", now, s.NextOpen)
			}
			if at := StatusAt(s.NextOpen, signal.AssetStock, ext); !at.Open || !at.NextClose.Equal(s.NextClose) {
				t.Fatalf("NextOpen %v (from %v) is not open: %+v", s.NextOpen, now, at)
			}
			if before := StatusAt(s.NextOpen.Add(-time.Second), signal.AssetStock, ext); before.Open {
				t.Fatalf("market already open one second before NextOpen %v", s.NextOpen)
			}
		}
	}
}
