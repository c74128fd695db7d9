package dblimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/dblimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/ratelimittest"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Two Stores on two connection pools over one database (SQLite file, and
// PostgreSQL schema when TEST_DATABASE_URL is set): two processes.
func TestStore(t *testing.T) {
	for _, d := range ratelimittest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ratelimittest.Run(t, func(t *testing.T) (ratelimit.Store, ratelimit.Store) {
				a, b := ratelimittest.OpenShared(t, d)
				return dblimit.New(a), dblimit.New(b)
			})
		})
	}
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
