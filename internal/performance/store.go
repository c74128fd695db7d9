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
	Source       string // the trade's source kind (trades.source)
	// SourceKey is the individual source the lot a fill opens is credited
	// to; empty means SourceKey(tx, UserID, TradeID, Source).
	SourceKey string
	TradeID   string
	// CloseKey names the exit this increment belongs to: every increment
	// of one exit that closes lots counts as one closed trade. Empty means
	// TradeID; a broker-executed order uses OrderKey.
	CloseKey string
	Side     string // buy | sell
	Quantity decimal.Decimal
	Notional decimal.Decimal
	At       time.Time
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
		if o.Source = f.SourceKey; o.Source == "" {
			if o.Source, err = SourceKey(tx, f.UserID, f.TradeID, f.Source); err != nil {
				return err
			}
		}
		if err := tx.Create(&schema.PerformanceLot{UserID: f.UserID, BrokerConnectionID: f.ConnectionID, Symbol: f.Symbol,
			Source: o.Source, Side: o.Side, Quantity: o.Quantity, Cost: o.Cost, TradeID: f.TradeID, OpenedAt: at}).Error; err != nil {
			return err
		}
	}
	if !out.Closed {
		return nil
	}
	closeKey := f.CloseKey
	if closeKey == "" {
		closeKey = f.TradeID
	}
	if err := applyClose(tx, &overall, closeKey, out.PnL, out.Cost, at); err != nil {
		return err
	}
	if err := saveStat(tx, overall); err != nil {
		return err
	}
	if err := addTo(tx, f.UserID, ScopeSymbol, f.Symbol, closeKey, out.PnL, out.Cost, at); err != nil {
		return err
	}
	for _, p := range out.Pieces {
		if err := addTo(tx, f.UserID, ScopeSource, p.Source, closeKey, p.PnL, p.Cost, at); err != nil {
			return err
		}
	}
	return nil
}

// OrderKey is the close and order key of a broker-executed order (a stop,
// a pair's leg) of a connection.
func OrderKey(connectionID, orderID string) string {
	return "order:" + connectionID + "/" + orderID
}

// RecordOrderFill records a broker-executed order that no trade row fills
// (a stop-loss, a pair's leg) from the broker's cumulative figures for it:
// only what performance has not counted yet for that order (by
// OrderKey(f.ConnectionID, orderID)) is applied, so every path that sees
// the order filled may call it and the order counts once. f's Quantity and
// Notional are ignored; filled and avg are the order's cumulative figures.
func RecordOrderFill(tx *gorm.DB, f FillEvent, orderID string, filled, avg decimal.Decimal) error {
	if orderID == "" || !filled.IsPositive() {
		return nil
	}
	if f.UserID == "" {
		return ErrInvalidFill
	}
	// Serialise with every other recorder of the trader first.
	if _, err := lockOverall(tx, f.UserID, f.At.UTC()); err != nil {
		return err
	}
	key := OrderKey(f.ConnectionID, orderID)
	var rows []schema.PerformanceOrder
	if err := tx.Where("user_id = ? AND order_key = ?", f.UserID, key).Limit(1).Find(&rows).Error; err != nil {
		return err
	}
	seenQty, seenNotional := decimal.Zero, decimal.Zero
	if len(rows) == 1 {
		seenQty, seenNotional = rows[0].FilledQuantity, rows[0].Notional
	}
	qty := filled.Sub(seenQty)
	if !qty.IsPositive() {
		return nil
	}
	total := filled.Mul(avg).Round(Scale)
	notional := total.Sub(seenNotional)
	if !notional.IsPositive() {
		notional = qty.Mul(avg).Round(Scale)
		total = seenNotional.Add(notional)
	}
	row := schema.PerformanceOrder{UserID: f.UserID, OrderKey: key, FilledQuantity: filled, Notional: total, ConnectionID: f.ConnectionID,
		Symbol: f.Symbol, Side: f.Side, Source: f.Source, TradeID: f.TradeID, UpdatedAt: f.At.UTC()}
	if len(rows) == 0 {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
	} else if err := tx.Model(&schema.PerformanceOrder{}).Where("user_id = ? AND order_key = ?", f.UserID, key).
		Updates(map[string]any{"filled_quantity": filled, "notional": total, "updated_at": row.UpdatedAt}).Error; err != nil {
		return err
	}
	f.Quantity, f.Notional, f.CloseKey = qty, notional, key
	return RecordFill(tx, f)
}

func emptyStat(userID, scope, key string, at time.Time) schema.PerformanceStat {
	z := decimal.Zero
	return schema.PerformanceStat{UserID: userID, Scope: scope, ScopeKey: key, GrossProfit: z, GrossLoss: z, Realized: z,
		LargestWin: z, LargestLoss: z, Peak: z, MaxDrawdown: z, SumReturn: z, UpdatedAt: at}
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

func addTo(tx *gorm.DB, userID, scope, key, closeKey string, pnl, cost decimal.Decimal, at time.Time) error {
	var rows []schema.PerformanceStat
	if err := tx.Where("user_id = ? AND scope = ? AND scope_key = ?", userID, scope, key).Limit(1).Find(&rows).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		row := emptyStat(userID, scope, key, at)
		if err := applyClose(tx, &row, closeKey, pnl, cost, at); err != nil {
			return err
		}
		return tx.Create(&row).Error
	}
	if err := applyClose(tx, &rows[0], closeKey, pnl, cost, at); err != nil {
		return err
	}
	return saveStat(tx, rows[0])
}

// applyClose counts a closing increment (P&L pnl on cost basis cost) of
// the exit closeKey on the scope's aggregate r: the exit's first increment
// is a new closed trade, a later one revises it (performance_closes).
func applyClose(tx *gorm.DB, r *schema.PerformanceStat, closeKey string, pnl, cost decimal.Decimal, at time.Time) error {
	var rows []schema.PerformanceClose
	where := "user_id = ? AND scope = ? AND scope_key = ? AND close_key = ?"
	if err := tx.Where(where, r.UserID, r.Scope, r.ScopeKey, closeKey).Limit(1).Find(&rows).Error; err != nil {
		return err
	}
	next := schema.PerformanceClose{UserID: r.UserID, Scope: r.Scope, ScopeKey: r.ScopeKey, CloseKey: closeKey, PnL: pnl, Cost: cost}
	var prev *Closed
	if len(rows) == 1 {
		prev = &Closed{PnL: rows[0].PnL, Return: ReturnOf(rows[0].PnL, rows[0].Cost)}
		next.PnL, next.Cost = rows[0].PnL.Add(pnl), rows[0].Cost.Add(cost)
	}
	s := statsOf(*r)
	stale := s.Revise(prev, Closed{PnL: next.PnL, Return: ReturnOf(next.PnL, next.Cost)}, pnl)
	if prev == nil {
		if err := tx.Create(&next).Error; err != nil {
			return err
		}
	} else if err := tx.Model(&schema.PerformanceClose{}).Where(where, r.UserID, r.Scope, r.ScopeKey, closeKey).
		Updates(map[string]any{"pnl": next.PnL, "cost": next.Cost}).Error; err != nil {
		return err
	}
	if stale {
		// The largest win or loss shrank: read the scope's extremes back
		// (its closed trades only, by the primary key's prefix).
		var ext []struct{ Max, Min decimal.NullDecimal }
		if err := tx.Model(&schema.PerformanceClose{}).Select("MAX(pnl) AS max, MIN(pnl) AS min").
			Where("user_id = ? AND scope = ? AND scope_key = ?", r.UserID, r.Scope, r.ScopeKey).Scan(&ext).Error; err != nil {
			return err
		}
		s.LargestWin, s.LargestLoss = decimal.Zero, decimal.Zero
		if len(ext) == 1 && ext[0].Max.Valid {
			s.LargestWin = decimal.Max(decimal.Zero, ext[0].Max.Decimal)
		}
		if len(ext) == 1 && ext[0].Min.Valid {
			s.LargestLoss = decimal.Min(decimal.Zero, ext[0].Min.Decimal)
		}
	}
	setStats(r, s, at)
	return nil
}

func statsOf(r schema.PerformanceStat) Stats {
	return Stats{ClosedTrades: r.ClosedTrades, Wins: r.Wins, Losses: r.Losses, GrossProfit: r.GrossProfit, GrossLoss: r.GrossLoss,
		Realized: r.Realized, LargestWin: r.LargestWin, LargestLoss: r.LargestLoss, Peak: r.Peak, MaxDrawdown: r.MaxDrawdown, SumReturn: r.SumReturn}
}

// setStats stores s on the aggregate row r.
func setStats(r *schema.PerformanceStat, s Stats, at time.Time) {
	r.SumReturn = s.SumReturn
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
			"peak": r.Peak, "max_drawdown": r.MaxDrawdown, "sum_return": r.SumReturn, "updated_at": r.UpdatedAt}).Error
}
