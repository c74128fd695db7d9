package main

// Per-trader performance benchmark (issue 16 item 5): the aggregates are
// updated incrementally in the transaction that records a fill, so a read
// must cost the same whatever the trader's history. One trader's fills
// (round trips of 1 share over 20 symbols, some open) are recorded through
// performance.RecordFill in their own transaction each; at each history
// size the read (GET /api/v1/performance's performance.Read) is timed.
// Printed: the per-fill transaction p50/p99 and the read p50/p99 at each
// size, with the ratio of the largest history's read to the smallest's.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

func performanceRows(ctx context.Context, dir string, sizes []int) []row {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/performance.db", nil)
	must(err)
	defer store.Close(db)
	must(schema.Migrate(ctx, db, dialect))
	user := uuid.NewString()
	must(db.Create(&schema.User{ID: user, DisplayName: "bench", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)

	var rows []row
	var fills []time.Duration
	var firstRead time.Duration
	recorded := 0
	for _, size := range sizes {
		for ; recorded < size; recorded++ {
			i := recorded
			sym := fmt.Sprintf("SYM%02d", i%20)
			side, price := "buy", decimal.NewFromInt(int64(100+i%7))
			if (i/20)%2 == 1 {
				side, price = "sell", decimal.NewFromInt(int64(98+i%11))
			}
			t0 := time.Now()
			must(store.InTx(ctx, db, func(tx *gorm.DB) error {
				return performance.RecordFill(tx, performance.FillEvent{UserID: user, ConnectionID: "bench", Symbol: sym, Source: "tradingview",
					TradeID: "t", Side: side, Quantity: decimal.NewFromInt(1), Notional: price, At: time.Now()})
			}))
			fills = append(fills, time.Since(t0))
		}
		var reads []time.Duration
		for range 50 {
			t0 := time.Now()
			_, err := performance.Read(ctx, db, user)
			must(err)
			reads = append(reads, time.Since(t0))
		}
		slices.Sort(reads)
		p50 := pct(reads, 50)
		other := ""
		if firstRead == 0 {
			firstRead = p50
		} else {
			other = fmt.Sprintf("%.2f× the read at %d fills", float64(p50)/float64(firstRead), sizes[0])
		}
		rows = append(rows, row{Figure: fmt.Sprintf("performance read, history of %d fills", size), Samples: "50",
			P50: ms(p50), P95: ms(pct(reads, 95)), P99: ms(pct(reads, 99)), Other: other, Target: "flat in history size"})
	}
	slices.Sort(fills)
	rows = append(rows, row{Figure: "fill → lots and aggregates updated (own SQLite transaction)", Samples: fmt.Sprint(len(fills)),
		P50: ms(pct(fills, 50)), P95: ms(pct(fills, 95)), P99: ms(pct(fills, 99)), Target: "—"})
	return rows
}
