package alpaca

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Each time in force goes out as Alpaca's documented time_in_force value,
// as asked (docs.alpaca.markets, Orders: day, gtc, opg, cls, ioc, fok).
func TestTimeInForceOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		class signal.AssetClass
		tif   broker.TimeInForce
		want  string
	}{
		{signal.AssetStock, "", "day"}, {signal.AssetStock, broker.TIFDay, "day"}, {signal.AssetStock, broker.TIFGTC, "gtc"},
		{signal.AssetStock, broker.TIFIOC, "ioc"}, {signal.AssetStock, broker.TIFFOK, "fok"},
		{signal.AssetStock, broker.TIFOPG, "opg"}, {signal.AssetStock, broker.TIFCLS, "cls"},
		{signal.AssetCrypto, "", "gtc"}, {signal.AssetCrypto, broker.TIFIOC, "ioc"}, {signal.AssetCrypto, broker.TIFFOK, ""},
		{signal.AssetCrypto, broker.TIFOPG, ""}, {signal.AssetStock, "gtd", ""},
	} {
		sym := "AAPL"
		if tc.class == signal.AssetCrypto {
			sym = "BTC-USD"
		}
		w, err := toCreateOrder(broker.OrderRequest{ClientOrderID: "te-1", Symbol: sym, AssetClass: tc.class, Side: signal.SideBuy,
			Type: signal.OrderMarket, Quantity: decimal.NewFromInt(1), TimeInForce: tc.tif}, nil)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%s %q: sent as %q, want refused", tc.class, tc.tif, w.TimeInForce)
			}
			continue
		}
		if err != nil || w.TimeInForce != tc.want {
			t.Errorf("%s %q: time_in_force %q (%v), want %q", tc.class, tc.tif, w.TimeInForce, err, tc.want)
		}
	}
}
