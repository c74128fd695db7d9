package risk

import (
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestCheckConcurrent(t *testing.T) {
	buy, sell := signal.SideBuy, signal.SideSell
	tests := []struct {
		name     string
		side     signal.Side
		recent   []RecentOrder
		combined int
		message  string // non-empty: a conflict
	}{
		{"first signal", buy, nil, 0, ""},
		{"same side 2 s earlier combines", buy, []RecentOrder{{Side: buy, Gap: 2 * time.Second}}, 1, ""},
		{"same side, arrival order reversed", buy, []RecentOrder{{Side: buy, Gap: -3 * time.Second}}, 1, ""},
		{"two same-side signals", sell, []RecentOrder{{Side: sell, Gap: time.Second}, {Side: sell, Gap: 4 * time.Second}}, 2, ""},
		{"exactly 5 s apart is outside the window", buy, []RecentOrder{{Side: sell, Gap: 5 * time.Second}}, 0, ""},
		{"opposite side 4.9 s earlier conflicts", sell, []RecentOrder{{Side: buy, Gap: 4900 * time.Millisecond}},
			0, "Conflicting signals for AAPL within 5 seconds: a buy is already being executed, so this sell was not placed."},
		{"a conflict wins over a combination", buy, []RecentOrder{{Side: buy, Gap: time.Second}, {Side: sell, Gap: 2 * time.Second}},
			0, "Conflicting signals for AAPL within 5 seconds: a sell is already being executed, so this buy was not placed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := CheckConcurrent("AAPL", tt.side, tt.recent)
			if tt.message != "" {
				assertRejection(t, err, CodeConflictingSignal, tt.message)
				return
			}
			if err != nil || n != tt.combined {
				t.Errorf("CheckConcurrent() = %d, %v; want %d, nil", n, err, tt.combined)
			}
		})
	}
}

func TestCombinedNote(t *testing.T) {
	if got := CombinedNote("AAPL", signal.SideBuy, 0); got != "" {
		t.Errorf("n=0: %q", got)
	}
	if got := CombinedNote("AAPL", signal.SideBuy, 1); got != "Combined with 1 earlier buy signal for AAPL within 5 seconds; the max position rule applies to the total." {
		t.Errorf("n=1: %q", got)
	}
	if got := CombinedNote("BTC-USD", signal.SideSell, 3); got != "Combined with 3 earlier sell signals for BTC-USD within 5 seconds; the max position rule applies to the total." {
		t.Errorf("n=3: %q", got)
	}
}

func TestExposedPosition(t *testing.T) {
	buy, sell := signal.SideBuy, signal.SideSell
	pending := []PendingOrder{{Side: buy, Quantity: dec("5")}, {Side: sell, Quantity: dec("3")}, {Side: buy, Quantity: dec("2")}, {Side: buy, Quantity: dec("0")}}
	tests := []struct {
		name     string
		side     signal.Side
		position string
		want     string
	}{
		{"buys add pending buys", buy, "10", "17"},
		{"sells take pending sells", sell, "10", "7"},
		{"short side", sell, "-4", "-7"},
		{"flat, buying", buy, "0", "7"},
	}
	for _, tt := range tests {
		if got := ExposedPosition(tt.side, dec(tt.position), pending); !got.Equal(dec(tt.want)) {
			t.Errorf("%s: ExposedPosition() = %s, want %s", tt.name, got, tt.want)
		}
	}
	// Combined with Size: ten 1-share buys of AAPL at $180 on $18,000 at a
	// 10% max position fit exactly; the eleventh is refused.
	var inflight []PendingOrder
	for i := 0; i < 11; i++ {
		res, err := Size(SizeRequest{Symbol: "AAPL", AssetClass: signal.AssetStock, Side: buy, QuantityType: signal.QtyFixed,
			Quantity: dec("1"), Price: dec("180"), Equity: dec("18000"), Settings: DefaultSettings(),
			CurrentPositionQty: ExposedPosition(buy, dec("0"), inflight)})
		if i < 10 {
			if err != nil || !res.Quantity.Equal(dec("1")) {
				t.Fatalf("order %d: %+v, %v", i+1, res, err)
			}
			inflight = append(inflight, PendingOrder{Side: buy, Quantity: res.Quantity})
			continue
		}
		if CodeOf(err) != CodePositionLimit {
			t.Errorf("order 11: %+v, %v; want a position limit rejection", res, err)
		}
	}
}
