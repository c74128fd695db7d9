package analytics

import (
	"context"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
)

// Per-trader CLV (FR-046, US-005 #4; DESIGN.md "Analytics: revenue and
// cohorts"):
//
//		CLV = average monthly revenue × average retention months + trade volume bonus
//
//	  - average monthly revenue: the trader's recurring MRR summed over their
//	    paying months ÷ those months;
//	  - average retention months: of the trader's current plan (the tier of
//	    their newest paying month), 1 ÷ the plan's monthly churn rate =
//	    AtRisk ÷ Churned of the plan's CLV row; unknown (nil) while the plan
//	    has no churn observed, and then CLV is nil too ("no churn yet");
//	  - trade volume bonus: VolumeBonusRate (1 bp) of the notional
//	    (filled quantity × fill price) of the trader's trades filled in the
//	    12 months up to the refresh month, in the trade's quote currency
//	    taken as USD (the brokers quote USD/USDT pairs and US stocks).
//
// A trader is a "high value user" when CLV ≥ HighValueCLV.
var (
	VolumeBonusRate = decimal.RequireFromString("0.0001")
	HighValueCLV    = decimal.NewFromInt(5000)
)

// TraderValue is one paying trader's CLV.
type TraderValue struct {
	UserID          string           `json:"userId"`
	Tier            string           `json:"tier"`
	PaidMonths      int64            `json:"paidMonths"`
	AvgMRR          decimal.Decimal  `json:"avgMrr"`
	RetentionMonths *decimal.Decimal `json:"retentionMonths"`
	Notional12m     decimal.Decimal  `json:"notional12m"`
	VolumeBonus     decimal.Decimal  `json:"volumeBonus"`
	CLV             *decimal.Decimal `json:"clv"`
	HighValue       bool             `json:"highValue"`
}

// TraderCLVs computes every paying trader's CLV from a Compute result and
// the traders' 12-month notional.
func TraderCLVs(res Result, notional map[string]decimal.Decimal) []TraderValue {
	retention := map[string]*decimal.Decimal{}
	for _, c := range res.CLV {
		if c.Kind != "plan" {
			continue
		}
		if c.Churned > 0 {
			r := decimal.NewFromInt(c.AtRisk).Div(decimal.NewFromInt(c.Churned)).Round(2)
			retention[c.Group] = &r
		}
	}
	type acc struct {
		sum    decimal.Decimal
		months int64
		last   Month
		tier   string
	}
	by := map[string]*acc{}
	for _, u := range res.UserMonths { // sorted by month
		a := by[u.UserID]
		if a == nil {
			a = &acc{sum: decimal.Zero}
			by[u.UserID] = a
		}
		a.sum = a.sum.Add(u.MRR)
		a.months++
		if u.Month >= a.last {
			a.last, a.tier = u.Month, string(u.Tier)
		}
	}
	out := make([]TraderValue, 0, len(by))
	for id, a := range by {
		avg := a.sum.Div(decimal.NewFromInt(a.months)).Round(2)
		n := notional[id].Round(2)
		v := TraderValue{UserID: id, Tier: a.tier, PaidMonths: a.months, AvgMRR: avg, Notional12m: n,
			VolumeBonus: n.Mul(VolumeBonusRate).Round(2), RetentionMonths: retention[a.tier]}
		if v.RetentionMonths != nil {
			c := avg.Mul(*v.RetentionMonths).Add(v.VolumeBonus).Round(2)
			v.CLV = &c
			v.HighValue = c.GreaterThanOrEqual(HighValueCLV)
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out
}

// LoadNotional sums filled quantity × fill price per trader over the
// trades filled in the 12 months up to and including asOf (read only).
func LoadNotional(ctx context.Context, db *gorm.DB, asOf Month) (map[string]decimal.Decimal, error) {
	from, to := asOf.Add(-11).start(), asOf.Add(1).start()
	rows, err := db.WithContext(ctx).Table("trades").Select("user_id, filled_quantity, fill_price").
		Where("filled_at >= ? AND filled_at < ? AND fill_price IS NOT NULL", from, to).Rows()
	if err != nil {
		return nil, fmt.Errorf("analytics: notional: %w", err)
	}
	defer rows.Close()
	out := map[string]decimal.Decimal{}
	for rows.Next() {
		var user string
		var qty decimal.Decimal
		var price decimal.NullDecimal
		if err := rows.Scan(&user, &qty, &price); err != nil {
			return nil, fmt.Errorf("analytics: notional: %w", err)
		}
		if price.Valid && qty.IsPositive() {
			out[user] = out[user].Add(qty.Mul(price.Decimal).Abs())
		}
	}
	return out, rows.Err()
}

// ReadTraderCLV reads the materialised per-trader CLV: high value first,
// then by CLV (unknown last), at most limit rows.
func ReadTraderCLV(ctx context.Context, db *gorm.DB, limit int) ([]TraderValue, error) {
	var rows []TraderValue
	var stored []struct {
		UserID          string
		Tier            string
		PaidMonths      int64
		AvgMRR          decimal.Decimal  `gorm:"column:avg_mrr"`
		RetentionMonths *decimal.Decimal `gorm:"column:retention_months"`
		Notional12m     decimal.Decimal  `gorm:"column:notional_12m"`
		VolumeBonus     decimal.Decimal  `gorm:"column:volume_bonus"`
		CLV             *decimal.Decimal `gorm:"column:clv"`
		HighValue       bool
	}
	if err := db.WithContext(ctx).Table("analytics_trader_clv").
		Order("high_value DESC, CASE WHEN clv IS NULL THEN 1 ELSE 0 END, clv DESC, user_id").Limit(limit).
		Scan(&stored).Error; err != nil {
		return nil, fmt.Errorf("analytics: read trader clv: %w", err)
	}
	for _, s := range stored {
		rows = append(rows, TraderValue(s))
	}
	return rows, nil
}
