package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// ActionSecurityAlert is the audit action of a security alert (the same
// name internal/auth uses for its own alerts).
const ActionSecurityAlert = "SECURITY_ALERT"

// AlertKindTampering is the kind of alert a failed verification raises.
const AlertKindTampering = "audit_tampering"

// maxAlertChains bounds the chains one alert lists.
const maxAlertChains = 50

// AlertChain is one failed chain in an alert's details.
type AlertChain struct {
	Chain  string `json:"chain"`
	Seq    int64  `json:"seq"`
	Reason Reason `json:"reason"`
	Detail string `json:"detail"`
}

// RaiseTamperAlert records a failed verification, once per id (a retried
// activity raises nothing twice): an audit_alerts row admins see until one
// acknowledges it, a SECURITY_ALERT entry on the system chain, and a
// security_alert mail to every admin (mail outbox, sent after commit). A
// failure identical to an alert still open (same chains, entries and
// reasons) raises nothing new: the hourly run does not mail admins every
// hour about what they have not yet acknowledged. It reports whether the
// alert was new; the id returned is the new or the open alert's.
func RaiseTamperAlert(ctx context.Context, db *gorm.DB, id string, failed int, chains []AlertChain, now time.Time) (string, bool, error) {
	if id == "" || len(id) > 64 {
		return "", false, errors.New("audit: alert id must be 1-64 characters")
	}
	if len(chains) > maxAlertChains {
		chains = chains[:maxAlertChains]
	}
	now = now.UTC()
	summary := fmt.Sprintf("%d audit chain(s) failed verification against the object store", failed)
	details, err := json.Marshal(map[string]any{"failed": failed, "chains": chains})
	if err != nil {
		return "", false, err
	}
	raised := false
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		var open []schema.AuditAlert
		if err := tx.Where("kind = ? AND acknowledged_at IS NULL AND details = ?", AlertKindTampering, string(details)).
			Order("raised_at DESC").Limit(1).Find(&open).Error; err != nil {
			return err
		}
		if len(open) == 1 {
			id = open[0].ID
			return nil
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.AuditAlert{ID: id, RaisedAt: now,
			Kind: AlertKindTampering, Summary: summary, Details: string(details)})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		raised = true
		if _, err := Append(tx, Entry{UserID: SystemUserID, Action: ActionSecurityAlert, ResourceType: "AuditAlert", ResourceID: id,
			Status: StatusFailure, ErrorMessage: summary, At: now,
			Details: map[string]any{"kind": AlertKindTampering, "failed": failed, "chains": chains}}); err != nil {
			return err
		}
		var admins []string
		if err := tx.Model(&schema.User{}).Where("role = ?", "admin").Order("id").Pluck("id", &admins).Error; err != nil {
			return err
		}
		var lines []string
		for _, c := range chains {
			lines = append(lines, fmt.Sprintf("- chain %s, entry %d: %s", c.Chain, c.Seq, c.Reason))
		}
		for _, a := range admins {
			if err := mail.Enqueue(tx, a, mail.KindSecurityAlert, map[string]string{"Summary": summary,
				"Date": now.Format(time.RFC3339), "Details": strings.Join(lines, "\n")}, now); err != nil {
				return err
			}
		}
		return nil
	})
	return id, raised, err
}

// OpenAlerts returns the alerts no admin has acknowledged, newest first:
// what the admin view shows (FR-059).
func OpenAlerts(ctx context.Context, db *gorm.DB, limit int) ([]schema.AuditAlert, error) {
	if limit <= 0 || limit > MaxListLimit {
		limit = DefaultListLimit
	}
	var out []schema.AuditAlert
	err := db.WithContext(ctx).Where("acknowledged_at IS NULL").Order("raised_at DESC").Limit(limit).Find(&out).Error
	return out, err
}

// AcknowledgeAlert marks an alert as seen by adminID (audited on the
// admin's chain). Acknowledging twice changes nothing.
func AcknowledgeAlert(ctx context.Context, db *gorm.DB, id, adminID string, now time.Time) error {
	return store.InTx(ctx, db, func(tx *gorm.DB) error {
		now := now.UTC()
		res := tx.Model(&schema.AuditAlert{}).Where("id = ? AND acknowledged_at IS NULL", id).
			Updates(map[string]any{"acknowledged_at": now, "acknowledged_by": adminID})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		_, err := Append(tx, Entry{UserID: adminID, Action: "SECURITY_ALERT_ACKNOWLEDGED", ResourceType: "AuditAlert", ResourceID: id, At: now})
		return err
	})
}

// RecordVerification stores one verification run (idempotent per id).
func RecordVerification(ctx context.Context, db *gorm.DB, v schema.AuditVerification) error {
	return db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&v).Error
}

// LatestVerification returns the newest verification run, if any.
func LatestVerification(ctx context.Context, db *gorm.DB) (*schema.AuditVerification, error) {
	var v []schema.AuditVerification
	if err := db.WithContext(ctx).Order("finished_at DESC").Limit(1).Find(&v).Error; err != nil || len(v) == 0 {
		return nil, err
	}
	return &v[0], nil
}
