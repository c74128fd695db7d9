package schwab

import (
	"sort"
	"time"
	_ "time/tzdata" // market dates are New York dates; minimal containers lack zoneinfo

	"github.com/tradeexec/tradeexec/internal/broker"
)

// The market clock comes from GET /marketdata/v1/markets?markets=equity&date=:
// per date, whether the equity market trades and its session windows
// (preMarket, regularMarket, postMarket) as ISO-8601 times with offset.

// hoursHorizon is how many days ahead the next open is looked for.
const hoursHorizon = 10

var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return loc
}

// window is one regular session.
type window struct{ open, close time.Time }

// regularWindows reads the regular sessions of the equity market from a
// markets answer ("EQ" is the equity product; a closed date answers with
// isOpen false and no sessions).
func regularWindows(m map[string]map[string]wireMarketHours) []window {
	products := m["equity"]
	h, ok := products["EQ"]
	if !ok {
		for _, p := range products {
			h, ok = p, true
			break
		}
	}
	if !ok || !h.IsOpen {
		return nil
	}
	var out []window
	for _, s := range h.SessionHours["regularMarket"] {
		open, err1 := time.Parse(time.RFC3339, s.Start)
		closeAt, err2 := time.Parse(time.RFC3339, s.End)
		if err1 != nil || err2 != nil || !closeAt.After(open) {
			continue
		}
		out = append(out, window{open: open.UTC(), close: closeAt.UTC()})
	}
	return out
}

// clockFromWindows reports whether a regular session is open at now and the
// next open and close. complete is false while the windows do not reach the
// next open yet.
func clockFromWindows(ws []window, now time.Time) (c broker.Clock, complete bool) {
	now = now.UTC()
	sorted := append([]window(nil), ws...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].open.Before(sorted[j].open) })
	c.Now = now
	for _, w := range sorted {
		switch {
		case !now.Before(w.open) && now.Before(w.close):
			c.IsOpen, c.NextClose = true, w.close
		case w.open.After(now) && c.NextOpen.IsZero():
			c.NextOpen = w.open
			if !c.IsOpen {
				c.NextClose = w.close
			}
		}
	}
	return c, !c.NextOpen.IsZero() && !c.NextClose.IsZero()
}
