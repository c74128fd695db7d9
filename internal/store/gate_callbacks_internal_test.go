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

// Every kind of statement written outside a transaction waits for the
// in-process write gate (held here directly, with no SQLite lock taken, so
// only the gate can make it wait) and runs once the gate is free.
func TestAutocommitWritesQueueOnTheGate(t *testing.T) {
	db := openGateDB(t)
	if err := db.Create(&gateRow{ID: 1, N: 1}).Error; err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"create": func() error { return db.Create(&gateRow{ID: 2, N: 2}).Error },
		"update": func() error { return db.Model(&gateRow{}).Where("id = ?", 1).Update("n", 3).Error },
		"exec":   func() error { return db.Exec("UPDATE gate_rows SET n = n + 1").Error },
		"delete": func() error { return db.Delete(&gateRow{ID: 2}).Error },
	} {
		t.Run(name, func(t *testing.T) {
			release, err := acquireWriteGate(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- op() }()
			select {
			case err := <-done:
				release()
				t.Fatalf("the write ran while the gate was held (err %v)", err)
			case <-time.After(150 * time.Millisecond):
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
	// Reads do not wait.
	release, err := acquireWriteGate(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var n int64
	if err := db.Model(&gateRow{}).Count(&n).Error; err != nil {
		t.Fatal(err)
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
