package signal

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDiscordValid(t *testing.T) {
	base := func(action Action, side Side, sym string, class AssetClass, qty string) Signal {
		return Signal{Source: SourceDiscord, Action: action, Side: side, Symbol: sym, AssetClass: class,
			Quantity: dec(qty), QuantityType: QtyFixed, OrderType: OrderMarket}
	}
	tests := []struct {
		msg  string
		want func() Signal
	}{
		{"/buy AAPL 100 shares @market", func() Signal { return base(ActionBuy, SideBuy, "AAPL", AssetStock, "100") }},
		{"/sell BTC 0.5 @limit 42000", func() Signal {
			s := base(ActionSell, SideSell, "BTC-USD", AssetCrypto, "0.5")
			s.OrderType, s.LimitPrice = OrderLimit, dec("42000")
			return s
		}},
		{"/buy SPY 100", func() Signal { return base(ActionBuy, SideBuy, "SPY", AssetStock, "100") }},
		{"/buy ETH 2.5 @market", func() Signal { return base(ActionBuy, SideBuy, "ETH-USD", AssetCrypto, "2.5") }},
		{"/buy $TSLA 10", func() Signal { return base(ActionBuy, SideBuy, "TSLA", AssetStock, "10") }},
		{"/BUY aapl 1 SH", func() Signal { return base(ActionBuy, SideBuy, "AAPL", AssetStock, "1") }},
		{"  /buy   AAPL\t100   share  ", func() Signal { return base(ActionBuy, SideBuy, "AAPL", AssetStock, "100") }},
		{"/buy AAPL 100 @stop 245", func() Signal {
			s := base(ActionBuy, SideBuy, "AAPL", AssetStock, "100")
			s.OrderType, s.StopPrice = OrderStop, dec("245")
			return s
		}},
		{"/buy AAPL 100 @stop_limit 251 250.5", func() Signal {
			s := base(ActionBuy, SideBuy, "AAPL", AssetStock, "100")
			s.OrderType, s.StopPrice, s.LimitPrice = OrderStopLimit, dec("251"), dec("250.5")
			return s
		}},
		{"/buy AAPL 100 @limit $250 sl:2% tp:260 broker:IBKR", func() Signal {
			s := base(ActionBuy, SideBuy, "AAPL", AssetStock, "100")
			s.OrderType, s.LimitPrice = OrderLimit, dec("250")
			s.StopLossPercent, s.TakeProfitPrice, s.Broker = dec("2"), dec("260"), "ibkr"
			return s
		}},
		{"/buy AAPL 100 broker:ibkr tp:5% SL:245.50 @LIMIT 250", func() Signal {
			s := base(ActionBuy, SideBuy, "AAPL", AssetStock, "100")
			s.OrderType, s.LimitPrice = OrderLimit, dec("250")
			s.StopLossPrice, s.TakeProfitPercent, s.Broker = dec("245.50"), dec("5"), "ibkr"
			return s
		}},
		{"/sell TSLA 5 @limit 250 sl:$260 tp:$240", func() Signal {
			s := base(ActionSell, SideSell, "TSLA", AssetStock, "5")
			s.OrderType, s.LimitPrice = OrderLimit, dec("250")
			s.StopLossPrice, s.TakeProfitPrice = dec("260"), dec("240")
			return s
		}},
		{"/buy BRK.B 3", func() Signal { return base(ActionBuy, SideBuy, "BRK.B", AssetStock, "3") }},
		{"/buy BINANCE:BTCUSDT 0.001", func() Signal { return base(ActionBuy, SideBuy, "BTC-USDT", AssetCrypto, "0.001") }},
		{"/buy NYSE:SOL 5", func() Signal { return base(ActionBuy, SideBuy, "SOL", AssetStock, "5") }},
		{"/buy BTC/EUR 0.25 broker:kraken", func() Signal {
			s := base(ActionBuy, SideBuy, "BTC-EUR", AssetCrypto, "0.25")
			s.Broker = "kraken"
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			got, err := ParseDiscord(tt.msg)
			if err != nil {
				t.Fatalf("ParseDiscord: %v", err)
			}
			want := tt.want()
			want.Text = tt.msg
			if !sameSignal(got, want, true) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if got.ExternalID != "" {
				t.Fatalf("parser must not set ExternalID")
			}
			checkInvariants(t, got)
		})
	}
}

func TestParseDiscordInvalid(t *testing.T) {
	tests := []struct{ msg, err string }{
		{"", `command: is missing; e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`},
		{"buy AAPL 100", `command: must be /buy or /sell, got "buy"; e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`},
		{"/short AAPL 100", `command: must be /buy or /sell, got "/short"; e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`},
		{"/buy", `symbol: is missing; e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`},
		{"/buy AAPL", `quantity: is missing; e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`},
		{"/buy AAPL abc", `quantity: must be a positive number, got "abc"`},
		{"/buy AAPL 0", `quantity: must be greater than 0`},
		{"/buy AAPL 0.000", `quantity: must be greater than 0`},
		{"/buy AAPL -5", `quantity: must be a positive number, got "-5"`},
		{"/buy AAPL 1e3", `quantity: must be a positive number, got "1e3"`},
		{"/buy AAPL 1,000", `quantity: must be a positive number, got "1,000"`},
		{"/buy AAPL 10000000000000000", `quantity: is too large (must be below 1000000000000000)`},
		{"/buy AAPL 0.0000000000000000001", `quantity: has too many decimal places (at most 18)`},
		{"/buy AAPL 100 @limit", `limit price: is missing after @limit, e.g. @limit 42000`},
		{"/buy AAPL 100 @limit sl:2%", `limit price: is missing after @limit, e.g. @limit 42000`},
		{"/buy AAPL 100 @limit 0", `limit price: must be greater than 0`},
		{"/buy AAPL 100 @limit -1", `limit price: must be a positive number, got "-1"`},
		{"/buy AAPL 100 @stop", `stop price: is missing after @stop, e.g. @stop 245`},
		{"/buy AAPL 100 @stop_limit 251", `limit price: is missing after @stop_limit <stop>, e.g. @stop_limit 251 250`},
		{"/buy AAPL 100 @market @limit 250", `order type: is given twice (@market and @limit); use only one`},
		{"/buy AAPL 100 @limit 250 @limit 251", `order type: is given twice (@limit and @limit); use only one`},
		{"/buy AAPL 100 @250", `order type: unknown "@250"; use @market, @limit <price>, @stop <price> or @stop_limit <stop> <limit>`},
		{"/buy AAPL 100 @trailing", `order type: unknown "@trailing"; use @market, @limit <price>, @stop <price> or @stop_limit <stop> <limit>`},
		{"/buy AAPL 100 250", `option: unexpected number "250"; to set a limit price write "@limit 250"`},
		{"/buy AAPL 100 @market now", `option: unknown "now"; allowed after the quantity: @market, @limit <price>, @stop <price>, @stop_limit <stop> <limit>, sl:<price or %>, tp:<price or %>, broker:<name>`},
		{"/buy BTC 0.1 leverage:10x", `option: unknown "leverage:10x"; allowed after the quantity: @market, @limit <price>, @stop <price>, @stop_limit <stop> <limit>, sl:<price or %>, tp:<price or %>, broker:<name>`},
		{"/buy AAPL 100 @market shares", `quantity: unit "shares" must come right after the quantity`},
		{"/buy AAPL 100 broker:etrade", `broker: must be one of paper, alpaca, ibkr, schwab, coinbase, kraken, binance, got "etrade"`},
		{"/buy AAPL 100 broker:ibkr broker:alpaca", `broker: is given more than once`},
		{"/buy AAPL 100 sl:2% sl:245", `sl: use either a percentage or a price, not both`},
		{"/buy AAPL 100 sl:2% sl:3%", `sl: is given more than once`},
		{"/buy AAPL 100 sl:100%", `sl: must be a percentage greater than 0 and below 100`},
		{"/buy AAPL 100 sl:150%", `sl: must be a percentage greater than 0 and below 100`},
		{"/buy AAPL 100 sl:0%", `sl: must be a percentage greater than 0 and below 100`},
		{"/buy AAPL 100 sl:", `sl: is missing after sl:, e.g. sl:2% or sl:245.50`},
		{"/buy AAPL 100 sl:abc", `sl: must be a positive number, got "abc"`},
		{"/buy AAPL 100 tp:0", `tp: must be greater than 0`},
		{"/buy AAPL 100 tp:1 tp:2", `tp: is given more than once`},
		{"/buy AAPL 100 @limit 250 sl:260", `sl: must be below the entry price (250.00) for a buy`},
		{"/buy AAPL 100 @limit 250 tp:240", `tp: must be above the entry price (250.00) for a buy`},
		{"/sell AAPL 100 @limit 250 sl:240", `sl: must be above the entry price (250.00) for a sell`},
		{"/buy EURUSD 1000", `symbol: forex and metals are not supported, got "EURUSD"`},
		{"/buy AAPL! 1", `symbol: may only contain letters, digits and . - / :, got "AAPL!"`},
		{"/buy $ 1", `symbol: is required`},
		{"/buy AAPL 100 sl:2% this is great", `option: unknown "this"; allowed after the quantity: @market, @limit <price>, @stop <price>, @stop_limit <stop> <limit>, sl:<price or %>, tp:<price or %>, broker:<name>`},
		{"/buy AAPL 100\nlet's go", `option: unknown "let's"; allowed after the quantity: @market, @limit <price>, @stop <price>, @stop_limit <stop> <limit>, sl:<price or %>, tp:<price or %>, broker:<name>`},
		{"/buy AAPL " + strings.Repeat("9", 5000), `message: is too long (at most 4096 characters)`},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			s, err := ParseDiscord(tt.msg)
			wantParseError(t, err, tt.err)
			if !reflect.DeepEqual(s, Signal{}) {
				t.Fatalf("signal must be zero on error, got %+v", s)
			}
		})
	}
}

func TestRenderDiscordRoundTrip(t *testing.T) {
	for _, msg := range []string{
		"/buy AAPL 100",
		"/sell BTC 0.5 @limit 42000 sl:2% tp:40000 broker:coinbase",
		"/buy TSLA 10 @stop_limit 251 250 sl:245.5 tp:5%",
		"/buy NYSE:SOL 5 @stop 12.5",
		"/sell ETH-USDT 1.25",
	} {
		s, err := ParseDiscord(msg)
		if err != nil {
			t.Fatalf("%s: %v", msg, err)
		}
		r, err := RenderDiscord(s)
		if err != nil {
			t.Fatalf("RenderDiscord(%s): %v", msg, err)
		}
		s2, err := ParseDiscord(r)
		if err != nil {
			t.Fatalf("re-parse %q: %v", r, err)
		}
		if !sameSignal(s, s2, false) {
			t.Fatalf("round trip %q -> %q changed the signal:\n%+v\n%+v", msg, r, s, s2)
		}
	}
	sol, err := ParseDiscord("/buy NYSE:SOL 5")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := RenderDiscord(sol); got != "/buy STOCK:SOL 5" {
		t.Fatalf("stock colliding with a crypto base rendered as %q", got)
	}
}

func TestRenderDiscordRefuses(t *testing.T) {
	tv, _, err := ParseTradingView([]byte(`{"ticker":"AAPL","action":"exit"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RenderDiscord(tv); err == nil {
		t.Fatal("exit cannot be a Discord command")
	}
	tv, _, err = ParseTradingView([]byte(`{"ticker":"AAPL","action":"buy","quantity":10,"quantityType":"dollar_amount"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RenderDiscord(tv); err == nil {
		t.Fatal("dollar amounts cannot be a Discord command")
	}
	if _, err := RenderDiscord(Signal{}); err == nil {
		t.Fatal("an invalid signal must not render")
	}
}
