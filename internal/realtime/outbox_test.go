package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func appendEvent(t *testing.T, db *gorm.DB, user, typ string, payload any) schema.OutboxEvent {
	t.Helper()
	var ev schema.OutboxEvent
	err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
		var err error
		ev, err = realtime.AppendEvent(tx, user, typ, payload)
		return err
	})
	if err != nil {
		t.Fatalf("append event: %v", err)
	}
	return ev
}

func TestAppendEventConcurrentIsGaplessPerUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		const writers = 20
		users := []string{"u1", "u2", "u3"}
		var wg sync.WaitGroup
		errs := make(chan error, writers*len(users))
		for i := 0; i < writers; i++ {
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- store.InTx(context.Background(), db, func(tx *gorm.DB) error {
						_, err := realtime.AppendEvent(tx, u, realtime.EventTradeSubmitted, map[string]any{"i": i})
						return err
					})
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("append: %v", err)
			}
		}
		for _, u := range users {
			evs, err := realtime.EventsSince(context.Background(), db, u, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != writers {
				t.Fatalf("%s: %d events", u, len(evs))
			}
			for i, ev := range evs {
				if ev.Seq != int64(i+1) || ev.UserID != u {
					t.Fatalf("%s: event %d has seq %d", u, i, ev.Seq)
				}
			}
		}
	})
}

func TestAppendEventCommitsWithCallerTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		if _, err := realtime.AppendEvent(db, "u1", realtime.EventStateSync, nil); !errors.Is(err, realtime.ErrNotInTransaction) {
			t.Fatalf("outside tx: %v", err)
		}
		boom := errors.New("boom")
		err := store.InTx(ctx, db, func(tx *gorm.DB) error {
			if _, err := audit.Append(tx, audit.Entry{UserID: "u1", Action: audit.ActionTradeSubmitted}); err != nil {
				return err
			}
			if _, err := realtime.AppendEvent(tx, "u1", realtime.EventTradeSubmitted, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		evs, _ := realtime.EventsSince(ctx, db, "u1", 0, 0)
		if len(evs) != 0 {
			t.Fatal("event survived the rollback")
		}
		if ev := appendEvent(t, db, "u1", realtime.EventTradeFilled, nil); ev.Seq != 1 {
			t.Fatalf("seq after rollback = %d, want 1 (no gap)", ev.Seq)
		}
	})
}

func TestEventsSincePagesAndPayloads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		type fill struct {
			TradeID string          `json:"tradeId"`
			Price   decimal.Decimal `json:"price"`
		}
		first := appendEvent(t, db, "u1", realtime.EventTradeFilled, fill{"t1", decimal.RequireFromString("175.000000000000000001")})
		if first.Payload != `{"tradeId":"t1","price":"175.000000000000000001"}` || first.CreatedAt.IsZero() || first.ID == 0 {
			t.Fatalf("event: %+v", first)
		}
		appendEvent(t, db, "u1", realtime.EventStateSync, json.RawMessage(`{"full":true}`))
		appendEvent(t, db, "u1", realtime.EventMarketQuote, nil)
		for i := 0; i < 5; i++ {
			appendEvent(t, db, "u2", realtime.EventMarketQuote, i)
		}
		tests := []struct {
			user  string
			after int64
			limit int
			want  []int64
		}{
			{"u1", 0, 0, []int64{1, 2, 3}},
			{"u1", 1, 0, []int64{2, 3}},
			{"u1", 3, 0, nil},
			{"u2", 1, 2, []int64{2, 3}},
			{"u3", 0, 10, nil},
		}
		for _, tt := range tests {
			evs, err := realtime.EventsSince(ctx, db, tt.user, tt.after, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, ev := range evs {
				seqs = append(seqs, ev.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tt.want) {
				t.Errorf("%s after %d limit %d: %v, want %v", tt.user, tt.after, tt.limit, seqs, tt.want)
			}
		}
		evs, _ := realtime.EventsSince(ctx, db, "u1", 1, 1)
		if evs[0].Type != realtime.EventStateSync || evs[0].Payload != `{"full":true}` {
			t.Errorf("raw payload: %+v", evs[0])
		}
		evs, _ = realtime.EventsSince(ctx, db, "u1", 2, 1)
		if evs[0].Payload != "{}" {
			t.Errorf("nil payload stored as %q", evs[0].Payload)
		}
	})
}

func TestAppendEventValidation(t *testing.T) {
	db, _ := storetest.Open(t)
	cases := []struct {
		user, typ string
		payload   any
	}{
		{"", realtime.EventStateSync, nil},
		{"u1", "", nil},
		{"u1", realtime.EventStateSync, make(chan int)},
		{"u1", realtime.EventStateSync, json.RawMessage(`{"broken"`)},
	}
	for i, c := range cases {
		err := store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			_, err := realtime.AppendEvent(tx, c.user, c.typ, c.payload)
			return err
		})
		if !errors.Is(err, realtime.ErrInvalidEvent) {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
}

func TestLostSequenceRowDoesNotReuseNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		for i := 0; i < 3; i++ {
			appendEvent(t, db, "u1", realtime.EventMarketQuote, i)
		}
		if err := db.Exec("DELETE FROM event_seqs").Error; err != nil {
			t.Fatal(err)
		}
		if ev := appendEvent(t, db, "u1", realtime.EventMarketQuote, nil); ev.Seq != 4 {
			t.Fatalf("seq = %d, want 4", ev.Seq)
		}
	})
}
