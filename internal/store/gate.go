package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// SQLite allows one writer at a time and every transaction here begins
// IMMEDIATE, i.e. as a writer. Left to SQLite, waiting writers poll the
// lock with sleeps of up to 100 ms (the busy handler), which measured 2-3x
// slower than queueing them in process. InTx therefore passes SQLite
// transactions through a per-pool gate (a one-slot semaphore) before BEGIN;
// other processes on the same file are still handled by busy_timeout.
// Reads outside transactions do not take the gate (WAL lets them run
// alongside the writer).

// writeGates maps the *sql.DB of an open SQLite pool to its gate.
var writeGates sync.Map // *sql.DB → chan struct{}

func registerWriteGate(sqlDB *sql.DB) {
	writeGates.Store(sqlDB, make(chan struct{}, 1))
}

func unregisterWriteGate(sqlDB *sql.DB) {
	writeGates.Delete(sqlDB)
}

// acquireWriteGate waits for the gate of db's pool, if it has one. It gives
// up after the busy timeout, as SQLite itself would, so that a transaction
// opened on the pool while the same goroutine already holds a transaction
// fails instead of hanging.
func acquireWriteGate(ctx context.Context, db *gorm.DB) (release func(), err error) {
	sqlDB, err := db.DB()
	if err != nil {
		return func() {}, nil
	}
	v, ok := writeGates.Load(sqlDB)
	if !ok {
		return func() {}, nil
	}
	gate := v.(chan struct{})
	timer := time.NewTimer(sqliteBusyTimeout)
	defer timer.Stop()
	select {
	case gate <- struct{}{}:
		return func() { <-gate }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, fmt.Errorf("%w: waited %v for the SQLite write lock held by another transaction of this process", ErrBusy, sqliteBusyTimeout)
	}
}
