package paper

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
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

// TestListWorkingSeesEveryCommittedChange: ListWorking takes the states
// of unchanged versions from the cache; a write by another store, a write
// of its own and a write whose transaction rolled back must each show as
// what the database holds.
func TestListWorkingSeesEveryCommittedChange(t *testing.T) {
	for _, be := range backends(t) {
		if be.name == "memory" {
			continue
		}
		t.Run(be.name, func(t *testing.T) {
			ctx := context.Background()
			a, b := be.open(t).(*GormStore), be.open(t).(*GormStore)
			var failWrites atomic.Bool
			if err := a.db.Callback().Update().After("gorm:update").Register("test:fail", func(tx *gorm.DB) {
				if failWrites.Load() {
					_ = tx.AddError(errSentinel)
				}
			}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"acct-w1", "acct-w2"} {
				if _, err := a.Create(ctx, AccountState{ID: id, Currency: "USD", Cash: d("100"), Day: "2024-03-13"}); err != nil {
					t.Fatal(err)
				}
				if err := a.Update(ctx, id, func(s *AccountState) error {
					s.Orders = append(s.Orders, OrderState{Order: broker.Order{ID: "o-" + id, Symbol: "AAPL", Status: broker.StatusNew, Quantity: d("1")}})
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			cash := func(s *GormStore) map[string]string {
				t.Helper()
				ws, err := s.ListWorking(ctx)
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]string{}
				for _, w := range ws {
					out[w.ID] = w.Cash.String()
				}
				return out
			}
			want := func(s *GormStore, w1, w2 string) {
				t.Helper()
				if got := cash(s); len(got) != 2 || got["acct-w1"] != w1 || got["acct-w2"] != w2 {
					t.Fatalf("ListWorking cash = %v, want acct-w1 %s, acct-w2 %s", got, w1, w2)
				}
			}
			want(a, "100", "100")
			want(a, "100", "100") // from the cache now

			// Another process writes.
			if err := b.Update(ctx, "acct-w1", func(s *AccountState) error { s.Cash = d("42"); return nil }); err != nil {
				t.Fatal(err)
			}
			want(a, "42", "100")

			// Its own write, then one that rolls back: the write's state is
			// cached only once its transaction commits.
			if err := a.Update(ctx, "acct-w2", func(s *AccountState) error { s.Cash = d("7"); return nil }); err != nil {
				t.Fatal(err)
			}
			want(a, "42", "7")
			if err := a.Update(ctx, "acct-w2", func(s *AccountState) error { s.Cash = d("8"); return errSentinel }); !errors.Is(err, errSentinel) {
				t.Fatal(err)
			}
			want(a, "42", "7")
			// This time the row is written and the transaction then fails;
			// another process then commits the same version number.
			failWrites.Store(true)
			if err := a.Update(ctx, "acct-w2", func(s *AccountState) error { s.Cash = d("8"); return nil }); !errors.Is(err, errSentinel) {
				t.Fatalf("Update = %v, want the injected failure", err)
			}
			failWrites.Store(false)
			want(a, "42", "7")
			if err := b.Update(ctx, "acct-w2", func(s *AccountState) error { s.Cash = d("9"); return nil }); err != nil {
				t.Fatal(err)
			}
			want(a, "42", "9")

			// An account whose last order ended drops out.
			if err := b.Update(ctx, "acct-w1", func(s *AccountState) error { s.Orders[0].Status = broker.StatusCancelled; return nil }); err != nil {
				t.Fatal(err)
			}
			if got := cash(a); len(got) != 1 || got["acct-w2"] != "9" {
				t.Fatalf("ListWorking after the order ended = %v", got)
			}
		})
	}
}
