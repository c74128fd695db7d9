package market

import "time"

// Session is one continuous window in which the NYSE accepts orders for
// execution: [Open, Close). Both times are UTC.
type Session struct {
	Open  time.Time `json:"open"`
	Close time.Time `json:"close"`
}

// Contains reports whether t is inside the session (Open inclusive, Close exclusive).
func (s Session) Contains(t time.Time) bool {
	return !t.Before(s.Open) && t.Before(s.Close)
}

// Session hours in America/New_York.
const (
	regularOpenHour, regularOpenMinute = 9, 30
	regularCloseHour                   = 16
	earlyCloseHour                     = 13
	extendedOpenHour                   = 4
	extendedCloseHour                  = 20
	earlyExtendedCloseHour             = 17 // late trading ends at 5:00pm on early-close days
)

// NYSESessionOn returns the regular session (9:30-16:00 ET, 9:30-13:00 ET on
// early-close days) of the given calendar day; false when the exchange is
// closed that day.
//
// The day is date's Year/Month/Day in date's own location: pass
// time.Date(2025, 7, 3, 0, 0, 0, 0, time.UTC) or a time in America/New_York,
// not an arbitrary UTC instant (use Status for "is it open now").
func NYSESessionOn(date time.Time) (Session, bool) {
	return sessionOn(dateOf(date), false)
}

// NYSEExtendedSessionOn returns the day's window including pre-market and
// after-hours trading: 4:00-20:00 ET, 4:00-17:00 ET on early-close days;
// false when the exchange is closed that day. The day is read as in
// NYSESessionOn.
func NYSEExtendedSessionOn(date time.Time) (Session, bool) {
	return sessionOn(dateOf(date), true)
}

func sessionOn(d civilDate, extended bool) (Session, bool) {
	if isClosed(d) {
		return Session{}, false
	}
	early := isEarlyClose(d)
	if extended {
		closeHour := extendedCloseHour
		if early {
			closeHour = earlyExtendedCloseHour
		}
		return Session{Open: d.at(extendedOpenHour, 0), Close: d.at(closeHour, 0)}, true
	}
	closeHour := regularCloseHour
	if early {
		closeHour = earlyCloseHour
	}
	return Session{Open: d.at(regularOpenHour, regularOpenMinute), Close: d.at(closeHour, 0)}, true
}
