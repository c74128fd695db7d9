package dblimit_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/dblimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// open returns a migrated handle on databaseURL, closed when the test ends.
func open(t *testing.T, databaseURL string) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, d, err := store.Open(ctx, databaseURL, zap.NewNop())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(db) })
	if err := schema.Migrate(ctx, db, d); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// Two Stores on two connection pools over one SQLite file: two processes.
func TestStoreSQLite(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) (ratelimit.Store, ratelimit.Store) {
		u := "sqlite://" + filepath.Join(t.TempDir(), "limits.db")
		return dblimit.New(open(t, u)), dblimit.New(open(t, u))
	})
}

// Two Stores on two connection pools over one PostgreSQL schema, when
// TEST_DATABASE_URL is set.
func TestStorePostgres(t *testing.T) {
	base, ok := storetest.PostgresURL()
	if !ok {
		t.Skip(storetest.EnvPostgresURL + " is not set")
	}
	ratelimittest.Run(t, func(t *testing.T) (ratelimit.Store, ratelimit.Store) {
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
		return dblimit.New(first), dblimit.New(open(t, u.String()))
	})
}

func TestIdleRowsArePruned(t *testing.T) {
	db := storetest.OpenSQLite(t)
	s := dblimit.New(db)
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	rule := ratelimit.Rule{Limit: 100, Window: time.Minute}
	if _, err := s.Reserve(ctx, old, []ratelimit.Cost{{Key: "idle", Rule: rule, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, "banned", time.Now().Add(time.Hour), "418"); err != nil {
		t.Fatal(err)
	}
	db.Model(&schema.BrokerRateLimit{}).Where("limit_key = ?", "banned").Update("updated_at", old.UTC())
	if _, err := s.Reserve(ctx, time.Now(), []ratelimit.Cost{{Key: "busy", Rule: rule, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	db.Model(&schema.BrokerRateLimit{}).Order("limit_key").Pluck("limit_key", &keys)
	if len(keys) != 2 || keys[0] != "banned" || keys[1] != "busy" {
		t.Fatalf("rows after pruning: %v, want [banned busy] (the idle one gone, the ban kept)", keys)
	}
}
