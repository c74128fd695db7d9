package risk

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestStopLossPrice(t *testing.T) {
	tests := []struct {
		name            string
		side            signal.Side
		fill, pct, tick string
		want            string
	}{
		{"SPEC US-006 #2: TSLA long @ $250, 2% → $245", signal.SideBuy, "250", "2", "0.01", "245"},
		{"short @ $250, 2% → $255", signal.SideSell, "250", "2", "0.01", "255"},
		{"long rounds up, toward the fill", signal.SideBuy, "180.37", "2", "0.01", "176.77"},     // 176.7626
		{"short rounds down, toward the fill", signal.SideSell, "180.37", "2", "0.01", "183.97"}, // 183.9774
		{"long exact on tick", signal.SideBuy, "100", "2.5", "0.01", "97.5"},
		{"fractional percent", signal.SideBuy, "99.99", "1.75", "0.01", "98.25"},     // 98.240175
		{"sub-dollar stock tick", signal.SideBuy, "0.5123", "2", "0.0001", "0.5021"}, // 0.502054
		{"crypto without rounding", signal.SideBuy, "65000.5", "2", "0", "63700.49"},
		{"short without rounding", signal.SideSell, "0.123456789", "2", "0", "0.12592592478"},
		{"crypto tick", signal.SideSell, "65000.5", "3", "0.5", "66950.5"}, // 66950.515
		{"tiny percent would round onto the fill: one tick away (long)", signal.SideBuy, "10", "0.01", "0.01", "9.99"},
		{"tiny percent would round onto the fill: one tick away (short)", signal.SideSell, "10", "0.01", "0.01", "10.01"},
		{"fill off the tick grid (long)", signal.SideBuy, "10.005", "0.01", "0.01", "10"},
		{"fill off the tick grid (short)", signal.SideSell, "10.005", "0.01", "0.01", "10.01"},
		{"no rounding needed", signal.SideBuy, "50", "10", "0.01", "45"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StopLossPrice(tt.side, dec(tt.fill), dec(tt.pct), dec(tt.tick))
			if err != nil {
				t.Fatalf("StopLossPrice() error = %v", err)
			}
			if !got.Equal(dec(tt.want)) {
				t.Errorf("StopLossPrice() = %s, want %s", got, tt.want)
			}
			// The stop is never further from the fill than pct, except by the
			// one-tick fallback.
			maxDist := dec(tt.fill).Mul(dec(tt.pct)).Shift(-2)
			if dist := got.Sub(dec(tt.fill)).Abs(); dist.GreaterThan(maxDist) && dist.GreaterThan(dec(tt.tick)) {
				t.Errorf("stop %s is %s from the fill, more than %s", got, dist, maxDist)
			}
		})
	}
}

func TestStopLossPriceRejects(t *testing.T) {
	tests := []struct {
		name            string
		side            signal.Side
		fill, pct, tick string
		message         string
	}{
		{"zero percent", signal.SideBuy, "100", "0", "0.01", "Stop loss must be greater than 0% and less than 100%"},
		{"100 percent", signal.SideBuy, "100", "100", "0.01", "Stop loss must be greater than 0% and less than 100%"},
		{"zero fill", signal.SideBuy, "0", "2", "0.01", "Fill price must be greater than 0"},
		{"unknown side", signal.Side("flat"), "100", "2", "0.01", `Unsupported order side "flat"`},
		{"fill of one tick", signal.SideBuy, "0.01", "2", "0.01", "No stop loss price exists below $0.01 at a $0.01 tick size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := StopLossPrice(tt.side, dec(tt.fill), dec(tt.pct), dec(tt.tick))
			assertRejection(t, err, CodeInvalidOrder, tt.message)
		})
	}
}

func TestStockTick(t *testing.T) {
	for _, tt := range []struct{ price, want string }{
		{"250", "0.01"}, {"1", "0.01"}, {"0.9999", "0.0001"}, {"0.05", "0.0001"},
	} {
		if got := StockTick(dec(tt.price)); !got.Equal(dec(tt.want)) {
			t.Errorf("StockTick(%s) = %s, want %s", tt.price, got, tt.want)
		}
	}
}
