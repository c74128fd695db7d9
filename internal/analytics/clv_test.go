package analytics_test

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/analytics"
)

// US-005 #4 with the documented bonus: a premium trader paying $299 a
// month, on a plan retaining 18 months on average (18 at risk, 1 churned),
// who filled 250 trades of $15,000 (3,750,000 notional) gets 299 × 18 +
// 1 bp × 3,750,000 = 5,382 + 375 = 5,757: high value. A trader on a plan
// without churn has no CLV ("no churn yet") but keeps their bonus.
func TestTraderCLV(t *testing.T) {
	d := decimal.NewFromInt
	res := analytics.Result{
		UserMonths: []analytics.UserMonth{
			{UserID: "67890", Month: "2024-02", Tier: "pro", MRR: d(99)},
			{UserID: "67890", Month: "2024-03", Tier: "premium", MRR: d(299)},
			{UserID: "67890", Month: "2024-04", Tier: "premium", MRR: d(299)},
			{UserID: "low", Month: "2024-03", Tier: "premium", MRR: d(299)},
			{UserID: "basic1", Month: "2024-03", Tier: "basic", MRR: d(49)},
		},
		CLV: []analytics.CLV{
			{Kind: "plan", Group: "premium", AtRisk: 18, Churned: 1},
			{Kind: "plan", Group: "pro", AtRisk: 10, Churned: 5},
			{Kind: "plan", Group: "basic", AtRisk: 7, Churned: 0},
			{Kind: "cohort", Group: "2024-01", AtRisk: 1, Churned: 1},
		},
	}
	notional := map[string]decimal.Decimal{"67890": d(250 * 15000), "basic1": d(2_000_000)}
	got := map[string]analytics.TraderValue{}
	for _, v := range analytics.TraderCLVs(res, notional) {
		got[v.UserID] = v
	}
	require.Len(t, got, 3)
	v := got["67890"]
	require.Equal(t, "premium", v.Tier, "the newest month's plan")
	require.EqualValues(t, 3, v.PaidMonths)
	require.Equal(t, "232.33", v.AvgMRR.StringFixed(2)) // (99 + 299 + 299) / 3
	require.Equal(t, "18.00", v.RetentionMonths.StringFixed(2))
	require.Equal(t, "375.00", v.VolumeBonus.StringFixed(2))
	require.Equal(t, "4556.94", v.CLV.StringFixed(2)) // 232.33 × 18 + 375
	require.False(t, v.HighValue)

	low := got["low"]
	require.Equal(t, "5382.00", low.CLV.StringFixed(2)) // 299 × 18, no trades
	require.True(t, low.HighValue, "≥ 5,000")

	b := got["basic1"]
	require.Nil(t, b.RetentionMonths)
	require.Nil(t, b.CLV, "no churn yet on basic")
	require.False(t, b.HighValue)
	require.Equal(t, "200.00", b.VolumeBonus.StringFixed(2))

	// The SPEC's example: $299 × 18 months + the 1 bp bonus of 3,750,000.
	res.UserMonths = []analytics.UserMonth{{UserID: "67890", Month: "2024-03", Tier: "premium", MRR: d(299)}}
	spec := analytics.TraderCLVs(res, notional)[0]
	require.Equal(t, "5757.00", spec.CLV.StringFixed(2))
	require.True(t, spec.HighValue)
}
