package performance

import (
	"context"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Figures are one scope's numbers as the dashboard shows them. Amounts are
// exact sums; WinRate (wins / closed trades, a fraction 0..1, 4 places)
// and the averages (8 places) are the only rounded figures. A closed
// trade is one exit's round trip, however many fills it took.
type Figures struct {
	Key           string          `json:"key,omitempty"`
	Name          string          `json:"name,omitempty"` // a source's readable name, resolved when read
	Kind          string          `json:"kind,omitempty"` // a source's kind: discord, copy, tradingview, dashboard
	TotalTrades   int64           `json:"totalTrades"`    // FR-049 total_trades: closed round trips (= ClosedTrades)
	ClosedTrades  int64           `json:"closedTrades"`
	Wins          int64           `json:"wins"`
	Losses        int64           `json:"losses"`
	WinRate       decimal.Decimal `json:"winRate"`
	RealizedPnL   decimal.Decimal `json:"realizedPnl"`
	UnrealizedPnL decimal.Decimal `json:"unrealizedPnl"`
	AverageWin    decimal.Decimal `json:"averageWin"`
	AverageLoss   decimal.Decimal `json:"averageLoss"`
	AveragePnL    decimal.Decimal `json:"averagePnl"`    // realized P&L per closed trade
	AverageReturn decimal.Decimal `json:"averageReturn"` // mean of the closed trades' P&L ÷ cost basis, a fraction (0.05 = 5%)
	LargestWin    decimal.Decimal `json:"largestWin"`
	LargestLoss   decimal.Decimal `json:"largestLoss"`
	MaxDrawdown   decimal.Decimal `json:"maxDrawdown"`
	OpenLots      int             `json:"openLots"`
}

// Summary is a trader's performance: overall, per individual signal source
// (SourceKey; with its Name and Kind) and per symbol (sorted by key). Unpriced lists symbols with open lots whose
// broker position has no current price or is no longer open (their
// unrealized P&L is left out rather than guessed).
type Summary struct {
	Overall  Figures   `json:"overall"`
	BySource []Figures `json:"bySource"`
	BySymbol []Figures `json:"bySymbol"`
	Unpriced []string  `json:"unpriced"`
}

func figuresOf(key string, s Stats) Figures {
	f := Figures{Key: key, TotalTrades: s.ClosedTrades, ClosedTrades: s.ClosedTrades, Wins: s.Wins, Losses: s.Losses, RealizedPnL: s.Realized,
		LargestWin: s.LargestWin, LargestLoss: s.LargestLoss, MaxDrawdown: s.MaxDrawdown}
	if s.ClosedTrades > 0 {
		n := decimal.NewFromInt(s.ClosedTrades)
		f.WinRate = decimal.NewFromInt(s.Wins).DivRound(n, 4)
		f.AveragePnL = s.Realized.DivRound(n, 8)
		f.AverageReturn = s.SumReturn.DivRound(n, 8)
	}
	if s.Wins > 0 {
		f.AverageWin = s.GrossProfit.DivRound(decimal.NewFromInt(s.Wins), 8)
	}
	if s.Losses > 0 {
		f.AverageLoss = s.GrossLoss.DivRound(decimal.NewFromInt(s.Losses), 8)
	}
	return f
}

// Read returns userID's performance: the stored aggregates and, for the
// open lots, unrealized P&L at the broker positions' current prices (as
// last synced: the paper feed or the broker). It reads the trader's
// aggregate rows, open lots and positions — never the trade history.
func Read(ctx context.Context, db *gorm.DB, userID string) (Summary, error) {
	db = db.WithContext(ctx)
	var stats []schema.PerformanceStat
	if err := db.Where("user_id = ?", userID).Find(&stats).Error; err != nil {
		return Summary{}, err
	}
	var lots []schema.PerformanceLot
	if err := db.Where("user_id = ?", userID).Order("id").Find(&lots).Error; err != nil {
		return Summary{}, err
	}
	var positions []schema.Position
	if err := db.Where("user_id = ?", userID).Find(&positions).Error; err != nil {
		return Summary{}, err
	}
	type posKey struct{ conn, symbol string }
	price := map[posKey]decimal.Decimal{}
	for _, p := range positions {
		if p.ClosedAt == nil && !p.Quantity.IsZero() && p.CurrentPrice.IsPositive() {
			price[posKey{p.BrokerConnectionID, p.Symbol}] = p.CurrentPrice
		}
	}

	sum := Summary{BySource: []Figures{}, BySymbol: []Figures{}, Unpriced: []string{}}
	bySource, bySymbol := map[string]*Figures{}, map[string]*Figures{}
	for _, s := range stats {
		f := figuresOf(s.ScopeKey, statsOf(s))
		switch s.Scope {
		case ScopeAll:
			f.Key = ""
			sum.Overall = f
		case ScopeSource:
			bySource[s.ScopeKey] = &f
		case ScopeSymbol:
			bySymbol[s.ScopeKey] = &f
		}
	}
	get := func(m map[string]*Figures, key string) *Figures {
		if f, ok := m[key]; ok {
			return f
		}
		f := &Figures{Key: key}
		m[key] = f
		return f
	}
	unpriced := map[string]bool{}
	for _, l := range lots {
		src, sym := get(bySource, l.Source), get(bySymbol, l.Symbol)
		for _, f := range []*Figures{&sum.Overall, src, sym} {
			f.OpenLots++
		}
		p, ok := price[posKey{l.BrokerConnectionID, l.Symbol}]
		if !ok {
			unpriced[l.Symbol] = true
			continue
		}
		u := l.Quantity.Mul(p).Sub(l.Cost)
		if l.Side == Short {
			u = l.Cost.Sub(l.Quantity.Mul(p))
		}
		for _, f := range []*Figures{&sum.Overall, src, sym} {
			f.UnrealizedPnL = f.UnrealizedPnL.Add(u)
		}
	}
	for _, m := range []struct {
		from map[string]*Figures
		to   *[]Figures
	}{{bySource, &sum.BySource}, {bySymbol, &sum.BySymbol}} {
		for _, f := range m.from {
			*m.to = append(*m.to, *f)
		}
		sort.Slice(*m.to, func(i, j int) bool { return (*m.to)[i].Key < (*m.to)[j].Key })
	}
	keys := make([]string, len(sum.BySource))
	for i, f := range sum.BySource {
		keys[i] = f.Key
	}
	names, err := sourceNames(db, keys)
	if err != nil {
		return Summary{}, err
	}
	for i := range sum.BySource {
		f := &sum.BySource[i]
		f.Name, f.Kind = names[f.Key], SourceKind(f.Key)
	}
	sort.SliceStable(sum.BySource, func(i, j int) bool {
		return strings.ToLower(sum.BySource[i].Name) < strings.ToLower(sum.BySource[j].Name)
	})
	for s := range unpriced {
		sum.Unpriced = append(sum.Unpriced, s)
	}
	sort.Strings(sum.Unpriced)
	return sum, nil
}
