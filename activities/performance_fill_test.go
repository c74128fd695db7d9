package activities

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Fills recorded through the fill path (recordPartial/recordFinal, in
// trade.Record's transaction) update the trader's performance
// incrementally: partial fills priced from the cumulative figures, FIFO
// realized P&L, a retried final step counted once, unrealized P&L at the
// synced position price, and one trader's numbers never in another's.
func TestFillsFeedPerformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		f := cancelFixture{t: t, db: db, now: now}
		a := &Trading{DB: db, Now: func() time.Time { return now }}
		q := decimal.RequireFromString
		mk := func(user, conn, symbol, side, qty string) string {
			id := f.trade(user, buySig(symbol, ""), trade.StatusSubmitted, conn, now)
			require.NoError(t, db.Model(&schema.Trade{}).Where("id = ?", id).
				Updates(map[string]any{"side": side, "quantity": q(qty), "requested_quantity": q(qty)}).Error)
			return id
		}
		final := func(id, qty, filled, avg string) {
			o := broker.Order{ID: "o-" + id, Status: broker.StatusFilled, Quantity: q(qty), FilledQuantity: q(filled), AvgFillPrice: q(avg)}
			require.NoError(t, a.recordFinal(ctx, id, o, ""))
		}

		ua, ca := f.user("paper")
		ub, cb := f.user("paper")

		// A buys 10 AAPL: 4 @ 100, then the rest, the average 101.2
		// (6 @ 102: notional 1012 − 400 = 612).
		buy := mk(ua, ca[0], "AAPL", "buy", "10")
		require.NoError(t, a.recordPartial(ctx, buy, broker.Order{Status: broker.StatusPartiallyFilled, Quantity: q("10"), FilledQuantity: q("4"), AvgFillPrice: q("100")}))
		final(buy, "10", "10", "101.2")
		// Sells 5 @ 110, the step retried: FIFO closes the 4 @ 100 and 1 of
		// the 6 @ 102 (+48 = 550 − 502); then 5 @ 95 (−35 = 475 − 510).
		s1 := mk(ua, ca[0], "AAPL", "sell", "5")
		final(s1, "5", "5", "110")
		final(s1, "5", "5", "110")
		s2 := mk(ua, ca[0], "AAPL", "sell", "5")
		final(s2, "5", "5", "95")
		// Opens 2 more @ 100; the synced position prices AAPL at 120.
		final(mk(ua, ca[0], "AAPL", "buy", "2"), "2", "2", "100")
		require.NoError(t, db.Create(&schema.Position{ID: uuid.NewString(), UserID: ua, BrokerConnectionID: ca[0], Symbol: "AAPL", Quantity: q("2"),
			AverageEntryPrice: q("100"), CurrentPrice: q("120"), UnrealizedPnL: q("40"), OpenedAt: now, UpdatedAt: now}).Error)
		// B shorts 1 MSFT @ 50 and covers @ 60: −10.
		final(mk(ub, cb[0], "MSFT", "sell", "1"), "1", "1", "50")
		final(mk(ub, cb[0], "MSFT", "buy", "1"), "1", "1", "60")

		sa, err := performance.Read(ctx, db, ua)
		require.NoError(t, err)
		o := sa.Overall
		require.Equal(t, int64(2), o.ClosedTrades)
		require.Equal(t, int64(1), o.Wins)
		require.Equal(t, int64(1), o.Losses)
		for _, c := range []struct {
			what      string
			got, want decimal.Decimal
		}{
			{"realized", o.RealizedPnL, q("13")}, {"unrealized", o.UnrealizedPnL, q("40")}, {"win rate", o.WinRate, q("0.5")},
			{"largest win", o.LargestWin, q("48")}, {"largest loss", o.LargestLoss, q("-35")}, {"max drawdown", o.MaxDrawdown, q("35")},
			{"average win", o.AverageWin, q("48")}, {"average loss", o.AverageLoss, q("-35")}, {"average P&L", o.AveragePnL, q("6.5")}, {"average return", o.AverageReturn, q("0.01349504")},
		} {
			require.True(t, c.got.Equal(c.want), "%s = %s, want %s", c.what, c.got, c.want)
		}
		require.Equal(t, 1, o.OpenLots)
		require.Len(t, sa.BySymbol, 1)
		require.Equal(t, "AAPL", sa.BySymbol[0].Key)
		require.Len(t, sa.BySource, 1)
		require.Equal(t, "tradingview", sa.BySource[0].Key)
		require.True(t, sa.BySource[0].RealizedPnL.Equal(q("13")))
		require.Empty(t, sa.Unpriced)

		sb, err := performance.Read(ctx, db, ub)
		require.NoError(t, err)
		require.True(t, sb.Overall.RealizedPnL.Equal(q("-10")), "B realized %s", sb.Overall.RealizedPnL)
		require.Equal(t, int64(1), sb.Overall.ClosedTrades)
		require.Len(t, sb.BySymbol, 1)
		require.Equal(t, "MSFT", sb.BySymbol[0].Key)
		require.Zero(t, sb.Overall.OpenLots)

		// Nothing was read from trades: the aggregate rows hold it all.
		var n int64
		require.NoError(t, db.Model(&schema.PerformanceStat{}).Where("user_id = ?", ua).Count(&n).Error)
		require.Equal(t, int64(3), n) // all, source, symbol
	})
}

// A stop-loss executed at the broker (no trade row fills for it) closes the
// trader's lots when the keeper records the stop triggered, once.
func TestStopExecutionFeedsPerformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		f := cancelFixture{t: t, db: db, now: now}
		a := &Trading{DB: db, Now: func() time.Time { return now }}
		q := decimal.RequireFromString
		user, conns := f.user("paper")
		buy := f.trade(user, buySig("AAPL", ""), trade.StatusSubmitted, conns[0], now)
		require.NoError(t, a.recordFinal(ctx, buy, broker.Order{Status: broker.StatusFilled, Quantity: q("1"), FilledQuantity: q("1"), AvgFillPrice: q("100")}, ""))

		row := schema.StopLoss{ID: uuid.NewString(), UserID: user, ConnectionID: conns[0], Symbol: "AAPL", AssetClass: "stock", Side: "sell",
			Quantity: q("1"), Status: stopActive, TradeID: buy, LeaseOwner: "test", CreatedAt: now, UpdatedAt: now}
		require.NoError(t, db.Create(&row).Error)
		k := &stopKeeper{a: a, owner: "test", row: row}
		k.row.Status = stopTriggered
		filled := broker.Order{ID: "stop-1", Side: "sell", Status: broker.StatusFilled, Quantity: q("1"), FilledQuantity: q("1"), AvgFillPrice: q("92.5")}
		k.executed = []broker.Order{filled}
		require.NoError(t, k.save(ctx, nil))
		require.NoError(t, k.save(ctx, nil)) // saved again: nothing more
		// Another path sees the same execution (the guard, a pair's
		// follower, a retried step whose row was not yet triggered) and
		// saves the row with another status: still counted once.
		k.row.Status = stopClosed
		k.executed = []broker.Order{filled}
		require.NoError(t, k.save(ctx, nil))

		s, err := performance.Read(ctx, db, user)
		require.NoError(t, err)
		require.True(t, s.Overall.RealizedPnL.Equal(q("-7.5")), "realized %s", s.Overall.RealizedPnL)
		require.Equal(t, int64(1), s.Overall.Losses)
		require.Zero(t, s.Overall.OpenLots)
		require.Equal(t, "tradingview", s.BySource[0].Key)
	})
}

// The stop executes between the positions read and the stop's look at the
// broker while a second buy's PlaceStopLoss protects what is left: the
// keeper places a new stop at once, saving the row "placing", not
// "triggered". The executed stop's 10-share sale is a close all the same
// (before, it was dropped: performance counted it only on a save that
// recorded the row triggered, so the lots stayed open and the loss never
// counted).
func TestStopExecutedThenReplacedFeedsPerformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f, wrap := staleFixture(t, db)
		first := f.buyFilled(10)
		_, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: first})
		require.NoError(t, err)
		second := f.buyFilled(5)

		f.stopExecutesAfterNextRead(wrap)
		_, err = f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: second})
		require.NoError(t, err)
		var stop schema.StopLoss
		require.NoError(t, db.Where("user_id = ? AND symbol = ?", f.user, "AAPL").Take(&stop).Error)
		require.Equal(t, stopActive, stop.Status, "a new stop protects the 5 left")

		s, err := performance.Read(f.ctx, db, f.user)
		require.NoError(t, err)
		require.Equal(t, int64(1), s.Overall.ClosedTrades, "the executed stop closed the first 10")
		require.Equal(t, int64(1), s.Overall.Losses)
		require.Equal(t, 1, s.Overall.OpenLots, "the second buy's 5 stay open")

		// The new stop (the old level, 98) executes too at 90; the guard
		// records it, and a second look counts nothing more: two closes,
		// flat.
		require.NoError(t, f.engine.MatchAll(f.ctx))
		require.NoError(t, db.Model(&schema.Trade{}).Where("id IN ?", []string{first, second}).Update("filled_at", time.Now().UTC().Add(-time.Hour)).Error)
		for range 2 {
			_, err = (&Guard{Trading: f.a}).ReconcileStops(f.ctx, workflows.GuardRef{ConnectionID: stop.ConnectionID, UserID: f.user})
			require.NoError(t, err)
			s, err = performance.Read(f.ctx, db, f.user)
			require.NoError(t, err)
			require.Equal(t, int64(2), s.Overall.ClosedTrades)
			require.Zero(t, s.Overall.OpenLots)
		}
	})
}
