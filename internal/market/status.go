package market

import (
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Status says whether orders for an asset class can be executed at a moment.
// All times are UTC.
type Status struct {
	Open bool `json:"open"`
	// NextOpen is when orders can next be executed: now itself when Open.
	NextOpen time.Time `json:"nextOpen"`
	// NextClose is the end of the current session when Open, else the end of
	// the session starting at NextOpen. Zero for markets that never close (crypto).
	NextClose time.Time `json:"nextClose"`
}

// searchDays bounds the look-ahead for the next session. The longest NYSE
// closure on record since 1933 is four weekdays (Sept 11-14, 2001); two weeks
// are ample.
const searchDays = 14

// StatusAt reports the market status at now for the asset class. Crypto trades
// around the clock. Stocks follow the NYSE calendar: the regular session, or
// with extendedHours the 4:00-20:00 ET window (4:00-17:00 ET on early-close days).
func StatusAt(now time.Time, class signal.AssetClass, extendedHours bool) Status {
	now = now.UTC()
	if class == signal.AssetCrypto {
		return Status{Open: true, NextOpen: now}
	}
	today := dateOf(now.In(newYork))
	for i := 0; i <= searchDays; i++ {
		s, ok := sessionOn(today.addDays(i), extendedHours)
		if !ok || !now.Before(s.Close) {
			continue
		}
		if s.Contains(now) {
			return Status{Open: true, NextOpen: now, NextClose: s.Close}
		}
		return Status{Open: false, NextOpen: s.Open, NextClose: s.Close}
	}
	// Unreachable with the NYSE calendar: every week has trading days.
	return Status{}
}

// NextOpen returns when an order for the asset class can next be executed:
// now itself when the market is open.
func NextOpen(now time.Time, class signal.AssetClass, extendedHours bool) time.Time {
	return StatusAt(now, class, extendedHours).NextOpen
}
