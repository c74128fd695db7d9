package performance

import (
	"context"
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
