package chaos

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/store"
)

// dbOutage makes the database unusable for d: on SQLite an exclusive lock
// held by another connection (every writer and reader of the worker and
// the API waits or fails); on PostgreSQL the worker's sessions are cut and
// the busiest tables locked.
func (c *cluster) dbOutage(d time.Duration) {
	if err := c.holdDB(d); err != nil {
		c.t.Errorf("database outage: %v", err)
	}
}

func (c *cluster) holdDB(d time.Duration) error {
	ctx := context.Background()
	db, _, err := store.Open(ctx, c.dsn, zap.NewNop())
	if err != nil {
		return err
	}
	defer store.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	switch c.dialect {
	case store.SQLite:
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			return err
		}
	case store.Postgres:
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "LOCK TABLE trades, users, audit_heads, event_seqs IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		if _, err := sqlDB.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chaos-worker' AND datname = current_database()"); err != nil {
			return err
		}
	}
	time.Sleep(d)
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	return err
}
