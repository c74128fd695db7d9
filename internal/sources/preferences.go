package sources

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/schema"
)

// Notification kinds: what a DM or channel message is about. The first five
// are trader preferences (NotificationPreference).
const (
	KindFill     = "fill"
	KindReject   = "reject"
	KindQueued   = "queued"
	KindStopLoss = "stop_loss"
	KindRiskLock = "risk_lock"
	KindSkipped  = "skipped"  // a follower skipped by a fan-out (follows KindReject's preference)
	KindSummary  = "summary"  // a source channel's "Executed for N followers" reply
	KindApproval = "approval" // a signal waiting for the trader's approval (always sent)
)

// Preferences say which DMs a trader receives.
type Preferences struct {
	Fills     bool `json:"fills"`
	Rejects   bool `json:"rejects"`
	Queued    bool `json:"queued"`
	StopLoss  bool `json:"stopLoss"`
	RiskLocks bool `json:"riskLocks"`
}

// AllPreferences is the default: every DM.
func AllPreferences() Preferences {
	return Preferences{Fills: true, Rejects: true, Queued: true, StopLoss: true, RiskLocks: true}
}

// Allows reports whether the trader wants a DM of this kind.
func (p Preferences) Allows(kind string) bool {
	switch kind {
	case KindFill:
		return p.Fills
	case KindReject, KindSkipped:
		return p.Rejects
	case KindQueued:
		return p.Queued
	case KindStopLoss:
		return p.StopLoss
	case KindRiskLock:
		return p.RiskLocks
	case KindApproval:
		return true
	}
	return false
}

// GetPreferences returns userID's preferences (all on without a row).
func GetPreferences(ctx context.Context, db *gorm.DB, userID string) (Preferences, error) {
	var row schema.NotificationPreference
	err := db.WithContext(ctx).Where("user_id = ?", userID).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return AllPreferences(), nil
	}
	if err != nil {
		return Preferences{}, err
	}
	return Preferences{Fills: row.Fills, Rejects: row.Rejects, Queued: row.Queued, StopLoss: row.StopLoss, RiskLocks: row.RiskLocks}, nil
}

// SetPreferences stores userID's preferences.
func SetPreferences(ctx context.Context, db *gorm.DB, userID string, p Preferences) error {
	row := schema.NotificationPreference{UserID: userID, Fills: p.Fills, Rejects: p.Rejects, Queued: p.Queued,
		StopLoss: p.StopLoss, RiskLocks: p.RiskLocks, UpdatedAt: time.Now().UTC()}
	return db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"fills", "rejects", "queued", "stop_loss", "risk_locks", "updated_at"}),
	}).Create(&row).Error
}
