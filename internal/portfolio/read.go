package portfolio

import (
	"context"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// RecentTrades is how many trades a state.sync carries (the dashboard's
// history shows the last 50).
const RecentTrades = 50

// Summary is a trader's portfolio across their active broker connections.
// Amounts add up the accounts as reported (each in its own currency; the
// supported brokers report USD or a USD stablecoin).
type Summary struct {
	Value         decimal.Decimal `json:"value"`
	Cash          decimal.Decimal `json:"cash"`
	BuyingPower   decimal.Decimal `json:"buyingPower"`
	UnrealizedPnL decimal.Decimal `json:"unrealizedPnl"`
	Accounts      []BalanceView   `json:"accounts"`
	// UpdatedAt is the time of the oldest account balance (nil: no sync yet).
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
}

// State is the payload of state.sync: what the dashboard shows, current
// to the event seq it comes with.
type State struct {
	Portfolio     Summary        `json:"portfolio"`
	Positions     []PositionView `json:"positions"`
	PendingOrders []trade.View   `json:"pendingOrders"`
	RecentTrades  []trade.View   `json:"recentTrades"`
}

// EquityPointView is one point of the equity curve (all accounts).
type EquityPointView struct {
	At     time.Time       `json:"at"`
	Equity decimal.Decimal `json:"equity"`
	Cash   decimal.Decimal `json:"cash"`
}

// pendingStatuses are orders still working or waiting.
var pendingStatuses = []string{string(trade.StatusPending), string(trade.StatusAwaiting), string(trade.StatusQueued), string(trade.StatusHalted),
	string(trade.StatusSubmitted), string(trade.StatusPartialFill)}

// activeConnections are the ids of the user's active broker connections.
func activeConnections(ctx context.Context, db *gorm.DB, userID string) ([]string, error) {
	var ids []string
	err := db.WithContext(ctx).Model(&schema.BrokerConnection{}).Where("user_id = ? AND is_active = ?", userID, true).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// Positions are the user's open positions on active connections, by symbol.
func Positions(ctx context.Context, db *gorm.DB, userID string) ([]PositionView, error) {
	conns, err := activeConnections(ctx, db, userID)
	if err != nil || len(conns) == 0 {
		return []PositionView{}, err
	}
	var rows []schema.Position
	if err := db.WithContext(ctx).Where("user_id = ? AND broker_connection_id IN ? AND closed_at IS NULL", userID, conns).
		Order("symbol, broker_connection_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]PositionView, 0, len(rows))
	for _, p := range rows {
		out = append(out, viewOf(p))
	}
	return out, nil
}

// Read returns the user's portfolio summary and open positions.
func Read(ctx context.Context, db *gorm.DB, userID string) (Summary, []PositionView, error) {
	sum := Summary{Accounts: []BalanceView{}}
	conns, err := activeConnections(ctx, db, userID)
	if err != nil {
		return sum, nil, err
	}
	positions, err := Positions(ctx, db, userID)
	if err != nil {
		return sum, nil, err
	}
	if len(conns) > 0 {
		var bals []schema.PortfolioBalance
		if err := db.WithContext(ctx).Where("user_id = ? AND broker_connection_id IN ?", userID, conns).
			Order("broker_connection_id").Find(&bals).Error; err != nil {
			return sum, nil, err
		}
		for _, b := range bals {
			sum.Value = sum.Value.Add(b.Equity)
			sum.Cash = sum.Cash.Add(b.Cash)
			sum.BuyingPower = sum.BuyingPower.Add(b.BuyingPower)
			sum.Accounts = append(sum.Accounts, balanceView(b))
			if t := b.UpdatedAt.UTC(); sum.UpdatedAt == nil || t.Before(*sum.UpdatedAt) {
				sum.UpdatedAt = &t
			}
		}
	}
	for _, p := range positions {
		sum.UnrealizedPnL = sum.UnrealizedPnL.Add(p.UnrealizedPnL)
	}
	return sum, positions, nil
}

// PendingOrders are the user's trades that are not final, newest first.
func PendingOrders(ctx context.Context, db *gorm.DB, userID string) ([]trade.View, error) {
	var rows []schema.Trade
	if err := db.WithContext(ctx).Where("user_id = ? AND status IN ?", userID, pendingStatuses).
		Order("created_at DESC").Limit(200).Find(&rows).Error; err != nil {
		return nil, err
	}
	return views(rows), nil
}

func recentTrades(ctx context.Context, db *gorm.DB, userID string) ([]trade.View, error) {
	var rows []schema.Trade
	if err := db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at DESC").Limit(RecentTrades).Find(&rows).Error; err != nil {
		return nil, err
	}
	return views(rows), nil
}

func views(rows []schema.Trade) []trade.View {
	out := make([]trade.View, 0, len(rows))
	for _, t := range rows {
		out = append(out, trade.ViewOf(t))
	}
	return out
}

// Snapshot builds the state.sync payload. The seq is read first, so any
// event after it is either already in the data or delivered after the
// snapshot; the dashboard applies events idempotently.
func Snapshot(ctx context.Context, db *gorm.DB, userID string) (State, int64, error) {
	seq, err := realtime.LastSeq(ctx, db, userID)
	if err != nil {
		return State{}, 0, err
	}
	var st State
	if st.Portfolio, st.Positions, err = Read(ctx, db, userID); err != nil {
		return State{}, 0, err
	}
	if st.PendingOrders, err = PendingOrders(ctx, db, userID); err != nil {
		return State{}, 0, err
	}
	if st.RecentTrades, err = recentTrades(ctx, db, userID); err != nil {
		return State{}, 0, err
	}
	return st, seq, nil
}

// Snapshotter adapts Snapshot to realtime.HubConfig.Snapshot.
func Snapshotter(db *gorm.DB) realtime.Snapshotter {
	return func(ctx context.Context, userID string) (any, int64, error) {
		st, seq, err := Snapshot(ctx, db, userID)
		return st, seq, err
	}
}

// EquityCurve is the user's total equity over time since since: at each
// point in time, the sum of every active account's latest equity.
func EquityCurve(ctx context.Context, db *gorm.DB, userID string, since time.Time) ([]EquityPointView, error) {
	conns, err := activeConnections(ctx, db, userID)
	if err != nil || len(conns) == 0 {
		return []EquityPointView{}, err
	}
	var rows []schema.EquityPoint
	if err := db.WithContext(ctx).Where("user_id = ? AND broker_connection_id IN ? AND at >= ?", userID, conns, since.UTC()).
		Order("at, id").Limit(20000).Find(&rows).Error; err != nil {
		return nil, err
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].At.Before(rows[j].At) })
	latest := map[string]schema.EquityPoint{}
	out := make([]EquityPointView, 0, len(rows))
	for _, r := range rows {
		latest[r.BrokerConnectionID] = r
		var p EquityPointView
		p.At = r.At.UTC()
		for _, l := range latest {
			p.Equity = p.Equity.Add(l.Equity)
			p.Cash = p.Cash.Add(l.Cash)
		}
		if n := len(out); n > 0 && out[n-1].At.Equal(p.At) {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out, nil
}
