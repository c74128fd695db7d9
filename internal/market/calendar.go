package market

import (
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/aa"
	"github.com/rickar/cal/v2/us"
)

// NYSE holiday rules (NYSE Rule 7.2 and the published calendars 2024-2028):
//   - a holiday on a Sunday is observed the following Monday;
//   - a holiday on a Saturday is observed the preceding Friday, EXCEPT New
//     Year's Day: Friday Dec 31 ends an accounting period, so a Saturday Jan 1
//     is not observed at all (2022, 2028);
//   - Juneteenth is a market holiday from 2022.
var (
	nyseNewYear = us.NewYear.Clone(&cal.Holiday{
		Observed: []cal.AltDay{{Day: time.Sunday, Offset: 1}},
	})
	nyseJuneteenth = us.Juneteenth.Clone(&cal.Holiday{StartYear: 2022})
)

// nyseHolidays returns the recurring full-day closures. Built on each call so
// that no package-level slice can be modified by a caller.
func nyseHolidays() []*cal.Holiday {
	return []*cal.Holiday{
		nyseNewYear,
		us.MlkDay,
		us.PresidentsDay,
		aa.GoodFriday,
		us.MemorialDay,
		nyseJuneteenth,
		us.IndependenceDay, // Sat→Fri, Sun→Mon
		us.LaborDay,
		us.ThanksgivingDay,
		us.ChristmasDay, // Sat→Fri, Sun→Mon
	}
}

// specialClosures are unscheduled full-day closures announced by the NYSE
// (national days of mourning, weather). Add new ones here as they are announced.
func specialClosures() []civilDate {
	return []civilDate{
		{2012, time.October, 29}, // Hurricane Sandy
		{2012, time.October, 30}, // Hurricane Sandy
		{2018, time.December, 5}, // National Day of Mourning, President George H. W. Bush
		{2025, time.January, 9},  // National Day of Mourning, President Jimmy Carter
	}
}

// isClosed reports whether the NYSE is closed the whole day.
func isClosed(d civilDate) bool {
	if wd := d.weekday(); wd == time.Saturday || wd == time.Sunday {
		return true
	}
	for _, c := range specialClosures() {
		if c == d {
			return true
		}
	}
	for _, h := range nyseHolidays() {
		// An observance can cross a year boundary only backwards (Sat Jan 1 →
		// Fri Dec 31), so the following year's occurrence is checked as well.
		for _, year := range [2]int{d.year, d.year + 1} {
			if _, observed := h.Calc(year); !observed.IsZero() && dateOf(observed) == d {
				return true
			}
		}
	}
	return false
}

// isEarlyClose reports whether a trading day closes at 1:00pm ET (late
// trading sessions end at 5:00pm). Rules as published by the NYSE since 2013:
//   - July 3 when it is Monday-Thursday (a Friday July 3 is the observed
//     Independence Day; no early close on July 2 in that case);
//   - the day after Thanksgiving;
//   - December 24 when it is Monday-Thursday (a Friday Dec 24 is the observed
//     Christmas Day; no early close on Dec 23 in that case).
//
// The caller checks isClosed first.
func isEarlyClose(d civilDate) bool {
	wd := d.weekday()
	monToThu := wd >= time.Monday && wd <= time.Thursday
	switch {
	case d.month == time.July && d.day == 3:
		return monToThu
	case d.month == time.December && d.day == 24:
		return monToThu
	case d.month == time.November:
		_, observed := us.DayAfterThanksgivingDay.Calc(d.year)
		return dateOf(observed) == d
	}
	return false
}
