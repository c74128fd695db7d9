package performance

import (
	"testing"

	"github.com/shopspring/decimal"
)

var d = decimal.RequireFromString

type step struct {
	side, qty, notional, source string
	pnl                         string // realized P&L of the fill, "" when it closes nothing
	pieces                      []Piece
}

// run applies fills in order as RecordFill does (closed lots dropped,
// opened lots appended) and returns the lots left.
func run(t *testing.T, steps []step) []Lot {
	t.Helper()
	var lots []Lot
	for i, s := range steps {
		out := Match(lots, Fill{Side: s.side, Quantity: d(s.qty), Notional: d(s.notional), Source: s.source})
		if s.pnl == "" {
			if out.Closed {
				t.Fatalf("step %d: closed with P&L %s, want nothing closed", i, out.PnL)
			}
		} else if !out.Closed || !out.PnL.Equal(d(s.pnl)) {
			t.Fatalf("step %d: P&L %s (closed %v), want %s", i, out.PnL, out.Closed, s.pnl)
		}
		if s.pieces != nil {
			if len(out.Pieces) != len(s.pieces) {
				t.Fatalf("step %d: pieces %v, want %v", i, out.Pieces, s.pieces)
			}
			for j, p := range s.pieces {
				if out.Pieces[j].Source != p.Source || !out.Pieces[j].PnL.Equal(p.PnL) || (!p.Cost.IsZero() && !out.Pieces[j].Cost.Equal(p.Cost)) {
					t.Fatalf("step %d: pieces %v, want %v", i, out.Pieces, s.pieces)
				}
			}
		}
		lots = lots[:0:0]
		for _, l := range out.Lots {
			if l.Quantity.IsPositive() {
				lots = append(lots, l)
			}
		}
		if out.Opened != nil {
			lots = append(lots, *out.Opened)
		}
	}
	return lots
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		open  []Lot // Side, Quantity, Cost, Source of the lots left
	}{
		{"long win", []step{{"buy", "10", "1000", "tv", "", nil}, {"sell", "10", "1100", "tv", "100", nil}}, nil},
		{"long loss", []step{{"buy", "2", "200", "tv", "", nil}, {"sell", "2", "150.5", "tv", "-49.5", nil}}, nil},
		{"partial exits of one lot are exact in total", []step{
			{"buy", "3", "100", "tv", "", nil},
			{"sell", "1", "40", "tv", "6.666666666666666667", nil},
			{"sell", "2", "80", "tv", "13.333333333333333333", nil}}, nil},
		{"partial exit leaves the rest open", []step{
			{"buy", "4", "400", "tv", "", nil}, {"sell", "1", "120", "tv", "20", nil}},
			[]Lot{{Side: Long, Quantity: d("3"), Cost: d("300"), Source: "tv"}}},
		{"FIFO: the oldest lot closes first", []step{
			{"buy", "1", "10", "tv", "", nil}, {"buy", "1", "20", "tv", "", nil},
			{"sell", "1", "15", "tv", "5", nil}, {"sell", "1", "15", "tv", "-5", nil}}, nil},
		{"one exit across lots of two sources", []step{
			{"buy", "1", "10", "discord", "", nil}, {"buy", "1", "20", "tv", "", nil},
			{"sell", "2", "30", "tv", "0", []Piece{{"discord", d("5"), d("10")}, {"tv", d("-5"), d("20")}}}}, nil},
		{"short win", []step{{"sell", "2", "100", "tv", "", nil}, {"buy", "2", "80", "tv", "20", nil}}, nil},
		{"short loss, partial cover", []step{{"sell", "2", "100", "tv", "", nil}, {"buy", "1", "60", "tv", "-10", nil}},
			[]Lot{{Side: Short, Quantity: d("1"), Cost: d("50"), Source: "tv"}}},
		{"sell beyond the long flips to a short", []step{
			{"buy", "1", "10", "tv", "", nil}, {"sell", "3", "36", "discord", "2", nil}, {"buy", "2", "22", "tv", "2", []Piece{{"discord", d("2"), d("24")}}}}, nil},
		{"fractional crypto sizes", []step{
			{"buy", "0.00123456", "51.85152", "tv", "", nil}, {"sell", "0.00023456", "10.08608", "tv", "0.23456", nil}},
			[]Lot{{Side: Long, Quantity: d("0.001"), Cost: d("42"), Source: "tv"}}},
		{"an inexact cost share is rounded to 18 places, the rest kept exactly", []step{
			{"buy", "0.00123456", "52.0981", "tv", "", nil}, {"sell", "0.00023456", "10.2345", "tv", "0.336131078278900985", nil}},
			[]Lot{{Side: Long, Quantity: d("0.001"), Cost: d("42.199731078278900985"), Source: "tv"}}},
		{"a buy with no short lots only opens", []step{{"buy", "1", "5", "tv", "", nil}, {"buy", "1", "6", "tv", "", nil}},
			[]Lot{{Side: Long, Quantity: d("1"), Cost: d("5"), Source: "tv"}, {Side: Long, Quantity: d("1"), Cost: d("6"), Source: "tv"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lots := run(t, tc.steps)
			if len(lots) != len(tc.open) {
				t.Fatalf("open lots %+v, want %+v", lots, tc.open)
			}
			for i, w := range tc.open {
				g := lots[i]
				if g.Side != w.Side || !g.Quantity.Equal(w.Quantity) || !g.Cost.Equal(w.Cost) || g.Source != w.Source {
					t.Fatalf("lot %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestStatsAdd(t *testing.T) {
	for _, tc := range []struct {
		name                                string
		pnls                                []string
		wins, losses                        int64
		realized, largestWin, largestLoss   string
		grossProfit, grossLoss, maxDrawdown string
	}{
		{"drawdown from the running peak", []string{"100", "-30", "-50", "40", "-100", "200"}, 3, 3, "160", "200", "-100", "340", "-180", "140"},
		{"a first loss is a drawdown from zero", []string{"-10", "5"}, 1, 1, "-5", "5", "-10", "5", "-10", "10"},
		{"only wins: no drawdown", []string{"1.5", "2.25"}, 2, 0, "3.75", "2.25", "0", "3.75", "0", "0"},
		{"breakeven counts as a trade only", []string{"0", "10"}, 1, 0, "10", "10", "0", "10", "0", "0"},
		{"new peak resets the fall, max kept", []string{"50", "-20", "100", "-10"}, 2, 2, "120", "100", "-20", "150", "-30", "20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Stats
			for _, p := range tc.pnls {
				s.Add(d(p))
			}
			if s.ClosedTrades != int64(len(tc.pnls)) || s.Wins != tc.wins || s.Losses != tc.losses {
				t.Fatalf("counts %d/%d/%d", s.ClosedTrades, s.Wins, s.Losses)
			}
			for _, c := range []struct {
				what      string
				got, want decimal.Decimal
			}{{"realized", s.Realized, d(tc.realized)}, {"largest win", s.LargestWin, d(tc.largestWin)}, {"largest loss", s.LargestLoss, d(tc.largestLoss)},
				{"gross profit", s.GrossProfit, d(tc.grossProfit)}, {"gross loss", s.GrossLoss, d(tc.grossLoss)}, {"max drawdown", s.MaxDrawdown, d(tc.maxDrawdown)}} {
				if !c.got.Equal(c.want) {
					t.Errorf("%s = %s, want %s", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestIncrement(t *testing.T) {
	for _, tc := range []struct {
		name                           string
		oldQty, oldAvg, newQty, newAvg string
		qty, notional                  string
	}{
		{"first fill", "0", "0", "5", "100", "5", "500"},
		{"second partial at another price", "5", "100", "8", "101.875", "3", "315"},
		{"nothing new", "8", "101", "8", "101", "0", "0"},
		{"inconsistent rounded average falls back", "5", "100", "6", "83.3", "1", "83.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, n := Increment(d(tc.oldQty), d(tc.oldAvg), d(tc.newQty), d(tc.newAvg))
			if !q.Equal(d(tc.qty)) || !n.Equal(d(tc.notional)) {
				t.Fatalf("Increment = %s, %s; want %s, %s", q, n, tc.qty, tc.notional)
			}
		})
	}
}
