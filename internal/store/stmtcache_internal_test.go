package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
)

func openTestSQLiteFile(t *testing.T) (*gorm.DB, *stmtCache) {
	t.Helper()
	ctx := context.Background()
	db, _, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	cache, ok := db.ConnPool.(*stmtCache)
	if !ok {
		t.Fatalf("SQLite pool is %T, want *stmtCache", db.ConnPool)
	}
	if err := db.Exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, at DATETIME)").Error; err != nil {
		t.Fatal(err)
	}
	return db, cache
}

type acct struct {
	ID      int64
	Balance int64
	At      time.Time
}

func (acct) TableName() string { return "acct" }

// addOne reads account id's balance and writes it back plus one, in one
// transaction: a lost update shows in the final balance.
func addOne(ctx context.Context, db *gorm.DB, id int64) error {
	return InTx(ctx, db, func(tx *gorm.DB) error {
		var a acct
		if err := tx.Where("id = ?", id).Take(&a).Error; err != nil {
			return err
		}
		return tx.Model(&acct{}).Where("id = ?", id).Update("balance", a.Balance+1).Error
	})
}

// The statement a transaction prepares stays prepared for the next
// transaction and for reads outside one: that is the point of the cache.
func TestStmtCacheKeepsStatementsAcrossTransactions(t *testing.T) {
	db, cache := openTestSQLiteFile(t)
	ctx := context.Background()
	if err := db.Create(&acct{ID: 1, Balance: 10}).Error; err != nil {
		t.Fatal(err)
	}
	const update = "UPDATE acct SET balance = balance + ? WHERE id = ?"
	for i := range 3 {
		if err := InTx(ctx, db, func(tx *gorm.DB) error { return tx.Exec(update, 5, 1).Error }); err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	// A transaction's first run prepares it on the pool in the background.
	var st *sql.Stmt
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var ok bool
		if st, ok = cache.stmts.Peek(update); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the transaction's statement is not cached")
		}
	}
	if err := InTx(ctx, db, func(tx *gorm.DB) error { return tx.Exec(update, 5, 1).Error }); err != nil {
		t.Fatal(err)
	}
	if again, _ := cache.stmts.Peek(update); again != st {
		t.Fatal("a later transaction prepared the statement again")
	}
	var got acct
	if err := db.First(&got, 1).Error; err != nil {
		t.Fatal(err)
	}
	if got.Balance != 30 {
		t.Fatalf("balance = %d, want 30", got.Balance)
	}
}

// A cached read must not keep SQLite's read snapshot between executions:
// after another connection commits, the same statement sees the new row.
// A rolled-back write through a cached statement leaves nothing behind.
func TestStmtCacheReadsAreFreshAndRollbacksHold(t *testing.T) {
	db, _ := openTestSQLiteFile(t)
	ctx := context.Background()
	if err := db.Create(&acct{ID: 1, Balance: 10}).Error; err != nil {
		t.Fatal(err)
	}
	read := func() int64 {
		t.Helper()
		var a acct
		if err := db.WithContext(ctx).Where("id = ?", 1).Take(&a).Error; err != nil {
			t.Fatal(err)
		}
		return a.Balance
	}
	for want := int64(10); want < 60; want += 10 {
		if got := read(); got != want {
			t.Fatalf("read %d, want %d", got, want)
		}
		if err := InTx(ctx, db, func(tx *gorm.DB) error {
			return tx.Model(&acct{}).Where("id = ?", 1).Update("balance", gorm.Expr("balance + ?", 10)).Error
		}); err != nil {
			t.Fatal(err)
		}
	}
	errRollback := fmt.Errorf("roll back")
	err := InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Model(&acct{}).Where("id = ?", 1).Update("balance", gorm.Expr("balance + ?", 10)).Error; err != nil {
			return err
		}
		return errRollback
	})
	if err != errRollback {
		t.Fatalf("err = %v", err)
	}
	if got := read(); got != 60 {
		t.Fatalf("after rollback read %d, want 60", got)
	}
}

// Many goroutines share the cached statements, inside and outside
// transactions; no update is lost and nothing races (go test -race).
func TestStmtCacheConcurrentUse(t *testing.T) {
	db, _ := openTestSQLiteFile(t)
	ctx := context.Background()
	if err := db.Create(&acct{ID: 1, Balance: 0}).Error; err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if err := addOne(ctx, db, 1); err != nil {
					errs <- err
					return
				}
				var a acct
				if err := db.Where("id = ?", 1).Take(&a).Error; err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var a acct
	if err := db.First(&a, 1).Error; err != nil {
		t.Fatal(err)
	}
	if a.Balance != workers*each {
		t.Fatalf("balance = %d, want %d", a.Balance, workers*each)
	}
}

// Times are written in the layout the previous driver wrote, so text
// comparisons in an existing database file keep ordering its rows, and read
// back as UTC times.
func TestSQLiteTimeLayout(t *testing.T) {
	db, _ := openTestSQLiteFile(t)
	at := time.Date(2026, 12, 5, 9, 30, 0, 123456789, time.UTC)
	if err := db.Create(&acct{ID: 1, Balance: 1, At: at}).Error; err != nil {
		t.Fatal(err)
	}
	var text string
	if err := db.Raw("SELECT quote(at) FROM acct WHERE id = ?", 1).Scan(&text).Error; err != nil {
		t.Fatal(err)
	}
	if want := "'2026-12-05 09:30:00.123456789+00:00'"; text != want {
		t.Fatalf("stored %q, want %q", text, want)
	}
	var got acct
	if err := db.First(&got, 1).Error; err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(at) || got.At.Location() != time.UTC {
		t.Fatalf("read %v (%v), want %v UTC", got.At, got.At.Location(), at)
	}
}

// sqlite::memory: has one connection, which a transaction holds: a new
// statement inside it must not wait for another connection to be prepared
// on (it would wait forever).
func TestStmtCacheOneConnectionTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, _, err := Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	if err := db.Exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, at DATETIME)").Error; err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := InTx(ctx, db, func(tx *gorm.DB) error {
			if err := tx.Create(&acct{ID: int64(i + 1), Balance: 1}).Error; err != nil {
				return err
			}
			var a acct
			return tx.Where("id = ?", i+1).Take(&a).Error
		}); err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	var n int64
	if err := db.WithContext(ctx).Model(&acct{}).Where("balance = ?", 1).Count(&n).Error; err != nil || n != 3 {
		t.Fatalf("rows = %d, %v; want 3", n, err)
	}
}

// A cache smaller than the statements in use evicts and closes the least
// recently used ones (no statement is leaked), and every statement still
// runs, inside and outside transactions.
func TestStmtCacheEvictsAndCloses(t *testing.T) {
	db, full := openTestSQLiteFile(t)
	cache, err := newStmtCache(full.db, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	db.ConnPool = cache
	db.Statement.ConnPool = cache
	ctx := context.Background()
	if err := db.Create(&acct{ID: 1, Balance: 0}).Error; err != nil {
		t.Fatal(err)
	}
	queries := []string{
		"UPDATE acct SET balance = balance + ? WHERE id = ?",
		"UPDATE acct SET balance = balance + ? WHERE id = ? AND 1 = 1",
		"UPDATE acct SET balance = balance + ? WHERE id = ? AND 2 = 2",
	}
	var first *sql.Stmt
	for round := range 3 {
		for i, q := range queries {
			if err := InTx(ctx, db, func(tx *gorm.DB) error { return tx.Exec(q, 1, 1).Error }); err != nil {
				t.Fatalf("round %d, statement %d in a transaction: %v", round, i, err)
			}
			if err := db.Exec(q, 1, 1).Error; err != nil {
				t.Fatalf("round %d, statement %d: %v", round, i, err)
			}
			if round == 0 && i == 0 {
				first, _ = cache.stmts.Peek(q)
			}
		}
	}
	var a acct
	if err := db.First(&a, 1).Error; err != nil || a.Balance != 18 {
		t.Fatalf("balance = %d, %v; want 18", a.Balance, err)
	}
	if first == nil {
		t.Fatal("the first statement was never cached")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := first.Exec(0, 1); err != nil && strings.Contains(err.Error(), "statement is closed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an evicted statement was never closed")
		}
	}
}
