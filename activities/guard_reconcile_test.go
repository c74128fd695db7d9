package activities

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
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

// staleFixture is a paper trader whose broker can be made to move on
// right after a positions read (wrap.hook).
func staleFixture(t *testing.T, db *gorm.DB) (*haltFixture, *staleOnce) {
	wrap := &staleOnce{}
	f := newPaperFixture(t, db, 100_000, func(b broker.Broker) broker.Broker { wrap.Broker = b; return wrap })
	return f, wrap
}

// buyFilled buys qty AAPL at market (filled at once, recorded by
// SubmitOrder) and returns the trade id.
func (f *haltFixture) buyFilled(qty int64) string {
	f.t.Helper()
	id := f.trade("AAPL", signal.QtyFixed, qty, time.Now().UTC())
	f.prepare(id, false)
	_, err := f.submit.ExecuteActivity(f.a.SubmitOrder, workflows.SubmitInput{TradeID: id, ClientOrderID: "entry-" + id, RecordFill: true})
	require.NoError(f.t, err)
	return id
}

// stopExecutesAfterNextRead makes the price fall through a 98 stop and the
// broker execute it right after the next positions read.
func (f *haltFixture) stopExecutesAfterNextRead(wrap *staleOnce) {
	wrap.hook = func() {
		f.feed.Set("AAPL", decimal.NewFromInt(90))
		require.NoError(f.t, f.engine.MatchAll(f.ctx))
	}
}

// The stop executes between the guard's read of the positions and its
// look at the stop order: the guard records the stop as triggered and
// places nothing (before, it placed the stop again for shares no longer
// held — a sell stop that sold the position short).
func TestReconcileStopsStopExecutedBetweenReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f, wrap := staleFixture(t, db)
		id := f.buyFilled(10)
		_, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: id})
		require.NoError(t, err)
		connID := f.row(id).BrokerConnectionID
		var stop schema.StopLoss
		require.NoError(t, db.Where("connection_id = ? AND symbol = ?", connID, "AAPL").Take(&stop).Error)
		require.Equal(t, "active", stop.Status)
		// The trade handed its stop over long ago.
		require.NoError(t, db.Model(&schema.Trade{}).Where("id = ?", id).Update("filled_at", time.Now().UTC().Add(-time.Hour)).Error)

		f.stopExecutesAfterNextRead(wrap)
		_, err = (&Guard{Trading: f.a}).ReconcileStops(f.ctx, workflows.GuardRef{ConnectionID: connID, UserID: f.user})
		require.NoError(t, err)

		st, err := f.engine.Account(f.ctx, f.accountOf(id))
		require.NoError(t, err)
		require.True(t, st.Positions["AAPL"].Quantity.IsZero(), "position %s: the stop sold it, nothing else may", st.Positions["AAPL"].Quantity)
		for _, o := range st.Orders {
			require.True(t, o.Status.Terminal(), "stop placed again for shares no longer held: %+v", o.Order)
		}
		require.NoError(t, db.Where("connection_id = ? AND symbol = ?", connID, "AAPL").Take(&stop).Error)
		require.Equal(t, "triggered", stop.Status)
	})
}

// The same race on the trade path: a second buy fills and PlaceStopLoss
// reads the position (15) just before the first buy's stop executes. The
// stop it places covers what is left, so nothing is sold short.
func TestPlaceStopLossOldStopExecutedBetweenReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f, wrap := staleFixture(t, db)
		first := f.buyFilled(10)
		_, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: first})
		require.NoError(t, err)
		second := f.buyFilled(5)

		f.stopExecutesAfterNextRead(wrap)
		_, err = f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: second})
		require.NoError(t, err)
		require.NoError(t, f.engine.MatchAll(f.ctx))

		st, err := f.engine.Account(f.ctx, f.accountOf(first))
		require.NoError(t, err)
		require.False(t, st.Positions["AAPL"].Quantity.IsNegative(), "sold short: %s", st.Positions["AAPL"].Quantity)
		var stop schema.StopLoss
		require.NoError(t, db.Where("user_id = ? AND symbol = ?", f.user, "AAPL").Take(&stop).Error)
		require.True(t, stop.Quantity.LessThanOrEqual(decimal.NewFromInt(5)), "stop for %s shares after the first stop sold 10", stop.Quantity)
	})
}
