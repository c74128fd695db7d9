package starts

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Backlog is the number of start requests not yet started and the age at
// now of the oldest (0 when none): the start relay's backlog.
func Backlog(ctx context.Context, db *gorm.DB, now time.Time) (int, time.Duration, error) {
	var row struct{ N int }
	if err := db.WithContext(ctx).Model(&schema.WorkflowStart{}).Select("COUNT(*) AS n").Scan(&row).Error; err != nil {
		return 0, 0, err
	}
	if row.N == 0 {
		return 0, 0, nil
	}
	// The oldest row itself, not MIN(created_at): SQLite answers an
	// aggregate over a timestamp as text.
	var oldest schema.WorkflowStart
	if err := db.WithContext(ctx).Select("created_at").Order("created_at").Limit(1).Find(&oldest).Error; err != nil {
		return 0, 0, err
	}
	if oldest.CreatedAt.IsZero() {
		return row.N, 0, nil
	}
	return row.N, max(now.Sub(oldest.CreatedAt), 0), nil
}
