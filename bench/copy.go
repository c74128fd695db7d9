package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// copyRows measures issue 17's "one leader fill → 1,000 followers' orders
// accepted" (same target as the channel fan-out, DESIGN §6) on the real
// producer path: the leader's own market order (intake → TradeWorkflow)
// fills at the paper broker; the transaction that records the fill writes
// the copy_fills row and the start request of SignalWorkflow
// signal/copy/<fill id> (the outbox; the start relay starts it); its
// fan-out sizes every active follower proportionally (copyPage, 200 a
// page), records their copy trades through intake with their copy orders
// and starts one TradeWorkflow each. The clock starts when the leader's
// order is submitted and stops when the paper broker has accepted every
// follower's order; the leader's own fill (submit → copy fill recorded)
// is reported apart. The ratios are to the channel fan-out and the
// engine's ceiling measured in the same run.
func copyRows(ctx context.Context, dir, temporalAddr string, followers int, ceil ceiling, channel time.Duration) []row {
	f, err := newFanoutEnvNamed(ctx, dir, temporalAddr, "copy")
	must(err)
	defer f.close()
	const queue = "bench-copy"

	leaderEquity := decimal.NewFromInt(1_000_000)
	leader := f.copyLeader(ctx, leaderEquity)

	// Warm-up: one follower, one leader order.
	w := f.copyFollowers(ctx, leader, 1)
	start := time.Now()
	_, err = f.leaderOrder(ctx, queue, leader, "warm-up")
	must(err)
	if _, missing := f.waitAccepted(w, start, 60*time.Second, nil); missing > 0 {
		must(fmt.Errorf("copy warm-up: the order was not accepted"))
	}
	// The warm-up follower unfollows: the measured fill goes to the others.
	must(f.db.Model(&schema.CopyFollow{}).Where("follower_id IN ?", w).Update("status", "stopped").Error)

	ids := f.copyFollowers(ctx, leader, followers)
	f.startGuards(ctx, len(ids)+len(w)+1) // and the leader's
	start = time.Now()
	fillID, err := f.leaderOrder(ctx, queue, leader, "measured")
	must(err)
	lat, missing := f.waitAccepted(ids, start, 180*time.Second, nil)
	total := time.Since(start)
	if len(lat) > 0 {
		total = lat[len(lat)-1]
	}
	var fill schema.CopyFill
	must(f.db.Where("fill_id = ?", fillID).Take(&fill).Error)
	leaderFill := fill.CreatedAt.Sub(start.UTC())
	floor := time.Duration(0)
	if ceil.Rate > 0 {
		floor = time.Duration(float64(followers) / ceil.Rate * float64(time.Second))
	}
	return []row{
		stats(fmt.Sprintf("1 leader fill → %d followers (real producer: paper fill → copy fill → signal/copy fan-out): order accepted, per follower", followers), lat,
			fmt.Sprintf("all accepted in %.2f s = %s the ceiling (%d empty workflows: %.2f s), %s the channel fan-out (%.2f s); the leader's own order → copy fill %.2f s; %d not accepted",
				total.Seconds(), times(total, floor), followers, floor.Seconds(), times(total, channel), channel.Seconds(), leaderFill.Seconds(), missing),
			"≤ 1.3× the ceiling (as the channel fan-out)"),
	}
}

// copyFollowers creates n traders with a funded paper account (100,000)
// each, following leader proportionally; it returns their ids.
func (f *fanoutEnv) copyFollowers(ctx context.Context, leader string, n int) []string {
	return f.paperTraders(ctx, n, decimal.NewFromInt(100_000), leader, "pro")
}

// paperTraders creates n traders with a funded paper account of equity
// each (synced balance included, for proportional sizing), following
// leader when one is given; it returns their ids.
func (f *fanoutEnv) paperTraders(ctx context.Context, n int, equity decimal.Decimal, leader, tier string) []string {
	now := time.Now().UTC()
	def := risk.DefaultSettings()
	ids := make([]string, n)
	var users []schema.User
	var settings []schema.RiskSettings
	var conns []schema.BrokerConnection
	var follows []schema.CopyFollow
	var balances []schema.PortfolioBalance
	for i := range ids {
		id, acct := uuid.NewString(), uuid.NewString()
		ids[i] = id
		must(f.engine.CreateAccount(ctx, acct, equity))
		users = append(users, schema.User{ID: id, DisplayName: "trader", Role: "trader", SubscriptionTier: tier,
			SubscriptionStatus: "active", CreatedAt: now})
		settings = append(settings, schema.RiskSettings{UserID: id, MaxPositionPct: def.MaxPositionPct, DailyLossLimitPct: def.DailyLossLimitPct,
			DailyLossLimitAmount: def.DailyLossLimitAmount, CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct, UpdatedAt: now})
		c := schema.BrokerConnection{ID: uuid.NewString(), UserID: id, BrokerType: "paper", Label: "Paper", Paper: true, IsActive: true,
			HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}
		blob, ver, err := f.keyring.EncryptJSON(id, c.ID, broker.Credentials{"account_id": acct})
		must(err)
		c.Credentials, c.KeyVersion = blob, ver
		conns = append(conns, c)
		balances = append(balances, schema.PortfolioBalance{BrokerConnectionID: c.ID, UserID: id, Cash: equity, Equity: equity,
			BuyingPower: equity, Currency: "USD", UpdatedAt: now})
		if leader != "" {
			follows = append(follows, schema.CopyFollow{ID: uuid.NewString(), FollowerID: id, LeaderID: leader, SizingMode: "proportional",
				Multiplier: decimal.NewFromInt(1), FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero,
				Status: "active", CreatedAt: now, UpdatedAt: now})
		}
	}
	must(store.InTx(ctx, f.db, func(tx *gorm.DB) error {
		for _, batch := range []any{&users, &settings, &conns, &balances} {
			if err := tx.CreateInBatches(batch, 200).Error; err != nil {
				return err
			}
		}
		if len(follows) > 0 {
			return tx.CreateInBatches(&follows, 200).Error
		}
		return nil
	}))
	return ids
}

// copyLeader creates the leader: a paper trader with equity in a funded
// paper account who allows copy trading (public profile "BenchLeader").
func (f *fanoutEnv) copyLeader(ctx context.Context, equity decimal.Decimal) string {
	id := f.paperTraders(ctx, 1, equity, "", "pro")[0]
	now := time.Now().UTC()
	must(f.db.Create(&schema.CopyLeader{UserID: id, AllowCopy: true, Visibility: "public", DisplayName: "BenchLeader",
		CreatedAt: now, UpdatedAt: now}).Error)
	return id
}

// leaderOrder submits the leader's market BUY AAPL 20 (at $180) through
// intake like a dashboard order; the rest is the system's. It returns the
// copy fill id the fill will be recorded under.
func (f *fanoutEnv) leaderOrder(ctx context.Context, queue, leader, tag string) (string, error) {
	svc := &intake.Service{DB: f.db, Temporal: f.temporal, TaskQueue: queue, Committed: f.stack.Trading.Committed}
	res, err := svc.Submit(ctx, intake.Request{UserID: leader, Manual: true, Signal: signal.Signal{Source: signal.SourceDashboard,
		ExternalID: "bench-leader-" + tag, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionBuy, Side: signal.SideBuy,
		Quantity: decimal.NewFromInt(20), QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket, Text: "BUY AAPL 20 (" + tag + ")"}})
	if err != nil {
		return "", err
	}
	return "trade:" + res.TradeID, nil
}
