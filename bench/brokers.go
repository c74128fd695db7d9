package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/binance"
	"github.com/tradeexec/tradeexec/internal/broker/coinbase"
	"github.com/tradeexec/tradeexec/internal/broker/ibkr"
	"github.com/tradeexec/tradeexec/internal/broker/kraken"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// brokerRows measures each adapter's cost of one order: PlaceOrder (with
// its client-id lookup, signing, rate limiter and JSON) against the
// broker's local fake, n orders in sequence after a warm-up. The adapters
// come from the production registry (app.NewRegistry) with custom URLs
// allowed and limiters lifted, so the figure is the adapter's own
// overhead plus one loopback round trip to an in-process fake, never a
// wait for a rate limit.
func brokerRows(ctx context.Context, dir string, n int) []row {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/brokers.db", nil)
	must(err)
	defer store.Close(db)
	must(schema.Migrate(ctx, db, dialect))
	engine := paper.NewEngine(paper.NewGormStore(db), paper.NewStaticFeed(map[string]decimal.Decimal{
		"AAPL": decimal.NewFromInt(190), "BTC-USD": decimal.NewFromInt(42150)}))

	sw := schwab.NewFake()
	defer sw.Close()
	reg := app.NewRegistry(engine, app.RegistryOptions{BrokerOptions: app.BrokerOptions{
		AllowCustomURLs: true, Unthrottled: true, Schwab: sw.App(), SchwabBaseURL: sw.URL()}})

	stockCash, cryptoCash := decimal.NewFromInt(1_000_000_000), decimal.NewFromInt(1_000_000_000)
	stock := broker.OrderRequest{Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy, Type: signal.OrderMarket,
		Quantity: decimal.NewFromInt(1), TimeInForce: broker.TIFDay}
	crypto := broker.OrderRequest{Symbol: "BTC-USD", AssetClass: signal.AssetCrypto, Side: signal.SideBuy, Type: signal.OrderMarket,
		Quantity: decimal.RequireFromString("0.001"), TimeInForce: broker.TIFGTC}

	type target struct {
		name  string
		creds func() broker.Credentials
		order broker.OrderRequest
		stop  func()
	}
	al := alpaca.NewFake()
	ib := ibkr.NewFake()
	ib.SetPacing(ibkr.DocumentedPacing().Scaled(0.005)) // the bench's adapters run unthrottled (1/100)
	cb := coinbase.NewFake()
	kr := kraken.NewFake()
	bn := binance.NewFake()
	targets := []target{
		{"paper", func() broker.Credentials {
			id := uuid.NewString()
			must(engine.CreateAccount(ctx, id, stockCash))
			return broker.Credentials{paper.CredentialAccountID: id}
		}, stock, func() {}},
		{"alpaca", func() broker.Credentials { return al.Credentials(al.CreateAccount(stockCash)) }, stock, al.Close},
		{"ibkr", func() broker.Credentials {
			acct, base := ib.NewAccount(stockCash)
			return broker.Credentials{ibkr.CredAccountID: acct, ibkr.CredBaseURL: base}
		}, stock, ib.Close},
		{"schwab", func() broker.Credentials { return sw.NewAccount(stockCash) }, stock, func() {}},
		{"coinbase", func() broker.Credentials { return cb.NewAccount(cryptoCash) }, crypto, cb.Close},
		{"kraken", func() broker.Credentials { return kr.NewAccount(cryptoCash) }, crypto, kr.Close},
		{"binance", func() broker.Credentials { return bn.NewAccount(cryptoCash) }, crypto, bn.Close},
	}
	var rows []row
	for _, tg := range targets {
		rows = append(rows, benchAdapter(ctx, reg, tg.name, tg.creds(), tg.order, n))
		tg.stop()
	}
	return rows
}

// benchAdapter places warm-up orders, then n timed ones.
func benchAdapter(ctx context.Context, reg *broker.Registry, name string, creds broker.Credentials, order broker.OrderRequest, n int) row {
	figure := fmt.Sprintf("adapter overhead per order: %s (PlaceOrder vs its fake)", name)
	b, err := reg.Open(name, broker.Config{ConnectionID: "bench-" + name, UserID: "bench", Credentials: creds})
	if err != nil {
		return row{Figure: figure, Samples: "0", Other: "open: " + err.Error(), Target: "—"}
	}
	if _, err := b.Connect(ctx); err != nil {
		return row{Figure: figure, Samples: "0", Other: "connect: " + err.Error(), Target: "—"}
	}
	place := func() (time.Duration, error) {
		req := order
		req.ClientOrderID = trade.ClientOrderID("bench/"+uuid.NewString(), "entry") // the production format
		start := time.Now()
		_, err := b.PlaceOrder(ctx, req)
		return time.Since(start), err
	}
	for i := 0; i < 5; i++ {
		if _, err := place(); err != nil {
			return row{Figure: figure, Samples: "0", Other: "warm-up: " + err.Error(), Target: "—"}
		}
	}
	var d []time.Duration
	failed := 0
	for i := 0; i < n; i++ {
		took, err := place()
		if err != nil {
			failed++
			continue
		}
		d = append(d, took)
	}
	return stats(figure, d, fmt.Sprintf("%d failed", failed), "—")
}
