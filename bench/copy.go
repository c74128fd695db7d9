package main

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/broker"
	lt "github.com/tradeexec/tradeexec/internal/leaderboard/leaderboardtest"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// copyRows measures issue 17's "one leader fill → 1,000 followers' orders
// accepted" (same target as the channel fan-out, DESIGN §6) as far as this
// branch can: copy trading's producer (a leader's fill → copy_fills →
// SignalWorkflow signal/copy/<fill id>) is built on another branch, so
// here the bench itself plays the producer: from the leader's recorded
// fill it reads the leader's active follows (copy_follows, 200 a page),
// sizes each follower proportionally (the leader's fill value as a share of
// the leader's equity, applied to the follower's), records each page's
// copy signals (signal.SourceCopy, external id copy:<fill>:<follower>)
// through intake.Record in one transaction and starts the TradeWorkflows
// eagerly, 16 at a time — what the channel fan-out's FanoutPages activity
// does, without the SignalWorkflow around it. The clock stops when the
// paper broker has accepted every follower's order; the ratios are to the
// channel fan-out and the engine's ceiling measured in the same run.
func copyRows(ctx context.Context, dir, temporalAddr string, followers int, ceil ceiling, channel time.Duration) []row {
	f, err := newFanoutEnvNamed(ctx, dir, temporalAddr, "copy")
	must(err)
	defer f.close()
	const queue = "bench-copy"

	leader := lt.User(benchTB{}, f.db, "leader")
	lt.Profile(benchTB{}, f.db, leader, true, "public", "BenchLeader")
	leaderEquity := decimal.NewFromInt(1_000_000)

	// Warm-up: one follower, one fill.
	w := f.copyFollowers(ctx, leader, 1)
	start := time.Now()
	_, err = f.copyFill(ctx, queue, leader, leaderEquity, "warm-up")
	must(err)
	if _, missing := f.waitAccepted(w, start, 60*time.Second); missing > 0 {
		must(fmt.Errorf("copy warm-up: the order was not accepted"))
	}
	// The warm-up follower unfollows: the measured fill goes to the others.
	must(f.db.Model(&schema.CopyFollow{}).Where("follower_id IN ?", w).Update("status", "stopped").Error)

	ids := f.copyFollowers(ctx, leader, followers)
	start = time.Now()
	recorded, err := f.copyFill(ctx, queue, leader, leaderEquity, "measured")
	must(err)
	lat, missing := f.waitAccepted(ids, start, 120*time.Second)
	total := time.Since(start)
	if len(lat) > 0 {
		total = lat[len(lat)-1]
	}
	floor := time.Duration(0)
	if ceil.Rate > 0 {
		floor = time.Duration(float64(followers) / ceil.Rate * float64(time.Second))
	}
	return []row{
		stats(fmt.Sprintf("1 leader fill → %d followers (copy signals via intake): order accepted, per follower", followers), lat,
			fmt.Sprintf("all accepted in %.2f s = %s the channel fan-out (%.2f s), %s the ceiling (%.2f s); recorded %.2f s; %d not accepted",
				total.Seconds(), times(total, channel), channel.Seconds(), times(total, floor), floor.Seconds(), recorded.Seconds(), missing),
			"≤ 1.3× the ceiling (as the channel fan-out)"),
	}
}

// benchTB lets the bench use the leaderboard fixtures (a failure ends it).
type benchTB struct{}

func (benchTB) Helper() {}
func (benchTB) Fatalf(format string, args ...any) {
	must(fmt.Errorf(format, args...))
}

// copyFollowers creates n traders with a funded paper account (100,000)
// each, following leader proportionally; it returns their ids.
func (f *fanoutEnv) copyFollowers(ctx context.Context, leader string, n int) []string {
	now := time.Now().UTC()
	def := risk.DefaultSettings()
	ids := make([]string, n)
	var users []schema.User
	var settings []schema.RiskSettings
	var conns []schema.BrokerConnection
	var follows []schema.CopyFollow
	var balances []schema.PortfolioBalance
	equity := decimal.NewFromInt(100_000)
	for i := range ids {
		id, acct := uuid.NewString(), uuid.NewString()
		ids[i] = id
		must(f.engine.CreateAccount(ctx, acct, equity))
		users = append(users, schema.User{ID: id, DisplayName: "follower", Role: "trader", SubscriptionTier: "pro",
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
		follows = append(follows, schema.CopyFollow{ID: uuid.NewString(), FollowerID: id, LeaderID: leader, SizingMode: "proportional",
			Multiplier: decimal.NewFromInt(1), FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero,
			Status: "active", CreatedAt: now, UpdatedAt: now})
	}
	must(store.InTx(ctx, f.db, func(tx *gorm.DB) error {
		for _, batch := range []any{&users, &settings, &conns, &balances, &follows} {
			if err := tx.CreateInBatches(batch, 200).Error; err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// copyFill records a leader's fill (BUY AAPL 20 @ 180 on leaderEquity) and
// fans it out to the leader's active followers as copy signals; it returns
// how long recording and starting took.
func (f *fanoutEnv) copyFill(ctx context.Context, queue, leader string, leaderEquity decimal.Decimal, tag string) (time.Duration, error) {
	start := time.Now()
	qty, price := decimal.NewFromInt(20), decimal.NewFromInt(180)
	fillID := "trade:" + lt.Fill(benchTB{}, f.db, leader, time.Now().UTC(), "AAPL", "buy", qty.String(), price.String())
	share := qty.Mul(price).Div(leaderEquity) // of the leader's equity
	svc := &intake.Service{DB: f.db, Temporal: f.temporal, TaskQueue: queue, Committed: f.stack.Trading.Committed}
	after := ""
	for {
		var page []struct {
			FollowerID string
			Equity     decimal.Decimal
		}
		if err := f.db.WithContext(ctx).Raw(`SELECT cf.follower_id, COALESCE(SUM(pb.equity), 0) AS equity FROM copy_follows cf
			LEFT JOIN portfolio_balances pb ON pb.user_id = cf.follower_id
			WHERE cf.leader_id = ? AND cf.status = ? AND cf.follower_id > ? GROUP BY cf.follower_id ORDER BY cf.follower_id LIMIT 200`,
			leader, "active", after).Scan(&page).Error; err != nil {
			return 0, err
		}
		if len(page) == 0 {
			return time.Since(start), nil
		}
		after = page[len(page)-1].FollowerID
		reqs := make([]intake.Request, 0, len(page))
		for _, p := range page {
			n := share.Mul(p.Equity).Div(price).Floor()
			if !n.IsPositive() {
				continue // below one share: the real producer records the skip with its reason
			}
			reqs = append(reqs, intake.Request{UserID: p.FollowerID, Signal: signal.Signal{Source: signal.SourceCopy,
				ExternalID: "copy:" + fillID + ":" + p.FollowerID, Symbol: "AAPL", AssetClass: signal.AssetStock,
				Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: n, QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket,
				Text: "Copied BenchLeader: AAPL +20 shares (" + tag + ")"}})
		}
		results, err := svc.Record(ctx, reqs)
		if err != nil {
			return 0, err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		wfIDs := make([]string, len(results))
		for i, r := range results {
			wfIDs[i] = r.WorkflowID
			g.Go(func() error { return svc.Start(gctx, reqs[i], r) })
		}
		if err := g.Wait(); err != nil {
			return 0, err
		}
		if err := starts.DoneAll(ctx, f.db, wfIDs); err != nil {
			return 0, err
		}
	}
}
