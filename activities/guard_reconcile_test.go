package activities

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// staleOnce answers GetPositions with the positions as they were, and
// then runs hook (once) before returning: the broker moved on between
// that read and the next.
type staleOnce struct {
	broker.Broker
	hook func()
}

func (s *staleOnce) GetPositions(ctx context.Context) ([]broker.Position, error) {
	ps, err := s.Broker.GetPositions(ctx)
	if s.hook != nil {
		h := s.hook
		s.hook = nil
		h()
	}
	return ps, err
}

// The stop executes between the guard's read of the positions and its
// look at the stop order: the guard records the stop as triggered and
// places nothing (before, it placed the stop again for shares no longer
// held — a sell stop that could open a short).
func TestReconcileStopsStopExecutedBetweenReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		feed := paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(100)})
		engine := paper.NewEngine(paper.NewMemoryStore(), feed)
		wrap := &staleOnce{}
		reg := broker.NewRegistry()
		reg.Register(paper.Name, func(cfg broker.Config) (broker.Broker, error) {
			b, err := paper.Factory(engine)(cfg)
			if err != nil {
				return nil, err
			}
			wrap.Broker = b
			return wrap, nil
		})
		a := &Trading{DB: db, Brokers: &brokerconn.Resolver{DB: db, Registry: reg, Vault: plainVault{}}}
		user, account, connID := uuid.NewString(), uuid.NewString(), uuid.NewString()
		require.NoError(t, db.Create(&schema.User{ID: user, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: now}).Error)
		creds, err := json.Marshal(broker.Credentials{paper.CredentialAccountID: account})
		require.NoError(t, err)
		require.NoError(t, db.Create(&schema.BrokerConnection{ID: connID, UserID: user, BrokerType: paper.Name, Paper: true,
			Credentials: creds, IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}).Error)
		require.NoError(t, engine.CreateAccount(ctx, account, decimal.NewFromInt(100_000)))

		// Buy 10 AAPL (filled at once) and place its stop (-2%: 98).
		f := &haltFixture{t: t, ctx: ctx, db: db, a: a, engine: engine, feed: feed, user: user, now: now}
		var suite testsuite.WorkflowTestSuite
		f.submit = suite.NewTestActivityEnvironment()
		f.submit.RegisterActivity(a.SubmitOrder)
		id := f.trade("AAPL", signal.QtyFixed, 10, now)
		f.prepare(id, false)
		_, err = f.submit.ExecuteActivity(a.SubmitOrder, workflows.SubmitInput{TradeID: id, ClientOrderID: "entry-" + id, RecordFill: true})
		require.NoError(t, err)
		_, err = a.PlaceStopLoss(ctx, workflows.TradeRef{TradeID: id})
		require.NoError(t, err)
		var stop schema.StopLoss
		require.NoError(t, db.Where("connection_id = ? AND symbol = ?", connID, "AAPL").Take(&stop).Error)
		require.Equal(t, "active", stop.Status)
		// The trade handed its stop over long ago.
		old := now.Add(-time.Hour)
		require.NoError(t, db.Model(&schema.Trade{}).Where("id = ?", id).Update("filled_at", old).Error)

		// The guard reads the positions (10 held), then the price falls
		// through the stop and the broker executes it.
		wrap.hook = func() {
			feed.Set("AAPL", decimal.NewFromInt(90))
			require.NoError(t, engine.MatchAll(ctx))
		}
		g := &Guard{Trading: a}
		_, err = g.ReconcileStops(ctx, workflows.GuardRef{ConnectionID: connID, UserID: user})
		require.NoError(t, err)

		st, err := engine.Account(ctx, account)
		require.NoError(t, err)
		require.True(t, st.Positions["AAPL"].Quantity.IsZero(), "the stop sold the position")
		working := 0
		for _, o := range st.Orders {
			if !o.Status.Terminal() {
				working++
			}
		}
		require.Zero(t, working, "no stop placed again for shares no longer held")
		require.NoError(t, db.Where("connection_id = ? AND symbol = ?", connID, "AAPL").Take(&stop).Error)
		require.Equal(t, "triggered", stop.Status)
	})
}

// The same race on the trade path: a second buy fills and PlaceStopLoss
// reads the position (15) just before the first buy's stop executes. The
// stop it places covers what is left, so nothing is sold short.
func TestPlaceStopLossOldStopExecutedBetweenReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		feed := paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(100)})
		engine := paper.NewEngine(paper.NewMemoryStore(), feed)
		wrap := &staleOnce{}
		reg := broker.NewRegistry()
		reg.Register(paper.Name, func(cfg broker.Config) (broker.Broker, error) {
			b, err := paper.Factory(engine)(cfg)
			if err != nil {
				return nil, err
			}
			wrap.Broker = b
			return wrap, nil
		})
		a := &Trading{DB: db, Brokers: &brokerconn.Resolver{DB: db, Registry: reg, Vault: plainVault{}}}
		user, account := uuid.NewString(), uuid.NewString()
		require.NoError(t, db.Create(&schema.User{ID: user, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: now}).Error)
		creds, err := json.Marshal(broker.Credentials{paper.CredentialAccountID: account})
		require.NoError(t, err)
		require.NoError(t, db.Create(&schema.BrokerConnection{ID: uuid.NewString(), UserID: user, BrokerType: paper.Name, Paper: true,
			Credentials: creds, IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}).Error)
		require.NoError(t, engine.CreateAccount(ctx, account, decimal.NewFromInt(100_000)))
		f := &haltFixture{t: t, ctx: ctx, db: db, a: a, engine: engine, feed: feed, user: user, now: now}
		var suite testsuite.WorkflowTestSuite
		f.submit = suite.NewTestActivityEnvironment()
		f.submit.RegisterActivity(a.SubmitOrder)
		buy := func(qty int64) string {
			id := f.trade("AAPL", signal.QtyFixed, qty, time.Now().UTC())
			f.prepare(id, false)
			_, err := f.submit.ExecuteActivity(a.SubmitOrder, workflows.SubmitInput{TradeID: id, ClientOrderID: "entry-" + id, RecordFill: true})
			require.NoError(t, err)
			return id
		}
		first := buy(10)
		_, err = a.PlaceStopLoss(ctx, workflows.TradeRef{TradeID: first})
		require.NoError(t, err)
		second := buy(5)

		// PlaceStopLoss reads 15 held; then the first stop (98) executes.
		wrap.hook = func() {
			feed.Set("AAPL", decimal.NewFromInt(90))
			require.NoError(t, engine.MatchAll(ctx))
		}
		_, err = a.PlaceStopLoss(ctx, workflows.TradeRef{TradeID: second})
		require.NoError(t, err)
		require.NoError(t, engine.MatchAll(ctx))

		st, err := engine.Account(ctx, account)
		require.NoError(t, err)
		require.False(t, st.Positions["AAPL"].Quantity.IsNegative(), "sold short: %s", st.Positions["AAPL"].Quantity)
		var stop schema.StopLoss
		require.NoError(t, db.Where("user_id = ? AND symbol = ?", user, "AAPL").Take(&stop).Error)
		require.True(t, stop.Quantity.LessThanOrEqual(decimal.NewFromInt(5)), "stop for %s shares after the first stop sold 10", stop.Quantity)
	})
}
