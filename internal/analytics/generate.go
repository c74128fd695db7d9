package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/schema"
)

// GenOptions shape a generated billing ledger.
type GenOptions struct {
	Seed    uint64
	Traders int
	Start   Month // first sign-up month
	Months  int   // months of history from Start
}

// Expected are the generator's own answers, tracked while it writes the
// events (not derived from the ledger): MRR per month and per trader and
// month, in USD.
type Expected struct {
	MRR        map[Month]decimal.Decimal
	UserMRR    map[string]map[Month]decimal.Decimal
	Events     int
	SkippedJPY int // recurring and proration invoices in a currency outside USDRates
}

// Generate writes a deterministic synthetic ledger (traders and applied
// billing events) for tests and the bench. Assumptions: sign-ups spread
// evenly over the months; 45% subscribe in their first month and 12% of
// the others each later month; a paying trader churns 6%/month, upgrades
// 5% (prorated charge for half a month), downgrades 4%; a churned one
// comes back 8%/month; 20% have a 20% coupon; currencies USD 80%, EUR 9%,
// GBP 5%, CAD 4%, JPY 2% (left out); 3% of renewals are refunded in full
// and 3% in part; 10% of events name the trader only in the outcome; some
// failed payments and unprocessed events that must not count.
func Generate(ctx context.Context, db *gorm.DB, o GenOptions) (Expected, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	exp := Expected{MRR: map[Month]decimal.Decimal{}, UserMRR: map[string]map[Month]decimal.Decimal{}}
	tiers := []billing.Tier{billing.Basic, billing.Pro, billing.Premium}
	var users []schema.User
	var events []schema.BillingEvent
	seq := 0
	now := o.Start.Add(o.Months).start()
	add := func(ev billing.Event, processed bool, hideUser bool) {
		seq++
		ev.Provider = "stripe"
		ev.ID = fmt.Sprintf("evt_%08d", seq)
		outcome := fmt.Sprintf(`{"userId":%q,"note":"generated"}`, ev.UserID)
		if hideUser {
			ev.UserID = ""
		}
		payload, _ := json.Marshal(ev)
		row := schema.BillingEvent{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", seq), Provider: "stripe",
			EventID: ev.ID, Type: ev.Type, Payload: string(payload), CreatedAt: ev.Created, ReceivedAt: ev.Created}
		if processed {
			t := ev.Created.Add(time.Second)
			row.ProcessedAt = &t
			row.Outcome = outcome
		}
		events = append(events, row)
	}
	for i := 0; i < o.Traders; i++ {
		uid := fmt.Sprintf("00000000-0000-4000-a000-%012d", i)
		signup := o.Start.Add(i * o.Months / max(o.Traders, 1))
		day := 1 + rng.IntN(28)
		created := signup.start().AddDate(0, 0, day-1).Add(time.Duration(rng.IntN(86400)) * time.Second)
		email := fmt.Sprintf("gen%d@example.test", i)
		users = append(users, schema.User{ID: uid, Email: &email, DisplayName: "gen", Role: "trader",
			SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: created})
		cur := "usd"
		switch r := rng.IntN(100); {
		case r < 2:
			cur = "jpy"
		case r < 6:
			cur = "cad"
		case r < 11:
			cur = "gbp"
		case r < 20:
			cur = "eur"
		}
		coupon := rng.IntN(100) < 20
		paying, everPaid := false, false
		tier := tiers[rng.IntN(3)]
		next := tier
		sub := fmt.Sprintf("sub_%d", i)
		for k := monthsBetween(o.Start, signup); k < o.Months; k++ {
			m := o.Start.Add(k)
			switch {
			case !paying && !everPaid && (m == signup && rng.IntN(100) < 45 || m != signup && rng.IntN(100) < 12):
				paying = true
			case !paying && everPaid && rng.IntN(100) < 8:
				paying = true
			case paying && rng.IntN(100) < 6:
				paying = false
			}
			if !paying {
				continue
			}
			tier = next
			price := billing.PlanFor(tier).PriceCents
			if coupon {
				price = price * 80 / 100
			}
			start := m.start().AddDate(0, 0, day-1).Add(time.Hour)
			if m == signup && start.Before(created) {
				start = created.Add(time.Minute)
			}
			reason := "subscription_cycle"
			if !everPaid {
				reason = "subscription_create"
			}
			everPaid = true
			inv := fmt.Sprintf("in_%d_%d", i, k)
			add(billing.Event{Type: billing.EventInvoicePaid, Created: start, UserID: uid, SubscriptionID: sub,
				InvoiceID: inv, Tier: tier, CurrentPeriodStart: start, CurrentPeriodEnd: start.AddDate(0, 1, 0),
				AmountCents: price, Currency: cur, BillingReason: reason}, true, rng.IntN(100) < 10)
			usd, ok := ToUSD(price, cur)
			if !ok {
				exp.SkippedJPY++
			}
			switch r := rng.IntN(100); {
			case r < 3:
				add(billing.Event{Type: billing.EventChargeRefunded, Created: start.Add(48 * time.Hour), UserID: uid,
					InvoiceID: inv, AmountCents: price, Currency: cur}, true, false)
				if ok {
					r, _ := ToUSD(price, cur)
					usd = usd.Sub(r)
				}
			case r < 6:
				part := 1 + rng.Int64N(price)
				add(billing.Event{Type: billing.EventChargeRefunded, Created: start.Add(48 * time.Hour), UserID: uid,
					InvoiceID: inv, AmountCents: part, Currency: cur}, true, false)
				if ok {
					r, _ := ToUSD(part, cur)
					usd = usd.Sub(r)
				}
			case r < 8:
				// a failed payment and an unprocessed duplicate-looking charge: no revenue
				add(billing.Event{Type: billing.EventPaymentFailed, Created: start.Add(time.Hour), UserID: uid,
					InvoiceID: inv + "f", AmountCents: price, Currency: cur}, true, false)
				add(billing.Event{Type: billing.EventInvoicePaid, Created: start.Add(2 * time.Hour), UserID: uid,
					InvoiceID: inv + "u", Tier: tier, AmountCents: price, Currency: cur}, false, false)
			}
			if ok && usd.IsPositive() {
				if exp.UserMRR[uid] == nil {
					exp.UserMRR[uid] = map[Month]decimal.Decimal{}
				}
				exp.UserMRR[uid][m] = exp.UserMRR[uid][m].Add(usd)
				exp.MRR[m] = exp.MRR[m].Add(usd)
			}
			// plan changes take effect at the next renewal; an upgrade
			// charges the difference for half a month now (proration).
			switch r := rng.IntN(100); {
			case r < 5 && tier != billing.Premium:
				next = tiers[tier.Rank()]
				diff := (billing.PlanFor(next).PriceCents - billing.PlanFor(tier).PriceCents) / 2
				when := start.Add(15 * 24 * time.Hour)
				if when.After(now) {
					break
				}
				if _, ok := ToUSD(diff, cur); !ok {
					exp.SkippedJPY++
				}
				add(billing.Event{Type: billing.EventInvoicePaid, Created: when, UserID: uid, SubscriptionID: sub,
					InvoiceID: inv + "p", Tier: next, AmountCents: diff, Currency: cur,
					BillingReason: "subscription_update", Proration: true}, true, false)
			case r < 9 && tier != billing.Basic:
				next = tiers[tier.Rank()-2]
			}
		}
	}
	// staff are not traders: no cohort
	admin := "gen-admin@example.test"
	users = append(users, schema.User{ID: "00000000-0000-4000-b000-000000000001", Email: &admin, Role: "admin",
		SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: o.Start.start()})
	exp.Events = len(events)
	if err := db.WithContext(ctx).CreateInBatches(users, 500).Error; err != nil {
		return exp, fmt.Errorf("analytics: generate users: %w", err)
	}
	if err := db.WithContext(ctx).CreateInBatches(events, 500).Error; err != nil {
		return exp, fmt.Errorf("analytics: generate events: %w", err)
	}
	return exp, nil
}
