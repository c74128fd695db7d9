package paper

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/store"
)

// Table holding paper accounts. The schema migrations create it as
//
//	paper_accounts(id varchar(36) primary key, state text not null,
//	               version bigint not null, updated_at timestamp)
//
// state is the JSON of AccountState; version counts writes.
const accountsTable = "paper_accounts"

type accountRow struct {
	ID        string    `gorm:"column:id;primaryKey;size:36"`
	State     string    `gorm:"column:state;not null"`
	Version   int64     `gorm:"column:version;not null"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (accountRow) TableName() string { return accountsTable }

// Write-conflict retry policy of GormStore.Update.
const (
	maxUpdateAttempts = 60
	baseUpdateBackoff = time.Millisecond
	maxUpdateBackoff  = 40 * time.Millisecond
)

var errVersionConflict = errors.New("paper account was changed concurrently")

// fnError carries an error returned by an Update callback through the
// transaction, so it is returned as is and never retried.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// GormStore is a Store on the application database (SQLite or PostgreSQL),
// shared by every process.
//
// Update is a read-modify-write in one transaction guarded twice: on
// PostgreSQL the row is read with SELECT ... FOR UPDATE, so concurrent
// writers queue on the row lock; on both engines the write is conditional on
// the version read (UPDATE ... WHERE id = ? AND version = ?), so a write that
// lost a race — or SQLite reporting the database busy — retries the whole
// read-modify-write with jittered backoff. No update is ever lost.
type GormStore struct {
	db        *gorm.DB
	forUpdate bool // lock the row on read (PostgreSQL)
	cache     *stateCache
}

// NewGormStore returns a store on db. The paper_accounts table must exist.
func NewGormStore(db *gorm.DB) *GormStore {
	return &GormStore{db: db, forUpdate: db.Dialector.Name() == "postgres", cache: newStateCache(stateCacheSize)}
}

// Create implements Store.
func (s *GormStore) Create(ctx context.Context, st AccountState) (bool, error) {
	b, err := encodeState(&st)
	if err != nil {
		return false, err
	}
	row := accountRow{ID: st.ID, State: string(b), Version: 1, UpdatedAt: time.Now().UTC()}
	var created bool
	err = s.retry(ctx, func() error {
		res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
		created = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("paper store: create account: %w", err)
	}
	return created, nil
}

// Load implements Store.
func (s *GormStore) Load(ctx context.Context, accountID string) (AccountState, error) {
	var rows []accountRow
	err := s.retry(ctx, func() error {
		return s.db.WithContext(ctx).Where("id = ?", accountID).Limit(1).Find(&rows).Error
	})
	if err != nil {
		return AccountState{}, fmt.Errorf("paper store: load account: %w", err)
	}
	if len(rows) == 0 {
		return AccountState{}, ErrAccountNotFound
	}
	return s.decodeRow(rows[0])
}

// Update implements Store.
func (s *GormStore) Update(ctx context.Context, accountID string, fn func(*AccountState) error) error {
	// written is what the committed attempt wrote, cached once it commits.
	var written struct {
		raw     string
		st      AccountState
		version int64
	}
	err := s.retry(ctx, func() error {
		// store.InTx queues SQLite writers of this process on one gate
		// instead of SQLite's sleeping busy handler. It may run the
		// function again after a failed commit: each run starts clean.
		return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
			written.version = 0
			q := tx
			if s.forUpdate {
				q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
			}
			var rows []accountRow
			if err := q.Where("id = ?", accountID).Limit(1).Find(&rows).Error; err != nil {
				return err
			}
			if len(rows) == 0 {
				return fnError{ErrAccountNotFound}
			}
			st, err := s.decodeRow(rows[0])
			if err != nil {
				return fnError{err}
			}
			if err := fn(&st); err != nil {
				return fnError{err}
			}
			b, err := encodeState(&st)
			if err != nil {
				return fnError{err}
			}
			if string(b) == rows[0].State {
				return nil
			}
			res := tx.Model(&accountRow{}).
				Where("id = ? AND version = ?", accountID, rows[0].Version).
				Updates(map[string]any{
					"state":      string(b),
					"version":    gorm.Expr("version + 1"),
					"updated_at": time.Now().UTC(),
				})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return errVersionConflict
			}
			written.raw, written.st, written.version = string(b), st, rows[0].Version+1
			return nil
		})
	})
	if err == nil && written.version != 0 {
		s.cache.put(accountID, written.raw, written.st, written.version)
	}
	var fe fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return fmt.Errorf("paper store: update account: %w", err)
	}
	return nil
}

// ListWorking implements Store. It selects by the serialised prefix of
// AccountState ({"working":true,...), which is portable across engines and
// needs no JSON parsing in the database. It reads the rows' versions first
// and the states only of the accounts whose version the cache does not
// hold: the matching pass runs every 250 ms over every account with a
// working order (a stop-loss each), and most have not changed.
func (s *GormStore) ListWorking(ctx context.Context) ([]AccountState, error) {
	var heads []accountHead
	err := s.retry(ctx, func() error {
		return s.db.WithContext(ctx).Model(&accountRow{}).Select("id", "version").
			Where("state LIKE ?", string(workingPrefix)+"%").Order("id").Find(&heads).Error
	})
	if err != nil {
		return nil, fmt.Errorf("paper store: list accounts: %w", err)
	}
	out := make([]AccountState, 0, len(heads))
	var missing []string
	for _, h := range heads {
		if st, ok := s.cache.atVersion(h.ID, h.Version); ok {
			out = append(out, st)
		} else {
			missing = append(missing, h.ID)
		}
	}
	for len(missing) > 0 {
		ids := missing[:min(len(missing), listChunk)]
		missing = missing[len(ids):]
		var rows []accountRow
		if err := s.retry(ctx, func() error {
			return s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error
		}); err != nil {
			return nil, fmt.Errorf("paper store: list accounts: %w", err)
		}
		for _, r := range rows {
			st, err := s.decodeRow(r)
			if err != nil {
				return nil, err
			}
			if st.Working { // it may have changed since its version was read
				out = append(out, st)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// accountHead is a row's id and version, without its state.
type accountHead struct {
	ID      string `gorm:"column:id"`
	Version int64  `gorm:"column:version"`
}

// listChunk bounds the ids of one IN list (SQLite's parameter limit).
const listChunk = 500

func (s *GormStore) decodeRow(r accountRow) (AccountState, error) {
	st, err := s.cache.decode(r.ID, r.State, r.Version)
	if err != nil {
		return AccountState{}, fmt.Errorf("paper store: account %s: corrupt state: %w", r.ID, err)
	}
	return st, nil
}

// retry runs op until it succeeds, fails for good, or ctx ends. Write
// conflicts and transient lock errors are retried with jittered exponential
// backoff.
func (s *GormStore) retry(ctx context.Context, op func() error) error {
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !transient(err) {
			return err
		}
		if attempt >= maxUpdateAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		backoff := min(baseUpdateBackoff<<min(attempt-1, 10), maxUpdateBackoff)
		backoff = backoff/2 + rand.N(backoff) // #nosec G404 -- retry jitter, not a secret
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// transient reports whether err is a lost race or lock contention after
// which the operation may succeed: a version conflict, SQLite BUSY/LOCKED,
// or PostgreSQL serialization_failure / deadlock_detected.
func transient(err error) bool {
	var fe fnError
	if errors.As(err, &fe) {
		return false
	}
	if errors.Is(err, errVersionConflict) {
		return true
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		c := coded.Code() & 0xff
		return c == 5 || c == 6 // SQLITE_BUSY, SQLITE_LOCKED
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		c := pg.SQLState()
		return c == "40001" || c == "40P01"
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}
