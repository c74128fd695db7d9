package performance

import (
	"context"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// BackfillName marks the one-time rebuild (performance_backfills). It was
// "rebuild-0036"; 0037 keys the source scope by individual source
// (SourceKey) instead of by kind, so databases rebuilt under the old name
// rebuild once more under this one.
const BackfillName = "rebuild-0037"

// Backfill rebuilds every trader's performance once (migrate runs it after
// the migrations; a second run finds its row and does nothing): fills
// recorded before migration 0031 were never counted, and the aggregates
// since then counted a partly filled exit once per piece. It replays, in
// fill order, every trade that filled (its filled quantity at its average
// price, as one increment: a closed trade is one exit anyway) and every
// broker-executed order performance recorded (performance_orders: stops,
// pair legs) into fresh lots and aggregates, in one transaction.
//
// What it cannot replay: stops executed at the broker before 0036
// recorded them in performance_orders (no trade row fills for them); the
// drawdown's curve is per trade instead of per increment for the replayed
// history.
func Backfill(ctx context.Context, db *gorm.DB) (ran bool, err error) {
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		ran = false
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.PerformanceBackfill{Name: BackfillName, DoneAt: time.Now().UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil // done before
		}
		ran = true
		return replayAll(tx)
	})
	return ran, err
}

func replayAll(tx *gorm.DB) error {
	all := tx.Session(&gorm.Session{AllowGlobalUpdate: true})
	for _, m := range []any{&schema.PerformanceLot{}, &schema.PerformanceStat{}, &schema.PerformanceClose{}} {
		if err := all.Delete(m).Error; err != nil {
			return err
		}
	}
	type event struct {
		at  time.Time
		key string
		f   FillEvent
	}
	var events []event
	var trades []schema.Trade
	if err := tx.Select("id", "user_id", "broker_connection_id", "symbol", "source", "side", "filled_quantity", "fill_price", "filled_at", "updated_at").
		Where("fill_price IS NOT NULL AND side IN ?", []string{"buy", "sell"}).Find(&trades).Error; err != nil {
		return err
	}
	for _, t := range trades {
		if !t.FilledQuantity.IsPositive() || !t.FillPrice.Valid {
			continue
		}
		at := t.UpdatedAt
		if t.FilledAt != nil {
			at = *t.FilledAt
		}
		events = append(events, event{at: at.UTC(), key: t.ID, f: FillEvent{UserID: t.UserID, ConnectionID: t.BrokerConnectionID, Symbol: t.Symbol,
			Source: t.Source, TradeID: t.ID, Side: t.Side, Quantity: t.FilledQuantity,
			Notional: t.FilledQuantity.Mul(t.FillPrice.Decimal).Round(Scale), At: at}})
	}
	var orders []schema.PerformanceOrder
	if err := tx.Find(&orders).Error; err != nil {
		return err
	}
	for _, o := range orders {
		events = append(events, event{at: o.UpdatedAt.UTC(), key: o.OrderKey, f: FillEvent{UserID: o.UserID, ConnectionID: o.ConnectionID,
			Symbol: o.Symbol, Source: o.Source, TradeID: o.TradeID, CloseKey: o.OrderKey, Side: o.Side, Quantity: o.FilledQuantity,
			Notional: o.Notional, At: o.UpdatedAt}})
	}
	sort.Slice(events, func(i, j int) bool {
		if !events[i].at.Equal(events[j].at) {
			return events[i].at.Before(events[j].at)
		}
		return events[i].key < events[j].key
	})
	for _, e := range events {
		if err := RecordFill(tx, e.f); err != nil {
			return err
		}
	}
	return nil
}
