package ibkr

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the schedule is in exchange time; minimal containers lack zoneinfo

	"github.com/tradeexec/tradeexec/internal/broker"
)

// The market clock comes from the contract's trading schedule
// (GET /trsrv/secdef/schedule): windows per weekday, overridden by entries
// for specific dates (holidays, early closes), in the exchange's time zone
// (the answer's "timezone", America/New_York for US equities). The clock is
// the regular (liquid) session: a day's "sessions" when it lists them, else
// its "tradingtimes" (the whole day is liquid then). "tradingtimes" alone is
// the whole trading day with extended hours (04:00-20:00 for US stocks) and
// is never read as the regular session.

// scheduleSymbol is the contract whose schedule stands for US stocks.
const scheduleSymbol = "SPY"

// scheduleHorizon is how many days ahead the next open is looked for.
const scheduleHorizon = 14

var errNoSession = errors.New("ibkr: the trading schedule has no session in the next two weeks")

// window is one regular trading session.
type window struct{ open, close time.Time }

// weekdayKey is the schedule's code for "any <weekday>": 20000101 is any
// Saturday, 20000102 any Sunday, ... 20000107 any Friday.
func weekdayKey(d time.Weekday) string {
	return strconv.Itoa(20000101 + (int(d)+1)%7)
}

// hhmm parses "0930" into hours and minutes.
func hhmm(s string) (int, int, bool) {
	if len(s) != 4 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n/100 > 24 || n%100 > 59 {
		return 0, 0, false
	}
	return n / 100, n % 100, true
}

// sessionWindows expands the schedule into regular sessions for the days
// from the day before now to scheduleHorizon days after it.
func sessionWindows(days []wireScheduleDay, loc *time.Location, now time.Time) []window {
	byDate := make(map[string]wireScheduleDay, len(days))
	for _, d := range days {
		byDate[d.TradingScheduleDate] = d
	}
	local := now.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -1)
	var out []window
	for i := 0; i <= scheduleHorizon+1; i++ {
		day := start.AddDate(0, 0, i)
		entry, ok := byDate[day.Format("20060102")]
		if !ok {
			entry, ok = byDate[weekdayKey(day.Weekday())]
		}
		if !ok {
			continue
		}
		for _, tt := range regularWindows(entry) {
			oh, om, ok1 := hhmm(tt.OpeningTime)
			ch, cm, ok2 := hhmm(tt.ClosingTime)
			if !ok1 || !ok2 || (oh == ch && om == cm) {
				continue // "0000"-"0000" marks a closed day
			}
			open := time.Date(day.Year(), day.Month(), day.Day(), oh, om, 0, 0, loc)
			closeAt := time.Date(day.Year(), day.Month(), day.Day(), ch, cm, 0, 0, loc)
			if !closeAt.After(open) {
				closeAt = closeAt.AddDate(0, 0, 1) // session through midnight
			}
			out = append(out, window{open: open.UTC(), close: closeAt.UTC()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].open.Before(out[j].open) })
	return out
}

// regularWindows returns the liquid (regular-hours) windows of a schedule
// day: its sessions marked LIQUID (or unmarked) when it lists sessions, else
// its trading times, which then are the liquid session themselves.
func regularWindows(d wireScheduleDay) []wireTradingTime {
	if len(d.Sessions) == 0 {
		return d.TradingTimes
	}
	var out []wireTradingTime
	for _, s := range d.Sessions {
		if s.Prop == "" || strings.EqualFold(s.Prop, "LIQUID") {
			out = append(out, s)
		}
	}
	return out
}

// scheduleLocation is the schedule's time zone, New York when it names none
// (or one this build does not know).
func scheduleLocation(s wireSchedule) *time.Location {
	if s.Timezone != "" {
		if loc, err := time.LoadLocation(s.Timezone); err == nil {
			return loc
		}
	}
	return newYork
}

// clockFromSchedule reports whether the regular session is open at now and
// the next open and close, all in UTC.
func clockFromSchedule(days []wireScheduleDay, loc *time.Location, now time.Time) (broker.Clock, error) {
	now = now.UTC()
	c := broker.Clock{Now: now}
	for _, w := range sessionWindows(days, loc, now) {
		switch {
		case !now.Before(w.open) && now.Before(w.close):
			c.IsOpen, c.NextClose = true, w.close
		case w.open.After(now):
			if c.NextOpen.IsZero() {
				c.NextOpen = w.open
				if !c.IsOpen {
					c.NextClose = w.close
				}
			}
		}
		if !c.NextOpen.IsZero() && !c.NextClose.IsZero() {
			return c, nil
		}
	}
	return c, errNoSession
}
