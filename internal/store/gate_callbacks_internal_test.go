package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
)

type gateRow struct {
	ID int `gorm:"primaryKey"`
	N  int
}

func openGateDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, _, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "gate.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	if err := db.Exec("CREATE TABLE gate_rows (id INTEGER PRIMARY KEY, n INTEGER)").Error; err != nil {
		t.Fatal(err)
	}
	return db
}

// A statement written outside a transaction queues behind a transaction
// holding the write gate (instead of SQLite's busy handler) and then runs.
func TestAutocommitWritesQueueOnTheGate(t *testing.T) {
	db := openGateDB(t)
	ctx := context.Background()
	inTx := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- InTx(ctx, db, func(tx *gorm.DB) error {
			close(inTx)
			time.Sleep(200 * time.Millisecond)
			return tx.Create(&gateRow{ID: 1, N: 1}).Error
		})
	}()
	<-inTx
	start := time.Now()
	if err := db.Create(&gateRow{ID: 2, N: 2}).Error; err != nil {
		t.Fatalf("autocommit insert: %v", err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("the insert ran while the transaction held the gate (waited %v)", waited)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{
		func() error { return db.Model(&gateRow{}).Where("id = ?", 2).Update("n", 3).Error },
		func() error { return db.Exec("UPDATE gate_rows SET n = n + 1").Error },
		func() error { return db.Delete(&gateRow{ID: 1}).Error },
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
	}
	var n int64
	db.Model(&gateRow{}).Count(&n)
	if n != 1 {
		t.Fatalf("rows = %d, want 1", n)
	}
}

// A panic between the acquire and release callbacks (recovered above, as
// the activity worker does) does not keep the gate forever: the lease
// frees it.
func TestGateLeaseFreesAfterAPanic(t *testing.T) {
	old := gateLease
	gateLease = 300 * time.Millisecond
	t.Cleanup(func() { gateLease = old })
	db := openGateDB(t)
	if err := db.Callback().Create().Before("gorm:create").After("store:gate_acquire").Register("test:panic", func(tx *gorm.DB) {
		if tx.Statement.Table == "gate_rows" {
			if r, ok := tx.Statement.Dest.(*gateRow); ok && r.ID == 99 {
				panic("boom")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { _ = recover() }()
		_ = db.Create(&gateRow{ID: 99}).Error
	}()
	start := time.Now()
	if err := db.Create(&gateRow{ID: 1}).Error; err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %v for the gate", waited)
	}
}
