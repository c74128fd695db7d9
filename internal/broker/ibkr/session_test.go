package ibkr

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// IBKR Client Portal order tif as asked (DAY, GTC, IOC, OPG); fok and cls
// are refused; extended hours is outsideRTH.
func TestTimeInForceOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		tif  broker.TimeInForce
		want string
	}{
		{"", "DAY"}, {broker.TIFDay, "DAY"}, {broker.TIFGTC, "GTC"}, {broker.TIFIOC, "IOC"}, {broker.TIFOPG, "OPG"},
		{broker.TIFFOK, ""}, {broker.TIFCLS, ""},
	} {
		w, err := toTicket(broker.OrderRequest{ClientOrderID: "te-1", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
			Type: signal.OrderMarket, TimeInForce: tc.tif}, "U1", 265598, decimal.NewFromInt(1))
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: sent as %q, want refused", tc.tif, w.TIF)
			}
			continue
		}
		if err != nil || w.TIF != tc.want {
			t.Errorf("%q: tif %q (%v), want %q", tc.tif, w.TIF, err, tc.want)
		}
	}
	w, err := toTicket(broker.OrderRequest{ClientOrderID: "te-1", Symbol: "AAPL", AssetClass: signal.AssetStock, Side: signal.SideBuy,
		Type: signal.OrderLimit, LimitPrice: decimal.NewFromInt(190), ExtendedHours: true}, "U1", 265598, decimal.NewFromInt(1))
	if err != nil || !w.OutsideRTH {
		t.Errorf("extended hours: outsideRTH %v (%v), want true", w.OutsideRTH, err)
	}
}
