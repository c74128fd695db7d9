// Package analytics computes the admin revenue analytics of issue 16
// (SPEC US-005, FR-041…): MRR and ARR with their monthly movements (new,
// expansion, contraction, churned, reactivated), monthly sign-up cohorts
// with their retention, and customer lifetime value per plan and per
// cohort. It reads the billing ledger (the applied provider events in
// billing_events) and writes materialised tables (migration 0029) that the
// admin API reads; it never reads or locks a trade-path table.
//
// Definitions (DESIGN.md "Analytics: revenue and cohorts"):
//   - A recurring invoice is a paid invoice (invoice.paid) that is not a
//     proration. Its net amount (after discounts: the provider's invoice
//     total) minus the refunds of that invoice is the trader's MRR for
//     the month its service period starts (plans are monthly). Several
//     recurring invoices in one month add up.
//   - Proration invoices (an upgrade's catch-up charge) are one-off cash,
//     never MRR: the next renewal carries the new price.
//   - Amounts are converted to USD per invoice at the fixed rate table
//     USDRates and rounded to the cent (half away from zero); invoices in
//     any other currency are left out of every figure and counted in
//     Result.Unconverted, never guessed.
package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/schema"
)

// USDRates converts an invoice's currency to USD: a fixed, documented
// table (units of USD per unit of the currency). Changing a rate changes
// history: it is part of the definition, not a market price.
var USDRates = map[string]decimal.Decimal{
	"USD": decimal.NewFromInt(1),
	"EUR": decimal.RequireFromString("1.08"),
	"GBP": decimal.RequireFromString("1.27"),
	"CAD": decimal.RequireFromString("0.73"),
}

// ErrBadMonth: a month is not YYYY-MM.
var ErrBadMonth = errors.New("analytics: month must be YYYY-MM")

// Month is a calendar month in UTC, "2026-01".
type Month string

// MonthOf returns the month of t (UTC).
func MonthOf(t time.Time) Month { return Month(t.UTC().Format("2006-01")) }

// ParseMonth validates s as YYYY-MM.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return "", ErrBadMonth
	}
	return MonthOf(t), nil
}

func (m Month) start() time.Time {
	t, _ := time.Parse("2006-01", string(m))
	return t
}

// Add returns the month n months after m.
func (m Month) Add(n int) Month { return MonthOf(m.start().AddDate(0, n, 0)) }

// monthsBetween is the number of months from a to b (b >= a).
func monthsBetween(a, b Month) int {
	ta, tb := a.start(), b.start()
	return (tb.Year()-ta.Year())*12 + int(tb.Month()-ta.Month())
}

// Invoice is one paid invoice of the ledger with its refunds, in USD.
type Invoice struct {
	UserID    string
	InvoiceID string
	Month     Month // of the service period's start
	Tier      billing.Tier
	Recurring bool            // not a proration
	Net       decimal.Decimal // amount − refunds, USD
	Gross     decimal.Decimal // amount, USD
	Refunded  decimal.Decimal // refunds, USD
}

// Ledger is what the revenue analytics read: paid invoices and users'
// sign-up months.
type Ledger struct {
	Invoices    []Invoice
	SignUps     map[string]Month // trader id -> sign-up month
	Unconverted map[string]int   // currency -> invoices left out
}

// ToUSD converts cents of currency to USD rounded to the cent; ok is false
// for a currency outside USDRates.
func ToUSD(cents int64, currency string) (decimal.Decimal, bool) {
	r, ok := USDRates[strings.ToUpper(currency)]
	if !ok {
		return decimal.Zero, false
	}
	return decimal.New(cents, -2).Mul(r).Round(2), true
}

type eventOutcome struct {
	UserID string `json:"userId"`
}

// LoadLedger reads the applied invoice.paid and charge.refunded events and
// the traders' sign-up dates, up to and including month asOf.
func LoadLedger(ctx context.Context, db *gorm.DB, asOf Month) (Ledger, error) {
	l := Ledger{SignUps: map[string]Month{}, Unconverted: map[string]int{}}
	type userRow struct {
		ID        string
		CreatedAt time.Time
	}
	var users []userRow
	if err := db.WithContext(ctx).Table("users").Select("id, created_at").Where("role = ?", "trader").
		Find(&users).Error; err != nil {
		return l, fmt.Errorf("analytics: users: %w", err)
	}
	for _, u := range users {
		if m := MonthOf(u.CreatedAt); m <= asOf {
			l.SignUps[u.ID] = m
		}
	}
	var rows []schema.BillingEvent
	if err := db.WithContext(ctx).Where("processed_at IS NOT NULL AND type IN ?",
		[]string{billing.EventInvoicePaid, billing.EventChargeRefunded}).Order("created_at, id").
		Find(&rows).Error; err != nil {
		return l, fmt.Errorf("analytics: billing events: %w", err)
	}
	type key struct{ provider, invoice string }
	byInvoice := map[key]int{}
	type refund struct {
		key   key
		cents int64
	}
	var refunds []refund
	currencies := map[key]string{}
	for _, r := range rows {
		var ev billing.Event
		if err := json.Unmarshal([]byte(r.Payload), &ev); err != nil {
			return l, fmt.Errorf("analytics: event %s payload: %w", r.ID, err)
		}
		user := ev.UserID
		if user == "" {
			var o eventOutcome
			_ = json.Unmarshal([]byte(r.Outcome), &o)
			user = o.UserID
		}
		if user == "" || ev.InvoiceID == "" {
			continue // the ledger applied nothing to a trader
		}
		k := key{r.Provider, ev.InvoiceID}
		switch r.Type {
		case billing.EventChargeRefunded:
			refunds = append(refunds, refund{k, ev.AmountCents})
			continue
		}
		start := ev.CurrentPeriodStart
		if start.IsZero() {
			start = ev.Created
		}
		m := MonthOf(start)
		if m > asOf {
			continue
		}
		if _, dup := byInvoice[k]; dup {
			continue
		}
		usd, ok := ToUSD(ev.AmountCents, ev.Currency)
		if !ok {
			l.Unconverted[strings.ToUpper(ev.Currency)]++
			currencies[k] = ""
			continue
		}
		currencies[k] = ev.Currency
		byInvoice[k] = len(l.Invoices)
		l.Invoices = append(l.Invoices, Invoice{UserID: user, InvoiceID: ev.InvoiceID, Month: m, Tier: ev.Tier,
			Recurring: !ev.Proration, Gross: usd, Net: usd, Refunded: decimal.Zero})
	}
	for _, rf := range refunds {
		i, ok := byInvoice[rf.key]
		if !ok {
			continue // a refund of an invoice left out (other currency, later month) or unknown
		}
		usd, _ := ToUSD(rf.cents, currencies[rf.key])
		inv := &l.Invoices[i]
		inv.Refunded = inv.Refunded.Add(usd)
		inv.Net = inv.Gross.Sub(inv.Refunded)
		if inv.Net.IsNegative() {
			inv.Net = decimal.Zero
			inv.Refunded = inv.Gross
		}
	}
	return l, nil
}

// UserMonth is one trader's MRR in one month.
type UserMonth struct {
	UserID string
	Month  Month
	Tier   billing.Tier
	MRR    decimal.Decimal
}

// RevenueMonth is one month's MRR, ARR and movements; movements are
// positive magnitudes and MRR = previous MRR + New + Expansion +
// Reactivated − Contraction − Churned.
type RevenueMonth struct {
	Month          Month           `json:"month"`
	MRR            decimal.Decimal `json:"mrr"`
	ARR            decimal.Decimal `json:"arr"`
	New            decimal.Decimal `json:"newMrr"`
	Expansion      decimal.Decimal `json:"expansionMrr"`
	Contraction    decimal.Decimal `json:"contractionMrr"`
	Churned        decimal.Decimal `json:"churnedMrr"`
	Reactivated    decimal.Decimal `json:"reactivatedMrr"`
	Cash           decimal.Decimal `json:"cash"`    // all paid invoices net of refunds, prorations included
	Refunds        decimal.Decimal `json:"refunds"` // refunds of this month's invoices
	PayingAccounts int64           `json:"payingAccounts"`
	// Read from the materialised tables (ReadRevenue), not stored:
	ByTier    []TierMRR        `json:"byTier,omitempty"`    // FR-041: MRR per plan tier
	GrowthPct *decimal.Decimal `json:"growthPct,omitempty"` // FR-042: MRR vs the previous month, %; nil without one
}

// CohortCell is the retention of one sign-up cohort at one month offset:
// Retained of its Size traders paid recurring revenue in cohort+Offset.
type CohortCell struct {
	Cohort   Month `json:"cohort"`
	Offset   int   `json:"offset"`
	Size     int64 `json:"size"`
	Retained int64 `json:"retained"`
}

// CLV is the customer lifetime value of a plan or a cohort: ARPA (average
// MRR per paying account-month) divided by the monthly churn rate
// (Churned / AtRisk, accounts paying in the group one month and not the
// next over accounts paying at the start of a month). Nil when no churn
// was observed.
type CLV struct {
	Kind       string           `json:"kind"` // plan | cohort
	Group      string           `json:"group"`
	UserMonths int64            `json:"accountMonths"`
	Churned    int64            `json:"churned"`
	AtRisk     int64            `json:"atRisk"`
	ARPA       decimal.Decimal  `json:"arpa"`
	Value      *decimal.Decimal `json:"clv"`
}

// Result is everything one refresh computes.
type Result struct {
	AsOf        Month
	UserMonths  []UserMonth
	Months      []RevenueMonth
	Cohorts     []CohortCell
	CLV         []CLV
	Unconverted map[string]int
}

// Compute derives MRR per trader and month, the monthly movements, the
// cohorts and CLV from the ledger, for the months up to asOf.
func Compute(l Ledger, asOf Month) Result {
	res := Result{AsOf: asOf, Unconverted: l.Unconverted}
	type um struct {
		user  string
		month Month
	}
	mrr := map[um]*UserMonth{}
	first := asOf
	cash := map[Month]decimal.Decimal{}
	refunds := map[Month]decimal.Decimal{}
	for _, inv := range l.Invoices {
		if inv.Month < first {
			first = inv.Month
		}
		cash[inv.Month] = cash[inv.Month].Add(inv.Net)
		refunds[inv.Month] = refunds[inv.Month].Add(inv.Refunded)
		if !inv.Recurring {
			continue
		}
		k := um{inv.UserID, inv.Month}
		u := mrr[k]
		if u == nil {
			u = &UserMonth{UserID: inv.UserID, Month: inv.Month, MRR: decimal.Zero}
			mrr[k] = u
		}
		u.MRR = u.MRR.Add(inv.Net)
		if inv.Tier != "" {
			u.Tier = inv.Tier // the month's plan: the newest recurring invoice's
		}
	}
	for _, m := range l.SignUps {
		if m < first {
			first = m
		}
	}
	// Only positive MRR counts as paying (a fully refunded month is 0).
	users := map[string][]Month{}
	for k, u := range mrr {
		if !u.MRR.IsPositive() {
			delete(mrr, k)
			continue
		}
		res.UserMonths = append(res.UserMonths, *u)
		users[u.UserID] = append(users[u.UserID], u.Month)
	}
	sort.Slice(res.UserMonths, func(i, j int) bool {
		a, b := res.UserMonths[i], res.UserMonths[j]
		if a.Month != b.Month {
			return a.Month < b.Month
		}
		return a.UserID < b.UserID
	})
	n := monthsBetween(first, asOf) + 1
	months := make([]RevenueMonth, n)
	for i := range months {
		m := first.Add(i)
		months[i] = RevenueMonth{Month: m, MRR: decimal.Zero, New: decimal.Zero, Expansion: decimal.Zero,
			Contraction: decimal.Zero, Churned: decimal.Zero, Reactivated: decimal.Zero,
			Cash: cash[m].Add(decimal.Zero), Refunds: refunds[m].Add(decimal.Zero)}
	}
	// CLV accumulators.
	type acc struct {
		userMonths, churned, atRisk int64
		sum                         decimal.Decimal
	}
	plans := map[string]*acc{}
	cohorts := map[string]*acc{}
	get := func(m map[string]*acc, k string) *acc {
		a := m[k]
		if a == nil {
			a = &acc{sum: decimal.Zero}
			m[k] = a
		}
		return a
	}
	retained := map[um]int64{} // cohort, month -> retained
	for user := range users {
		everPaid := false
		for i := range months {
			m := months[i].Month
			cur := mrr[um{user, m}]
			var prev *UserMonth
			if i > 0 {
				prev = mrr[um{user, m.Add(-1)}]
			}
			cohort, hasCohort := l.SignUps[user]
			if cur != nil {
				months[i].MRR = months[i].MRR.Add(cur.MRR)
				months[i].PayingAccounts++
				a := get(plans, string(cur.Tier))
				a.userMonths++
				a.sum = a.sum.Add(cur.MRR)
				if hasCohort {
					c := get(cohorts, string(cohort))
					c.userMonths++
					c.sum = c.sum.Add(cur.MRR)
					retained[um{string(cohort), m}]++
				}
			}
			if prev != nil {
				// prev paying: at risk of churning this month.
				get(plans, string(prev.Tier)).atRisk++
				if hasCohort {
					get(cohorts, string(cohort)).atRisk++
				}
				if cur == nil {
					get(plans, string(prev.Tier)).churned++
					if hasCohort {
						get(cohorts, string(cohort)).churned++
					}
				}
			}
			switch {
			case prev == nil && cur != nil && everPaid:
				months[i].Reactivated = months[i].Reactivated.Add(cur.MRR)
			case prev == nil && cur != nil:
				months[i].New = months[i].New.Add(cur.MRR)
			case prev != nil && cur == nil:
				months[i].Churned = months[i].Churned.Add(prev.MRR)
			case prev != nil && cur != nil:
				d := cur.MRR.Sub(prev.MRR)
				if d.IsPositive() {
					months[i].Expansion = months[i].Expansion.Add(d)
				} else {
					months[i].Contraction = months[i].Contraction.Sub(d)
				}
			}
			if cur != nil {
				everPaid = true
			}
		}
	}
	twelve := decimal.NewFromInt(12)
	for i := range months {
		months[i].ARR = months[i].MRR.Mul(twelve)
	}
	res.Months = months
	// Cohorts: every sign-up month from first to asOf, offsets to asOf.
	size := map[Month]int64{}
	for _, m := range l.SignUps {
		size[m]++
	}
	for c := first; c <= asOf; c = c.Add(1) {
		if size[c] == 0 {
			continue
		}
		for off := 0; c.Add(off) <= asOf; off++ {
			res.Cohorts = append(res.Cohorts, CohortCell{Cohort: c, Offset: off, Size: size[c],
				Retained: retained[um{string(c), c.Add(off)}]})
		}
	}
	emit := func(kind string, m map[string]*acc) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a := m[k]
			if a.userMonths == 0 {
				continue
			}
			arpa := a.sum.Div(decimal.NewFromInt(a.userMonths)).Round(2)
			c := CLV{Kind: kind, Group: k, UserMonths: a.userMonths, Churned: a.churned, AtRisk: a.atRisk, ARPA: arpa}
			if a.churned > 0 {
				// ARPA / (churned / atRisk) = ARPA × atRisk / churned
				v := a.sum.Div(decimal.NewFromInt(a.userMonths)).Mul(decimal.NewFromInt(a.atRisk)).
					Div(decimal.NewFromInt(a.churned)).Round(2)
				c.Value = &v
			}
			res.CLV = append(res.CLV, c)
		}
	}
	emit("plan", plans)
	emit("cohort", cohorts)
	return res
}
