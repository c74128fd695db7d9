// Package billing holds the subscription plans and their limits (as data,
// enforced in one place), proration, and the billing providers (Stripe and
// Polar) behind one interface.
package billing

import (
	"fmt"
	"strings"
)

// Tier names a plan. It is stored in users.subscription_tier.
type Tier string

const (
	Free    Tier = "free"
	Basic   Tier = "basic"
	Pro     Tier = "pro"
	Premium Tier = "premium"
)

// Unlimited marks a limit that does not apply.
const Unlimited = -1

// Plan is one tier with its price and limits (SPEC FR-062, FR-069).
type Plan struct {
	Tier Tier
	Name string // as traders read it: "Free", "Basic", ...
	// PriceCents is the monthly price in US cents (integer minor units,
	// never float).
	PriceCents int64
	// LiveBrokers is how many live (non-paper) broker connections the plan
	// may have active; 0 means paper trading only, Unlimited no limit.
	LiveBrokers int
	// Analytics: the performance analytics views (Pro and up).
	Analytics bool
	// ML: machine-learning features (churn insights, Premium).
	ML bool
	// PrioritySupport: Premium.
	PrioritySupport bool
}

// plans is the catalogue, cheapest first. It is the only place a limit is
// written down; every check reads it through PlanFor.
var plans = []Plan{
	{Tier: Free, Name: "Free", PriceCents: 0, LiveBrokers: 0},
	{Tier: Basic, Name: "Basic", PriceCents: 4900, LiveBrokers: 1},
	{Tier: Pro, Name: "Pro", PriceCents: 9900, LiveBrokers: 3, Analytics: true},
	{Tier: Premium, Name: "Premium", PriceCents: 29900, LiveBrokers: Unlimited, Analytics: true, ML: true, PrioritySupport: true},
}

// Plans returns the catalogue, cheapest first.
func Plans() []Plan {
	out := make([]Plan, len(plans))
	copy(out, plans)
	return out
}

// ParseTier reads a stored or requested tier name.
func ParseTier(s string) (Tier, error) {
	t := Tier(strings.ToLower(strings.TrimSpace(s)))
	for _, p := range plans {
		if p.Tier == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("billing: unknown plan %q", s)
}

// PlanFor returns the plan of a tier. An unknown or empty tier is treated
// as Free: a corrupted row never grants more than the cheapest plan.
func PlanFor(t Tier) Plan {
	for _, p := range plans {
		if p.Tier == t {
			return p
		}
	}
	return plans[0]
}

// Rank orders tiers: Free 0 … Premium 3.
func (t Tier) Rank() int {
	for i, p := range plans {
		if p.Tier == t {
			return i
		}
	}
	return 0
}

// AllowsLiveBrokers reports whether n live connections fit the plan.
func (p Plan) AllowsLiveBrokers(n int) bool {
	return p.LiveBrokers == Unlimited || n <= p.LiveBrokers
}

// cheapestAllowing returns the cheapest plan that allows n live broker
// connections, for the upgrade path named in a refusal.
func cheapestAllowing(n int) Plan {
	for _, p := range plans {
		if p.AllowsLiveBrokers(n) {
			return p
		}
	}
	return plans[len(plans)-1]
}

// FormatCents writes an amount of US cents as "$49" or "$274.50".
func FormatCents(c int64) string {
	neg := c < 0
	if neg {
		c = -c
	}
	s := fmt.Sprintf("$%d", c/100)
	if c%100 != 0 {
		s = fmt.Sprintf("$%d.%02d", c/100, c%100)
	}
	if neg {
		return "-" + s
	}
	return s
}
