package activities

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// A leg's exit fill is recorded on the ladder once: the fill transaction
// run again (a retried activity) finds the leg filled and writes nothing;
// an exit of another leg, or of an earlier attempt, fills no leg.
func TestLadderLegFilledOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC()
		user := uuid.NewString()
		email := user + "@example.com"
		require.NoError(t, db.Create(&schema.User{ID: user, Email: &email, PasswordHash: "x", Role: "trader", CreatedAt: now}).Error)
		mk := func(side string) schema.Trade {
			sig := schema.Signal{ID: uuid.NewString(), Source: "discord", ExternalID: uuid.NewString(), Payload: "{}", ReceivedAt: now}
			require.NoError(t, db.Create(&sig).Error)
			tr := schema.Trade{ID: uuid.NewString(), SignalID: sig.ID, UserID: user, Broker: "paper", Source: "discord", Symbol: "AAPL",
				AssetClass: "stock", Side: side, OrderType: "market", RequestedQuantity: decimal.NewFromInt(3), Quantity: decimal.NewFromInt(3),
				Status: "filled", FilledQuantity: decimal.NewFromInt(3), ReservedNotional: decimal.Zero, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, db.Create(&tr).Error)
			return tr
		}
		orig := mk("buy")
		exit := mk("sell")
		require.NoError(t, db.Model(&schema.Signal{}).Where("id = ?", exit.SignalID).Update("external_id", legExternalID(orig.ID, 2, 0)).Error)
		leg := schema.TakeProfitLeg{ID: uuid.NewString(), TradeID: orig.ID, N: 2, Target: decimal.NewFromInt(190), Share: decimal.NewFromInt(50),
			Quantity: decimal.NewFromInt(3), Status: tpTriggered, ExitTradeID: exit.ID, FilledQuantity: decimal.Zero, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, db.Create(&leg).Error)
		other := schema.TakeProfitLeg{ID: uuid.NewString(), TradeID: orig.ID, N: 1, Target: decimal.NewFromInt(185), Share: decimal.NewFromInt(50),
			Quantity: decimal.NewFromInt(3), Status: tpTriggered, ExitTradeID: uuid.NewString(), FilledQuantity: decimal.Zero, CreatedAt: now, UpdatedAt: now}
		require.NoError(t, db.Create(&other).Error)

		fill := func() {
			require.NoError(t, store.InTx(ctx, db, func(tx *gorm.DB) error {
				return takeProfitFilled(tx, &exit, decimal.NewFromInt(3), decimal.NewFromInt(191))
			}))
		}
		fill()
		fill()
		var got schema.TakeProfitLeg
		require.NoError(t, db.Where("id = ?", leg.ID).Take(&got).Error)
		require.Equal(t, tpFilled, got.Status)
		require.Equal(t, "3", got.FilledQuantity.String())
		var second schema.TakeProfitLeg
		require.NoError(t, db.Where("id = ?", other.ID).Take(&second).Error)
		require.Equal(t, tpTriggered, second.Status, "another leg's exit is not this one")
		var n int64
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("resource_id = ? AND action = ?", orig.ID, audit.ActionTakeProfitFilled).Count(&n).Error)
		require.EqualValues(t, 1, n, "one TAKE_PROFIT_FILLED on the ladder's timeline")
		evs, err := realtime.EventsSince(ctx, db, user, 0, realtime.MaxEventsLimit)
		require.NoError(t, err)
		filled := 0
		for _, e := range evs {
			if e.Type == realtime.EventTakeProfitFilled {
				filled++
			}
		}
		require.Equal(t, 1, filled, "one trade.takeProfitFilled")
	})
}

func TestLegExternalID(t *testing.T) {
	require.Equal(t, "takeprofit:t1:tp2", legExternalID("t1", 2, 0))
	require.Equal(t, "takeprofit:t1:tp2:3", legExternalID("t1", 2, 2))
}
