package coinbase

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Coinbase Advanced order_configuration by time in force: market orders are
// market_market_ioc, limit gtc is limit_limit_gtc, limit ioc sor_limit_ioc;
// fok is refused (not sent as gtc).
func TestTimeInForceOnTheWire(t *testing.T) {
	one, price := decimal.NewFromInt(1), decimal.NewFromInt(40000)
	for _, tc := range []struct {
		typ  signal.OrderType
		tif  broker.TimeInForce
		want string
	}{
		{signal.OrderMarket, "", "market_market_ioc"}, {signal.OrderMarket, broker.TIFIOC, "market_market_ioc"},
		{signal.OrderLimit, "", "limit_limit_gtc"}, {signal.OrderLimit, broker.TIFGTC, "limit_limit_gtc"},
		{signal.OrderLimit, broker.TIFIOC, "sor_limit_ioc"}, {signal.OrderLimit, broker.TIFFOK, ""}, {signal.OrderMarket, broker.TIFFOK, ""},
	} {
		cfg, err := orderConfig(broker.OrderRequest{Type: tc.typ, Side: signal.SideBuy, TimeInForce: tc.tif}, symbols.Rules{}, one, price, decimal.Zero)
		got := ""
		switch {
		case err != nil:
		case cfg.MarketIOC != nil:
			got = "market_market_ioc"
		case cfg.LimitGTC != nil:
			got = "limit_limit_gtc"
		case cfg.SorLimitIOC != nil:
			got = "sor_limit_ioc"
		}
		if got != tc.want {
			t.Errorf("%s %q: %q (%v), want %q", tc.typ, tc.tif, got, err, tc.want)
		}
	}
}
