package billing

import "fmt"

// LimitError is a refusal because of the trader's plan. Its message names
// the plan, the limit and the upgrade path; it is the one place these
// sentences are made.
type LimitError struct {
	Plan    Plan
	Upgrade Plan   // the cheapest plan that would allow it
	What    string // "live broker connections", ...
	Broker  string // display name of the broker concerned, if any
}

func (e *LimitError) Error() string { return e.Message() }

// Message is the sentence a trader reads.
func (e *LimitError) Message() string {
	var limit string
	switch {
	case e.Plan.LiveBrokers == 0:
		limit = fmt.Sprintf("Your %s plan includes paper trading only", e.Plan.Name)
	case e.Plan.LiveBrokers == 1:
		limit = fmt.Sprintf("Your %s plan includes 1 live broker connection", e.Plan.Name)
	default:
		limit = fmt.Sprintf("Your %s plan includes %d live broker connections", e.Plan.Name, e.Plan.LiveBrokers)
	}
	target := ""
	if e.Broker != "" {
		target = " to trade with " + e.Broker
	}
	return fmt.Sprintf("%s. Upgrade to %s (%s/month) in Settings → Billing%s.",
		limit, e.Upgrade.Name, FormatCents(e.Upgrade.PriceCents), target)
}

// CheckLiveConnection decides whether a trader on tier may use (connect,
// or trade through) one more live broker connection when they already have
// active live connections (not counting the one concerned). Paper
// connections are never limited.
func CheckLiveConnection(tier Tier, active int, brokerDisplay string) error {
	p := PlanFor(tier)
	if p.AllowsLiveBrokers(active + 1) {
		return nil
	}
	return &LimitError{Plan: p, Upgrade: cheapestAllowing(active + 1), What: "live broker connections", Broker: brokerDisplay}
}

// CheckTradeThrough decides whether a trade may go through a live
// connection when the trader's active live connections are ordered
// oldest first and this one is at position index (0-based). After a
// downgrade the oldest connections within the limit keep trading; the
// others are paused (never deleted) until the trader upgrades or
// disconnects one.
func CheckTradeThrough(tier Tier, index int, brokerDisplay string) error {
	p := PlanFor(tier)
	if p.AllowsLiveBrokers(index + 1) {
		return nil
	}
	return &LimitError{Plan: p, Upgrade: cheapestAllowing(index + 1), What: "live broker connections", Broker: brokerDisplay}
}
