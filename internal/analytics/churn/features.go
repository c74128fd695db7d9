// Package churn is the churn model of issue 16 (SPEC SC-011): per-trader
// features read from the real tables, a logistic regression trained with
// gonum, a synthetic history generator to train and evaluate it on (there
// is no production data yet), versioned storage of the model, and the
// scoring and alerting the nightly churn-scoring schedule runs.
package churn

import (
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// Activity is what the model knows of one trader at At: raw counts and
// times, read from the database (LoadActivity) or generated (Generate).
type Activity struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
	// Plan is the subscription tier (free, basic, pro, premium); Status
	// the subscription status (active, past_due, trial, cancelled).
	Plan   string `json:"plan"`
	Status string `json:"status"`
	// CancelScheduled: the subscription ends at the period's end.
	CancelScheduled bool      `json:"cancelScheduled"`
	CreatedAt       time.Time `json:"createdAt"`
	// LastActivity is the newest sign-in, session or trade.
	LastActivity time.Time `json:"lastActivity"`
	// Sessions (sign-ins) and trades in the last 30 days and the 30 before.
	Sessions30     int `json:"sessions30"`
	SessionsPrev30 int `json:"sessionsPrev30"`
	Trades30       int `json:"trades30"`
	TradesPrev30   int `json:"tradesPrev30"`
	// SourcesFollowed are the trader's active signal-source subscriptions.
	SourcesFollowed int `json:"sourcesFollowed"`
	// FailedPayments in the last 90 days (SUBSCRIPTION_PAYMENT_FAILED).
	FailedPayments90 int `json:"failedPayments90"`
	// RealizedPnL is the realized profit (negative: loss) of every fill.
	RealizedPnL decimal.Decimal `json:"realizedPnl"`
	// SupportContacts90 are the contacts support staff recorded for the
	// trader in the last 90 days (support_contacts; FR-043's
	// support_tickets_count).
	SupportContacts90 int `json:"supportContacts90"`
}

// Paying says the trader pays for a plan now.
func (a Activity) Paying() bool {
	return a.Plan != "" && a.Plan != "free" && (a.Status == "active" || a.Status == "past_due")
}

// Feature names, in vector order.
const (
	FDaysInactive   = "days_since_last_activity"
	FSessions30     = "sessions_30d"
	FSessionTrend   = "session_trend"
	FTrades30       = "trades_30d"
	FTradeTrend     = "trade_trend"
	FSources        = "signal_sources_followed"
	FFailedPayments = "failed_payments_90d"
	FRealizedPnL    = "realized_pnl"
	FTenure         = "tenure_months"
	FPlan           = "plan_rank"
	FPastDue        = "past_due"
	FCancelSched    = "cancel_scheduled"
	FSupport        = "support_contacts_90d"
)

// FeatureNames are the model's inputs, in vector order.
var FeatureNames = []string{FDaysInactive, FSessions30, FSessionTrend, FTrades30, FTradeTrend, FSources,
	FFailedPayments, FRealizedPnL, FTenure, FPlan, FPastDue, FCancelSched, FSupport}

var planRank = map[string]float64{"free": 0, "basic": 1, "pro": 2, "premium": 3}

// Vector turns a trader's activity into the model's features. Counts are
// log-scaled (log1p), trends are differences of log counts (negative:
// less than the month before), P&L is signed log of hundreds of dollars.
func (a Activity) Vector() []float64 {
	last := a.LastActivity
	if last.IsZero() {
		last = a.CreatedAt // never active: inactive since sign-up
	}
	days := math.Max(0, a.At.Sub(last).Hours()/24) // active after At: 0
	tenure := math.Max(0, a.At.Sub(a.CreatedAt).Hours()/24/30)
	pnl, _ := a.RealizedPnL.Float64()
	lg := func(n int) float64 { return math.Log1p(float64(max(n, 0))) }
	return []float64{
		math.Log1p(days),
		lg(a.Sessions30),
		lg(a.Sessions30) - lg(a.SessionsPrev30),
		lg(a.Trades30),
		lg(a.Trades30) - lg(a.TradesPrev30),
		float64(a.SourcesFollowed),
		float64(a.FailedPayments90),
		math.Copysign(math.Log1p(math.Abs(pnl)/100), pnl),
		math.Log1p(tenure),
		planRank[a.Plan],
		b2f(a.Status == "past_due"),
		b2f(a.CancelScheduled),
		lg(a.SupportContacts90),
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
