package performance

import (
	"context"
	"github.com/shopspring/decimal"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func newUser(t *testing.T, db *gorm.DB) string {
	t.Helper()
	id := uuid.NewString()
	require.NoError(t, db.Create(&schema.User{ID: id, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
	return id
}

func record(t *testing.T, db *gorm.DB, f FillEvent) {
	t.Helper()
	require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error { return RecordFill(tx, f) }))
}

// Concurrent fills of one trader (different trades, same symbol) are
// serialised: every round trip is counted and the lots end flat.
func TestRecordFillConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		user := newUser(t, db)
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, side := range []string{"buy", "sell"} {
					notional := d("100")
					if side == "sell" {
						notional = d("101")
					}
					errs <- store.InTx(context.Background(), db, func(tx *gorm.DB) error {
						return RecordFill(tx, FillEvent{UserID: user, ConnectionID: "c", Symbol: "AAPL", Source: "tradingview",
							TradeID: uuid.NewString(), Side: side, Quantity: d("1"), Notional: notional, At: time.Now()})
					})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		s, err := Read(context.Background(), db, user)
		require.NoError(t, err)
		require.Zero(t, s.Overall.OpenLots)
		// n buys of 100 and n sells of 101 in some interleaving: every
		// sell closes a long or opens a short that a later buy closes, so
		// the total is +1 per round trip whatever the order.
		require.True(t, s.Overall.RealizedPnL.Equal(d("8")), "realized %s", s.Overall.RealizedPnL)
	})
}

// Invalid fills are refused; a fill on another connection keeps its own lots.
func TestRecordFillValidationAndScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		user := newUser(t, db)
		now := time.Now()
		for _, f := range []FillEvent{
			{UserID: user, Symbol: "AAPL", Side: "hold", Quantity: d("1"), Notional: d("1")},
			{UserID: user, Symbol: "AAPL", Side: "buy", Quantity: d("0"), Notional: d("1")},
			{UserID: user, Symbol: "", Side: "buy", Quantity: d("1"), Notional: d("1")},
			{UserID: "", Symbol: "AAPL", Side: "buy", Quantity: d("1"), Notional: d("1")},
		} {
			require.ErrorIs(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error { return RecordFill(tx, f) }), ErrInvalidFill)
		}
		record(t, db, FillEvent{UserID: user, ConnectionID: "paper", Symbol: "AAPL", Source: "discord", Side: "buy", Quantity: d("1"), Notional: d("10"), At: now})
		// A sell on another connection does not close the paper lot.
		record(t, db, FillEvent{UserID: user, ConnectionID: "alpaca", Symbol: "AAPL", Source: "tradingview", Side: "sell", Quantity: d("1"), Notional: d("12"), At: now})
		s, err := Read(context.Background(), db, user)
		require.NoError(t, err)
		require.Equal(t, 2, s.Overall.OpenLots)
		require.Zero(t, s.Overall.ClosedTrades)
		require.Equal(t, []string{"AAPL"}, s.Unpriced)
		record(t, db, FillEvent{UserID: user, ConnectionID: "paper", Symbol: "AAPL", Source: "tradingview", Side: "sell", Quantity: d("1"), Notional: d("15"), At: now})
		s, err = Read(context.Background(), db, user)
		require.NoError(t, err)
		require.True(t, s.Overall.RealizedPnL.Equal(d("5")))
		// Credited to the source that opened the lot.
		require.Len(t, s.BySource, 2)
		require.Equal(t, "discord", s.BySource[0].Key)
		require.True(t, s.BySource[0].RealizedPnL.Equal(d("5")))
		require.Equal(t, int64(0), s.BySource[1].ClosedTrades)
	})
}

// An exit that fills in pieces is one closed trade: three increments of the
// same exit trade count once, its win or loss decided by the whole; the
// largest win follows the revised trade (and shrinks back when it does).
func TestPartialExitIsOneClosedTrade(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		user := newUser(t, db)
		now := time.Now()
		fill := func(trade, side, qty, notional string) {
			record(t, db, FillEvent{UserID: user, ConnectionID: "c", Symbol: "AAPL", Source: "tradingview", TradeID: trade,
				Side: side, Quantity: d(qty), Notional: d(notional), At: now})
		}
		read := func() Figures {
			s, err := Read(context.Background(), db, user)
			require.NoError(t, err)
			return s.Overall
		}
		fill("entry", "buy", "9", "900") // 9 @ 100
		fill("exit", "sell", "3", "330") // +30
		fill("exit", "sell", "3", "270") // -30: the exit at 0 so far
		require.Equal(t, int64(1), read().ClosedTrades)
		require.Equal(t, int64(0), read().Wins+read().Losses, "a breakeven exit so far")
		fill("exit", "sell", "3", "360") // +60: the exit +60 on 900
		o := read()
		require.Equal(t, int64(1), o.TotalTrades)
		require.Equal(t, int64(1), o.Wins)
		require.True(t, o.WinRate.Equal(d("1")))
		require.True(t, o.RealizedPnL.Equal(d("60")))
		require.True(t, o.LargestWin.Equal(d("60")), "largest win %s", o.LargestWin)
		require.True(t, o.AverageReturn.Equal(d("0.06666667")), "average return %s", o.AverageReturn)
		// The drawdown is on the realized curve, increment by increment.
		require.True(t, o.MaxDrawdown.Equal(d("30")), "drawdown %s", o.MaxDrawdown)

		// A second round trip whose exit first wins 50, then gives back 70:
		// the largest win (then 60... first 50 < 60) and the trade a loss.
		fill("entry2", "buy", "2", "200")
		fill("exit2", "sell", "1", "200") // +100: the largest win now 100
		require.True(t, read().LargestWin.Equal(d("100")))
		fill("exit2", "sell", "1", "30") // -70: exit2 is +30 in all
		o = read()
		require.Equal(t, int64(2), o.ClosedTrades)
		require.Equal(t, int64(2), o.Wins)
		require.True(t, o.LargestWin.Equal(d("60")), "largest win %s, want 60 once exit2 shrank to 30", o.LargestWin)
		fill("entry3", "buy", "1", "100")
		fill("exit3", "sell", "1", "90")
		o = read()
		require.Equal(t, int64(3), o.ClosedTrades)
		require.Equal(t, int64(1), o.Losses)
		require.True(t, o.LargestLoss.Equal(d("-10")))
		require.True(t, o.WinRate.Equal(d("0.6667")))
		s, err := Read(context.Background(), db, user)
		require.NoError(t, err)
		require.Equal(t, int64(3), s.BySymbol[0].ClosedTrades)
		require.Equal(t, int64(3), s.BySource[0].ClosedTrades)
	})
}

// A broker-executed order is counted by its order id from cumulative
// figures: seen twice, or partly then in full, it counts what is new only.
func TestRecordOrderFillOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		user := newUser(t, db)
		ev := FillEvent{UserID: user, ConnectionID: "c", Symbol: "AAPL", Source: "tradingview", TradeID: "t1", Side: "buy", At: time.Now()}
		record(t, db, FillEvent{UserID: user, ConnectionID: "c", Symbol: "AAPL", Source: "tradingview", TradeID: "t1", Side: "buy",
			Quantity: d("10"), Notional: d("1000"), At: time.Now()})
		ev.Side = "sell"
		order := func(filled, avg string) {
			require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
				return RecordOrderFill(tx, ev, "stop-1", d(filled), d(avg))
			}))
		}
		order("4", "95")  // -20
		order("4", "95")  // seen again: nothing
		order("10", "94") // 6 more at (940 − 380) = 560: −40
		order("10", "94")
		s, err := Read(context.Background(), db, user)
		require.NoError(t, err)
		require.Equal(t, int64(1), s.Overall.ClosedTrades)
		require.True(t, s.Overall.RealizedPnL.Equal(d("-60")), "realized %s", s.Overall.RealizedPnL)
		require.Zero(t, s.Overall.OpenLots)
	})
}

// The one-time backfill replays trades filled before performance recorded
// them, in fill order, with the broker-executed orders recorded since; a
// second run does nothing.
func TestBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		user := newUser(t, db)
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		mk := func(side, qty, price string, at time.Time) string {
			fa, sid, id := at, uuid.NewString(), uuid.NewString()
			require.NoError(t, db.Create(&schema.Signal{ID: sid, Source: "tradingview", ExternalID: sid, UserID: user, Symbol: "AAPL", Payload: "{}", ReceivedAt: at}).Error)
			require.NoError(t, db.Create(&schema.Trade{ID: id, SignalID: sid, UserID: user, Source: "tradingview", Symbol: "AAPL",
				AssetClass: "stock", Side: side, OrderType: "market", BrokerConnectionID: "c", RequestedQuantity: d(qty), Quantity: d(qty),
				FilledQuantity: d(qty), FillPrice: decimal.NewNullDecimal(d(price)), ReservedNotional: d("0"), Status: "filled",
				FilledAt: &fa, CreatedAt: at, UpdatedAt: at}).Error)
			return id
		}
		// Recorded in this order but filled: buy 2 @ 100, sell 1 @ 110,
		// sell 1 @ 90 (a win, then a loss; FIFO needs the buy first).
		last := mk("sell", "1", "90", t0.Add(3*time.Minute))
		mk("buy", "2", "100", t0)
		mk("sell", "1", "110", t0.Add(time.Minute))
		// A stop executed since, recorded by order id: bought 1 @ 50, the
		// stop sold it @ 45.
		mk("buy", "1", "50", t0.Add(4*time.Minute))
		require.NoError(t, db.Create(&schema.PerformanceOrder{UserID: user, OrderKey: OrderKey("c", "stop-9"), FilledQuantity: d("1"), Notional: d("45"),
			ConnectionID: "c", Symbol: "AAPL", Side: "sell", Source: "tradingview", UpdatedAt: t0.Add(5 * time.Minute)}).Error)
		// Aggregates from before (counted wrong) are replaced.
		require.NoError(t, db.Create(&schema.PerformanceStat{UserID: user, Scope: ScopeAll, ScopeKey: "", ClosedTrades: 7, GrossProfit: d("0"), GrossLoss: d("0"),
			Realized: d("999"), LargestWin: d("0"), LargestLoss: d("0"), Peak: d("0"), MaxDrawdown: d("0"), SumReturn: d("0"), UpdatedAt: t0}).Error)

		for i, want := range []bool{true, false} {
			ran, err := Backfill(ctx, db)
			require.NoError(t, err)
			require.Equal(t, want, ran, "run %d", i)
			s, err := Read(ctx, db, user)
			require.NoError(t, err)
			o := s.Overall
			require.Equal(t, int64(3), o.ClosedTrades)
			require.Equal(t, int64(1), o.Wins)
			require.Equal(t, int64(2), o.Losses)
			require.True(t, o.RealizedPnL.Equal(d("-5")), "realized %s", o.RealizedPnL)
			require.Zero(t, o.OpenLots)
			// The last sell closed the buy's second share: its own closed
			// trade (replayed out of fill order, it would have opened a
			// short that the buy closed).
			var c schema.PerformanceClose
			require.NoError(t, db.Where("user_id = ? AND scope = ? AND close_key = ?", user, ScopeAll, last).Take(&c).Error)
			require.True(t, c.PnL.Equal(d("-10")), "last sell's P&L %s", c.PnL)
		}
	})
}
