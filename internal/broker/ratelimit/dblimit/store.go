// Package dblimit is the ratelimit.Store of a deployment: broker rate
// budgets kept in the database (table broker_rate_limits, SQLite or
// PostgreSQL), so that every api and worker process draws from one budget
// per exchange IP or account, and a Retry-After or an IP ban seen by one
// process holds for all of them.
//
// A reservation is one short transaction: the rows of its keys are created
// if missing, locked (SELECT ... FOR UPDATE on PostgreSQL in key order;
// SQLite transactions take the write lock up front), checked and updated
// by ratelimit.ReserveStates. Nothing is written when it has to wait.
package dblimit

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// idleRows is how long an untouched row is kept (its window is long empty).
const idleRows = time.Hour

// pruneEvery is how often one Store deletes idle rows.
const pruneEvery = 10 * time.Minute

// Store is a ratelimit.Store on the database. Safe for concurrent use; one
// per process is enough, any number may share a database.
type Store struct {
	db *gorm.DB

	mu        sync.Mutex
	lastPrune time.Time
}

var _ ratelimit.Store = (*Store)(nil)

// New returns the Store on db (migrated to 0018 or later).
func New(db *gorm.DB) *Store { return &Store{db: db} }

// Reserve implements ratelimit.Store.
func (s *Store) Reserve(ctx context.Context, clock func() time.Time, costs []ratelimit.Cost) (time.Duration, error) {
	keys := ratelimit.SortedKeys(costs)
	if len(keys) == 0 {
		return 0, nil
	}
	var wait time.Duration
	var verdict error
	var now time.Time
	err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		rows, err := lockRows(tx, keys, clock())
		if err != nil {
			return err
		}
		// The rows are ours: the reservation is made now (see
		// ratelimit.Store), however long the lock took.
		now = clock()
		states := make(map[string]*ratelimit.State, len(rows))
		for _, r := range rows {
			u, err := ratelimit.DecodeUsage(r.SlotMs, r.Slots)
			if err != nil {
				return fmt.Errorf("dblimit: %s: %w", r.LimitKey, err)
			}
			states[r.LimitKey] = &ratelimit.State{
				Usage:       u,
				WaitUntil:   time.UnixMilli(r.WaitUntilMs),
				BannedUntil: time.UnixMilli(r.BannedUntilMs),
				BanReason:   r.BanReason,
			}
		}
		var changed bool
		wait, changed, verdict = ratelimit.ReserveStates(now, states, costs)
		if verdict != nil || !changed {
			return nil
		}
		for _, k := range keys {
			st := states[k]
			err := tx.Model(&schema.BrokerRateLimit{}).Where("limit_key = ?", k).Updates(map[string]any{
				"slot_ms":    st.Usage.SlotMillis,
				"slots":      st.Usage.Encode(),
				"updated_at": now.UTC(),
			}).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("dblimit: reserve %v: %w", keys, err)
	}
	s.maybePrune(ctx, now)
	return wait, verdict
}

// lockRows creates the rows of keys that do not exist yet and returns all
// of them locked for the rest of the transaction.
// A row pruned between the insert and the lock is inserted again.
func lockRows(tx *gorm.DB, keys []string, now time.Time) ([]schema.BrokerRateLimit, error) {
	for attempt := 0; ; attempt++ {
		fresh := make([]schema.BrokerRateLimit, len(keys))
		for i, k := range keys {
			fresh[i] = schema.BrokerRateLimit{LimitKey: k, UpdatedAt: now.UTC()}
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&fresh).Error; err != nil {
			return nil, err
		}
		q := tx.Where("limit_key IN ?", keys).Order("limit_key")
		if store.DialectOf(tx) == store.Postgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var rows []schema.BrokerRateLimit
		if err := q.Find(&rows).Error; err != nil {
			return nil, err
		}
		if len(rows) == len(keys) {
			return rows, nil
		}
		if attempt > 0 {
			return nil, fmt.Errorf("dblimit: %d of %d rows found", len(rows), len(keys))
		}
	}
}

// Pause implements ratelimit.Store.
func (s *Store) Pause(ctx context.Context, key string, until time.Time) error {
	return s.extend(ctx, key, "wait_until_ms", until, nil)
}

// Ban implements ratelimit.Store.
func (s *Store) Ban(ctx context.Context, key string, until time.Time, reason string) error {
	if len(reason) > 300 {
		reason = reason[:300]
	}
	return s.extend(ctx, key, "banned_until_ms", until, map[string]any{"ban_reason": reason})
}

// extend moves column (a unix-ms deadline) of key forward to until; an
// earlier value never shortens a later one.
func (s *Store) extend(ctx context.Context, key, column string, until time.Time, extra map[string]any) error {
	now := time.Now().UTC()
	err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		if _, err := lockRows(tx, []string{key}, now); err != nil {
			return err
		}
		set := map[string]any{column: until.UnixMilli(), "updated_at": now}
		for k, v := range extra {
			set[k] = v
		}
		return tx.Model(&schema.BrokerRateLimit{}).
			Where("limit_key = ? AND "+column+" < ?", key, until.UnixMilli()).
			Updates(set).Error
	})
	if err != nil {
		return fmt.Errorf("dblimit: set %s of %s: %w", column, key, err)
	}
	return nil
}

// maybePrune deletes rows nobody used for idleRows (their windows are empty
// and no pause or ban is in force), at most every pruneEvery per Store.
func (s *Store) maybePrune(ctx context.Context, now time.Time) {
	s.mu.Lock()
	if now.Sub(s.lastPrune) < pruneEvery {
		s.mu.Unlock()
		return
	}
	s.lastPrune = now
	s.mu.Unlock()
	ms := now.UnixMilli()
	// Best effort: a failed clean-up is retried at the next interval.
	_ = s.db.WithContext(ctx).
		Where("updated_at < ? AND wait_until_ms < ? AND banned_until_ms < ?", now.Add(-idleRows).UTC(), ms, ms).
		Delete(&schema.BrokerRateLimit{}).Error
}
