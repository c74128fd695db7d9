package market

import (
	"time"
	_ "time/tzdata" // America/New_York must resolve on images without a zoneinfo database
)

// newYork is the exchange time zone. It is loaded once and never changed.
var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Unreachable: time/tzdata is embedded above.
		panic("market: load time zone " + name + ": " + err.Error())
	}
	return loc
}

// civilDate is a calendar day without a time or location.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// at returns hour:minute on this day in New York, in UTC.
func (c civilDate) at(hour, minute int) time.Time {
	return time.Date(c.year, c.month, c.day, hour, minute, 0, 0, newYork).UTC()
}

func (c civilDate) weekday() time.Weekday {
	return time.Date(c.year, c.month, c.day, 12, 0, 0, 0, time.UTC).Weekday()
}

func (c civilDate) addDays(n int) civilDate {
	return dateOf(time.Date(c.year, c.month, c.day+n, 12, 0, 0, 0, time.UTC))
}

// daysUntil is the number of calendar days from c to o (negative when o is earlier).
func (c civilDate) daysUntil(o civilDate) int {
	a := time.Date(c.year, c.month, c.day, 12, 0, 0, 0, time.UTC)
	b := time.Date(o.year, o.month, o.day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}
