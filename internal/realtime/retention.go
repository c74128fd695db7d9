package realtime

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Purge deletes outbox events created before cutoff (retention: a client
// whose gap reaches past it gets a state.sync) and WebSocket tickets that
// expired before now. Every api replica runs it; it is idempotent.
func Purge(ctx context.Context, db *gorm.DB, cutoff, now time.Time) error {
	if err := db.WithContext(ctx).Where("created_at < ?", cutoff.UTC()).Delete(&schema.OutboxEvent{}).Error; err != nil {
		return fmt.Errorf("realtime: purge events: %w", err)
	}
	if err := db.WithContext(ctx).Where("expires_at < ?", now.UTC()).Delete(&schema.WSTicket{}).Error; err != nil {
		return fmt.Errorf("realtime: purge tickets: %w", err)
	}
	return nil
}
