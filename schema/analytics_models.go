package schema

import (
	"time"

	"github.com/shopspring/decimal"
)

// AnalyticsMRR is one trader's monthly recurring revenue in one month
// (USD), materialised by internal/analytics.Refresh (issue 16).
type AnalyticsMRR struct {
	UserID string          `gorm:"primaryKey;size:36"`
	Month  string          `gorm:"primaryKey;size:7"` // 2026-01
	Tier   string          `gorm:"size:16;not null"`
	MRR    decimal.Decimal `gorm:"column:mrr;type:numeric(20,2);not null"`
}

// TableName of AnalyticsMRR.
func (AnalyticsMRR) TableName() string { return "analytics_mrr" }

// AnalyticsRevenueMonth is the MRR, ARR and MRR movements of one month.
type AnalyticsRevenueMonth struct {
	Month          string          `gorm:"primaryKey;size:7"`
	MRR            decimal.Decimal `gorm:"column:mrr;type:numeric(20,2);not null"`
	ARR            decimal.Decimal `gorm:"column:arr;type:numeric(20,2);not null"`
	NewMRR         decimal.Decimal `gorm:"column:new_mrr;type:numeric(20,2);not null"`
	ExpansionMRR   decimal.Decimal `gorm:"column:expansion_mrr;type:numeric(20,2);not null"`
	ContractionMRR decimal.Decimal `gorm:"column:contraction_mrr;type:numeric(20,2);not null"`
	ChurnedMRR     decimal.Decimal `gorm:"column:churned_mrr;type:numeric(20,2);not null"`
	ReactivatedMRR decimal.Decimal `gorm:"column:reactivated_mrr;type:numeric(20,2);not null"`
	Cash           decimal.Decimal `gorm:"type:numeric(20,2);not null"`
	Refunds        decimal.Decimal `gorm:"type:numeric(20,2);not null"`
	PayingUsers    int64           `gorm:"not null"`
}

// TableName of AnalyticsRevenueMonth.
func (AnalyticsRevenueMonth) TableName() string { return "analytics_revenue_months" }

// AnalyticsCohort is one sign-up cohort's retention at one month offset.
type AnalyticsCohort struct {
	Cohort      string `gorm:"primaryKey;size:7"`
	MonthOffset int    `gorm:"primaryKey"`
	Size        int64  `gorm:"not null"`
	Retained    int64  `gorm:"not null"`
}

// TableName of AnalyticsCohort.
func (AnalyticsCohort) TableName() string { return "analytics_cohorts" }

// AnalyticsCLV is the customer lifetime value of one plan or cohort.
type AnalyticsCLV struct {
	Kind       string           `gorm:"primaryKey;size:8"` // plan | cohort
	GroupKey   string           `gorm:"primaryKey;size:16"`
	UserMonths int64            `gorm:"not null"`
	Churned    int64            `gorm:"not null"`
	AtRisk     int64            `gorm:"not null"` // paying accounts at the start of the months observed
	ARPA       decimal.Decimal  `gorm:"column:arpa;type:numeric(20,2);not null"`
	CLV        *decimal.Decimal `gorm:"column:clv;type:numeric(20,2)"` // nil: no churn observed
}

// TableName of AnalyticsCLV.
func (AnalyticsCLV) TableName() string { return "analytics_clv" }

// AnalyticsRefresh records the last analytics refresh (one row, id 1).
type AnalyticsRefresh struct {
	ID          int `gorm:"primaryKey"`
	RefreshedAt time.Time
	AsOfMonth   string `gorm:"size:7;not null"`
	Unconverted string `gorm:"type:text;not null"` // JSON: currency -> invoices left out
}

// TableName of AnalyticsRefresh.
func (AnalyticsRefresh) TableName() string { return "analytics_refreshes" }

// AnalyticsTraderCLV is one paying trader's lifetime value (migration 0034).
type AnalyticsTraderCLV struct {
	UserID          string           `gorm:"primaryKey;size:36"`
	Tier            string           `gorm:"size:16;not null"`
	PaidMonths      int64            `gorm:"not null"`
	AvgMRR          decimal.Decimal  `gorm:"column:avg_mrr;type:numeric(20,2);not null"`
	RetentionMonths *decimal.Decimal `gorm:"type:numeric(20,2)"` // nil: no churn observed on the plan
	Notional12m     decimal.Decimal  `gorm:"column:notional_12m;type:numeric(24,2);not null"`
	VolumeBonus     decimal.Decimal  `gorm:"type:numeric(20,2);not null"`
	CLV             *decimal.Decimal `gorm:"column:clv;type:numeric(20,2)"`
	HighValue       bool             `gorm:"not null"`
}

// TableName of AnalyticsTraderCLV.
func (AnalyticsTraderCLV) TableName() string { return "analytics_trader_clv" }
