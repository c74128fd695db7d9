package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	gosqlite "modernc.org/sqlite"
)

// Retry policy of InTx for transient contention errors.
const (
	maxTxAttempts  = 6
	baseTxBackoff  = 10 * time.Millisecond
	maxTxBackoffMs = 400
)

// SQLite primary result codes (extended codes carry them in the low byte).
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// InTx runs fn inside one database transaction on db (bound to ctx) and
// commits if fn returns nil, rolls back otherwise.
//
// When the transaction fails with a transient contention error — SQLite
// SQLITE_BUSY / SQLITE_LOCKED, PostgreSQL serialization_failure (40001) or
// deadlock_detected (40P01) — the whole transaction is retried, up to 6
// attempts in all, with jittered exponential backoff. fn must therefore be
// safe to run more than once: do all writes through tx and keep side
// effects outside the database (broker calls, notifications) out of fn.
//
// If db is already a transaction handle, fn runs in that transaction
// without retry; the outermost InTx owns the retry.
func InTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	if InTransaction(db) {
		return fn(db.WithContext(ctx))
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = runTx(ctx, db, fn)
		if err == nil || !IsRetryable(err) || attempt >= maxTxAttempts {
			return err
		}
		backoff := baseTxBackoff << (attempt - 1)
		if backoff > maxTxBackoffMs*time.Millisecond {
			backoff = maxTxBackoffMs * time.Millisecond
		}
		backoff += time.Duration(rand.Int64N(int64(backoff))) // #nosec G404 -- retry jitter, not a secret
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return errors.Join(err, ctx.Err())
		case <-timer.C:
		}
	}
}

func runTx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	release, err := acquireWriteGate(ctx, db)
	if err != nil {
		return err
	}
	defer release()
	return db.WithContext(ctx).Transaction(fn)
}

// IsRetryable reports whether err is a transient contention error after
// which retrying the whole transaction may succeed.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqlErr *gosqlite.Error
	if errors.As(err, &sqlErr) {
		code := sqlErr.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
