package paper

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// createAccountsTable creates paper_accounts as the schema migrations do
// (0001 and 0041).
func createAccountsTable(t *testing.T, db *gorm.DB) {
	t.Helper()
	working := "working INTEGER GENERATED ALWAYS AS (state LIKE '{\"working\":true,%') VIRTUAL"
	if db.Dialector.Name() == "postgres" {
		working = "working boolean GENERATED ALWAYS AS (state LIKE '{\"working\":true,%') STORED"
	}
	for _, ddl := range []string{`CREATE TABLE IF NOT EXISTS paper_accounts (
		id varchar(36) PRIMARY KEY,
		state text NOT NULL,
		version bigint NOT NULL,
		updated_at timestamp,
		` + working + `
	)`, "CREATE INDEX IF NOT EXISTS ix_paper_accounts_working ON paper_accounts (id, version) WHERE working"} {
		if err := db.Exec(ddl).Error; err != nil {
			t.Fatalf("create paper_accounts: %v", err)
		}
	}
}

// backend opens stores on one database. Each call of open returns a store
// on a new connection pool, as a separate process would have.
type backend struct {
	name string
	open func(t *testing.T) Store
}

func gormOpen(t *testing.T, d gorm.Dialector) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

func sqliteBackend(t *testing.T, name, params string) backend {
	path := filepath.Join(t.TempDir(), "paper.db")
	var once sync.Once
	return backend{name: name, open: func(t *testing.T) Store {
		db := gormOpen(t, sqlite.Open(path+params))
		once.Do(func() { createAccountsTable(t, db) })
		return NewGormStore(db)
	}}
}

// postgresBackend opens stores in a fresh schema of the TEST_DATABASE_URL
// database; rowLock=false switches SELECT ... FOR UPDATE off, leaving the
// version check alone to guard against lost updates.
func postgresBackend(t *testing.T, dsn, name string, rowLock bool) backend {
	admin := gormOpen(t, postgres.Open(dsn))
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "paper_test_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	scoped := u.String()
	var once sync.Once
	return backend{name: name, open: func(t *testing.T) Store {
		db := gormOpen(t, postgres.Open(scoped))
		once.Do(func() { createAccountsTable(t, db) })
		s := NewGormStore(db)
		s.forUpdate = rowLock
		return s
	}}
}

// backends are the stores every store test runs on: memory; SQLite opened
// plainly (rollback journal, deferred transactions, no busy timeout:
// contention surfaces as SQLITE_BUSY and must be retried); SQLite in WAL mode
// with deferred transactions (a stale read snapshot fails the write with
// SQLITE_BUSY_SNAPSHOT); SQLite as internal/store opens it (WAL, busy
// timeout, BEGIN IMMEDIATE); and, when TEST_DATABASE_URL is set, PostgreSQL
// with and without the row lock.
func backends(t *testing.T) []backend {
	mem := NewMemoryStore()
	out := []backend{
		{name: "memory", open: func(*testing.T) Store { return mem }},
		sqliteBackend(t, "sqlite-plain", ""),
		sqliteBackend(t, "sqlite-wal-deferred", "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"),
		sqliteBackend(t, "sqlite-wal-immediate", "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"),
	}
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		out = append(out,
			postgresBackend(t, dsn, "postgres", true),
			postgresBackend(t, dsn, "postgres-optimistic", false))
	}
	return out
}

var errSentinel = errors.New("sentinel")

func TestStoreContract(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			s := be.open(t)
			st := AccountState{ID: "acct-a", Currency: "USD", Cash: d("100.25"), Day: "2024-03-13"}
			if created, err := s.Create(ctx, st); err != nil || !created {
				t.Fatalf("Create = %v, %v", created, err)
			}
			st.Cash = d("1")
			if created, err := s.Create(ctx, st); err != nil || created {
				t.Fatalf("second Create = %v, %v", created, err)
			}
			got, err := s.Load(ctx, "acct-a")
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "cash", got.Cash, d("100.25"))
			if got.Positions == nil {
				t.Fatal("Positions map is nil after load")
			}

			if _, err := s.Load(ctx, "missing"); !errors.Is(err, ErrAccountNotFound) {
				t.Fatalf("Load(missing) = %v", err)
			}
			if err := s.Update(ctx, "missing", func(*AccountState) error { return nil }); !errors.Is(err, ErrAccountNotFound) {
				t.Fatalf("Update(missing) = %v", err)
			}
			err = s.Update(ctx, "acct-a", func(a *AccountState) error {
				a.Cash = d("0")
				return errSentinel
			})
			if !errors.Is(err, errSentinel) {
				t.Fatalf("Update with failing fn = %v", err)
			}
			if got, _ := s.Load(ctx, "acct-a"); !got.Cash.Equal(d("100.25")) {
				t.Fatalf("a failed update was written: cash %s", got.Cash)
			}

			if ws, err := s.ListWorking(ctx); err != nil || len(ws) != 0 {
				t.Fatalf("ListWorking = %d, %v", len(ws), err)
			}
			var o OrderState
			o.ID, o.Symbol, o.Status, o.Quantity = "o1", "AAPL", broker.StatusNew, d("1")
			if err := s.Update(ctx, "acct-a", func(a *AccountState) error {
				a.Orders = append(a.Orders, o)
				a.Positions["AAPL"] = PositionState{Symbol: "AAPL", AssetClass: signal.AssetStock, Quantity: d("-3")}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ws, err := s.ListWorking(ctx)
			if err != nil || len(ws) != 1 || ws[0].ID != "acct-a" || !ws[0].Working {
				t.Fatalf("ListWorking = %+v, %v", ws, err)
			}
			eq(t, "position round trip", ws[0].Positions["AAPL"].Quantity, d("-3"))
			if err := s.Update(ctx, "acct-a", func(a *AccountState) error {
				a.Orders[0].Status = broker.StatusCancelled
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if ws, _ := s.ListWorking(ctx); len(ws) != 0 {
				t.Fatalf("ListWorking after cancel = %d", len(ws))
			}
		})
	}
}

// Concurrent read-modify-writes from two "processes" lose no update.
func TestStoreConcurrentUpdates(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			stores := []Store{be.open(t), be.open(t)}
			if _, err := stores[0].Create(ctx, AccountState{ID: "counter", Cash: d("0")}); err != nil {
				t.Fatal(err)
			}
			const workers, each = 8, 25
			var calls atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := stores[w%2]
					for range each {
						err := s.Update(ctx, "counter", func(a *AccountState) error {
							calls.Add(1)
							a.Cash = a.Cash.Add(d("1"))
							return nil
						})
						if err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			got, err := stores[1].Load(ctx, "counter")
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "counter", got.Cash, d("200"))
			t.Logf("%d fn calls for 200 updates", calls.Load())
		})
	}
}

// Two engines (two worker processes) share accounts through the store, and
// the state survives a restart.
func TestEnginesShareStore(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			a := newFixtureOn(t, be.open(t), "100000")
			b := newFixtureOn(t, be.open(t), "999") // same account id: CreateAccount is a no-op
			eq(t, "cash seen by the second process", b.balance(t).Cash, d("100000"))

			r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "10")
			concurrentSameClientID(t, r, a.b, b.b)
			if n, _ := b.e.OrderCount(ctx, b.id); n != 1 {
				t.Fatalf("OrderCount = %d, want 1", n)
			}

			lim := a.place(t, limitReq(signal.SideSell, "10", "105"))
			b.feed.Set("AAPL", d("106")) // only process b sees the new price
			b.matchAll(t)
			checkOrder(t, "matched by the other process", a.status(t, lim.ID), expect{broker.StatusFilled, "10", "106", ""})

			restarted := newFixtureOn(t, be.open(t), "1")
			bal := restarted.balance(t)
			eq(t, "cash after restart", bal.Cash, d("100060"))
			if _, ok := restarted.position(t, "AAPL"); ok {
				t.Fatal("closed position reappeared")
			}
			if o := restarted.status(t, lim.ID); o.Status != broker.StatusFilled {
				t.Fatalf("order after restart = %s", o.Status)
			}
		})
	}
}

func TestGormStoreVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v.db")
	db := gormOpen(t, sqlite.Open(path))
	createAccountsTable(t, db)
	s := NewGormStore(db)
	if _, err := s.Create(ctx, AccountState{ID: "v", Cash: d("1")}); err != nil {
		t.Fatal(err)
	}
	version := func() int64 {
		var r accountRow
		if err := db.Where("id = ?", "v").Take(&r).Error; err != nil {
			t.Fatal(err)
		}
		return r.Version
	}
	if v := version(); v != 1 {
		t.Fatalf("version after create = %d", v)
	}
	_ = s.Update(ctx, "v", func(a *AccountState) error { a.Cash = d("2"); return nil })
	_ = s.Update(ctx, "v", func(a *AccountState) error { return nil }) // no change, no write
	if v := version(); v != 2 {
		t.Fatalf("version = %d, want 2", v)
	}
}

// The matching pass lists the working accounts from the partial index of
// the generated column working (migration 0041), on the migrated schema,
// without reading every account's state; the column follows each write.
func TestListWorkingReadsTheWorkingIndex(t *testing.T) {
	db := storetest.OpenSQLite(t)
	s := NewGormStore(db)
	ctx := context.Background()
	for _, id := range []string{"idle", "busy"} {
		if _, err := s.Create(ctx, AccountState{ID: id, Currency: "USD", Cash: d("100"), Day: "2024-03-13"}); err != nil {
			t.Fatal(err)
		}
	}
	var o OrderState
	o.ID, o.Symbol, o.Status, o.Quantity = "o1", "AAPL", broker.StatusNew, d("1")
	if err := s.Update(ctx, "busy", func(a *AccountState) error { a.Orders = append(a.Orders, o); return nil }); err != nil {
		t.Fatal(err)
	}
	recorded := storetest.RecordStatements(t, db)
	ws, err := s.ListWorking(ctx)
	if err != nil || len(ws) != 1 || ws[0].ID != "busy" {
		t.Fatalf("ListWorking = %+v, %v", ws, err)
	}
	if probs := storetest.UnselectivePlans(t, db, recorded(), storetest.FewValued...); len(probs) > 0 {
		t.Fatalf("ListWorking reads more than the working accounts:\n%v", probs)
	}
	if err := s.Update(ctx, "busy", func(a *AccountState) error { a.Orders[0].Status = broker.StatusCancelled; return nil }); err != nil {
		t.Fatal(err)
	}
	if ws, err := s.ListWorking(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("ListWorking after the cancel = %d, %v", len(ws), err)
	}
}
