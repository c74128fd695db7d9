package paper

import (
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// Calendar says whether the market for an asset class is open at now and
// when it next opens and closes (UTC). extended asks about the extended
// session (pre-market and after-hours) instead of the regular one. The paper
// broker consults it for stocks only; crypto trades around the clock. The
// application wires the NYSE calendar of internal/market here.
type Calendar interface {
	Status(now time.Time, class signal.AssetClass, extended bool) (open bool, nextOpen, nextClose time.Time)
}

// CalendarFunc adapts a function to Calendar.
type CalendarFunc func(now time.Time, class signal.AssetClass, extended bool) (open bool, nextOpen, nextClose time.Time)

// Status calls f.
func (f CalendarFunc) Status(now time.Time, class signal.AssetClass, extended bool) (bool, time.Time, time.Time) {
	return f(now, class, extended)
}

// AlwaysOpen is a Calendar whose markets never close (next open is now,
// next close is zero). It is the Engine's default.
type AlwaysOpen struct{}

// Status reports open.
func (AlwaysOpen) Status(now time.Time, _ signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
	return true, now.UTC(), time.Time{}
}
