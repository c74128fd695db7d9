package performance

import "github.com/shopspring/decimal"

// Stats is the running aggregate of one scope's closed trades.
type Stats struct {
	ClosedTrades int64
	Wins         int64
	Losses       int64
	GrossProfit  decimal.Decimal // sum of winning closes
	GrossLoss    decimal.Decimal // sum of losing closes (≤ 0)
	Realized     decimal.Decimal // cumulative realized P&L
	LargestWin   decimal.Decimal // ≥ 0
	LargestLoss  decimal.Decimal // ≤ 0
	Peak         decimal.Decimal // highest Realized so far, from 0
	MaxDrawdown  decimal.Decimal // largest fall of Realized from a peak (≥ 0)
}

// Add counts one closed trade with realized P&L pnl. A close at exactly
// zero is neither a win nor a loss but counts as a trade. The drawdown is
// measured on the cumulative realized P&L curve, which starts at 0.
func (s *Stats) Add(pnl decimal.Decimal) {
	s.ClosedTrades++
	switch pnl.Sign() {
	case 1:
		s.Wins++
		s.GrossProfit = s.GrossProfit.Add(pnl)
		s.LargestWin = decimal.Max(s.LargestWin, pnl)
	case -1:
		s.Losses++
		s.GrossLoss = s.GrossLoss.Add(pnl)
		s.LargestLoss = decimal.Min(s.LargestLoss, pnl)
	}
	s.Realized = s.Realized.Add(pnl)
	s.Peak = decimal.Max(s.Peak, s.Realized)
	s.MaxDrawdown = decimal.Max(s.MaxDrawdown, s.Peak.Sub(s.Realized))
}
