package dblimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

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
	if _, err := s.Reserve(ctx, func() time.Time { return old }, []ratelimit.Cost{{Key: "idle", Rule: rule, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ban(ctx, "banned", time.Now().Add(time.Hour), "418"); err != nil {
		t.Fatal(err)
	}
	db.Model(&schema.BrokerRateLimit{}).Where("limit_key = ?", "banned").Update("updated_at", old.UTC())
	if _, err := s.Reserve(ctx, time.Now, []ratelimit.Cost{{Key: "busy", Rule: rule, Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	db.Model(&schema.BrokerRateLimit{}).Order("limit_key").Pluck("limit_key", &keys)
	if len(keys) != 2 || keys[0] != "banned" || keys[1] != "busy" {
		t.Fatalf("rows after pruning: %v, want [banned busy] (the idle one gone, the ban kept)", keys)
	}
}

// A reservation kept waiting by another process's lock counts at the time
// it is made, not when it was asked for: asked at 09:00 and made at 09:10,
// it fills the 09:10 window, where the next caller looks.
func TestReservationCountsWhenTheLockIsHeld(t *testing.T) {
	ratelimittest.SharedDatabases(t, func(t *testing.T, a, b *gorm.DB) {
		ctx := context.Background()
		rule := ratelimit.Rule{Limit: 20, Window: time.Minute} // budget 10
		key := "acct:stale"
		asked := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
		made := asked.Add(10 * time.Minute)
		var mu sync.Mutex
		clockAt := asked
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return clockAt }
		// The key's row exists (an old reservation), so that the other
		// process can lock it.
		if _, err := dblimit.New(a).Reserve(ctx, func() time.Time { return asked.Add(-time.Hour) }, []ratelimit.Cost{{Key: key, Rule: rule, Weight: 1}}); err != nil {
			t.Fatal(err)
		}
		// Another process holds the row (SQLite: the write lock of its
		// immediate transaction; PostgreSQL: the row lock).
		other := b.Begin()
		if err := other.Error; err != nil {
			t.Fatal(err)
		}
		if err := other.Exec("UPDATE broker_rate_limits SET updated_at = updated_at WHERE limit_key = ?", key).Error; err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			wait, err := dblimit.New(a).Reserve(ctx, clock, []ratelimit.Cost{{Key: key, Rule: rule, Weight: rule.Budget()}})
			if err == nil && wait != 0 {
				err = fmt.Errorf("the blocked reservation was told to wait %s", wait)
			}
			done <- err
		}()
		time.Sleep(300 * time.Millisecond) // the reservation is waiting for the lock
		select {
		case err := <-done:
			t.Fatalf("the reservation did not wait for the other process's lock: %v", err)
		default:
		}
		mu.Lock()
		clockAt = made
		mu.Unlock()
		if err := other.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// The window at 09:10 is full.
		wait, err := dblimit.New(b).Reserve(ctx, func() time.Time { return made.Add(time.Second) }, []ratelimit.Cost{{Key: key, Rule: rule, Weight: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if wait <= 0 {
			t.Fatal("a reservation made at 09:10 after waiting for a lock was counted at 09:00: the 09:10 window let another request through")
		}
	})
}
