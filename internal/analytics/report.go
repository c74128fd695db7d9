package analytics

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
)

// TierMRR is one plan tier's MRR in one month (FR-041).
type TierMRR struct {
	Tier     string          `json:"tier"`
	MRR      decimal.Decimal `json:"mrr"`
	Accounts int64           `json:"accounts"`
}

// growthPct is (cur − prev) / prev × 100 rounded to 0.1; nil without a
// previous month's MRR (growth from nothing is not a percentage).
func growthPct(prev, cur decimal.Decimal) *decimal.Decimal {
	if !prev.IsPositive() {
		return nil
	}
	g := cur.Sub(prev).Mul(decimal.NewFromInt(100)).Div(prev).Round(1)
	return &g
}

type tierRow struct {
	Month    string
	Tier     string
	MRR      decimal.Decimal
	Accounts int64
}

// readTiers sums the materialised per-trader MRR by month and plan tier.
func readTiers(ctx context.Context, db *gorm.DB) (map[Month][]TierMRR, error) {
	var rows []tierRow
	if err := db.WithContext(ctx).Table("analytics_mrr").
		Select("month, tier, SUM(mrr) AS mrr, COUNT(*) AS accounts").Group("month, tier").Order("month, tier").
		Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("analytics: read mrr by tier: %w", err)
	}
	out := map[Month][]TierMRR{}
	for _, r := range rows {
		out[Month(r.Month)] = append(out[Month(r.Month)], TierMRR{Tier: r.Tier, MRR: r.MRR.Round(2), Accounts: r.Accounts})
	}
	return out, nil
}

// ErrBadPeriod: a financial report's period is not valid; Field names the
// query parameter.
type ErrBadPeriod struct{ Field, Message string }

func (e *ErrBadPeriod) Error() string { return "analytics: " + e.Field + ": " + e.Message }

// Period is the months of a financial report, From to To inclusive, and
// the report's file name.
type Period struct {
	From, To Month
	Name     string // Q1_2024_Revenue_Report | 2024-01_2024-03_Revenue_Report
}

// ParsePeriod reads either quarter=2024Q1 or from=YYYY-MM&to=YYYY-MM (at
// most 36 months, from ≤ to).
func ParsePeriod(quarter, from, to string) (Period, error) {
	if quarter != "" {
		if from != "" || to != "" {
			return Period{}, &ErrBadPeriod{"quarter", "give either quarter or from and to, not both."}
		}
		y, q, ok := strings.Cut(strings.ToUpper(quarter), "Q")
		year, err1 := strconv.Atoi(y)
		n, err2 := strconv.Atoi(q)
		if !ok || err1 != nil || err2 != nil || len(y) != 4 || n < 1 || n > 4 {
			return Period{}, &ErrBadPeriod{"quarter", "quarter must look like 2024Q1 (Q1 to Q4)."}
		}
		f := MonthOf(time.Date(year, time.Month(3*n-2), 1, 0, 0, 0, 0, time.UTC))
		return Period{From: f, To: f.Add(2), Name: fmt.Sprintf("Q%d_%d_Revenue_Report", n, year)}, nil
	}
	f, err := ParseMonth(from)
	if err != nil {
		return Period{}, &ErrBadPeriod{"from", "from must be a month YYYY-MM (or give quarter=2024Q1)."}
	}
	t, err := ParseMonth(to)
	if err != nil {
		return Period{}, &ErrBadPeriod{"to", "to must be a month YYYY-MM."}
	}
	if t < f {
		return Period{}, &ErrBadPeriod{"to", "to must not be before from."}
	}
	if monthsBetween(f, t) >= 36 {
		return Period{}, &ErrBadPeriod{"to", "a report covers at most 36 months."}
	}
	return Period{From: f, To: t, Name: fmt.Sprintf("%s_%s_Revenue_Report", f, t)}, nil
}

// FinancialRow is one month of the financial report (FR-047, US-005 #5).
//   - NewSignups: traders who signed up in the month.
//   - ChurnCount: accounts paying recurring revenue the month before and
//     not in this month (the churned of the MRR movements, as a count).
//   - NetGrowth: NewSignups − ChurnCount.
//   - MRR: the month's MRR; CumulativeARR: the ARR run-rate at the month's
//     end, MRR × 12 (ARR is a run-rate, not a sum of months).
type FinancialRow struct {
	Month         Month           `json:"month"`
	NewSignups    int64           `json:"newSignups"`
	ChurnCount    int64           `json:"churnCount"`
	NetGrowth     int64           `json:"netGrowth"`
	MRR           decimal.Decimal `json:"mrr"`
	CumulativeARR decimal.Decimal `json:"cumulativeArr"`
}

// FinancialReport reads the report of p from the materialised tables and
// the traders' sign-up dates.
func FinancialReport(ctx context.Context, db *gorm.DB, p Period) ([]FinancialRow, error) {
	db = db.WithContext(ctx)
	n := monthsBetween(p.From, p.To) + 1
	rows := make([]FinancialRow, n)
	idx := map[Month]int{}
	for i := range rows {
		m := p.From.Add(i)
		rows[i] = FinancialRow{Month: m, MRR: decimal.Zero, CumulativeARR: decimal.Zero}
		idx[m] = i
	}
	var revenue []struct {
		Month string
		MRR   decimal.Decimal `gorm:"column:mrr"`
	}
	if err := db.Table("analytics_revenue_months").Select("month, mrr").Where("month >= ? AND month <= ?", string(p.From), string(p.To)).
		Scan(&revenue).Error; err != nil {
		return nil, fmt.Errorf("analytics: report revenue: %w", err)
	}
	var last Month // the newest month refreshed: later months are not known yet
	for _, r := range revenue {
		if Month(r.Month) > last {
			last = Month(r.Month)
		}
		i := idx[Month(r.Month)]
		rows[i].MRR = r.MRR.Round(2)
		rows[i].CumulativeARR = r.MRR.Mul(decimal.NewFromInt(12)).Round(2)
	}
	var signups []struct{ CreatedAt time.Time }
	if err := db.Table("users").Select("created_at").Where("role = ? AND created_at >= ? AND created_at < ?", "trader",
		p.From.start(), p.To.Add(1).start()).Scan(&signups).Error; err != nil {
		return nil, fmt.Errorf("analytics: report sign-ups: %w", err)
	}
	for _, s := range signups {
		if i, ok := idx[MonthOf(s.CreatedAt)]; ok {
			rows[i].NewSignups++
		}
	}
	var paying []struct{ UserID, Month string }
	if err := db.Table("analytics_mrr").Select("user_id, month").Where("month >= ? AND month <= ?", string(p.From.Add(-1)), string(p.To)).
		Scan(&paying).Error; err != nil {
		return nil, fmt.Errorf("analytics: report churn: %w", err)
	}
	type um struct{ user, month string }
	set := make(map[um]bool, len(paying))
	for _, r := range paying {
		set[um{r.UserID, r.Month}] = true
	}
	for k := range set {
		next := Month(k.month).Add(1)
		if i, ok := idx[next]; ok && next <= last && !set[um{k.user, string(next)}] {
			rows[i].ChurnCount++
		}
	}
	for i := range rows {
		rows[i].NetGrowth = rows[i].NewSignups - rows[i].ChurnCount
	}
	return rows, nil
}
