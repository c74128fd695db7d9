package activities

import (
	"context"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/workflows"
)

// Analytics is the activity of the analytics-refresh schedule.
type Analytics struct {
	DB  *gorm.DB
	Log *zap.Logger
}

// RefreshAnalytics recomputes the admin revenue analytics as of in.At
// (idempotent: every table is replaced whole in one transaction).
func (a *Analytics) RefreshAnalytics(ctx context.Context, in workflows.AnalyticsRefreshInput) (workflows.AnalyticsRefreshResult, error) {
	s, err := analytics.Refresh(ctx, a.DB, in.At)
	if err != nil {
		return workflows.AnalyticsRefreshResult{}, err
	}
	if a.Log != nil {
		a.Log.Info("analytics refreshed", zap.String("as_of", s.AsOf), zap.Int("user_months", s.UserMonths),
			zap.Int("unconverted_invoices", s.Unconverted))
	}
	return workflows.AnalyticsRefreshResult{AsOf: s.AsOf, Months: s.Months, UserMonths: s.UserMonths, Cohorts: s.Cohorts,
		Unconverted: s.Unconverted}, nil
}
