package audit

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Paging limits of List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 10000
)

// Filter selects audit entries (FR-057). Empty fields do not filter. From
// is inclusive, To exclusive. Limit 0 means DefaultListLimit; larger than
// MaxListLimit is capped.
type Filter struct {
	UserID       string
	Action       string
	ResourceType string
	ResourceID   string
	From         time.Time
	To           time.Time
	Limit        int
	Offset       int
}

func (f Filter) apply(db *gorm.DB) *gorm.DB {
	q := db.Model(&schema.AuditLog{})
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ResourceType != "" {
		q = q.Where("resource_type = ?", f.ResourceType)
	}
	if f.ResourceID != "" {
		q = q.Where("resource_id = ?", f.ResourceID)
	}
	// Timestamps are stored in UTC; on SQLite they compare as text, so the
	// bounds must be UTC too.
	if !f.From.IsZero() {
		q = q.Where("timestamp >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("timestamp < ?", f.To.UTC())
	}
	return q
}

// List returns the entries matching f, newest first (by timestamp, then by
// sequence number).
func List(ctx context.Context, db *gorm.DB, f Filter) ([]schema.AuditLog, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	offset := max(f.Offset, 0)
	var out []schema.AuditLog
	err := f.apply(db.WithContext(ctx)).
		Order("timestamp DESC").Order("seq DESC").Order("user_id").
		Limit(limit).Offset(offset).
		Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}

// Count returns how many entries match f (Limit and Offset are ignored).
func Count(ctx context.Context, db *gorm.DB, f Filter) (int64, error) {
	var n int64
	if err := f.apply(db.WithContext(ctx)).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count: %w", err)
	}
	return n, nil
}
