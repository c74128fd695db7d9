package ratelimittest

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Dialects are the databases shared-store tests run on: SQLite always,
// PostgreSQL when TEST_DATABASE_URL is set.
func Dialects() []store.Dialect {
	if _, ok := storetest.PostgresURL(); ok {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// OpenShared returns two handles (two connection pools, as two processes
// have) on one fresh database of dialect: a SQLite file in t.TempDir()
// opened by store.Open, or a new PostgreSQL schema at TEST_DATABASE_URL.
func OpenShared(t *testing.T, d store.Dialect) (a, b *gorm.DB) {
	t.Helper()
	if d == store.SQLite {
		u := "sqlite://" + filepath.Join(t.TempDir(), "limits.db")
		return openMigrated(t, u), openMigrated(t, u)
	}
	base, _ := storetest.PostgresURL()
	first := storetest.OpenPostgres(t)
	var schemaName string
	if err := first.Raw("SELECT current_schema()").Scan(&schemaName).Error; err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schemaName)
	u.RawQuery = q.Encode()
	return first, openMigrated(t, u.String())
}

// SharedDatabases runs fn as a subtest per dialect of Dialects with two
// handles from OpenShared.
func SharedDatabases(t *testing.T, fn func(t *testing.T, a, b *gorm.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			a, b := OpenShared(t, d)
			fn(t, a, b)
		})
	}
}

// openMigrated returns a migrated handle on databaseURL, closed when the
// test ends.
func openMigrated(t *testing.T, databaseURL string) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, d, err := store.Open(ctx, databaseURL, zap.NewNop())
	if err != nil {
		t.Fatalf("ratelimittest: open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(db) })
	if err := schema.Migrate(ctx, db, d); err != nil {
		t.Fatalf("ratelimittest: migrate: %v", err)
	}
	return db
}
