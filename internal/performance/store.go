package performance

import (
	"errors"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Scopes of the aggregates.
const (
	ScopeAll    = "all"
	ScopeSource = "source"
	ScopeSymbol = "symbol"
)

// FillEvent is one fill increment of a trade, as RecordFill stores it.
type FillEvent struct {
	UserID       string
	ConnectionID string
	Symbol       string
	Source       string
	TradeID      string
	Side         string // buy | sell
	Quantity     decimal.Decimal
	Notional     decimal.Decimal
	At           time.Time
}

// ErrInvalidFill: a fill without a user, symbol, side or positive size.
var ErrInvalidFill = errors.New("performance: invalid fill")

// RecordFill applies one fill increment inside tx, the transaction that
// records the fill on the trade (so a retried or replayed step, which
// finds the fill already recorded, applies nothing twice). It serialises
// on the trader's overall aggregate row (locked on PostgreSQL; SQLite
// serialises writers), matches the fill against the open lots of the
// connection and symbol (FIFO) and updates the aggregates of the closes.
func RecordFill(tx *gorm.DB, f FillEvent) error {
	if f.UserID == "" || f.Symbol == "" || (f.Side != "buy" && f.Side != "sell") || !f.Quantity.IsPositive() || f.Notional.IsNegative() {
		return ErrInvalidFill
	}
	at := f.At.UTC()
	overall, err := lockOverall(tx, f.UserID, at)
	if err != nil {
		return err
	}
	var rows []schema.PerformanceLot
	if err := tx.Where("user_id = ? AND broker_connection_id = ? AND symbol = ?", f.UserID, f.ConnectionID, f.Symbol).
		Order("id").Find(&rows).Error; err != nil {
		return err
	}
	lots := make([]Lot, len(rows))
	for i, r := range rows {
		lots[i] = Lot{ID: r.ID, Side: r.Side, Quantity: r.Quantity, Cost: r.Cost, Source: r.Source}
	}
	out := Match(lots, Fill{Side: f.Side, Quantity: f.Quantity, Notional: f.Notional, Source: f.Source})
	for i, l := range out.Lots {
		switch {
		case !l.Quantity.IsPositive():
			if err := tx.Delete(&schema.PerformanceLot{}, "id = ?", l.ID).Error; err != nil {
				return err
			}
		case !l.Quantity.Equal(rows[i].Quantity):
			if err := tx.Model(&schema.PerformanceLot{}).Where("id = ?", l.ID).
				Updates(map[string]any{"quantity": l.Quantity, "cost": l.Cost}).Error; err != nil {
				return err
			}
		}
	}
	if o := out.Opened; o != nil {
		if err := tx.Create(&schema.PerformanceLot{UserID: f.UserID, BrokerConnectionID: f.ConnectionID, Symbol: f.Symbol,
			Source: o.Source, Side: o.Side, Quantity: o.Quantity, Cost: o.Cost, TradeID: f.TradeID, OpenedAt: at}).Error; err != nil {
			return err
		}
	}
	if !out.Closed {
		return nil
	}
	addStat(&overall, out.PnL, at)
	if err := saveStat(tx, overall); err != nil {
		return err
	}
	if err := addTo(tx, f.UserID, ScopeSymbol, f.Symbol, out.PnL, at); err != nil {
		return err
	}
	for _, p := range out.Pieces {
		if err := addTo(tx, f.UserID, ScopeSource, p.Source, p.PnL, at); err != nil {
			return err
		}
	}
	return nil
}

func emptyStat(userID, scope, key string, at time.Time) schema.PerformanceStat {
	z := decimal.Zero
	return schema.PerformanceStat{UserID: userID, Scope: scope, ScopeKey: key, GrossProfit: z, GrossLoss: z, Realized: z,
		LargestWin: z, LargestLoss: z, Peak: z, MaxDrawdown: z, UpdatedAt: at}
}

// lockOverall creates the trader's overall row if missing and locks it.
func lockOverall(tx *gorm.DB, userID string, at time.Time) (schema.PerformanceStat, error) {
	row := emptyStat(userID, ScopeAll, "", at)
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return row, err
	}
	q := tx
	if store.DialectOf(tx) == store.Postgres {
		q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Where("user_id = ? AND scope = ? AND scope_key = ?", userID, ScopeAll, "").Take(&row).Error
	return row, err
}

func addTo(tx *gorm.DB, userID, scope, key string, pnl decimal.Decimal, at time.Time) error {
	var rows []schema.PerformanceStat
	if err := tx.Where("user_id = ? AND scope = ? AND scope_key = ?", userID, scope, key).Limit(1).Find(&rows).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		row := emptyStat(userID, scope, key, at)
		addStat(&row, pnl, at)
		return tx.Create(&row).Error
	}
	addStat(&rows[0], pnl, at)
	return saveStat(tx, rows[0])
}

func statsOf(r schema.PerformanceStat) Stats {
	return Stats{ClosedTrades: r.ClosedTrades, Wins: r.Wins, Losses: r.Losses, GrossProfit: r.GrossProfit, GrossLoss: r.GrossLoss,
		Realized: r.Realized, LargestWin: r.LargestWin, LargestLoss: r.LargestLoss, Peak: r.Peak, MaxDrawdown: r.MaxDrawdown}
}

// addStat counts one close on a stored aggregate (Stats.Add).
func addStat(r *schema.PerformanceStat, pnl decimal.Decimal, at time.Time) {
	s := statsOf(*r)
	s.Add(pnl)
	r.ClosedTrades, r.Wins, r.Losses = s.ClosedTrades, s.Wins, s.Losses
	r.GrossProfit, r.GrossLoss, r.Realized = s.GrossProfit, s.GrossLoss, s.Realized
	r.LargestWin, r.LargestLoss, r.Peak, r.MaxDrawdown = s.LargestWin, s.LargestLoss, s.Peak, s.MaxDrawdown
	r.UpdatedAt = at
}

// saveStat updates a stored aggregate (the key columns name the row; an
// empty scope_key is a valid key, so no zero-key guessing by gorm).
func saveStat(tx *gorm.DB, r schema.PerformanceStat) error {
	return tx.Model(&schema.PerformanceStat{}).Where("user_id = ? AND scope = ? AND scope_key = ?", r.UserID, r.Scope, r.ScopeKey).
		Updates(map[string]any{"closed_trades": r.ClosedTrades, "wins": r.Wins, "losses": r.Losses, "gross_profit": r.GrossProfit,
			"gross_loss": r.GrossLoss, "realized": r.Realized, "largest_win": r.LargestWin, "largest_loss": r.LargestLoss,
			"peak": r.Peak, "max_drawdown": r.MaxDrawdown, "updated_at": r.UpdatedAt}).Error
}
