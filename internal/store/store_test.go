package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

func TestOpenRejectsBadURLsWithoutLeakingPasswords(t *testing.T) {
	tests := []struct {
		name string
		url  string
		kind error
		want string
	}{
		{"empty", "", store.ErrUnsupportedURL, "no database URL"},
		{"unknown scheme", "mysql://root:hunter2pw@db/x", store.ErrUnsupportedURL, "unsupported scheme"},
		{"unreachable postgres", "postgres://app:hunter2pw@127.0.0.1:1/app?sslmode=disable&connect_timeout=2", store.ErrUnavailable, "cannot connect"},
		{"password in query", "postgresql://app@127.0.0.1:1/app?sslmode=disable&password=hunter2pw&connect_timeout=2", store.ErrUnavailable, "cannot connect"},
		{"malformed postgres", "postgres://app:hunter2pw@127.0.0.1:notaport/app", store.ErrUnsupportedURL, "malformed PostgreSQL URL"},
		{"bad sqlite", "sqlite:///x.db?_txlock=deferred", store.ErrUnsupportedURL, "_txlock"},
		{"bad pool size", "postgres://app@127.0.0.1:1/app?sslmode=disable&pool_max_conns=0", store.ErrUnsupportedURL, "pool_max_conns must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := store.Open(context.Background(), tt.url, zap.NewNop())
			if err == nil {
				t.Fatal("expected an error")
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("error %v is not %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2pw") {
				t.Errorf("error leaks the password: %q", err)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cr3t@db:5432/x?sslmode=require", "postgres://app:xxxxx@db:5432/x?sslmode=require"},
		{"postgres://app@db/x?password=s3cr3t", "postgres://app@db/x?password=xxxxx"},
		{"postgres://db/x", "postgres://db/x"},
		{"sqlite:///data/x.db", "sqlite:///data/x.db"},
	}
	for _, tt := range tests {
		if got := store.RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpenSQLiteFileSettings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "app.db")
	db, dialect, err := store.Open(ctx, "sqlite://"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(db)
	if dialect != store.SQLite || store.DialectOf(db) != store.SQLite {
		t.Fatalf("dialect = %q / %q", dialect, store.DialectOf(db))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode = %o, want 600", perm)
	}
	// Check the settings on every connection of the pool, not only one.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = store.InTx(ctx, db, func(tx *gorm.DB) error {
				var mode string
				var fk, busy, temp int
				tx.Raw("PRAGMA journal_mode").Scan(&mode)
				tx.Raw("PRAGMA foreign_keys").Scan(&fk)
				tx.Raw("PRAGMA busy_timeout").Scan(&busy)
				tx.Raw("PRAGMA temp_store").Scan(&temp)
				// temp_store 2 is MEMORY (see parseSQLiteURL).
				if mode != "wal" || fk != 1 || busy < 5000 || temp != 2 {
					t.Errorf("journal_mode=%q foreign_keys=%d busy_timeout=%d temp_store=%d", mode, fk, busy, temp)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if err := store.Ping(ctx, db); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteFileURI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uri.db")
	db, d, err := store.Open(context.Background(), "file:"+path+"?mode=rwc", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(db)
	var fk int
	var mode string
	db.Raw("PRAGMA foreign_keys").Scan(&fk)
	db.Raw("PRAGMA journal_mode").Scan(&mode)
	if d != store.SQLite || fk != 1 || mode != "wal" {
		t.Fatalf("dialect=%q foreign_keys=%d journal_mode=%q", d, fk, mode)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSQLiteMemoryIsOneDatabase(t *testing.T) {
	ctx := context.Background()
	db, _, err := store.Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(db)
	if err := db.Exec("CREATE TABLE m (id INTEGER PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.Exec("INSERT INTO m DEFAULT VALUES").Error; err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var n int64
	db.Raw("SELECT COUNT(*) FROM m").Scan(&n)
	if n != 10 {
		t.Fatalf("rows = %d, want 10 (all connections must see one database)", n)
	}
}

func TestPingFailsOnClosedDB(t *testing.T) {
	db, _, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "p.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Close(db)
	if err := store.Ping(context.Background(), db); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on closed db = %v", err)
	}
}

// 50 goroutines each run a read-modify-write transaction; all must succeed
// and no update may be lost.
func TestInTxConcurrentWriters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE tx_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
		mustExec(t, db, "CREATE TABLE tx_rows (id varchar(8) PRIMARY KEY)")
		mustExec(t, db, "INSERT INTO tx_counter (id, n) VALUES (1, 0)")
		lock := ""
		if d == store.Postgres {
			lock = " FOR UPDATE"
		}
		const writers = 50
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := 0; i < writers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- store.InTx(ctx, db, func(tx *gorm.DB) error {
					var n int64
					if err := tx.Raw("SELECT n FROM tx_counter WHERE id = 1" + lock).Scan(&n).Error; err != nil {
						return err
					}
					if err := tx.Exec("INSERT INTO tx_rows (id) VALUES (?)", fmt.Sprintf("w%d", i)).Error; err != nil {
						return err
					}
					return tx.Exec("UPDATE tx_counter SET n = ? WHERE id = 1", n+1).Error
				})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("writer failed: %v", err)
			}
		}
		var n, rows int64
		db.Raw("SELECT n FROM tx_counter WHERE id = 1").Scan(&n)
		db.Raw("SELECT COUNT(*) FROM tx_rows").Scan(&rows)
		if n != writers || rows != writers {
			t.Fatalf("counter=%d rows=%d, want %d", n, rows, writers)
		}
	})
}

func TestInTxRetriesTransientErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		mustExec(t, db, "CREATE TABLE tx_retry (id INTEGER PRIMARY KEY)")
		tests := []struct {
			name      string
			failures  int
			err       error
			wantCalls int32
			wantErr   bool
		}{
			{"serialization failure", 2, &pgconn.PgError{Code: "40001"}, 3, false},
			{"deadlock", 1, fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01"}), 2, false},
			{"database is locked", 1, errors.New("database is locked (5) (SQLITE_BUSY)"), 2, false},
			{"gives up", 100, &pgconn.PgError{Code: "40001"}, 6, true},
			{"not retryable", 100, errors.New("insufficient funds"), 1, true},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var calls atomic.Int32
				err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
					c := calls.Add(1)
					if err := tx.Exec("INSERT INTO tx_retry (id) VALUES (?)", i).Error; err != nil {
						return err
					}
					if int(c) <= tt.failures {
						return tt.err
					}
					return nil
				})
				if got := calls.Load(); got != tt.wantCalls {
					t.Errorf("calls = %d, want %d", got, tt.wantCalls)
				}
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
				}
				var n int64
				db.Raw("SELECT COUNT(*) FROM tx_retry WHERE id = ?", i).Scan(&n)
				if want := map[bool]int64{true: 0, false: 1}[tt.wantErr]; n != want {
					t.Errorf("rows = %d, want %d (failed attempts must roll back)", n, want)
				}
			})
		}
	})
}

func TestInTxStopsOnContextCancel(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		return &pgconn.PgError{Code: "40001"}
	})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestInTxNestedJoinsOuterTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		mustExec(t, db, "CREATE TABLE tx_nested (id INTEGER PRIMARY KEY)")
		boom := errors.New("boom")
		err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			if !store.InTransaction(tx) {
				t.Error("InTransaction(tx) = false")
			}
			if err := store.InTx(ctx, tx, func(inner *gorm.DB) error {
				return inner.Exec("INSERT INTO tx_nested (id) VALUES (1)").Error
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		var n int64
		db.Raw("SELECT COUNT(*) FROM tx_nested").Scan(&n)
		if n != 0 {
			t.Fatal("inner write survived the outer rollback")
		}
		if store.InTransaction(db) {
			t.Error("InTransaction(db) = true for the pool")
		}
	})
}

func TestUniqueViolationIsTranslated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		mustExec(t, db, "CREATE TABLE tx_unique (id INTEGER PRIMARY KEY, v varchar(10) NOT NULL UNIQUE)")
		mustExec(t, db, "INSERT INTO tx_unique (id, v) VALUES (1, 'a')")
		err := db.Exec("INSERT INTO tx_unique (id, v) VALUES (2, 'a')").Error
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			t.Fatalf("err = %v, want gorm.ErrDuplicatedKey", err)
		}
	})
}

func TestPostgresSessionIsUTC(t *testing.T) {
	if _, ok := storetest.PostgresURL(); !ok {
		t.Skip("TEST_DATABASE_URL not set")
	}
	db := storetest.OpenPostgres(t)
	var tz string
	db.Raw("SHOW TimeZone").Scan(&tz)
	var now time.Time
	db.Raw("SELECT now()").Scan(&now)
	if tz != "UTC" || now.Location() != time.UTC {
		t.Fatalf("TimeZone=%q, scanned location=%v", tz, now.Location())
	}
	if err := store.Ping(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

// pool_max_conns sizes the process's pool and is not sent to the server
// (an unknown runtime parameter would refuse the connection).
func TestPostgresPoolMaxConns(t *testing.T) {
	u, ok := storetest.PostgresURL()
	if !ok {
		t.Skip("TEST_DATABASE_URL not set")
	}
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	db, _, err := store.Open(context.Background(), u+sep+"pool_max_conns=3", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(db)
	sqlDB, _ := db.DB()
	if got := sqlDB.Stats().MaxOpenConnections; got != 3 {
		t.Fatalf("max open = %d, want 3", got)
	}
}

func mustExec(t *testing.T, db *gorm.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
