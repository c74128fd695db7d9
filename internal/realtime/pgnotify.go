package realtime

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/zap"
	"gorm.io/gorm"
)

// PostgreSQL LISTEN/NOTIFY. The channel is named after the connection's
// schema, so several deployments (or test schemas) in one database do not
// wake each other. AppendEvent notifies inside the writer's transaction:
// PostgreSQL delivers the notification exactly when the event commits, to
// every listening replica, whichever process wrote it.
const (
	channelExpr = "left('te_rt_' || current_schema(), 63)"
	notifySQL   = "SELECT pg_notify(" + channelExpr + ", ?)"
)

// PGNotifier is a Notifier on PostgreSQL LISTEN/NOTIFY. Listen holds one
// connection of db's pool for as long as it runs.
type PGNotifier struct {
	db  *gorm.DB
	log *zap.Logger
	// MaxBackoff caps the wait between reconnects of the listener.
	MaxBackoff time.Duration
}

// NewPGNotifier returns a notifier on db (a PostgreSQL handle of store.Open).
func NewPGNotifier(db *gorm.DB, log *zap.Logger) *PGNotifier {
	if log == nil {
		log = zap.NewNop()
	}
	return &PGNotifier{db: db, log: log, MaxBackoff: 5 * time.Second}
}

// Publish implements Notifier.
func (p *PGNotifier) Publish(ctx context.Context, n Notice) error {
	if err := p.db.WithContext(ctx).Exec(notifySQL, n.encode()).Error; err != nil {
		return fmt.Errorf("realtime: notify: %w", err)
	}
	return nil
}

// Listen implements Notifier. A lost connection is re-established with
// backoff; resync is called after every (re)connect.
func (p *PGNotifier) Listen(ctx context.Context, fn func(Notice), resync func()) error {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := p.listenOnce(ctx, fn, resync)
		if ctx.Err() != nil {
			return ErrNotifierClosed
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		p.log.Warn("realtime listener lost its connection; reconnecting", zap.Error(err), zap.Duration("backoff", backoff))
		select {
		case <-ctx.Done():
			return ErrNotifierClosed
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.MaxBackoff)
	}
}

func (p *PGNotifier) listenOnce(ctx context.Context, fn func(Notice), resync func()) error {
	sqlDB, err := p.db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("realtime: LISTEN needs a pgx connection")
		}
		pc := sc.Conn()
		var channel string
		if err := pc.QueryRow(ctx, "SELECT "+channelExpr).Scan(&channel); err != nil {
			return driver.ErrBadConn
		}
		if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return driver.ErrBadConn
		}
		if resync != nil {
			resync()
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// The connection is LISTENing (or broken): never hand it
				// back to the pool.
				p.log.Debug("realtime listener stopped", zap.Error(err))
				return driver.ErrBadConn
			}
			if notice, ok := decodeNotice(n.Payload); ok {
				fn(notice)
			}
		}
	})
}
