package leaderboard

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func at(day int, hour int) time.Time {
	return day0.AddDate(0, 0, day).Add(time.Duration(hour) * time.Hour)
}

func fill(day, hour int, symbol, side, qty, price string) Fill {
	return Fill{At: at(day, hour), Symbol: symbol, Side: side, Quantity: d(qty), Price: d(price)}
}

func TestCompute(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		fills                     []Fill
		start                     string
		from, asOf                time.Time
		pnl, ret, win, dd, sharpe string
		closes, nfills            int
		last                      string // the curve's last equity
	}{{
		// +100 on 10,000 on day 1 of 7: returns [0, .01, 0, 0, 0, 0, 0],
		// mean .01/7, sample sd .01/√7: Sharpe-like 1/√7.
		name:  "one winning round trip",
		fills: []Fill{fill(0, 15, "AAPL", "buy", "10", "100"), fill(1, 15, "AAPL", "sell", "10", "110")},
		start: "10000", from: day0, asOf: at(6, 20),
		pnl: "100", ret: "1", win: "100", dd: "0", sharpe: "0.378", closes: 1, nfills: 2, last: "10100",
	}, {
		// 1000 → 900 → 1000: a 10% drawdown, one win one loss; returns
		// [0, −.1, 1/9] give a Sharpe-like 1/√813.
		name: "loss then win: drawdown from the starting peak",
		fills: []Fill{fill(0, 14, "NVDA", "buy", "10", "100"), fill(1, 14, "NVDA", "sell", "5", "80"),
			fill(2, 14, "NVDA", "sell", "5", "120")},
		start: "1000", from: day0, asOf: at(2, 23),
		pnl: "0", ret: "0", win: "50", dd: "10", sharpe: "0.0351", closes: 2, nfills: 3, last: "1000",
	}, {
		name:  "short: sell high, buy back lower",
		fills: []Fill{fill(0, 14, "TSLA", "sell", "10", "50"), fill(0, 16, "TSLA", "buy", "10", "40")},
		start: "5000", from: day0, asOf: at(0, 23),
		pnl: "100", ret: "2", win: "100", dd: "0", sharpe: "0", closes: 1, nfills: 2, last: "5100",
	}, {
		// Long 10 @ 10, sell 15 @ 12: +20 and short 5 @ 12; buy 5 @ 13: −5.
		name: "reversal opens the rest at the fill price",
		fills: []Fill{fill(0, 10, "X", "buy", "10", "10"), fill(0, 11, "X", "sell", "15", "12"),
			fill(0, 12, "X", "buy", "5", "13")},
		start: "1000", from: day0, asOf: at(0, 23),
		pnl: "15", ret: "1.5", win: "50", dd: "0", sharpe: "0", closes: 2, nfills: 3, last: "1015",
	}, {
		// Average 105 after the add; +5×10, then −15×5.
		name: "partial exit keeps the average cost",
		fills: []Fill{fill(0, 10, "X", "buy", "10", "100"), fill(0, 11, "X", "buy", "10", "110"),
			fill(0, 12, "X", "sell", "5", "115"), fill(0, 13, "X", "sell", "15", "100")},
		start: "10000", from: day0, asOf: at(0, 23),
		pnl: "-25", ret: "-0.25", win: "50", dd: "0.25", sharpe: "0", closes: 2, nfills: 4, last: "9975",
	}, {
		name:  "an entry before the window sets the cost basis; only the close inside counts",
		fills: []Fill{fill(-3, 10, "X", "buy", "10", "100"), fill(1, 10, "X", "sell", "10", "90")},
		start: "1000", from: day0, asOf: at(1, 23),
		pnl: "-100", ret: "-10", win: "0", dd: "10", sharpe: "-0.7071", // returns [0, −.1]: −1/√2
		closes: 1, nfills: 1, last: "900",
	}, {
		name:  "a close before the window is not counted",
		fills: []Fill{fill(-3, 10, "X", "buy", "10", "100"), fill(-2, 10, "X", "sell", "10", "150"), fill(0, 10, "X", "buy", "1", "150")},
		start: "1000", from: day0, asOf: at(1, 23),
		pnl: "0", ret: "0", win: "0", dd: "0", sharpe: "0", closes: 0, nfills: 1, last: "1000",
	}, {
		name:  "symbols are separate books",
		fills: []Fill{fill(0, 10, "A", "buy", "1", "10"), fill(0, 11, "B", "sell", "1", "20"), fill(0, 12, "A", "sell", "1", "12")},
		start: "100", from: day0, asOf: at(0, 23),
		pnl: "2", ret: "2", win: "100", dd: "0", sharpe: "0", closes: 1, nfills: 3, last: "102",
	}, {
		name:  "unknown starting equity: no ratios",
		fills: []Fill{fill(0, 10, "A", "buy", "1", "10"), fill(1, 11, "A", "sell", "1", "12")},
		start: "0", from: day0, asOf: at(1, 23),
		pnl: "2", ret: "0", win: "100", dd: "0", sharpe: "0", closes: 1, nfills: 2, last: "2",
	}, {
		name:  "a fill after asOf is ignored",
		fills: []Fill{fill(0, 10, "A", "buy", "1", "10"), fill(2, 11, "A", "sell", "1", "12")},
		start: "100", from: day0, asOf: at(1, 23),
		pnl: "0", ret: "0", win: "0", dd: "0", sharpe: "0", closes: 0, nfills: 1, last: "100",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			m := Compute(tc.fills, d(tc.start), tc.from, tc.asOf)
			eq := func(field, want string, got decimal.Decimal) {
				require.True(t, d(want).Equal(got), "%s: want %s, got %s", field, want, got)
			}
			eq("realized", tc.pnl, m.RealizedPnL)
			eq("return", tc.ret, m.ReturnPct)
			eq("win rate", tc.win, m.WinRatePct)
			eq("drawdown", tc.dd, m.MaxDrawdownPct)
			eq("sharpe", tc.sharpe, m.Sharpe)
			require.Equal(t, tc.closes, m.Closes)
			require.Equal(t, tc.nfills, m.Fills)
			days := int(tc.asOf.Sub(tc.from)/(24*time.Hour)) + 1
			require.Len(t, m.Curve, days)
			require.True(t, m.Curve[0].Day.Equal(tc.from))
			eq("last equity", tc.last, m.Curve[len(m.Curve)-1].Equity)
		})
	}
}

func TestParsePeriodAndWindow(t *testing.T) {
	for in, days := range map[string]int{"7d": 7, "30d": 30, "90d": 90} {
		p, err := ParsePeriod(in)
		require.NoError(t, err)
		require.Equal(t, days, p.Days())
		asOf := time.Date(2026, 12, 4, 11, 0, 0, 0, time.UTC)
		from := p.Window(asOf)
		require.Equal(t, 0, from.Hour())
		require.Equal(t, days, int(asOf.Sub(from)/(24*time.Hour))+1, in)
	}
	for _, bad := range []string{"", "7", "1d", "30D", "365d"} {
		_, err := ParsePeriod(bad)
		require.ErrorIs(t, err, ErrBadPeriod, bad)
	}
}

func TestSqrtAndSharpeLike(t *testing.T) {
	for x, want := range map[string]string{"0": "0", "-4": "0", "4": "2", "2": "1.414213562373095", "0.0001": "0.01", "1e6": "1000"} {
		require.Equal(t, want, Sqrt(d(x)).Round(15).String(), x)
	}
	// Returns 1%, 3%: mean 2%, sample sd √2 %: 2/√2 = √2.
	require.Equal(t, "1.4142", SharpeLike([]decimal.Decimal{d("0.01"), d("0.03")}).Round(4).String())
	require.True(t, SharpeLike([]decimal.Decimal{d("0.01")}).IsZero(), "one return")
	require.True(t, SharpeLike([]decimal.Decimal{d("0.01"), d("0.01")}).IsZero(), "no deviation")
	// Negative mean: negative ratio.
	require.Equal(t, "-1.4142", SharpeLike([]decimal.Decimal{d("-0.01"), d("-0.03")}).Round(4).String())
}
