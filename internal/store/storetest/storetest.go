// Package storetest gives tests a freshly migrated database.
//
//	func TestSomething(t *testing.T) {
//		storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
//			// runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set
//		})
//	}
//
//	db, _ := storetest.Open(t) // SQLite only, for tests that need no Postgres run
//
// Every call gets its own database: a SQLite file in t.TempDir(), or on
// PostgreSQL a new schema te_<random> (selected through the connection's
// search_path) that is dropped when the test ends. Tests may therefore run in
// parallel with each other and with other packages' tests against the same
// PostgreSQL database. Handles are closed by t.Cleanup; do not close them.
//
// When TEST_DATABASE_URL is set but the server cannot be reached or the
// schema cannot be created, the test fails — it is never skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// EnvPostgresURL names the environment variable holding the PostgreSQL URL
// used by Each, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgresURL = "TEST_DATABASE_URL"

const setupTimeout = 30 * time.Second

// Open returns a freshly migrated SQLite database in t.TempDir().
func Open(t testing.TB) (*gorm.DB, store.Dialect) {
	t.Helper()
	return OpenSQLite(t), store.SQLite
}

// OpenSQLite returns a freshly migrated SQLite database in t.TempDir().
func OpenSQLite(t testing.TB) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	path := filepath.Join(t.TempDir(), "test.db")
	db, dialect, err := store.Open(ctx, "sqlite://"+path, zap.NewNop())
	if err != nil {
		t.Fatalf("storetest: open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(db) })
	if err := schema.Migrate(ctx, db, dialect); err != nil {
		t.Fatalf("storetest: migrate sqlite: %v", err)
	}
	// STORETEST_PLANS_AUDIT=<file>: append the unselective plans of
	// every statement the test ran to file (DESIGN, Persistence).
	if out := os.Getenv("STORETEST_PLANS_AUDIT"); out != "" {
		rec := RecordStatements(t, db)
		t.Cleanup(func() {
			probs := UnselectivePlans(t, db, rec(), FewValued...)
			if len(probs) == 0 {
				return
			}
			f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				t.Logf("storetest: plans audit: %v", err)
				return
			}
			defer f.Close()
			for _, p := range probs {
				if _, err := f.WriteString(t.Name() + "\t" + strings.ReplaceAll(p, "\n", " ") + "\n"); err != nil {
					t.Logf("storetest: plans audit: %v", err)
					return
				}
			}
		})
	}
	return db
}

// PostgresURL returns TEST_DATABASE_URL and whether it is set.
func PostgresURL() (string, bool) {
	u := strings.TrimSpace(os.Getenv(EnvPostgresURL))
	return u, u != ""
}

// OpenPostgres returns a freshly migrated PostgreSQL database living in a new
// schema of the database at TEST_DATABASE_URL; the schema is dropped in
// t.Cleanup. It fails the test when TEST_DATABASE_URL is unset or unusable.
func OpenPostgres(t testing.TB) *gorm.DB {
	t.Helper()
	baseURL, ok := PostgresURL()
	if !ok {
		t.Fatalf("storetest: %s is not set", EnvPostgresURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	admin, _, err := store.Open(ctx, baseURL, zap.NewNop())
	if err != nil {
		t.Fatalf("storetest: %s is set but PostgreSQL is unusable: %v", EnvPostgresURL, err)
	}
	schemaName := "te_" + randomHex(t, 8)
	if err := admin.WithContext(ctx).Exec("CREATE SCHEMA " + schemaName).Error; err != nil {
		_ = store.Close(admin)
		t.Fatalf("storetest: create schema %s: %v", schemaName, err)
	}
	t.Cleanup(func() {
		dropCtx, dropCancel := context.WithTimeout(context.Background(), setupTimeout)
		defer dropCancel()
		if err := admin.WithContext(dropCtx).Exec("DROP SCHEMA IF EXISTS " + schemaName + " CASCADE").Error; err != nil {
			t.Errorf("storetest: drop schema %s: %v", schemaName, err)
		}
		_ = store.Close(admin)
	})

	testURL, err := withSearchPath(baseURL, schemaName)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvPostgresURL, err)
	}
	db, dialect, err := store.Open(ctx, testURL, zap.NewNop())
	if err != nil {
		t.Fatalf("storetest: open schema %s: %v", schemaName, err)
	}
	// Registered after the drop, so it runs first (cleanups are LIFO).
	t.Cleanup(func() { _ = store.Close(db) })

	var current string
	if err := db.WithContext(ctx).Raw("SELECT current_schema()").Scan(&current).Error; err != nil || current != schemaName {
		t.Fatalf("storetest: search_path not applied (current_schema=%q, err=%v)", current, err)
	}
	if err := schema.Migrate(ctx, db, dialect); err != nil {
		t.Fatalf("storetest: migrate postgres schema %s: %v", schemaName, err)
	}
	return db
}

// Each runs fn as subtest "sqlite" on a fresh SQLite database and, when
// TEST_DATABASE_URL is set, as subtest "postgres" on a fresh PostgreSQL
// schema.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB, d store.Dialect)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, OpenSQLite(t), store.SQLite)
	})
	if _, ok := PostgresURL(); ok {
		t.Run("postgres", func(t *testing.T) {
			fn(t, OpenPostgres(t), store.Postgres)
		})
	}
}

// withSearchPath returns rawURL with search_path set to schemaName (as a
// connection run-time parameter).
func withSearchPath(rawURL, schemaName string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if strings.Contains(q.Get("options"), "search_path") {
		q.Del("options")
	}
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("storetest: random: %v", err)
	}
	return hex.EncodeToString(b)
}
