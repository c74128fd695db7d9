package schwab

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Schwab Trader API order durations as asked; extended hours is session
// SEAMLESS; opg/cls are refused (no such duration).
func TestTimeInForceOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		tif  broker.TimeInForce
		want string
	}{
		{"", "DAY"}, {broker.TIFDay, "DAY"}, {broker.TIFGTC, "GOOD_TILL_CANCEL"}, {broker.TIFIOC, "IMMEDIATE_OR_CANCEL"},
		{broker.TIFFOK, "FILL_OR_KILL"}, {broker.TIFOPG, ""}, {broker.TIFCLS, ""},
	} {
		o, err := toWireOrder(broker.OrderRequest{Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
			Type: signal.OrderMarket, TimeInForce: tc.tif}, decimal.NewFromInt(1))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: sent as %q, want refused", tc.tif, o.Duration)
			}
			continue
		}
		if err != nil || o.Duration != tc.want {
			t.Errorf("%q: duration %q (%v), want %q", tc.tif, o.Duration, err, tc.want)
		}
	}
	o, err := toWireOrder(broker.OrderRequest{Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
		Type: signal.OrderLimit, LimitPrice: decimal.NewFromInt(190), ExtendedHours: true}, decimal.NewFromInt(1))
	if err != nil || o.Session != "SEAMLESS" {
		t.Errorf("extended hours: session %q (%v), want SEAMLESS", o.Session, err)
	}
}
