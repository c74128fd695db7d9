package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/workflows"
)

// Compliance is the activity of the monthly compliance report.
type Compliance struct {
	DB  *gorm.DB
	Log *zap.Logger
	// Verify verifies the audit chains; nil means compliance.VerifyChains.
	Verify compliance.Verifier
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// GenerateComplianceReport stores the month's report unless it exists
// (idempotent: compliance.Generate writes one row per month).
func (a *Compliance) GenerateComplianceReport(ctx context.Context, in workflows.ComplianceReportInput) (workflows.ComplianceReportResult, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	row, created, err := compliance.Generate(ctx, a.DB, in.Period, a.Verify, now())
	if errors.Is(err, compliance.ErrBadPeriod) {
		return workflows.ComplianceReportResult{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeBadPeriod, nil)
	}
	if err != nil {
		return workflows.ComplianceReportResult{}, err
	}
	if created && a.Log != nil {
		a.Log.Info("compliance report generated", zap.String("period", row.Period), zap.String("report_id", row.ID),
			zap.Int64("entries", row.TotalEntries), zap.Int64("chains_failed", row.ChainsFailed))
	}
	if row.ChainsFailed > 0 && a.Log != nil {
		a.Log.Error("compliance report: audit chains failed verification", zap.String("period", row.Period), zap.Int64("chains_failed", row.ChainsFailed))
	}
	return workflows.ComplianceReportResult{ReportID: row.ID, Period: row.Period, Created: created, ChainsFailed: row.ChainsFailed}, nil
}
