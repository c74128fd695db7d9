package market

import (
	"sort"
	"testing"
	"time"
)

func d(y int, m time.Month, day int) civilDate { return civilDate{y, m, day} }

// Published NYSE calendars (NYSE Group releases of 2023-11, 2024-11 and
// 2025-12; 2025-01-09 added by the NYSE in Dec 2024).
var publishedClosures = map[int][]civilDate{
	2024: {d(2024, 1, 1), d(2024, 1, 15), d(2024, 2, 19), d(2024, 3, 29), d(2024, 5, 27), d(2024, 6, 19),
		d(2024, 7, 4), d(2024, 9, 2), d(2024, 11, 28), d(2024, 12, 25)},
	2025: {d(2025, 1, 1), d(2025, 1, 9), d(2025, 1, 20), d(2025, 2, 17), d(2025, 4, 18), d(2025, 5, 26),
		d(2025, 6, 19), d(2025, 7, 4), d(2025, 9, 1), d(2025, 11, 27), d(2025, 12, 25)},
	2026: {d(2026, 1, 1), d(2026, 1, 19), d(2026, 2, 16), d(2026, 4, 3), d(2026, 5, 25), d(2026, 6, 19),
		d(2026, 7, 3), d(2026, 9, 7), d(2026, 11, 26), d(2026, 12, 25)},
	2027: {d(2027, 1, 1), d(2027, 1, 18), d(2027, 2, 15), d(2027, 3, 26), d(2027, 5, 31), d(2027, 6, 18),
		d(2027, 7, 5), d(2027, 9, 6), d(2027, 11, 25), d(2027, 12, 24)},
	// New Year's Day 2028 falls on a Saturday and is not observed.
	2028: {d(2028, 1, 17), d(2028, 2, 21), d(2028, 4, 14), d(2028, 5, 29), d(2028, 6, 19),
		d(2028, 7, 4), d(2028, 9, 4), d(2028, 11, 23), d(2028, 12, 25)},
}

var publishedEarlyCloses = map[int][]civilDate{
	2024: {d(2024, 7, 3), d(2024, 11, 29), d(2024, 12, 24)},
	2025: {d(2025, 7, 3), d(2025, 11, 28), d(2025, 12, 24)},
	2026: {d(2026, 11, 27), d(2026, 12, 24)},
	2027: {d(2027, 11, 26)},
	2028: {d(2028, 7, 3), d(2028, 11, 24)},
}

// TestCalendarMatchesPublishedNYSE walks every weekday of 2024-2028 and
// compares closures and early closes with the exchange's own lists, so a
// missing rule and a spurious one both fail.
func TestCalendarMatchesPublishedNYSE(t *testing.T) {
	for year := 2024; year <= 2028; year++ {
		var closed, early []civilDate
		for day := d(year, 1, 1); day.year == year; day = day.addDays(1) {
			if wd := day.weekday(); wd == time.Saturday || wd == time.Sunday {
				if !isClosed(day) {
					t.Errorf("%v is a weekend day but reported open", day)
				}
				continue
			}
			if isClosed(day) {
				closed = append(closed, day)
			} else if isEarlyClose(day) {
				early = append(early, day)
			}
		}
		assertDates(t, year, "closures", closed, publishedClosures[year])
		assertDates(t, year, "early closes", early, publishedEarlyCloses[year])
	}
}

func assertDates(t *testing.T, year int, what string, got, want []civilDate) {
	t.Helper()
	sort.Slice(want, func(i, j int) bool { return want[i].daysUntil(want[j]) > 0 })
	if len(got) != len(want) {
		t.Errorf("%d %s: got %v, want %v", year, what, got, want)
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%d %s: got %v, want %v", year, what, got, want)
			return
		}
	}
}

func TestCalendarRules(t *testing.T) {
	tests := []struct {
		name   string
		day    civilDate
		closed bool
		early  bool
	}{
		{"Sat Jan 1 2022 not moved to Fri Dec 31 2021", d(2021, 12, 31), false, false},
		{"Sat Jan 1 2028 not moved to Fri Dec 31 2027", d(2027, 12, 31), false, false},
		{"Sun Jan 1 2023 observed Mon Jan 2", d(2023, 1, 2), true, false},
		{"Juneteenth 2021 predates the NYSE holiday", d(2021, 6, 18), false, false},
		{"Sun Juneteenth 2022 observed Mon Jun 20", d(2022, 6, 20), true, false},
		{"Sat Juneteenth 2027 observed Fri Jun 18", d(2027, 6, 18), true, false},
		{"Sat July 4 2026 observed Fri July 3", d(2026, 7, 3), true, false},
		{"no early close on Thu July 2 2026", d(2026, 7, 2), false, false},
		{"Sun July 4 2027 observed Mon July 5", d(2027, 7, 5), true, false},
		{"no early close on Fri July 2 2027", d(2027, 7, 2), false, false},
		{"Mon July 3 2023 early close", d(2023, 7, 3), false, true},
		{"Sat Christmas 2027 observed Fri Dec 24", d(2027, 12, 24), true, false},
		{"no early close on Thu Dec 23 2027", d(2027, 12, 23), false, false},
		{"Sun Christmas 2022 observed Mon Dec 26", d(2022, 12, 26), true, false},
		{"no early close on Fri Dec 23 2022", d(2022, 12, 23), false, false},
		{"Mon Christmas Eve 2018 early close", d(2018, 12, 24), false, true},
		{"Good Friday 2024", d(2024, 3, 29), true, false},
		{"Thursday before Good Friday 2024", d(2024, 3, 28), false, false},
		{"Hurricane Sandy", d(2012, 10, 30), true, false},
		{"Bush day of mourning", d(2018, 12, 5), true, false},
		{"Carter day of mourning", d(2025, 1, 9), true, false},
		{"Columbus Day is a trading day", d(2024, 10, 14), false, false},
		{"Veterans Day is a trading day", d(2024, 11, 11), false, false},
		{"ordinary Wednesday", d(2025, 3, 12), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isClosed(tt.day); got != tt.closed {
				t.Errorf("isClosed(%v) = %v, want %v", tt.day, got, tt.closed)
			}
			if !tt.closed {
				if got := isEarlyClose(tt.day); got != tt.early {
					t.Errorf("isEarlyClose(%v) = %v, want %v", tt.day, got, tt.early)
				}
			}
		})
	}
}
