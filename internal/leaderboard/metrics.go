// Package leaderboard ranks copy-trading leaders (issue 17 item 4, SPEC
// US-011 #3, #5) by what their recorded fills earned: return %, win rate,
// max drawdown, a Sharpe-like ratio and their number of followers, over
// 7, 30 and 90 days. The metrics are pure functions of the fills and a
// starting equity (this file); store.go reads the fills, writes the
// rankings the leaderboard-refresh schedule computes, and answers the API
// with the privacy rules applied.
//
// Definitions (DESIGN "Leaderboards (issue 17)"):
//
//   - Realized P&L: fills are replayed in time order per symbol at average
//     cost (long and short); a fill that reduces a position realizes
//     (price − average) × closed quantity (reversed for a short). Fills
//     before the window set the cost basis; only what is realized inside
//     the window counts.
//   - Return % = realized P&L in the window ÷ starting equity × 100.
//   - Daily equity E(d) = starting equity + realized P&L up to the end of
//     UTC day d, one point per day of the window (days without a close
//     repeat the previous value).
//   - Win rate % = closing fills with a positive realized P&L ÷ closing
//     fills × 100 (0 when nothing closed).
//   - Max drawdown % = the largest fall of E from its running peak
//     (starting equity included), ÷ that peak × 100; 0 when it only rose.
//   - Sharpe-like = mean ÷ sample standard deviation of the daily returns
//     r(d) = E(d) ÷ E(d−1) − 1 (E(−1) = starting equity), not annualized,
//     no risk-free rate; 0 with fewer than two days or no variation.
package leaderboard

import (
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Period is a leaderboard window.
type Period string

// The three windows.
const (
	Period7d  Period = "7d"
	Period30d Period = "30d"
	Period90d Period = "90d"
)

// Periods are the windows the refresh computes, shortest first.
var Periods = []Period{Period7d, Period30d, Period90d}

// ErrBadPeriod: not one of 7d, 30d, 90d.
var ErrBadPeriod = errors.New("period must be one of 7d, 30d, 90d")

// ParsePeriod parses "7d", "30d" or "90d".
func ParsePeriod(s string) (Period, error) {
	for _, p := range Periods {
		if s == string(p) {
			return p, nil
		}
	}
	return "", ErrBadPeriod
}

// Days is the window's length in days.
func (p Period) Days() int {
	switch p {
	case Period7d:
		return 7
	case Period30d:
		return 30
	case Period90d:
		return 90
	}
	return 0
}

// Window is the period ending at asOf: [from, asOf], from at the start of
// the UTC day Days()−1 days before asOf's day, so a window holds exactly
// Days() UTC days, the last one being asOf's (partial) day.
func (p Period) Window(asOf time.Time) (from time.Time) {
	d := asOf.UTC()
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	return day.AddDate(0, 0, -(p.Days() - 1))
}

// Fill is one recorded fill of a leader: Side buy or sell, Quantity > 0.
type Fill struct {
	At       time.Time
	Symbol   string
	Side     string
	Quantity decimal.Decimal
	Price    decimal.Decimal
}

// Point is one day of an equity curve (the day's start, UTC).
type Point struct {
	Day    time.Time       `json:"day"`
	Equity decimal.Decimal `json:"equity"`
}

// Metrics are a leader's numbers over one window.
type Metrics struct {
	StartEquity    decimal.Decimal
	RealizedPnL    decimal.Decimal
	ReturnPct      decimal.Decimal
	WinRatePct     decimal.Decimal
	MaxDrawdownPct decimal.Decimal
	Sharpe         decimal.Decimal
	Closes         int // closing fills in the window (the win rate's denominator)
	Fills          int // fills in the window
	Curve          []Point
}

// Scale is the number of decimal places of the metrics.
const Scale = 4

var hundred = decimal.NewFromInt(100)

type position struct {
	qty decimal.Decimal // signed: negative is short
	avg decimal.Decimal
}

// realized is one close: at, P&L.
type realized struct {
	at  time.Time
	pnl decimal.Decimal
}

// replay applies fills in time order at average cost and returns every
// close's realized P&L.
func replay(fills []Fill) []realized {
	fs := append([]Fill(nil), fills...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].At.Before(fs[j].At) })
	book := map[string]position{}
	var out []realized
	for _, f := range fs {
		if !f.Quantity.IsPositive() || !f.Price.IsPositive() {
			continue
		}
		q := f.Quantity
		if strings.EqualFold(f.Side, "sell") {
			q = q.Neg()
		} else if !strings.EqualFold(f.Side, "buy") {
			continue
		}
		p := book[f.Symbol]
		switch {
		case p.qty.IsZero() || p.qty.Sign() == q.Sign():
			// Open or add: new average cost.
			total := p.qty.Add(q)
			p.avg = p.avg.Mul(p.qty.Abs()).Add(f.Price.Mul(q.Abs())).Div(total.Abs())
			p.qty = total
		default:
			// Reduce, close or reverse.
			closed := decimal.Min(p.qty.Abs(), q.Abs())
			pnl := f.Price.Sub(p.avg).Mul(closed)
			if p.qty.IsNegative() {
				pnl = pnl.Neg()
			}
			out = append(out, realized{at: f.At, pnl: pnl})
			rest := p.qty.Add(q)
			switch {
			case rest.IsZero():
				p = position{}
			case rest.Sign() == p.qty.Sign():
				p.qty = rest // partial exit: the average stays
			default:
				p = position{qty: rest, avg: f.Price} // reversed: the rest opens at this price
			}
		}
		book[f.Symbol] = p
	}
	return out
}

// Compute is the metrics of fills over the window [from, asOf] given the
// equity at from (the fills may start before from: they set the cost
// basis). A non-positive starting equity gives zero ratios and a flat
// curve at zero plus P&L; callers do not rank such leaders.
func Compute(fills []Fill, startEquity decimal.Decimal, from, asOf time.Time) Metrics {
	from, asOf = from.UTC(), asOf.UTC()
	m := Metrics{StartEquity: startEquity}
	for _, f := range fills {
		if !f.At.Before(from) && !f.At.After(asOf) {
			m.Fills++
		}
	}
	closes := replay(fills)
	days := int(asOf.Sub(from)/(24*time.Hour)) + 1
	if days < 1 {
		days = 1
	}
	daily := make([]decimal.Decimal, days)
	wins := 0
	for _, r := range closes {
		if r.at.Before(from) || r.at.After(asOf) {
			continue
		}
		m.Closes++
		if r.pnl.IsPositive() {
			wins++
		}
		m.RealizedPnL = m.RealizedPnL.Add(r.pnl)
		d := int(r.at.UTC().Sub(from) / (24 * time.Hour))
		if d >= days {
			d = days - 1
		}
		daily[d] = daily[d].Add(r.pnl)
	}
	if m.Closes > 0 {
		m.WinRatePct = decimal.NewFromInt(int64(wins)).Mul(hundred).Div(decimal.NewFromInt(int64(m.Closes))).Round(Scale)
	}
	equity, peak := startEquity, startEquity
	var returns []decimal.Decimal
	maxDD := decimal.Zero
	for d := 0; d < days; d++ {
		prev := equity
		equity = equity.Add(daily[d])
		m.Curve = append(m.Curve, Point{Day: from.AddDate(0, 0, d), Equity: equity})
		if prev.IsPositive() {
			returns = append(returns, equity.Div(prev).Sub(decimal.NewFromInt(1)))
		}
		if equity.GreaterThan(peak) {
			peak = equity
		}
		if peak.IsPositive() {
			if dd := peak.Sub(equity).Div(peak); dd.GreaterThan(maxDD) {
				maxDD = dd
			}
		}
	}
	m.MaxDrawdownPct = maxDD.Mul(hundred).Round(Scale)
	if startEquity.IsPositive() {
		m.ReturnPct = m.RealizedPnL.Div(startEquity).Mul(hundred).Round(Scale)
		m.Sharpe = SharpeLike(returns).Round(Scale)
	}
	return m
}

// SharpeLike is mean ÷ sample standard deviation of returns; 0 with fewer
// than two returns or a zero deviation.
func SharpeLike(returns []decimal.Decimal) decimal.Decimal {
	n := len(returns)
	if n < 2 {
		return decimal.Zero
	}
	sum := decimal.Zero
	for _, r := range returns {
		sum = sum.Add(r)
	}
	mean := sum.Div(decimal.NewFromInt(int64(n)))
	ss := decimal.Zero
	for _, r := range returns {
		d := r.Sub(mean)
		ss = ss.Add(d.Mul(d))
	}
	sd := Sqrt(ss.Div(decimal.NewFromInt(int64(n - 1))))
	if sd.IsZero() {
		return decimal.Zero
	}
	return mean.Div(sd)
}

// Sqrt is the square root of x ≥ 0 by Newton's method to 24 places (0 for
// x ≤ 0); deterministic, no float.
func Sqrt(x decimal.Decimal) decimal.Decimal {
	if !x.IsPositive() {
		return decimal.Zero
	}
	const places = 24
	two := decimal.NewFromInt(2)
	g := x
	if g.LessThan(decimal.NewFromInt(1)) {
		g = decimal.NewFromInt(1)
	}
	for i := 0; i < 200; i++ {
		next := g.Add(x.DivRound(g, places)).DivRound(two, places)
		if next.Equal(g) {
			break
		}
		g = next
	}
	return g
}
