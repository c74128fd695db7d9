package billing

import (
	"errors"
	"time"
)

// CycleDays is the billing cycle FR-063 prorates over.
const CycleDays = 30

// Proration is what an upgrade costs now (SPEC US-012 #2, FR-063):
// Charge = new price − Credit, Credit = old price × days remaining / 30,
// in cents, rounded half up to the cent.
type Proration struct {
	From, To      Plan
	DaysRemaining int
	CreditCents   int64
	ChargeCents   int64
}

// ErrNotUpgrade: downgrades are not prorated; they take effect at the end
// of the period (FR-064).
var ErrNotUpgrade = errors.New("billing: only upgrades are prorated; a downgrade takes effect at renewal")

// ProrateUpgrade computes the immediate charge of moving from one tier to a
// dearer one with daysRemaining whole days left in the period (0…30).
func ProrateUpgrade(from, to Tier, daysRemaining int) (Proration, error) {
	f, t := PlanFor(from), PlanFor(to)
	if t.PriceCents <= f.PriceCents {
		return Proration{}, ErrNotUpgrade
	}
	if daysRemaining < 0 {
		daysRemaining = 0
	}
	if daysRemaining > CycleDays {
		daysRemaining = CycleDays
	}
	// half-up rounding of f.PriceCents*days/30 in integers.
	credit := (f.PriceCents*int64(daysRemaining)*2 + CycleDays) / (2 * CycleDays)
	return Proration{From: f, To: t, DaysRemaining: daysRemaining, CreditCents: credit, ChargeCents: t.PriceCents - credit}, nil
}

// DaysRemaining counts the whole days from now to the end of the period,
// rounding a started day up (a trader 14.2 days from renewal has 15 days
// of the old plan paid and unused).
func DaysRemaining(now, periodEnd time.Time) int {
	d := periodEnd.Sub(now)
	if d <= 0 {
		return 0
	}
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		days++
	}
	return days
}
