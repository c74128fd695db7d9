package paper

import (
	"context"
	"testing"
)

// TestStateCacheNeverStale: a store that has an account decoded in its
// cache sees every change made behind its back — by another store (another
// process) and by a write of its own that did not stay in the database.
func TestStateCacheNeverStale(t *testing.T) {
	for _, be := range backends(t) {
		if be.name == "memory" {
			continue
		}
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := be.open(t).(*GormStore), be.open(t).(*GormStore)
			if _, err := a.Create(ctx, AccountState{ID: "acct-c", Currency: "USD", Cash: d("100"), Day: "2024-03-13"}); err != nil {
				t.Fatal(err)
			}
			load := func(s *GormStore) AccountState {
				t.Helper()
				st, err := s.Load(ctx, "acct-c")
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			load(a)
			load(a) // cached now

			// Another process writes.
			if err := b.Update(ctx, "acct-c", func(s *AccountState) error { s.Cash = d("42"); return nil }); err != nil {
				t.Fatal(err)
			}
			if got := load(a); !got.Cash.Equal(d("42")) {
				t.Fatalf("cash after another store's write = %s, want 42", got.Cash)
			}

			// A write of a's own that the database does not keep (restored
			// here as a rolled-back or overwritten row would be).
			var before accountRow
			if err := a.db.Where("id = ?", "acct-c").First(&before).Error; err != nil {
				t.Fatal(err)
			}
			if err := a.Update(ctx, "acct-c", func(s *AccountState) error { s.Cash = d("7"); return nil }); err != nil {
				t.Fatal(err)
			}
			if err := a.db.Model(&accountRow{}).Where("id = ?", "acct-c").Update("state", before.State).Error; err != nil {
				t.Fatal(err)
			}
			if got := load(a); !got.Cash.Equal(d("42")) {
				t.Fatalf("cash after the write was undone = %s, want 42", got.Cash)
			}

			// Callers own what they get: changing it does not change the cache.
			got := load(a)
			got.Cash = d("1")
			got.Positions["AAPL"] = PositionState{}
			if again := load(a); !again.Cash.Equal(d("42")) || len(again.Positions) != 0 {
				t.Fatalf("cache changed through a returned state: %+v", again)
			}
		})
	}
}
