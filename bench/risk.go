package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// stopTriggerRun measures SPEC SC-015 on the paper broker: the time from
// the price crossing a broker-native stop-loss (as PlaceStopLoss places it:
// a GTC sell stop 2% under the fill) to the stop's execution, with the
// paper engine's production matching interval and its state in SQLite.
// Progress is read from the store without running a matching pass, so the
// figure is the engine's own trigger latency.
func stopTriggerRun(ctx context.Context, dir string, n int) []row {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/stops.db", nil)
	must(err)
	defer store.Close(db)
	must(schema.Migrate(ctx, db, dialect))
	feed := paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(180)})
	st := paper.NewGormStore(db)
	engine := paper.NewEngine(st, feed) // DefaultMatchInterval, as in production
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = engine.Run(rctx) }()

	var lat []time.Duration
	missed := 0
	for i := 0; i < n; i++ {
		d, ok := oneStopTrigger(ctx, engine, st, feed, i)
		if !ok {
			missed++
			continue
		}
		lat = append(lat, d)
	}
	over := 0
	for _, d := range lat {
		if d > 2*time.Second {
			over++
		}
	}
	return []row{stats("price crosses stop-loss → stop executed (paper, SC-015)", lat,
		fmt.Sprintf("%d over 2 s, %d not executed in 10 s", over, missed), "p95 ≤ 2 s")}
}

// oneStopTrigger buys 10 AAPL at $180 on a fresh account, places the
// position's stop, moves the price through it at a random point of the
// matching cycle and returns how long the execution took.
func oneStopTrigger(ctx context.Context, e *paper.Engine, st paper.Store, feed *paper.StaticFeed, i int) (time.Duration, bool) {
	feed.Set("AAPL", decimal.NewFromInt(180))
	acct := uuid.NewString()
	must(e.CreateAccount(ctx, acct, decimal.NewFromInt(10_000)))
	b := e.Broker(acct)
	_, err := b.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: fmt.Sprintf("bench-entry-%d", i), Symbol: "AAPL",
		AssetClass: signal.AssetStock, Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: decimal.NewFromInt(10), TimeInForce: broker.TIFDay})
	must(err)
	stop, err := risk.DesiredStop(risk.StopRequest{AssetClass: signal.AssetStock, Position: decimal.NewFromInt(10),
		AvgEntry: decimal.NewFromInt(180), Pct: risk.DefaultSettings().StopLossPct})
	must(err)
	o, err := b.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: fmt.Sprintf("bench-stop-%d", i), Symbol: "AAPL",
		AssetClass: signal.AssetStock, Side: stop.Side, Type: signal.OrderStop, Quantity: stop.Quantity, StopPrice: stop.StopPrice, TimeInForce: broker.TIFGTC})
	must(err)
	// A random phase against the engine's ticker.
	var r [8]byte
	_, _ = rand.Read(r[:])
	time.Sleep(time.Duration(binary.LittleEndian.Uint64(r[:])%uint64(paper.DefaultMatchInterval)) + 10*time.Millisecond)
	crossed := time.Now()
	feed.Set("AAPL", decimal.NewFromInt(175))
	deadline := crossed.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s, err := st.Load(ctx, acct)
		must(err)
		for _, x := range s.Orders {
			if x.ID == o.ID && x.Status == broker.StatusFilled {
				return x.UpdatedAt.Sub(crossed), true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, false
}
