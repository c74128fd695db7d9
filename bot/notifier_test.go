package bot

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// A burst of more notified events than a page, all within the grace
// window (a 1,000-follower fan-out fills in seconds), is queued in full,
// once: the notifier used to move its cursor to the last event of a full
// page, re-read the same page on every pass and never DM the rest.
func TestNotifierQueuesABurstLargerThanAPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := t.Context()
		n := newNotifier(&Bot{o: Options{DB: db}, log: zap.NewNop()})
		require.NoError(t, n.translate(ctx)) // first start: the cursor is set, history is not DMed

		const burst = 2*outboxPage + 37
		users := make([]string, 3)
		for i := range users {
			discord := uuid.NewString()[:18]
			users[i] = uuid.NewString()
			require.NoError(t, db.Create(&schema.User{ID: users[i], DisplayName: "T", DiscordID: &discord,
				SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
		}
		require.NoError(t, store.InTx(ctx, db, func(tx *gorm.DB) error {
			for i := range burst {
				if _, err := realtime.AppendEvent(tx, users[i%len(users)], realtime.EventTradeFilled,
					map[string]any{"message": "AAPL buy 1 @ $180.00 filled"}); err != nil {
					return err
				}
			}
			return nil
		}))

		queued := func() int64 {
			var c int64
			require.NoError(t, db.Model(&schema.DiscordNotification{}).Count(&c).Error)
			return c
		}
		recorded := storetest.RecordStatements(t, db)
		require.NoError(t, n.translate(ctx))
		stmts := recorded()
		require.EqualValues(t, burst, queued(), "one pass queues the whole burst")
		if d == store.SQLite {
			// Each page is read from the created_at index, not by walking
			// the outbox from its oldest event.
			require.Empty(t, storetest.UnselectivePlans(t, db, stmts, storetest.FewValued...))
		}
		require.NoError(t, n.translate(ctx))
		n.seen = map[int64]time.Time{} // another replica, or a restart, reading the grace window again
		require.NoError(t, n.translate(ctx))
		require.EqualValues(t, burst, queued(), "each event is queued once")
	})
}
