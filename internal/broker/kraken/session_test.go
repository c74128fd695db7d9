package kraken

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Kraken AddOrder's timeinforce (GTC, IOC) for limit orders, none for
// market orders; anything else is refused, not sent as GTC.
func TestTimeInForceOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		typ  signal.OrderType
		tif  broker.TimeInForce
		want string
		ok   bool
	}{
		{signal.OrderLimit, "", "GTC", true}, {signal.OrderLimit, broker.TIFGTC, "GTC", true}, {signal.OrderLimit, broker.TIFIOC, "IOC", true},
		{signal.OrderLimit, broker.TIFFOK, "", false}, {signal.OrderMarket, "", "", true}, {signal.OrderMarket, broker.TIFGTC, "", true},
		{signal.OrderMarket, broker.TIFIOC, "", false}, {signal.OrderMarket, broker.TIFFOK, "", false},
	} {
		_, tif, err := wireOrderSpec(broker.OrderRequest{Type: tc.typ, TimeInForce: tc.tif})
		if (err == nil) != tc.ok || tif != tc.want {
			t.Errorf("%s %q: timeinforce %q, err %v; want %q ok=%v", tc.typ, tc.tif, tif, err, tc.want, tc.ok)
		}
	}
}
