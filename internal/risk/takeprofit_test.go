package risk

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestTakeProfitTarget(t *testing.T) {
	d := decimal.RequireFromString
	for _, tc := range []struct {
		name  string
		sig   signal.Signal
		side  signal.Side
		fill  string
		want  string
		price string // a price at which it is reached
		not   string // a price at which it is not
	}{
		{"long, percent above the fill", signal.Signal{TakeProfitPercent: d("5")}, signal.SideBuy, "180", "189", "189", "188.99"},
		{"short, percent below the fill", signal.Signal{TakeProfitPercent: d("10")}, signal.SideSell, "250", "225", "224", "225.01"},
		{"price given", signal.Signal{TakeProfitPrice: d("220")}, signal.SideBuy, "200", "220", "221", "219"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := TakeProfitTarget(tc.sig, tc.side, d(tc.fill))
			if !got.Equal(d(tc.want)) {
				t.Fatalf("target %s, want %s", got, tc.want)
			}
			if !TakeProfitReached(tc.side, d(tc.price), got) || TakeProfitReached(tc.side, d(tc.not), got) {
				t.Fatalf("reached wrong at %s / %s for target %s", tc.price, tc.not, got)
			}
		})
	}
	if (signal.Signal{TakeProfitPercent: d("5"), TakeProfitOf: "t1"}).HasTakeProfit() {
		t.Fatal("the exit that takes a profit has none of its own")
	}
}
