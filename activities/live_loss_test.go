package activities

import (
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
)

// PrepareOrder's live check of the daily loss rules: the account guard
// blocks a day only when it next looks (it polls), so between a price move
// and that look the check before each order reads the balance itself and
// refuses at the warning and limit levels (DAILY_LOSS_LIMIT) and at the
// circuit breaker (CIRCUIT_BREAKER). The trader holds 500 AAPL bought at
// $100 of a $100,000 day start; default rules: limit 5% ($5,000), warning
// from 80% of it ($4,000), circuit breaker 8% ($8,000).
func TestPrepareOrderChecksTheDaysLossLive(t *testing.T) {
	tests := []struct {
		name  string
		price int64  // AAPL after the move
		code  string // the refusal; "" when the order passes
	}{
		{name: "small loss passes", price: 97},
		{name: "approaching the limit", price: 92, code: risk.CodeDailyLossLimit},
		{name: "limit reached", price: 90, code: risk.CodeDailyLossLimit},
		{name: "circuit breaker", price: 84, code: risk.CodeCircuitBreaker},
	}
	guards := []struct {
		name string
		seed func(f *haltFixture, connectionID string)
	}{
		{"guard has not looked today", func(*haltFixture, string) {}},
		{"guard saw the day start and has not looked since", func(f *haltFixture, connectionID string) {
			now := time.Now().UTC()
			require.NoError(f.t, f.db.Create(&schema.RiskGuard{ConnectionID: connectionID, UserID: f.user, Day: risk.TradingDay(now),
				DayStartEquity: decimal.NewFromInt(100_000), Level: string(risk.LossOK), Equity: decimal.NewFromInt(100_000),
				Cash: decimal.NewFromInt(50_000), BuyingPower: decimal.NewFromInt(50_000), ObservedAt: now, UpdatedAt: now}).Error)
		}},
	}
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		for _, g := range guards {
			for _, tc := range tests {
				t.Run(g.name+"/"+tc.name, func(t *testing.T) {
					f := newHaltFixture(t, db, 100_000)
					f.maxPosition(100)
					held := f.buyFilled(500)
					account := f.accountOf(held)
					g.seed(f, f.row(held).BrokerConnectionID)
					f.feed.Set("AAPL", decimal.NewFromInt(tc.price))
					calls := f.engine.PlaceCalls(account)

					id := f.trade("MSFT", signal.QtyFixed, 10, time.Now().UTC())
					res := f.prepare(id, false)
					if tc.code == "" {
						require.False(t, res.Rejected, "%+v", res)
						require.Equal(t, string(trade.StatusPending), f.row(id).Status)
						return
					}
					require.True(t, res.Rejected, "the day's loss at $%d must refuse the order before the guard looks: %+v", tc.price, res)
					require.Equal(t, tc.code, res.Code, res.Message)
					row := f.row(id)
					require.Equal(t, string(trade.StatusRejected), row.Status)
					require.True(t, row.ReservedNotional.IsZero())
					require.Equal(t, calls, f.engine.PlaceCalls(account), "nothing sent to the broker")
					var blocked int64
					require.NoError(t, db.Model(&schema.RiskGuard{}).Where("user_id = ? AND blocked_until IS NOT NULL", f.user).Count(&blocked).Error)
					require.Zero(t, blocked, "the refusal is the live check's, not the guard's")
				})
			}
		}
	})
}
