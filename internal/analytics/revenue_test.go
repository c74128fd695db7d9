package analytics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

var cent = decimal.RequireFromString("0.01")

func dec(t *testing.T, v any) decimal.Decimal {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return decimal.Zero
	case []byte:
		return decimal.RequireFromString(string(x))
	case float64:
		return decimal.NewFromFloat(x)
	case int64:
		return decimal.NewFromInt(x)
	}
	d, err := decimal.NewFromString(fmt.Sprint(v))
	require.NoError(t, err, "%T %v", v, v)
	return d
}

// query runs raw SQL and returns its rows as values ([]byte as string).
func query(t *testing.T, db *gorm.DB, q string, args ...any) [][]any {
	t.Helper()
	rows, err := db.Raw(q, args...).Rows()
	require.NoError(t, err, q)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				vals[i] = string(b)
			}
		}
		out = append(out, vals)
	}
	require.NoError(t, rows.Err())
	return out
}

func within(t *testing.T, want, got decimal.Decimal, tol decimal.Decimal, msg string, args ...any) {
	t.Helper()
	if want.Sub(got).Abs().GreaterThan(tol) {
		t.Errorf("%s: want %s, got %s", fmt.Sprintf(msg, args...), want, got)
	}
}

// TestRevenueMatchesGeneratorAndSQL is SC-010 and SC-023 on a generated
// ledger: the Go figures equal the generator's own answers to the cent and
// agree with hand-written SQL over the raw events within $0.01 (revenue)
// and 1% (cohort retention), on SQLite and PostgreSQL.
func TestRevenueMatchesGeneratorAndSQL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		opts := analytics.GenOptions{Seed: 16, Traders: 400, Start: "2025-01", Months: 12}
		exp, err := analytics.Generate(ctx, db, opts)
		require.NoError(t, err)
		asOf := opts.Start.Add(opts.Months - 1)
		now := time.Date(2025, 12, 20, 12, 0, 0, 0, time.UTC)
		require.Equal(t, asOf, analytics.MonthOf(now))
		sum, err := analytics.Refresh(ctx, db, now)
		require.NoError(t, err)
		require.Equal(t, 12, sum.Months)
		require.Positive(t, exp.SkippedJPY)
		require.Equal(t, exp.SkippedJPY, sum.Unconverted, "JPY invoices are left out and counted")

		rep, err := analytics.ReadRevenue(ctx, db)
		require.NoError(t, err)
		require.Len(t, rep.Revenue, 12)
		require.Equal(t, exp.SkippedJPY, rep.Unconverted["JPY"])

		// 1. the generator's known answers, exact.
		total := decimal.Zero
		for _, m := range rep.Revenue {
			require.True(t, exp.MRR[m.Month].Equal(m.MRR), "month %s: generator %s, analytics %s", m.Month, exp.MRR[m.Month], m.MRR)
			require.True(t, m.ARR.Equal(m.MRR.Mul(decimal.NewFromInt(12))))
			total = total.Add(m.MRR)
		}
		require.True(t, total.IsPositive())
		l, err := analytics.LoadLedger(ctx, db, asOf)
		require.NoError(t, err)
		res := analytics.Compute(l, asOf)
		n := 0
		for _, u := range res.UserMonths {
			require.True(t, exp.UserMRR[u.UserID][u.Month].Equal(u.MRR), "%s %s", u.UserID, u.Month)
			n++
		}
		want := 0
		for _, ms := range exp.UserMRR {
			want += len(ms)
		}
		require.Equal(t, want, n)

		// 2. MRR per month against SQL.
		type row struct {
			mrr    decimal.Decimal
			paying int64
		}
		byMonth := map[string]row{}
		for _, r := range query(t, db, dialectSQL(d, mrrByMonthSQL), string(asOf)) {
			byMonth[fmt.Sprint(r[0])] = row{dec(t, r[1]), dec(t, r[2]).IntPart()}
		}
		for _, m := range rep.Revenue {
			r := byMonth[string(m.Month)]
			within(t, r.mrr, m.MRR, cent, "MRR %s", m.Month)
			require.Equal(t, r.paying, m.PayingAccounts, "paying %s", m.Month)
		}

		// 3. movements against SQL, and the MRR bridge.
		sqlMv := map[string]decimal.Decimal{}
		for _, r := range query(t, db, dialectSQL(d, movementsSQL), string(asOf), string(asOf)) {
			sqlMv[fmt.Sprint(r[0])+"/"+fmt.Sprint(r[1])] = dec(t, r[2])
		}
		prev := decimal.Zero
		seen := map[string]bool{}
		for _, m := range rep.Revenue {
			for kind, got := range map[string]decimal.Decimal{"new": m.New, "reactivated": m.Reactivated,
				"expansion": m.Expansion, "contraction": m.Contraction, "churned": m.Churned} {
				within(t, sqlMv[string(m.Month)+"/"+kind], got, cent, "%s %s", kind, m.Month)
				if got.IsPositive() {
					seen[kind] = true
				}
			}
			bridge := prev.Add(m.New).Add(m.Expansion).Add(m.Reactivated).Sub(m.Contraction).Sub(m.Churned)
			require.True(t, bridge.Equal(m.MRR), "bridge %s: %s vs %s", m.Month, bridge, m.MRR)
			prev = m.MRR
		}
		for _, k := range []string{"new", "reactivated", "expansion", "contraction", "churned"} {
			require.True(t, seen[k], "the generated ledger exercises %s MRR", k)
		}

		// 4. cohorts against SQL (±1%).
		type cr struct {
			Cohort   string
			Month    string
			Retained int64
			Size     int64
		}
		var crs []cr
		require.NoError(t, db.Raw(dialectSQL(d, cohortSQL), string(asOf)).Scan(&crs).Error)
		sqlC := map[string]cr{}
		for _, r := range crs {
			sqlC[r.Cohort+"/"+r.Month] = r
		}
		coh, err := analytics.ReadCohorts(ctx, db)
		require.NoError(t, err)
		require.NotEmpty(t, coh.Cohorts)
		sizes := int64(0)
		for _, c := range coh.Cohorts {
			if c.Offset == 0 {
				sizes += c.Size
			}
			r := sqlC[string(c.Cohort)+"/"+string(c.Cohort.Add(c.Offset))]
			sqlRate := 0.0
			if r.Size > 0 {
				require.Equal(t, r.Size, c.Size, "cohort %s size", c.Cohort)
				sqlRate = float64(r.Retained) / float64(r.Size)
			}
			goRate := float64(c.Retained) / float64(c.Size)
			require.InDelta(t, sqlRate, goRate, 0.01, "cohort %s +%d", c.Cohort, c.Offset)
		}
		require.Equal(t, int64(opts.Traders), sizes, "every trader (no staff) in one cohort")

		// 5. CLV read back.
		clv, err := analytics.ReadCLV(ctx, db)
		require.NoError(t, err)
		plans := 0
		for _, c := range clv.CLV {
			if c.Kind == "plan" {
				plans++
				require.NotNil(t, c.Value, "plan %s has churn", c.Group)
				require.True(t, c.Value.GreaterThan(c.ARPA))
			}
		}
		require.Equal(t, 3, plans)

		// 6. a second refresh rewrites the same figures.
		_, err = analytics.Refresh(ctx, db, now)
		require.NoError(t, err)
		again, err := analytics.ReadRevenue(ctx, db)
		require.NoError(t, err)
		require.Equal(t, len(rep.Revenue), len(again.Revenue))
		for i := range again.Revenue {
			require.True(t, again.Revenue[i].MRR.Equal(rep.Revenue[i].MRR))
		}
	})
}

func inv(user string, m analytics.Month, tier billing.Tier, net string, recurring bool) analytics.Invoice {
	d := decimal.RequireFromString(net)
	return analytics.Invoice{UserID: user, Month: m, Tier: tier, Recurring: recurring, Net: d, Gross: d, Refunded: decimal.Zero}
}

// TestComputeMovements: a hand-made ledger whose every movement is known.
func TestComputeMovements(t *testing.T) {
	l := analytics.Ledger{SignUps: map[string]analytics.Month{"a": "2026-01", "b": "2026-01", "c": "2026-02"}}
	l.Invoices = []analytics.Invoice{
		inv("a", "2026-01", billing.Basic, "49", true),
		inv("a", "2026-01", billing.Pro, "25", false),   // proration: cash, not MRR
		inv("a", "2026-02", billing.Pro, "99", true),    // expansion 50
		inv("a", "2026-03", billing.Pro, "79.20", true), // coupon: contraction 19.80
		inv("b", "2026-01", billing.Premium, "299", true),
		// b churns in February (299), reactivates in April
		inv("b", "2026-04", billing.Basic, "49", true),
		inv("c", "2026-03", billing.Basic, "0", true), // fully refunded: not paying
	}
	res := analytics.Compute(l, "2026-04")
	type want struct{ mrr, nw, exp, con, churn, react, cash string }
	wants := []want{
		{"348", "348", "0", "0", "0", "0", "373"},
		{"99", "0", "50", "0", "299", "0", "99"},
		{"79.2", "0", "0", "19.8", "0", "0", "79.2"},
		{"49", "0", "0", "0", "79.2", "49", "49"},
	}
	require.Len(t, res.Months, 4)
	for i, w := range wants {
		m := res.Months[i]
		for name, pair := range map[string][2]decimal.Decimal{
			"mrr": {decimal.RequireFromString(w.mrr), m.MRR}, "new": {decimal.RequireFromString(w.nw), m.New},
			"expansion": {decimal.RequireFromString(w.exp), m.Expansion}, "contraction": {decimal.RequireFromString(w.con), m.Contraction},
			"churned": {decimal.RequireFromString(w.churn), m.Churned}, "reactivated": {decimal.RequireFromString(w.react), m.Reactivated},
			"cash": {decimal.RequireFromString(w.cash), m.Cash},
		} {
			require.True(t, pair[0].Equal(pair[1]), "%s %s: want %s got %s", m.Month, name, pair[0], pair[1])
		}
	}
	// cohort 2026-01 (a, b): paying 2, 1, 1, 2; cohort 2026-02 (c): never.
	ret := map[string]int64{}
	for _, c := range res.Cohorts {
		ret[fmt.Sprintf("%s+%d", c.Cohort, c.Offset)] = c.Retained
	}
	require.Equal(t, map[string]int64{"2026-01+0": 2, "2026-01+1": 1, "2026-01+2": 1, "2026-01+3": 1,
		"2026-02+0": 0, "2026-02+1": 0, "2026-02+2": 0}, ret)
	// CLV: cohort 2026-01: 6 account-months? a 4 months... a: Jan-Apr? a has
	// no April invoice: churned in April. MRR sum 49+99+79.2+299+49 = 575.2
	// over 5 account-months = 115.04; at risk: a Feb, Mar, Apr + b Feb = 4;
	// churned: b Feb, a Apr = 2; CLV = 115.04 × 4 / 2 = 230.08.
	var cohortCLV *analytics.CLV
	for i := range res.CLV {
		if res.CLV[i].Kind == "cohort" && res.CLV[i].Group == "2026-01" {
			cohortCLV = &res.CLV[i]
		}
	}
	require.NotNil(t, cohortCLV)
	require.Equal(t, int64(5), cohortCLV.UserMonths)
	require.Equal(t, int64(4), cohortCLV.AtRisk)
	require.Equal(t, int64(2), cohortCLV.Churned)
	require.Equal(t, "115.04", cohortCLV.ARPA.StringFixed(2))
	require.Equal(t, "230.08", cohortCLV.Value.StringFixed(2))
}

func TestToUSDAndMonths(t *testing.T) {
	for _, c := range []struct {
		cents int64
		cur   string
		want  string
		ok    bool
	}{
		{4900, "usd", "49", true},
		{4900, "EUR", "52.92", true},
		{3333, "gbp", "42.33", true}, // 42.3291 -> 42.33
		{1, "cad", "0.01", true},     // 0.0073 -> 0.01
		{4900, "jpy", "0", false},
	} {
		got, ok := analytics.ToUSD(c.cents, c.cur)
		require.Equal(t, c.ok, ok, c.cur)
		require.True(t, decimal.RequireFromString(c.want).Equal(got), "%d %s: %s", c.cents, c.cur, got)
	}
	_, err := analytics.ParseMonth("2026-13")
	require.ErrorIs(t, err, analytics.ErrBadMonth)
	m, err := analytics.ParseMonth("2026-12")
	require.NoError(t, err)
	require.Equal(t, analytics.Month("2027-01"), m.Add(1))
}
