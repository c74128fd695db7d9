package audit

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// The remembered chain tip saves a statement; a stale one must never fork
// the chain. Each case leaves this process's cache wrong in one way, then
// appends: the chain stays valid and gapless.
func TestStaleHeadCacheNeverForksTheChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		appendOne := func(user, action string) schema.AuditLog {
			var row schema.AuditLog
			require.NoError(t, store.InTx(ctx, db, func(tx *gorm.DB) error {
				var err error
				row, err = Append(tx, Entry{UserID: user, Action: action, ResourceType: "Test", ResourceID: "r"})
				return err
			}))
			return row
		}
		rolledBack := func(user string) schema.AuditLog {
			var row schema.AuditLog
			errRollback := errors.New("rollback")
			err := store.InTx(ctx, db, func(tx *gorm.DB) error {
				var err error
				row, err = Append(tx, Entry{UserID: user, Action: "ROLLED_BACK", ResourceType: "Test", ResourceID: "r"})
				require.NoError(t, err)
				return errRollback
			})
			require.ErrorIs(t, err, errRollback)
			return row
		}
		valid := func(user string, entries int64) {
			res, err := Verify(ctx, db, user)
			require.NoError(t, err)
			require.True(t, res.Valid, "%+v", res)
			var n int64
			require.NoError(t, db.Model(&schema.AuditLog{}).Where("user_id = ?", user).Count(&n).Error)
			require.Equal(t, entries, n)
		}

		t.Run("rolled back", func(t *testing.T) {
			user := uuid.NewString()
			appendOne(user, "FIRST")
			rolledBack(user) // the cache now holds an entry that never committed
			require.Equal(t, int64(2), appendOne(user, "SECOND").Seq)
			valid(user, 2)
		})
		t.Run("same seq, another hash", func(t *testing.T) {
			// This process's rolled-back entry n, then another process's
			// committed entry n: the seq matches, the hash does not.
			user := uuid.NewString()
			appendOne(user, "FIRST")
			ghost := rolledBack(user)
			heads.c.Remove(user) // the other process knows nothing of it
			other := appendOne(user, "OTHER_PROCESS")
			require.Equal(t, ghost.Seq, other.Seq)
			require.NotEqual(t, ghost.CurrentHash, other.CurrentHash)
			heads.put(user, ghost.Seq, ghost.CurrentHash)
			require.Equal(t, other.CurrentHash, appendOne(user, "THIRD").PreviousHash)
			valid(user, 3)
		})
		t.Run("head row gone", func(t *testing.T) {
			user := uuid.NewString()
			appendOne(user, "FIRST")
			require.NoError(t, db.Where("user_id = ?", user).Delete(&schema.AuditHead{}).Error)
			require.Equal(t, int64(2), appendOne(user, "SECOND").Seq)
			valid(user, 2)
		})
	})
}
