package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Leaders come from copy trading's profiles (migration 0032): copy_leaders
// (allow_copy, visibility public | followers | private, display_name) and
// copy_follows (follower_id, leader_id, status active | paused | stopped).
// EligibleLeaders, FollowerCounts and CanView are the only readers of
// those tables here.

// Leader is an opted-in public leader.
type Leader struct {
	ID          string
	DisplayName string
}

// ErrProfilePrivate: the viewer may not see this leader (private, not
// opted in, followers-only and not followed, or unknown). Its text is what
// the dashboard shows.
var ErrProfilePrivate = errors.New("Profile Private")

// displayName is the leader's chosen name, else the account's, else a
// neutral label (never the e-mail).
func displayName(profile, user, id string) string {
	switch {
	case profile != "":
		return profile
	case user != "":
		return user
	case len(id) >= 8:
		return "Trader " + id[:8]
	}
	return "Trader"
}

// EligibleLeaders are the leaders the leaderboards list: copy trading
// allowed and a public profile, by id.
func EligibleLeaders(ctx context.Context, db *gorm.DB) ([]Leader, error) {
	var rows []struct {
		UserID      string
		Profile     string
		DisplayName string
	}
	err := db.WithContext(ctx).Raw(`SELECT cl.user_id, cl.display_name AS profile, u.display_name
		FROM copy_leaders cl JOIN users u ON u.id = cl.user_id
		WHERE cl.allow_copy = ? AND cl.visibility = ? ORDER BY cl.user_id`, true, "public").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]Leader, 0, len(rows))
	for _, r := range rows {
		out = append(out, Leader{ID: r.UserID, DisplayName: displayName(r.Profile, r.DisplayName, r.UserID)})
	}
	return out, nil
}

// followingStatuses are the follows that count: a paused follow (loss
// limit) is still a follower; a stopped one unfollowed.
var followingStatuses = []string{"active", "paused"}

// FollowerCounts are the number of followers of each leader with any.
func FollowerCounts(ctx context.Context, db *gorm.DB) (map[string]int, error) {
	var rows []struct {
		LeaderID string
		N        int
	}
	if err := db.WithContext(ctx).Raw(`SELECT leader_id, COUNT(*) AS n FROM copy_follows WHERE status IN ? GROUP BY leader_id`,
		followingStatuses).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.LeaderID] = r.N
	}
	return out, nil
}

// CanView reports whether viewer may see leaderID's statistics. It is
// copy trading's one rule (copytrade.CanView, also behind the copy API's
// profile): the leader always; otherwise the leader must allow copying,
// and be public, or followers-only with the viewer an approved follower
// (SPEC US-011 #5).
func CanView(ctx context.Context, db *gorm.DB, viewerID, leaderID string) (bool, error) {
	tx := db.WithContext(ctx)
	p, err := copytrade.ProfileOf(tx, leaderID)
	if err != nil {
		return false, err
	}
	follows, err := copytrade.Follows(tx, viewerID, leaderID)
	if err != nil {
		return false, err
	}
	return copytrade.CanView(p, copytrade.Viewer{UserID: viewerID, Follows: follows}), nil
}

// filledStatuses are the trade statuses that may carry a fill.
var filledStatuses = []string{"filled", "partial_fill", "cancelled"}

// LoadFills are the user's recorded fills up to until: every trade with a
// filled quantity at its average fill price (filled_at, else its last
// update), and the stop-loss fills copy trading records (copy_fills kind
// stop: a stop executed at the broker is no trade row).
func LoadFills(ctx context.Context, db *gorm.DB, userID string, until time.Time) ([]Fill, error) {
	var trades []schema.Trade
	if err := db.WithContext(ctx).Select("id", "symbol", "side", "filled_quantity", "fill_price", "filled_at", "updated_at").
		Where("user_id = ? AND status IN ? AND fill_price IS NOT NULL", userID, filledStatuses).
		Order("created_at, id").Find(&trades).Error; err != nil {
		return nil, err
	}
	out := make([]Fill, 0, len(trades))
	for _, t := range trades {
		at := t.UpdatedAt
		if t.FilledAt != nil {
			at = *t.FilledAt
		}
		if !t.FilledQuantity.IsPositive() || !t.FillPrice.Valid || at.After(until) {
			continue
		}
		out = append(out, Fill{At: at.UTC(), Symbol: t.Symbol, Side: t.Side, Quantity: t.FilledQuantity, Price: t.FillPrice.Decimal})
	}
	var stops []schema.CopyFill
	if err := db.WithContext(ctx).Select("symbol", "side", "quantity", "price", "created_at").
		Where("leader_id = ? AND kind = ? AND created_at <= ?", userID, "stop", until.UTC()).Order("created_at, id").Find(&stops).Error; err != nil {
		return nil, err
	}
	for _, s := range stops {
		out = append(out, Fill{At: s.CreatedAt.UTC(), Symbol: s.Symbol, Side: s.Side, Quantity: s.Quantity, Price: s.Price})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// StartEquity is the user's equity at from, summed over the active broker
// connections: each connection's last equity point at or before from, or
// its first one after from when it has none before (ok false when no
// connection has a point).
func StartEquity(ctx context.Context, db *gorm.DB, userID string, from time.Time) (decimal.Decimal, bool, error) {
	var conns []string
	if err := db.WithContext(ctx).Model(&schema.BrokerConnection{}).Where("user_id = ? AND is_active = ?", userID, true).
		Order("id").Pluck("id", &conns).Error; err != nil {
		return decimal.Zero, false, err
	}
	total, found := decimal.Zero, false
	for _, c := range conns {
		var p schema.EquityPoint
		err := db.WithContext(ctx).Where("user_id = ? AND broker_connection_id = ? AND at <= ?", userID, c, from.UTC()).
			Order("at DESC, id DESC").Take(&p).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			err = db.WithContext(ctx).Where("user_id = ? AND broker_connection_id = ? AND at > ?", userID, c, from.UTC()).
				Order("at, id").Take(&p).Error
		}
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue
		}
		if err != nil {
			return decimal.Zero, false, err
		}
		total, found = total.Add(p.Equity), true
	}
	return total, found, nil
}

// currentEquity is the sum of the user's active accounts' last balances.
func currentEquity(ctx context.Context, db *gorm.DB, userID string) (decimal.Decimal, error) {
	var bals []schema.PortfolioBalance
	err := db.WithContext(ctx).Raw(`SELECT pb.* FROM portfolio_balances pb JOIN broker_connections bc ON bc.id = pb.broker_connection_id
		WHERE pb.user_id = ? AND bc.is_active = ?`, userID, true).Scan(&bals).Error
	total := decimal.Zero
	for _, b := range bals {
		total = total.Add(b.Equity)
	}
	return total, err
}

// LeaderMetrics are userID's metrics over period ending at asOf. The
// starting equity is StartEquity at the window's start; without equity
// points it is the current balance less what the window realized. ok is
// false when no positive starting equity is known (not ranked).
func LeaderMetrics(ctx context.Context, db *gorm.DB, userID string, period Period, asOf time.Time) (Metrics, bool, error) {
	fills, err := LoadFills(ctx, db, userID, asOf)
	if err != nil {
		return Metrics{}, false, err
	}
	return metricsOf(ctx, db, userID, fills, period, asOf)
}

// metricsOf is LeaderMetrics on fills already loaded (up to asOf).
func metricsOf(ctx context.Context, db *gorm.DB, userID string, fills []Fill, period Period, asOf time.Time) (Metrics, bool, error) {
	from := period.Window(asOf)
	e0, found, err := StartEquity(ctx, db, userID, from)
	if err != nil {
		return Metrics{}, false, err
	}
	if !found {
		cur, err := currentEquity(ctx, db, userID)
		if err != nil {
			return Metrics{}, false, err
		}
		e0 = cur.Sub(Compute(fills, decimal.Zero, from, asOf).RealizedPnL)
	}
	m := Compute(fills, e0, from, asOf)
	return m, e0.IsPositive(), nil
}

// RefreshResult counts a refresh.
type RefreshResult struct {
	Leaders  int `json:"leaders"`  // eligible leaders
	Entries  int `json:"entries"`  // rows written (leaders × periods ranked)
	Unranked int `json:"unranked"` // leader × period without a known equity
}

// Refresh recomputes every leaderboard as of asOf and replaces the stored
// rows in one transaction (idempotent: the same asOf writes the same rows).
func Refresh(ctx context.Context, db *gorm.DB, asOf time.Time) (RefreshResult, error) {
	asOf = asOf.UTC()
	leaders, err := EligibleLeaders(ctx, db)
	if err != nil {
		return RefreshResult{}, err
	}
	followers, err := FollowerCounts(ctx, db)
	if err != nil {
		return RefreshResult{}, err
	}
	res := RefreshResult{Leaders: len(leaders)}
	var rows []schema.LeaderboardEntry
	for _, l := range leaders {
		fills, err := LoadFills(ctx, db, l.ID, asOf)
		if err != nil {
			return RefreshResult{}, fmt.Errorf("leader %s: %w", l.ID, err)
		}
		for _, p := range Periods {
			m, ok, err := metricsOf(ctx, db, l.ID, fills, p, asOf)
			if err != nil {
				return RefreshResult{}, fmt.Errorf("leader %s %s: %w", l.ID, p, err)
			}
			if !ok {
				res.Unranked++
				continue
			}
			rows = append(rows, schema.LeaderboardEntry{Period: string(p), LeaderID: l.ID, DisplayName: l.DisplayName,
				StartEquity: m.StartEquity, RealizedPnL: m.RealizedPnL, ReturnPct: m.ReturnPct, WinRatePct: m.WinRatePct,
				MaxDrawdownPct: m.MaxDrawdownPct, Sharpe: m.Sharpe, Closes: m.Closes, Fills: m.Fills,
				Followers: followers[l.ID], PortfolioValue: m.StartEquity.Add(m.RealizedPnL).Round(2), AsOf: asOf})
		}
	}
	res.Entries = len(rows)
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM leaderboard_entries").Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.CreateInBatches(rows, 200).Error
	})
	return res, err
}

// Sort is a leaderboard's order.
type Sort string

// The orders: best first (the smallest drawdown is best).
const (
	SortReturn    Sort = "return"
	SortWinRate   Sort = "winrate"
	SortDrawdown  Sort = "drawdown"
	SortSharpe    Sort = "sharpe"
	SortFollowers Sort = "followers"
)

// ErrBadSort: not one of the orders.
var ErrBadSort = errors.New("sort must be one of return, winrate, drawdown, sharpe, followers")

var orderBy = map[Sort]string{
	SortReturn:    "le.return_pct DESC",
	SortWinRate:   "le.win_rate_pct DESC",
	SortDrawdown:  "le.max_drawdown_pct ASC",
	SortSharpe:    "le.sharpe DESC",
	SortFollowers: "le.followers DESC",
}

// ParseSort parses a sort; "" is return.
func ParseSort(s string) (Sort, error) {
	if s == "" {
		return SortReturn, nil
	}
	if _, ok := orderBy[Sort(s)]; ok {
		return Sort(s), nil
	}
	return "", ErrBadSort
}

// Paging bounds.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// Query asks for one page of one leaderboard (Page from 1).
type Query struct {
	Period   Period
	Sort     Sort
	Page     int
	PageSize int
}

// Row is one ranked leader.
type Row struct {
	Rank           int             `json:"rank"`
	LeaderID       string          `json:"leaderId"`
	DisplayName    string          `json:"displayName"`
	ReturnPct      decimal.Decimal `json:"returnPct"`
	WinRatePct     decimal.Decimal `json:"winRatePct"`
	MaxDrawdownPct decimal.Decimal `json:"maxDrawdownPct"`
	Sharpe         decimal.Decimal `json:"sharpe"`
	Followers      int             `json:"followers"`
	Trades         int             `json:"trades"` // closing fills
	// PortfolioValue: the leader's account value at the refresh as the
	// metrics see it (starting equity + the window's realized P&L) — the
	// "$250K portfolio" of SPEC US-011 #3.
	PortfolioValue decimal.Decimal `json:"portfolioValue"`
	Fills          int             `json:"fills"`
}

// Page is one page of a leaderboard.
type Page struct {
	Period   Period     `json:"period"`
	Sort     Sort       `json:"sort"`
	Page     int        `json:"page"`
	PageSize int        `json:"pageSize"`
	Total    int64      `json:"total"`
	AsOf     *time.Time `json:"asOf,omitempty"` // the refresh the rows come from
	Entries  []Row      `json:"entries"`
}

// List is one page of a leaderboard. The leader's profile is checked again
// here: a leader who turned private or stopped allowing copying since the
// last refresh is not listed.
func List(ctx context.Context, db *gorm.DB, q Query) (Page, error) {
	if q.PageSize <= 0 {
		q.PageSize = DefaultPageSize
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	out := Page{Period: q.Period, Sort: q.Sort, Page: q.Page, PageSize: q.PageSize, Entries: []Row{}}
	order, ok := orderBy[q.Sort]
	if !ok {
		return out, ErrBadSort
	}
	base := db.WithContext(ctx).Table("leaderboard_entries le").
		Joins("JOIN copy_leaders cl ON cl.user_id = le.leader_id AND cl.allow_copy = ? AND cl.visibility = ?", true, "public").
		Where("le.period = ?", string(q.Period))
	if err := base.Session(&gorm.Session{}).Count(&out.Total).Error; err != nil {
		return out, err
	}
	var rows []schema.LeaderboardEntry
	if err := base.Session(&gorm.Session{}).Select("le.*").Order(order + ", le.leader_id").
		Offset((q.Page - 1) * q.PageSize).Limit(q.PageSize).Find(&rows).Error; err != nil {
		return out, err
	}
	for i, r := range rows {
		if out.AsOf == nil {
			a := r.AsOf.UTC()
			out.AsOf = &a
		}
		out.Entries = append(out.Entries, Row{Rank: (q.Page-1)*q.PageSize + i + 1, LeaderID: r.LeaderID, DisplayName: r.DisplayName,
			ReturnPct: r.ReturnPct, WinRatePct: r.WinRatePct, MaxDrawdownPct: r.MaxDrawdownPct, Sharpe: r.Sharpe,
			Followers: r.Followers, Trades: r.Closes, Fills: r.Fills, PortfolioValue: r.PortfolioValue})
	}
	return out, nil
}

// EquityView is a leader's equity curve over a window, as the metrics see
// it: the starting equity plus the realized P&L, one point a day.
type EquityView struct {
	LeaderID       string          `json:"leaderId"`
	Period         Period          `json:"period"`
	ReturnPct      decimal.Decimal `json:"returnPct"`
	MaxDrawdownPct decimal.Decimal `json:"maxDrawdownPct"`
	Points         []Point         `json:"points"`
}

// Equity is leaderID's equity curve over period as viewerID may see it
// (ErrProfilePrivate otherwise, also for an unknown leader).
func Equity(ctx context.Context, db *gorm.DB, viewerID, leaderID string, period Period, asOf time.Time) (EquityView, error) {
	ok, err := CanView(ctx, db, viewerID, leaderID)
	if err != nil {
		return EquityView{}, err
	}
	if !ok {
		return EquityView{}, ErrProfilePrivate
	}
	m, _, err := LeaderMetrics(ctx, db, leaderID, period, asOf)
	if err != nil {
		return EquityView{}, err
	}
	pts := m.Curve
	if pts == nil {
		pts = []Point{}
	}
	return EquityView{LeaderID: leaderID, Period: period, ReturnPct: m.ReturnPct, MaxDrawdownPct: m.MaxDrawdownPct, Points: pts}, nil
}
