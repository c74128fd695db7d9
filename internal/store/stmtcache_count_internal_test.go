package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libtnb/sqlite"
)

// parses counts the statements the SQLite driver was asked to compile:
// prepared statements and statements run directly with arguments (which
// the driver compiles for that one run).
var parses atomic.Int64

const countingDriverName = "sqlite-counting"

func init() {
	db, err := sql.Open(sqlite.DriverName, ":memory:")
	if err != nil {
		panic(err)
	}
	sql.Register(countingDriverName, countingDriver{db.Driver()})
	_ = db.Close()
}

type countingDriver struct{ driver.Driver }

func (d countingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{c}, nil
}

// countingConn forwards what database/sql uses of the driver's connection.
type countingConn struct{ driver.Conn }

type fullConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
}

func (c countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	parses.Add(1)
	return c.Conn.(fullConn).PrepareContext(ctx, q)
}

func (c countingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(fullConn).BeginTx(ctx, o)
}

func (c countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		parses.Add(1)
	}
	return c.Conn.(fullConn).ExecContext(ctx, q, args)
}

func (c countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) > 0 {
		parses.Add(1)
	}
	return c.Conn.(fullConn).QueryContext(ctx, q, args)
}

// A statement with arguments is compiled at most once per connection of
// the pool, however many transactions and reads run it.
func TestStmtCacheCompilesOncePerConnection(t *testing.T) {
	prev := sqliteDriverName
	sqliteDriverName = countingDriverName
	t.Cleanup(func() { sqliteDriverName = prev })
	db, _, err := Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "n.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Close(db) })
	ctx := context.Background()
	if err := db.Exec("CREATE TABLE acct (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, at DATETIME)").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&acct{ID: 1, Balance: 0}).Error; err != nil {
		t.Fatal(err)
	}
	run := func() {
		t.Helper()
		if err := addOne(ctx, db, 1); err != nil {
			t.Fatal(err)
		}
		var a acct
		if err := db.Where("id = ?", 1).Take(&a).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Warm up: a transaction runs a statement uncached until the pool's
	// copy, prepared in the background, is in the cache.
	cache := db.ConnPool.(*stmtCache)
	for deadline := time.Now().Add(10 * time.Second); cache.stmts.Len() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d statements cached after warm-up, want 2", cache.stmts.Len())
		}
		run()
	}
	const runs = 50
	before := parses.Load()
	for range runs {
		run()
	}
	// Two distinct statements (the read is the same text in and out of
	// the transaction), each compiled at most once on every connection of
	// the pool, however many runs.
	if got, most := parses.Load()-before, int64(2*sqliteMaxOpenConns); got > most {
		t.Fatalf("%d statements compiled for %d runs of 2 statements, want at most %d", got, runs, most)
	}
}
