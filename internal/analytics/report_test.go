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
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func monthRow(m string, mrr int64, paying int64) schema.AnalyticsRevenueMonth {
	z := decimal.Zero
	v := decimal.NewFromInt(mrr)
	return schema.AnalyticsRevenueMonth{Month: m, MRR: v, ARR: v.Mul(decimal.NewFromInt(12)), NewMRR: z, ExpansionMRR: z,
		ContractionMRR: z, ChurnedMRR: z, ReactivatedMRR: z, Cash: z, Refunds: z, PayingUsers: paying}
}

// US-005 #1 (FR-041, FR-042): 200 Basic @ $49, 250 Pro @ $99 and 50
// Premium @ $299 read as MRR $49,100 by tier, ARR $589,200 and +15.0%
// over the previous month's $42,696; the financial report of the quarter
// (FR-047) counts sign-ups and churned accounts per month.
func TestRevenueByTierGrowthAndFinancialReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		users := 0
		newUser := func(at time.Time) string {
			users++
			id := fmt.Sprintf("00000000-0000-0000-0000-%012d", users)
			email := fmt.Sprintf("u%d@example.com", users)
			require.NoError(t, db.Create(&schema.User{ID: id, Email: &email, DisplayName: "t", Role: "trader", CreatedAt: at}).Error)
			return id
		}
		var mrr []schema.AnalyticsMRR
		for _, p := range []struct {
			tier  string
			n     int
			price int64
		}{{"basic", 200, 49}, {"pro", 250, 99}, {"premium", 50, 299}} {
			for i := 0; i < p.n; i++ {
				id := newUser(time.Date(2023, 12, 5, 0, 0, 0, 0, time.UTC))
				mrr = append(mrr, schema.AnalyticsMRR{UserID: id, Month: "2024-02", Tier: p.tier, MRR: decimal.NewFromInt(p.price)})
				if i < 10 { // ten of each tier also paid in January
					mrr = append(mrr, schema.AnalyticsMRR{UserID: id, Month: "2024-01", Tier: p.tier, MRR: decimal.NewFromInt(p.price)})
				}
			}
		}
		// Four traders paid in January and not in February: churned.
		for i := 0; i < 4; i++ {
			id := newUser(time.Date(2024, 1, 3+i, 0, 0, 0, 0, time.UTC))
			mrr = append(mrr, schema.AnalyticsMRR{UserID: id, Month: "2024-01", Tier: "basic", MRR: decimal.NewFromInt(49)})
		}
		newUser(time.Date(2024, 2, 29, 23, 59, 0, 0, time.UTC))
		newUser(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) // March: not refreshed yet
		require.NoError(t, db.CreateInBatches(mrr, 200).Error)
		require.NoError(t, db.Create(&[]schema.AnalyticsRevenueMonth{monthRow("2024-01", 42696, 34), monthRow("2024-02", 49100, 500)}).Error)

		rep, err := analytics.ReadRevenue(ctx, db)
		require.NoError(t, err)
		require.Len(t, rep.Revenue, 2)
		feb := rep.Revenue[1]
		require.Equal(t, "49100", feb.MRR.String())
		require.Equal(t, "589200", feb.ARR.String())
		require.NotNil(t, feb.GrowthPct)
		require.Equal(t, "15", feb.GrowthPct.String())
		require.Nil(t, rep.Revenue[0].GrowthPct, "no previous month")
		got := map[string]string{}
		for _, tr := range feb.ByTier {
			got[tr.Tier] = fmt.Sprintf("%s/%d", tr.MRR.StringFixed(2), tr.Accounts)
		}
		require.Equal(t, map[string]string{"basic": "9800.00/200", "pro": "24750.00/250", "premium": "14950.00/50"}, got)

		p, err := analytics.ParsePeriod("2024Q1", "", "")
		require.NoError(t, err)
		require.Equal(t, analytics.Period{From: "2024-01", To: "2024-03", Name: "Q1_2024_Revenue_Report"}, p)
		rows, err := analytics.FinancialReport(ctx, db, p)
		require.NoError(t, err)
		require.Len(t, rows, 3)
		type r struct {
			m                string
			signups, churned int64
			net              int64
			mrr, arr         string
		}
		var have []r
		for _, x := range rows {
			have = append(have, r{string(x.Month), x.NewSignups, x.ChurnCount, x.NetGrowth, x.MRR.StringFixed(2), x.CumulativeARR.StringFixed(2)})
		}
		require.Equal(t, []r{
			{"2024-01", 4, 0, 4, "42696.00", "512352.00"},
			{"2024-02", 1, 4, -3, "49100.00", "589200.00"},
			{"2024-03", 1, 0, 1, "0.00", "0.00"}, // not refreshed: no churn guessed
		}, have)
	})
}

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		q, from, to string
		want        analytics.Period
		field       string
	}{
		{"2024q4", "", "", analytics.Period{From: "2024-10", To: "2024-12", Name: "Q4_2024_Revenue_Report"}, ""},
		{"", "2024-01", "2024-03", analytics.Period{From: "2024-01", To: "2024-03", Name: "2024-01_2024-03_Revenue_Report"}, ""},
		{"2024Q5", "", "", analytics.Period{}, "quarter"},
		{"Q1", "", "", analytics.Period{}, "quarter"},
		{"2024Q1", "2024-01", "", analytics.Period{}, "quarter"},
		{"", "2024-1", "2024-03", analytics.Period{}, "from"},
		{"", "", "", analytics.Period{}, "from"},
		{"", "2024-01", "x", analytics.Period{}, "to"},
		{"", "2024-03", "2024-01", analytics.Period{}, "to"},
		{"", "2020-01", "2023-01", analytics.Period{}, "to"},
	} {
		p, err := analytics.ParsePeriod(tc.q, tc.from, tc.to)
		if tc.field == "" {
			require.NoError(t, err)
			require.Equal(t, tc.want, p)
			continue
		}
		var be *analytics.ErrBadPeriod
		require.ErrorAs(t, err, &be, "%+v", tc)
		require.Equal(t, tc.field, be.Field, "%+v", tc)
	}
}
