package activities

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// The plan is enforced in PrepareOrder, which every entry point goes
// through: a trade from each source (webhook, Discord message or slash
// command, dashboard, copy) routed to a live connection the plan does not
// allow is refused with the plan's sentence, before any broker call.
func TestPlanRefusesLiveTradesFromEverySource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newPaperFixture(t, db, 100_000, nil)
		now := f.now
		require.NoError(t, db.Create(&schema.BrokerConnection{ID: uuid.NewString(), UserID: f.user, BrokerType: "alpaca", Paper: false,
			IsActive: true, HealthStatus: "healthy", CreatedAt: now.Add(time.Second), UpdatedAt: now}).Error)
		require.NoError(t, db.Model(&schema.User{}).Where("id = ?", f.user).Update("subscription_tier", "free").Error)

		for _, src := range []signal.Source{signal.SourceTradingView, signal.SourceDiscord, signal.SourceDashboard, signal.SourceCopy} {
			t.Run(string(src), func(t *testing.T) {
				sig := signal.Signal{Source: src, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionBuy, Side: signal.SideBuy,
					Quantity: decimal.NewFromInt(1), QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket, Broker: "alpaca"}
				payload, err := json.Marshal(sig)
				require.NoError(t, err)
				sid, id := uuid.NewString(), uuid.NewString()
				require.NoError(t, db.Create(&schema.Signal{ID: sid, Source: string(src), ExternalID: sid, UserID: f.user, Symbol: "AAPL",
					Payload: string(payload), ReceivedAt: now}).Error)
				require.NoError(t, db.Create(&schema.Trade{ID: id, SignalID: sid, UserID: f.user, Source: string(src), Symbol: "AAPL",
					AssetClass: string(signal.AssetStock), Side: string(signal.SideBuy), OrderType: string(signal.OrderMarket),
					RequestedQuantity: sig.Quantity, Quantity: sig.Quantity, FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero,
					Status: string(trade.StatusPending), WorkflowID: "trade/" + sid + "/" + f.user, CreatedAt: now, UpdatedAt: now}).Error)
				res := f.prepare(id, false)
				require.True(t, res.Rejected)
				require.Equal(t, codePlanLimit, res.Code)
				require.Equal(t, "Your Free plan includes paper trading only. Upgrade to Basic ($49/month) in Settings → Billing to trade with Alpaca.", res.Message)
				require.Equal(t, string(trade.StatusRejected), f.tradeRow(id).Status)
			})
		}
	})
}

func (f *haltFixture) tradeRow(id string) schema.Trade {
	f.t.Helper()
	var tr schema.Trade
	require.NoError(f.t, f.db.First(&tr, "id = ?", id).Error)
	return tr
}
