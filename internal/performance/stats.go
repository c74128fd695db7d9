package performance

import "github.com/shopspring/decimal"

// Stats is the running aggregate of one scope's closed trades. A closed
// trade is one exit's round trip (all fill increments of one exit trade or
// broker order), whatever the number of increments it filled in.
type Stats struct {
	ClosedTrades int64
	Wins         int64
	Losses       int64
	GrossProfit  decimal.Decimal // sum of winning closed trades
	GrossLoss    decimal.Decimal // sum of losing closed trades (≤ 0)
	Realized     decimal.Decimal // cumulative realized P&L
	LargestWin   decimal.Decimal // ≥ 0
	LargestLoss  decimal.Decimal // ≤ 0
	Peak         decimal.Decimal // highest Realized so far, from 0
	MaxDrawdown  decimal.Decimal // largest fall of Realized from a peak (≥ 0)
	SumReturn    decimal.Decimal // sum of the closed trades' returns (P&L ÷ cost basis)
}

// Closed is one closed trade as counted: its realized P&L and its return
// (P&L ÷ cost basis, a fraction).
type Closed struct {
	PnL    decimal.Decimal
	Return decimal.Decimal
}

// ReturnOf is pnl ÷ cost rounded to Scale places (0 without a cost basis).
func ReturnOf(pnl, cost decimal.Decimal) decimal.Decimal {
	if !cost.IsPositive() {
		return decimal.Zero
	}
	return pnl.DivRound(cost, Scale)
}

// Add counts one closed trade with realized P&L pnl (return 0). A close at
// exactly zero is neither a win nor a loss but counts as a trade. The
// drawdown is measured on the cumulative realized P&L curve, which starts
// at 0.
func (s *Stats) Add(pnl decimal.Decimal) {
	s.Revise(nil, Closed{PnL: pnl, Return: decimal.Zero}, pnl)
}

// Revise applies a fill increment of one exit that realized delta: the
// exit's closed trade was prev (nil: this is its first increment, a new
// closed trade) and is next now. stale is true when the largest win or loss
// was prev and shrank: the caller recomputes them from the scope's closed
// trades (LargestWin, LargestLoss are left as they were).
func (s *Stats) Revise(prev *Closed, next Closed, delta decimal.Decimal) (stale bool) {
	if prev == nil {
		s.ClosedTrades++
	} else {
		switch prev.PnL.Sign() {
		case 1:
			s.Wins--
			s.GrossProfit = s.GrossProfit.Sub(prev.PnL)
			stale = prev.PnL.Equal(s.LargestWin) && next.PnL.LessThan(prev.PnL)
		case -1:
			s.Losses--
			s.GrossLoss = s.GrossLoss.Sub(prev.PnL)
			stale = prev.PnL.Equal(s.LargestLoss) && next.PnL.GreaterThan(prev.PnL)
		}
		s.SumReturn = s.SumReturn.Sub(prev.Return)
	}
	switch next.PnL.Sign() {
	case 1:
		s.Wins++
		s.GrossProfit = s.GrossProfit.Add(next.PnL)
		s.LargestWin = decimal.Max(s.LargestWin, next.PnL)
	case -1:
		s.Losses++
		s.GrossLoss = s.GrossLoss.Add(next.PnL)
		s.LargestLoss = decimal.Min(s.LargestLoss, next.PnL)
	}
	s.SumReturn = s.SumReturn.Add(next.Return)
	s.Realized = s.Realized.Add(delta)
	s.Peak = decimal.Max(s.Peak, s.Realized)
	s.MaxDrawdown = decimal.Max(s.MaxDrawdown, s.Peak.Sub(s.Realized))
	return stale
}
