package activities

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// maxPosition sets the trader's max position (percent of equity); the
// other rules keep their defaults.
func (f *haltFixture) maxPosition(pct int64) {
	f.t.Helper()
	s := risk.DefaultSettings()
	require.NoError(f.t, f.db.Create(&schema.RiskSettings{UserID: f.user, MaxPositionPct: decimal.NewFromInt(pct),
		DailyLossLimitPct: s.DailyLossLimitPct, DailyLossLimitAmount: decimal.Zero, CircuitBreakerPct: s.CircuitBreakerPct,
		StopLossPct: s.StopLossPct, UpdatedAt: f.now}).Error)
}

// releaseByFailure lets go of a pending trade's reservation the way the
// workflow does when its submission fails.
func (f *haltFixture) releaseByFailure(tradeID string) {
	f.t.Helper()
	require.NoError(f.t, f.a.RecordFailure(f.ctx, workflows.FailureInput{TradeID: tradeID, Kind: "UNAVAILABLE", Message: "not sent"}))
	require.True(f.t, f.row(tradeID).ReservedNotional.IsZero())
}

// Invariant 2: a trade that passed its risk check and has not reached the
// broker yet (pending, its reservation held; the broker's balance and
// position know nothing of it) counts against the trader's next orders:
// its notional against buying power, its quantity against the max
// position. Once it lets go of its reservation it no longer does.
func TestPendingTradesReservationsCount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		t.Run("buying power", func(t *testing.T) {
			f := newHaltFixture(t, db, 100_000)
			f.maxPosition(100)
			a := f.trade("MSFT", signal.QtyFixed, 600, f.now.Add(-time.Hour))
			require.False(t, f.prepare(a, false).Rejected)
			require.Equal(t, string(trade.StatusPending), f.row(a).Status)
			require.Equal(t, "60000", f.row(a).ReservedNotional.String())

			// $100,000 at the broker, $60,000 of it promised to A.
			b := f.trade("AAPL", signal.QtyFixed, 600, f.now.Add(-30*time.Minute))
			res := f.prepare(b, false)
			require.True(t, res.Rejected, "A's pending reservation counts against buying power: %+v", res)
			require.Equal(t, risk.CodeInsufficientBuyingPower, res.Code)
			require.True(t, f.row(b).ReservedNotional.IsZero())

			f.releaseByFailure(a)
			c := f.trade("AAPL", signal.QtyFixed, 600, f.now.Add(-10*time.Minute))
			res = f.prepare(c, false)
			require.False(t, res.Rejected, "%+v", res)
			require.Equal(t, "600", res.Quantity.String())
		})
		t.Run("max position", func(t *testing.T) {
			f := newHaltFixture(t, db, 100_000) // max position 10%: $10,000 = 100 AAPL
			a := f.trade("AAPL", signal.QtyFixed, 60, f.now.Add(-time.Hour))
			require.Equal(t, "60", f.prepare(a, false).Quantity.String())
			require.Equal(t, string(trade.StatusPending), f.row(a).Status)

			b := f.trade("AAPL", signal.QtyFixed, 60, f.now.Add(-30*time.Minute))
			res := f.prepare(b, false)
			require.False(t, res.Rejected, "%+v", res)
			require.Equal(t, "40", res.Quantity.String(), "A's pending 60 count toward the position")
			f.releaseByFailure(b)

			f.releaseByFailure(a)
			c := f.trade("AAPL", signal.QtyFixed, 60, f.now.Add(-10*time.Minute))
			require.Equal(t, "60", f.prepare(c, false).Quantity.String())
		})
	})
}

// Invariant 2 under concurrency: eight signals of one trader, $30,000
// each in eight symbols, checked at once against $100,000 of buying power
// while none has reached the broker: three fit, the others are refused,
// and what is reserved never exceeds the buying power.
func TestConcurrentPendingTradesStayWithinBuyingPower(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		f.maxPosition(100)
		const n = 8
		ids := make([]string, n)
		for i := range ids {
			sym := fmt.Sprintf("SYM%d", i)
			f.feed.Set(sym, decimal.NewFromInt(100))
			ids[i] = f.trade(sym, signal.QtyFixed, 300, f.now.Add(time.Duration(i-n)*time.Minute))
		}
		results := make([]workflows.PrepareResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = f.a.PrepareOrder(f.ctx, workflows.PrepareInput{TradeID: id})
			}()
		}
		wg.Wait()
		passed := 0
		reserved := decimal.Zero
		for i := range ids {
			require.NoError(t, errs[i])
			if !results[i].Rejected {
				passed++
				require.Equal(t, string(trade.StatusPending), f.row(ids[i]).Status)
			} else {
				require.Equal(t, risk.CodeInsufficientBuyingPower, results[i].Code, "%+v", results[i])
			}
			reserved = reserved.Add(f.row(ids[i]).ReservedNotional)
		}
		require.Equal(t, 3, passed)
		require.True(t, reserved.LessThanOrEqual(decimal.NewFromInt(100_000)), "reserved %s of $100,000", reserved)
	})
}
