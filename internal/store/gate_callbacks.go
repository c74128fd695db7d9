package store

import (
	"sync"
	"time"

	"gorm.io/gorm"
)

// Statements written outside a transaction (db.Create, db.Model(…).Update,
// db.Exec on the pool) are SQLite write transactions of their own. Without
// the gate they would wait for the write lock in SQLite's busy handler —
// sleeping up to 100 ms between tries while the gated writers hand the lock
// to each other back to back — and starve under load. registerGateCallbacks
// makes them queue on the same in-process gate as InTx. Statements inside
// a transaction are already covered by the gate the transaction holds.
// The gate is held around the statement itself only (not the association
// saves and hooks around it, which are statements of their own).

const gateReleaseKey = "store:write_gate_release"

// gateLease bounds how long one statement may hold the gate: if a panic
// between the two callbacks (recovered further up, e.g. by the activity
// worker) skipped the release, the gate frees itself instead of failing
// every later write. No single statement holds SQLite's write lock that
// long (the busy timeout is 10 s).
var gateLease = 30 * time.Second

func registerGateCallbacks(db *gorm.DB) error {
	acquire := func(tx *gorm.DB) {
		if tx.Error != nil || InTransaction(tx) {
			return
		}
		release, err := acquireWriteGate(tx.Statement.Context, tx)
		if err != nil {
			_ = tx.AddError(err)
			return
		}
		var once sync.Once
		lease := time.AfterFunc(gateLease, func() { once.Do(release) })
		tx.InstanceSet(gateReleaseKey, func() {
			lease.Stop()
			once.Do(release)
		})
	}
	release := func(tx *gorm.DB) {
		if v, ok := tx.InstanceGet(gateReleaseKey); ok {
			if r, ok := v.(func()); ok && r != nil {
				tx.InstanceSet(gateReleaseKey, nil)
				r()
			}
		}
	}
	cb := db.Callback()
	steps := []struct {
		before, after func() error
	}{
		{func() error { return cb.Create().Before("gorm:create").Register("store:gate_acquire", acquire) },
			func() error { return cb.Create().After("gorm:create").Register("store:gate_release", release) }},
		{func() error { return cb.Update().Before("gorm:update").Register("store:gate_acquire", acquire) },
			func() error { return cb.Update().After("gorm:update").Register("store:gate_release", release) }},
		{func() error { return cb.Delete().Before("gorm:delete").Register("store:gate_acquire", acquire) },
			func() error { return cb.Delete().After("gorm:delete").Register("store:gate_release", release) }},
		{func() error { return cb.Raw().Before("gorm:raw").Register("store:gate_acquire", acquire) },
			func() error { return cb.Raw().After("gorm:raw").Register("store:gate_release", release) }},
	}
	for _, s := range steps {
		if err := s.before(); err != nil {
			return err
		}
		if err := s.after(); err != nil {
			return err
		}
	}
	return nil
}
