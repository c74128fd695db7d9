package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// RefreshSummary is what one refresh wrote.
type RefreshSummary struct {
	AsOf        string `json:"asOf"`
	Months      int    `json:"months"`
	UserMonths  int    `json:"userMonths"`
	Cohorts     int    `json:"cohorts"`
	Unconverted int    `json:"unconverted"`
}

// Refresh recomputes every analytics table from the billing ledger as of
// now's month and replaces them in one transaction, so a reader sees
// either the old or the new figures. Idempotent: the same ledger gives the
// same rows.
func Refresh(ctx context.Context, db *gorm.DB, now time.Time) (RefreshSummary, error) {
	asOf := MonthOf(now)
	l, err := LoadLedger(ctx, db, asOf)
	if err != nil {
		return RefreshSummary{}, err
	}
	res := Compute(l, asOf)
	notional, err := LoadNotional(ctx, db, asOf)
	if err != nil {
		return RefreshSummary{}, err
	}
	traders := TraderCLVs(res, notional)
	unconv, _ := json.Marshal(res.Unconverted)
	sum := RefreshSummary{AsOf: string(asOf), Months: len(res.Months), UserMonths: len(res.UserMonths), Cohorts: len(res.Cohorts)}
	for _, n := range res.Unconverted {
		sum.Unconverted += n
	}
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		for _, t := range []string{"analytics_mrr", "analytics_revenue_months", "analytics_cohorts", "analytics_clv", "analytics_trader_clv", "analytics_refreshes"} {
			if err := tx.Exec("DELETE FROM " + t).Error; err != nil {
				return err
			}
		}
		ums := make([]schema.AnalyticsMRR, len(res.UserMonths))
		for i, u := range res.UserMonths {
			ums[i] = schema.AnalyticsMRR{UserID: u.UserID, Month: string(u.Month), Tier: string(u.Tier), MRR: u.MRR}
		}
		if len(ums) > 0 {
			if err := tx.CreateInBatches(ums, 500).Error; err != nil {
				return err
			}
		}
		ms := make([]schema.AnalyticsRevenueMonth, len(res.Months))
		for i, m := range res.Months {
			ms[i] = schema.AnalyticsRevenueMonth{Month: string(m.Month), MRR: m.MRR, ARR: m.ARR, NewMRR: m.New,
				ExpansionMRR: m.Expansion, ContractionMRR: m.Contraction, ChurnedMRR: m.Churned,
				ReactivatedMRR: m.Reactivated, Cash: m.Cash, Refunds: m.Refunds, PayingUsers: m.PayingAccounts}
		}
		if len(ms) > 0 {
			if err := tx.CreateInBatches(ms, 500).Error; err != nil {
				return err
			}
		}
		cs := make([]schema.AnalyticsCohort, len(res.Cohorts))
		for i, c := range res.Cohorts {
			cs[i] = schema.AnalyticsCohort{Cohort: string(c.Cohort), MonthOffset: c.Offset, Size: c.Size, Retained: c.Retained}
		}
		if len(cs) > 0 {
			if err := tx.CreateInBatches(cs, 500).Error; err != nil {
				return err
			}
		}
		vs := make([]schema.AnalyticsCLV, len(res.CLV))
		for i, c := range res.CLV {
			vs[i] = schema.AnalyticsCLV{Kind: c.Kind, GroupKey: c.Group, UserMonths: c.UserMonths, Churned: c.Churned,
				AtRisk: c.AtRisk, ARPA: c.ARPA, CLV: c.Value}
		}
		if len(vs) > 0 {
			if err := tx.CreateInBatches(vs, 500).Error; err != nil {
				return err
			}
		}
		ts := make([]schema.AnalyticsTraderCLV, len(traders))
		for i, v := range traders {
			ts[i] = schema.AnalyticsTraderCLV{UserID: v.UserID, Tier: v.Tier, PaidMonths: v.PaidMonths, AvgMRR: v.AvgMRR,
				RetentionMonths: v.RetentionMonths, Notional12m: v.Notional12m, VolumeBonus: v.VolumeBonus, CLV: v.CLV, HighValue: v.HighValue}
		}
		if len(ts) > 0 {
			if err := tx.CreateInBatches(ts, 500).Error; err != nil {
				return err
			}
		}
		return tx.Create(&schema.AnalyticsRefresh{ID: 1, RefreshedAt: now.UTC(), AsOfMonth: string(asOf),
			Unconverted: string(unconv)}).Error
	})
	if err != nil {
		return sum, fmt.Errorf("analytics: refresh: %w", err)
	}
	return sum, nil
}

// Report is the materialised analytics as the admin API serves them.
type Report struct {
	RefreshedAt *time.Time     `json:"refreshedAt"` // nil: never refreshed yet
	AsOf        string         `json:"asOf"`
	Unconverted map[string]int `json:"unconvertedInvoices"`
	Revenue     []RevenueMonth `json:"revenue,omitempty"`
	Cohorts     []CohortCell   `json:"cohorts,omitempty"`
	CLV         []CLV          `json:"clv,omitempty"`
}

func readMeta(ctx context.Context, db *gorm.DB) (Report, error) {
	var r Report
	var rows []schema.AnalyticsRefresh
	if err := db.WithContext(ctx).Where("id = 1").Limit(1).Find(&rows).Error; err != nil {
		return r, fmt.Errorf("analytics: read: %w", err)
	}
	r.Unconverted = map[string]int{}
	if len(rows) == 1 {
		t := rows[0].RefreshedAt.UTC()
		r.RefreshedAt = &t
		r.AsOf = rows[0].AsOfMonth
		_ = json.Unmarshal([]byte(rows[0].Unconverted), &r.Unconverted)
	}
	return r, nil
}

// ReadRevenue reads the materialised monthly revenue.
func ReadRevenue(ctx context.Context, db *gorm.DB) (Report, error) {
	r, err := readMeta(ctx, db)
	if err != nil {
		return r, err
	}
	var rows []schema.AnalyticsRevenueMonth
	if err := db.WithContext(ctx).Order("month").Find(&rows).Error; err != nil {
		return r, fmt.Errorf("analytics: read revenue: %w", err)
	}
	r.Revenue = make([]RevenueMonth, len(rows))
	for i, m := range rows {
		r.Revenue[i] = RevenueMonth{Month: Month(m.Month), MRR: m.MRR, ARR: m.ARR, New: m.NewMRR, Expansion: m.ExpansionMRR,
			Contraction: m.ContractionMRR, Churned: m.ChurnedMRR, Reactivated: m.ReactivatedMRR, Cash: m.Cash,
			Refunds: m.Refunds, PayingAccounts: m.PayingUsers}
		if i > 0 {
			r.Revenue[i].GrowthPct = growthPct(rows[i-1].MRR, m.MRR)
		}
	}
	tiers, err := readTiers(ctx, db)
	if err != nil {
		return r, err
	}
	for i := range r.Revenue {
		r.Revenue[i].ByTier = tiers[r.Revenue[i].Month]
	}
	return r, nil
}

// ReadCohorts reads the materialised cohort retention.
func ReadCohorts(ctx context.Context, db *gorm.DB) (Report, error) {
	r, err := readMeta(ctx, db)
	if err != nil {
		return r, err
	}
	var rows []schema.AnalyticsCohort
	if err := db.WithContext(ctx).Order("cohort, month_offset").Find(&rows).Error; err != nil {
		return r, fmt.Errorf("analytics: read cohorts: %w", err)
	}
	r.Cohorts = make([]CohortCell, len(rows))
	for i, c := range rows {
		r.Cohorts[i] = CohortCell{Cohort: Month(c.Cohort), Offset: c.MonthOffset, Size: c.Size, Retained: c.Retained}
	}
	return r, nil
}

// ReadCLV reads the materialised CLV per plan and per cohort.
func ReadCLV(ctx context.Context, db *gorm.DB) (Report, error) {
	r, err := readMeta(ctx, db)
	if err != nil {
		return r, err
	}
	var rows []schema.AnalyticsCLV
	if err := db.WithContext(ctx).Order("kind DESC, group_key").Find(&rows).Error; err != nil {
		return r, fmt.Errorf("analytics: read clv: %w", err)
	}
	r.CLV = make([]CLV, len(rows))
	for i, c := range rows {
		r.CLV[i] = CLV{Kind: c.Kind, Group: c.GroupKey, UserMonths: c.UserMonths, Churned: c.Churned, AtRisk: c.AtRisk,
			ARPA: c.ARPA, Value: c.CLV}
	}
	return r, nil
}

// RetentionRate is Retained/Size as a percentage rounded to 0.1.
func (c CohortCell) RetentionRate() decimal.Decimal {
	if c.Size == 0 {
		return decimal.Zero
	}
	return decimal.NewFromInt(c.Retained * 100).Div(decimal.NewFromInt(c.Size)).Round(1)
}
