package activities

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestPlanOrderReversal(t *testing.T) {
	d := decimal.RequireFromString
	buy := func(qty string) signal.Signal {
		return signal.Signal{Symbol: "AAPL", Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: d(qty), QuantityType: signal.QtyFixed}
	}
	sell := func(qty string) signal.Signal {
		return signal.Signal{Symbol: "AAPL", Action: signal.ActionSell, Side: signal.SideSell, Quantity: d(qty), QuantityType: signal.QtyFixed}
	}
	off, on := risk.DefaultSettings(), risk.DefaultSettings()
	on.AllowReversal = true
	entry := buy("10")
	entry.ReversalOf = "t1"
	sized := buy("0")
	sized.QuantityType = signal.QtyDefault
	for _, tc := range []struct {
		name     string
		sig      signal.Signal
		position string
		settings risk.Settings
		side     signal.Side
		qty      string
		reverse  bool
		noop     bool
	}{
		{"buy while flat opens", buy("10"), "0", off, signal.SideBuy, "10", false, false},
		{"buy while long adds", buy("10"), "5", off, signal.SideBuy, "10", false, false},
		{"buy smaller than the short covers part of it", buy("3"), "-5", off, signal.SideBuy, "3", false, false},
		{"buy equal to the short covers it", buy("5"), "-5", off, signal.SideBuy, "5", false, false},
		{"buy through flat, reversals off: exit only", buy("10"), "-5", off, signal.SideBuy, "5", false, false},
		{"buy through flat, reversals on: exit, then entry", buy("10"), "-5", on, signal.SideBuy, "5", true, false},
		{"sell through flat, reversals on", sell("8"), "4", on, signal.SideSell, "4", true, false},
		{"risk-sized buy while short exits first", sized, "-5", on, signal.SideBuy, "5", true, false},
		{"the entry after an exit only opens", entry, "0", on, signal.SideBuy, "10", false, false},
		{"the entry is not sent when the position is not flat", entry, "-2", on, signal.SideBuy, "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planOrder(tc.sig, d(tc.position), tc.settings)
			if tc.noop {
				if got.noop == "" {
					t.Fatalf("want nothing sent, got %+v", got)
				}
				return
			}
			if got.noop != "" || got.side != tc.side || !got.qty.Equal(d(tc.qty)) || got.reverse != tc.reverse {
				t.Fatalf("got side %s qty %s reverse %v noop %q; want %s %s %v", got.side, got.qty, got.reverse, got.noop, tc.side, tc.qty, tc.reverse)
			}
			if d(tc.position).IsNegative() && tc.qty == "5" && tc.sig.Quantity.GreaterThan(d("5")) && got.note == "" {
				t.Fatal("an exit in place of the signal's order says why")
			}
		})
	}
}
