package signal

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestParseTradingViewValid(t *testing.T) {
	type want struct {
		sig  Signal // Source is implied
		text string
	}
	tests := []struct {
		name string
		body string
		want want
	}{
		{"seed format", `{"ticker": "TSLA", "action": "buy", "quantity": 50, "type": "limit", "price": 250.00}`, want{Signal{
			Symbol: "TSLA", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("50"), QuantityType: QtyFixed, OrderType: OrderLimit, LimitPrice: dec("250"),
		}, "TSLA limit buy 50 @ 250.00"}},
		{"seed format with numeric strings", `{"ticker":"TSLA","action":"buy","quantity":"50","type":"limit","price":"250.00"}`, want{Signal{
			Symbol: "TSLA", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("50"), QuantityType: QtyFixed, OrderType: OrderLimit, LimitPrice: dec("250"),
		}, "TSLA limit buy 50 @ 250.00"}},
		{"seed with stopLoss and takeProfit prices", `{"ticker":"TSLA","action":"buy","quantity":50,"type":"limit","price":250,"stopLoss":245.5,"takeProfit":"270"}`, want{Signal{
			Symbol: "TSLA", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("50"), QuantityType: QtyFixed, OrderType: OrderLimit, LimitPrice: dec("250"),
			StopLossPrice: dec("245.5"), TakeProfitPrice: dec("270"),
		}, "TSLA limit buy 50 @ 250.00 sl 245.50 tp 270.00"}},
		{"traderspost example", `{"ticker":"AMD","action":"buy","signalPrice":143.12,"quantity":1,"takeProfit":{"percent":10},"stopLoss":{"type":"stop","percent":5}}`, want{Signal{
			Symbol: "AMD", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("1"), QuantityType: QtyFixed, OrderType: OrderMarket, SignalPrice: dec("143.12"),
			StopLossPercent: dec("5"), TakeProfitPercent: dec("10"),
		}, "AMD market buy 1 sl 5% tp 10% (signal 143.12)"}},
		{"strategy template, flat", `{"ticker":"BTCUSD","action":"sell","sentiment":"flat","quantity":"0.5","price":"43000.5","time":"2024-03-15T14:23:11Z","interval":"15"}`, want{Signal{
			Symbol: "BTC-USD", AssetClass: AssetCrypto, Action: ActionSell, Side: SideSell, Sentiment: SentimentFlat,
			Quantity: dec("0.5"), QuantityType: QtyFixed, OrderType: OrderMarket, SignalPrice: dec("43000.5"),
		}, "BTC-USD market sell 0.5 (signal 43000.50) flat"}},
		{"strategy template, long", `{"ticker":"NASDAQ:AAPL","action":"buy","sentiment":"long","quantity":"10"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy, Sentiment: SentimentBullish,
			Quantity: dec("10"), QuantityType: QtyFixed, OrderType: OrderMarket,
		}, "AAPL market buy 10 bullish"}},
		{"limit inferred from limitPrice", `{"ticker":"AAPL","action":"buy","limitPrice":"120.12"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderLimit, LimitPrice: dec("120.12"),
		}, "AAPL limit buy default size @ 120.12"}},
		{"stop inferred from stopPrice", `{"ticker":"AAPL","action":"sell","stopPrice":99,"quantity":3}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionSell, Side: SideSell,
			Quantity: dec("3"), QuantityType: QtyFixed, OrderType: OrderStop, StopPrice: dec("99"),
		}, "AAPL stop sell 3 stop 99.00"}},
		{"stop_limit", `{"ticker":"AAPL","action":"buy","orderType":"stop_limit","stopPrice":100,"limitPrice":99,"quantity":1}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("1"), QuantityType: QtyFixed, OrderType: OrderStopLimit, StopPrice: dec("100"), LimitPrice: dec("99"),
		}, "AAPL stop_limit buy 1 @ 99.00 stop 100.00"}},
		{"stop_limit with price as limit", `{"ticker":"AAPL","action":"buy","orderType":"stop_limit","stopPrice":100,"price":99.5}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderStopLimit, StopPrice: dec("100"), LimitPrice: dec("99.5"),
		}, "AAPL stop_limit buy default size @ 99.50 stop 100.00"}},
		{"price equal to limitPrice", `{"ticker":"AAPL","action":"buy","type":"limit","price":"99.50","limitPrice":99.5}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderLimit, LimitPrice: dec("99.5"),
		}, "AAPL limit buy default size @ 99.50"}},
		{"trailing stop", `{"ticker":"AAPL","action":"sell","orderType":"trailing_stop","trailPercent":"1.5"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionSell, Side: SideSell,
			QuantityType: QtyDefault, OrderType: OrderTrailingStop, TrailPercent: dec("1.5"),
		}, "AAPL trailing_stop sell default size trail 1.5%"}},
		{"exit", `{"ticker":"AAPL","action":"exit"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionExit,
			QuantityType: QtyDefault, OrderType: OrderMarket,
		}, "AAPL market exit all"}},
		{"exit half the position with a limit", `{"ticker":"AAPL","action":"exit","quantityType":"percent_of_position","quantity":50,"orderType":"limit","limitPrice":190}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionExit,
			Quantity: dec("50"), QuantityType: QtyPercentOfPosition, OrderType: OrderLimit, LimitPrice: dec("190"),
		}, "AAPL limit exit 50% of position @ 190.00"}},
		{"cancel", `{"ticker":"AAPL","action":"cancel","price":"187.2"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionCancel, QuantityType: QtyDefault, SignalPrice: dec("187.2"),
		}, "AAPL cancel orders"}},
		{"add bullish", `{"ticker":"ETHUSDT","action":"add","sentiment":"bullish","quantity":0.25}`, want{Signal{
			Symbol: "ETH-USDT", AssetClass: AssetCrypto, Action: ActionAdd, Side: SideBuy, Sentiment: SentimentBullish,
			Quantity: dec("0.25"), QuantityType: QtyFixed, OrderType: OrderMarket,
		}, "ETH-USDT market add 0.25 bullish"}},
		{"add without sentiment", `{"ticker":"AAPL","action":"add","quantity":5}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionAdd,
			Quantity: dec("5"), QuantityType: QtyFixed, OrderType: OrderMarket,
		}, "AAPL market add 5"}},
		{"dollar amount", `{"ticker":"AAPL","action":"buy","quantityType":"dollar_amount","quantity":1000}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("1000"), QuantityType: QtyDollarAmount, OrderType: OrderMarket,
		}, "AAPL market buy $1000.00"}},
		{"percent of equity", `{"ticker":"AAPL","action":"buy","quantityType":"percent_of_equity","quantity":"10"}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("10"), QuantityType: QtyPercentOfEquity, OrderType: OrderMarket,
		}, "AAPL market buy 10% of equity"}},
		{"stopLoss and takeProfit objects with prices", `{"ticker":"AAPL","action":"buy","orderType":"limit","limitPrice":100,"stopLoss":{"stopPrice":"90"},"takeProfit":{"limitPrice":110}}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderLimit, LimitPrice: dec("100"),
			StopLossPrice: dec("90"), TakeProfitPrice: dec("110"),
		}, "AAPL limit buy default size @ 100.00 sl 90.00 tp 110.00"}},
		{"case-insensitive enums, unknown fields ignored", `{"ticker":"aapl","action":" BUY ","orderType":"Limit","limitPrice":1.5,"comment":"{{plot_0}}","extra":{"a":[1,2]}}`, want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderLimit, LimitPrice: dec("1.5"),
		}, "AAPL limit buy default size @ 1.50"}},
		{"id and passphrase", `{"ticker":"AAPL","action":"buy","id":"Long Entry 42","passphrase":"hunter2-very-secret"}`, want{Signal{
			ExternalID: "Long Entry 42",
			Symbol:     "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderMarket,
		}, "AAPL market buy default size"}},
		{"numeric id", `{"ticker":"AAPL","action":"buy","id":1710512591000}`, want{Signal{
			ExternalID: "1710512591000",
			Symbol:     "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			QuantityType: QtyDefault, OrderType: OrderMarket,
		}, "AAPL market buy default size"}},
		{"small crypto prices keep their precision", `{"ticker":"BINANCE:SHIBUSDT","action":"buy","quantity":"1000000","type":"limit","price":"0.00001234"}`, want{Signal{
			Symbol: "SHIB-USDT", AssetClass: AssetCrypto, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("1000000"), QuantityType: QtyFixed, OrderType: OrderLimit, LimitPrice: dec("0.00001234"),
		}, "SHIB-USDT limit buy 1000000 @ 0.00001234"}},
		{"BOM, whitespace and exponent", "\xef\xbb\xbf \n{\"ticker\":\"AAPL\",\"action\":\"buy\",\"quantity\":1.5E1}\n", want{Signal{
			Symbol: "AAPL", AssetClass: AssetStock, Action: ActionBuy, Side: SideBuy,
			Quantity: dec("15"), QuantityType: QtyFixed, OrderType: OrderMarket,
		}, "AAPL market buy 15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParseTradingView([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseTradingView: %v", err)
			}
			want := tt.want.sig
			want.Source = SourceTradingView
			want.Text = tt.want.text
			if !sameSignal(got, want, true) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			checkInvariants(t, got)
		})
	}
}

func TestParseTradingViewInvalid(t *testing.T) {
	tests := []struct{ name, body, err string }{
		{"empty", ``, `the alert message is empty; send JSON like {"ticker":"AAPL","action":"buy","quantity":10}`},
		{"blank", " \n\t", `the alert message is empty; send JSON like {"ticker":"AAPL","action":"buy","quantity":10}`},
		{"plain text", `buy AAPL 100`, `the alert message is not valid JSON (invalid character 'b' looking for beginning of value at byte 1); check the Message box of the TradingView alert`},
		{"truncated", `{"ticker":"AAPL","action":"buy"`, `the alert message is not valid JSON (it ends too early; check for a missing } or "); check the Message box of the TradingView alert`},
		{"trailing data", `{"ticker":"AAPL","action":"buy"} {}`, `the alert message is not valid JSON (unexpected data after the closing brace); check the Message box of the TradingView alert`},
		{"unquoted placeholder", `{"ticker":"AAPL","action":"buy","price":{{close}}}`, `the alert message is not valid JSON: it contains a TradingView placeholder like {{close}} that was not filled in; check its spelling, and put text placeholders in quotes`},
		{"array", `[{"ticker":"AAPL"}]`, `the alert message must be a JSON object like {"ticker":"AAPL","action":"buy"}`},
		{"string", `"buy"`, `the alert message must be a JSON object like {"ticker":"AAPL","action":"buy"}`},
		{"duplicate key", `{"ticker":"AAPL","action":"buy","action":"sell"}`, `action: is given more than once`},
		{"duplicate nested key", `{"ticker":"AAPL","action":"buy","stopLoss":{"percent":1,"percent":2}}`, `stopLoss.percent: is given more than once`},
		{"too deep", `{"ticker":"AAPL","action":"buy","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, `the alert message nests objects deeper than 16 levels`},
		{"missing ticker", `{"action":"buy","quantity":1}`, `ticker: is required`},
		{"missing action", `{"ticker":"AAPL"}`, `action: is required`},
		{"empty ticker", `{"ticker":"","action":"buy"}`, `ticker: must not be empty`},
		{"ticker not a string", `{"ticker":42,"action":"buy"}`, `ticker: must be a string`},
		{"bad ticker", `{"ticker":"FX:EURUSD","action":"buy"}`, `ticker: exchange "FX" is not supported; use a US stock or a crypto exchange, or no prefix`},
		{"placeholder ticker", `{"ticker":"{{ticker}}","action":"buy"}`, `ticker: contains the TradingView placeholder "{{ticker}}" that was not filled in; check its spelling or use a value`},
		{"placeholder price", `{"ticker":"TSLA","action":"buy","price":"{{close}}"}`, `price: contains the TradingView placeholder "{{close}}" that was not filled in; check its spelling or use a value`},
		{"placeholder nested", `{"ticker":"TSLA","action":"buy","stopLoss":{"stopPrice":"{{plot_1}}"}}`, `stopLoss.stopPrice: contains the TradingView placeholder "{{plot_1}}" that was not filled in; check its spelling or use a value`},
		{"placeholder passphrase not echoed", `{"ticker":"TSLA","action":"buy","passphrase":"{{secret}}"}`, `passphrase: contains a TradingView placeholder that was not filled in`},
		{"unknown action", `{"ticker":"AAPL","action":"short"}`, `action: must be one of buy, sell, exit, cancel, add, got "short"`},
		{"unknown sentiment", `{"ticker":"AAPL","action":"buy","sentiment":"up"}`, `sentiment: must be one of bullish, long, bearish, short, flat, got "up"`},
		{"unknown orderType", `{"ticker":"AAPL","action":"buy","orderType":"limitt"}`, `orderType: must be one of market, limit, stop, stop_limit, trailing_stop, got "limitt"`},
		{"unknown type", `{"ticker":"AAPL","action":"buy","type":"moc"}`, `type: must be one of market, limit, stop, stop_limit, trailing_stop, got "moc"`},
		{"risk quantity type", `{"ticker":"AAPL","action":"buy","quantityType":"risk_dollar_amount","quantity":100}`, `quantityType: must be one of fixed_quantity, dollar_amount, percent_of_equity, percent_of_position, got "risk_dollar_amount"`},
		{"quantity zero", `{"ticker":"AAPL","action":"buy","quantity":0}`, `quantity: must be greater than 0`},
		{"quantity negative", `{"ticker":"AAPL","action":"buy","quantity":"-5"}`, `quantity: must be greater than 0`},
		{"quantity text", `{"ticker":"AAPL","action":"buy","quantity":"abc"}`, `quantity: must be a number, got "abc"`},
		{"quantity bool", `{"ticker":"AAPL","action":"buy","quantity":true}`, `quantity: must be a number, got "true"`},
		{"quantity null", `{"ticker":"AAPL","action":"buy","quantity":null}`, `quantity: must be a number, got "null"`},
		{"quantity NaN string", `{"ticker":"AAPL","action":"buy","quantity":"NaN"}`, `quantity: must be a number, got "NaN"`},
		{"quantity huge", `{"ticker":"AAPL","action":"buy","quantity":1e99}`, `quantity: is too large (must be below 1000000000000000)`},
		{"quantity huge exponent", `{"ticker":"AAPL","action":"buy","quantity":1e999999999}`, `quantity: must be a number, got "1e999999999"`},
		{"quantity too precise", `{"ticker":"AAPL","action":"buy","quantity":"0.0000000000000000001"}`, `quantity: has too many decimal places (at most 18)`},
		{"quantityType without quantity", `{"ticker":"AAPL","action":"buy","quantityType":"dollar_amount"}`, `quantity: is required when quantityType is set`},
		{"percent over 100", `{"ticker":"AAPL","action":"buy","quantityType":"percent_of_equity","quantity":150}`, `quantity: must be a percentage greater than 0 and at most 100`},
		{"percent_of_position with add", `{"ticker":"AAPL","action":"add","quantityType":"percent_of_position","quantity":10}`, `quantityType: percent_of_position cannot be used with action add`},
		{"quantity with cancel", `{"ticker":"AAPL","action":"cancel","quantity":1}`, `quantity: cannot be used with action cancel`},
		{"orderType with cancel", `{"ticker":"AAPL","action":"cancel","orderType":"limit"}`, `orderType: cannot be used with action cancel`},
		{"limitPrice with cancel", `{"ticker":"AAPL","action":"cancel","limitPrice":1}`, `limitPrice: cannot be used with action cancel`},
		{"flat add", `{"ticker":"AAPL","action":"add","sentiment":"flat","quantity":1}`, `sentiment: flat cannot be used with action add`},
		{"limit without price", `{"ticker":"AAPL","action":"buy","type":"limit","quantity":1}`, `limitPrice: is required for a limit order`},
		{"stop without price", `{"ticker":"AAPL","action":"buy","orderType":"stop"}`, `stopPrice: is required for a stop order`},
		{"stop_limit without stop", `{"ticker":"AAPL","action":"buy","orderType":"stop_limit","limitPrice":5}`, `stopPrice: is required for a stop-limit order`},
		{"trailing without trail", `{"ticker":"AAPL","action":"sell","orderType":"trailing_stop"}`, `trailPercent: is required for a trailing stop order`},
		{"trailAmount", `{"ticker":"AAPL","action":"sell","orderType":"trailing_stop","trailAmount":2}`, `trailAmount: is not supported; use trailPercent`},
		{"trailPercent 100", `{"ticker":"AAPL","action":"sell","orderType":"trailing_stop","trailPercent":100}`, `trailPercent: must be a percentage greater than 0 and below 100`},
		{"limit price zero", `{"ticker":"AAPL","action":"buy","type":"limit","price":0}`, `price: must be greater than 0`},
		{"limitPrice negative", `{"ticker":"AAPL","action":"buy","limitPrice":-1}`, `limitPrice: must be greater than 0`},
		{"limitPrice on market", `{"ticker":"AAPL","action":"buy","orderType":"market","limitPrice":100}`, `limitPrice: is not used by a market order`},
		{"stopPrice on limit", `{"ticker":"AAPL","action":"buy","orderType":"limit","limitPrice":100,"stopPrice":99}`, `stopPrice: is not used by a limit order`},
		{"trailPercent on limit", `{"ticker":"AAPL","action":"buy","orderType":"limit","limitPrice":100,"trailPercent":1}`, `trailPercent: is not used by a limit order`},
		{"type and orderType disagree", `{"ticker":"AAPL","action":"buy","type":"market","orderType":"limit","limitPrice":1}`, `type: conflicts with orderType; send only one of them or the same value`},
		{"price and limitPrice disagree", `{"ticker":"AAPL","action":"buy","type":"limit","price":100,"limitPrice":101}`, `price: conflicts with limitPrice; send only one of them or the same value`},
		{"price and signalPrice disagree", `{"ticker":"AAPL","action":"buy","price":100,"signalPrice":101}`, `price: conflicts with signalPrice; send only one of them or the same value`},
		{"stopLoss text", `{"ticker":"AAPL","action":"buy","stopLoss":"tight"}`, `stopLoss: must be a price or an object like {"percent": 2} or {"stopPrice": 95.5}`},
		{"stopLoss array", `{"ticker":"AAPL","action":"buy","stopLoss":[1]}`, `stopLoss: must be a price or an object like {"percent": 2} or {"stopPrice": 95.5}`},
		{"stopLoss zero", `{"ticker":"AAPL","action":"buy","stopLoss":0}`, `stopLoss: must be greater than 0`},
		{"stopLoss percent text", `{"ticker":"AAPL","action":"buy","stopLoss":{"percent":"5 percent"}}`, `stopLoss.percent: must be a number, got "5 percent"`},
		{"stopLoss percent 100", `{"ticker":"AAPL","action":"buy","stopLoss":{"percent":100}}`, `stopLoss.percent: must be a percentage greater than 0 and below 100`},
		{"stopLoss both", `{"ticker":"AAPL","action":"buy","stopLoss":{"percent":2,"stopPrice":95}}`, `stopLoss: use either percent or stopPrice, not both`},
		{"stopLoss empty object", `{"ticker":"AAPL","action":"buy","stopLoss":{}}`, `stopLoss: needs either percent or stopPrice`},
		{"stopLoss amount", `{"ticker":"AAPL","action":"buy","stopLoss":{"type":"stop","amount":10}}`, `stopLoss.amount: is not supported; use stopLoss.percent or stopLoss.stopPrice`},
		{"stopLoss trailing", `{"ticker":"AAPL","action":"buy","stopLoss":{"type":"trailing_stop","trailPercent":1}}`, `stopLoss.type: is not supported; only "stop" stop-losses are placed; remove type or use "stop"`},
		{"stopLoss unknown type", `{"ticker":"AAPL","action":"buy","stopLoss":{"type":"soft","percent":1}}`, `stopLoss.type: must be one of stop, stop_limit, trailing_stop, got "soft"`},
		{"stopLoss above buy entry", `{"ticker":"AAPL","action":"buy","limitPrice":100,"stopLoss":110}`, `stopLoss: must be below the entry price (100.00) for a buy`},
		{"stopLoss below sell entry", `{"ticker":"AAPL","action":"sell","signalPrice":100,"stopLoss":{"stopPrice":90}}`, `stopLoss: must be above the entry price (100.00) for a sell`},
		{"takeProfit below buy entry", `{"ticker":"AAPL","action":"buy","price":100,"takeProfit":{"limitPrice":90}}`, `takeProfit: must be above the entry price (100.00) for a buy`},
		{"takeProfit both", `{"ticker":"AAPL","action":"buy","takeProfit":{"percent":2,"limitPrice":95}}`, `takeProfit: use either percent or limitPrice, not both`},
		{"takeProfit pnl", `{"ticker":"AAPL","action":"buy","takeProfit":{"pnlAmount":100}}`, `takeProfit.pnlAmount: is not supported; use takeProfit.percent or takeProfit.limitPrice`},
		{"takeProfit percent zero", `{"ticker":"AAPL","action":"buy","takeProfit":{"percent":0}}`, `takeProfit.percent: must be greater than 0`},
		{"stopLoss on exit", `{"ticker":"AAPL","action":"exit","stopLoss":90}`, `stopLoss: cannot be used with action exit`},
		{"takeProfit on flat", `{"ticker":"AAPL","action":"sell","sentiment":"flat","takeProfit":90}`, `takeProfit: cannot be used when sentiment is flat (the signal only closes a position)`},
		{"passphrase number", `{"ticker":"AAPL","action":"buy","passphrase":12345}`, `passphrase: must be a string`},
		{"passphrase too long", `{"ticker":"AAPL","action":"buy","passphrase":"` + strings.Repeat("s", 300) + `"}`, `passphrase: is too long (at most 256 characters)`},
		{"empty id", `{"ticker":"AAPL","action":"buy","id":""}`, `id: must not be empty`},
		{"blank id", `{"ticker":"AAPL","action":"buy","id":"  "}`, `id: must not be empty`},
		{"long id", `{"ticker":"AAPL","action":"buy","id":"` + strings.Repeat("i", 129) + `"}`, `id: is too long (at most 128 characters)`},
		// A number bypasses the schema's maxLength; 164+ digits overflowed
		// the stored key (a 500 on PostgreSQL).
		{"long numeric id", `{"ticker":"AAPL","action":"buy","id":` + strings.Repeat("9", 170) + `}`, `id: is too long (at most 128 characters)`},
		{"control chars in id", `{"ticker":"AAPL","action":"buy","id":"a\u0007b"}`, `id: must not contain control characters`},
		{"id object", `{"ticker":"AAPL","action":"buy","id":{}}`, `id: must be a string or a number`},
		{"bad time", `{"ticker":"AAPL","action":"buy","time":"yesterday"}`, `time: must be a time like 2024-03-15T14:23:11Z or a Unix timestamp`},
		{"time out of range", `{"ticker":"AAPL","action":"buy","timestamp":12}`, `timestamp: must be a time like 2024-03-15T14:23:11Z or a Unix timestamp`},
		{"time and timestamp disagree", `{"ticker":"AAPL","action":"buy","time":"2024-03-15T14:23:11Z","timestamp":1710512592}`, `timestamp: conflicts with time; send only one of them or the same value`},
		{"interval not a string", `{"ticker":"AAPL","action":"buy","interval":15}`, `interval: must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := ParseTradingView([]byte(tt.body))
			wantParseError(t, err, tt.err)
			if !reflect.DeepEqual(s, Signal{}) {
				t.Fatalf("signal must be zero on error, got %+v", s)
			}
		})
	}
}

func TestParseTradingViewBodyLimit(t *testing.T) {
	pad := strings.Repeat(" ", MaxTradingViewBody)
	body := []byte(`{"ticker":"AAPL","action":"buy"}` + pad)
	_, _, err := ParseTradingView(body)
	wantParseError(t, err, "the alert message is too large (at most 64 KiB)")

	ok := []byte(`{"ticker":"AAPL","action":"buy","note":"` + strings.Repeat("n", MaxTradingViewBody-100) + `"}`)
	if _, _, err := ParseTradingView(ok); err != nil {
		t.Fatalf("a body under the limit must parse: %v", err)
	}
}

func TestParseTradingViewMeta(t *testing.T) {
	const secret = "correct-horse-battery-staple"
	body := `{"ticker":"TSLA","action":"buy","quantity":50,"type":"limit","price":250,"passphrase":"` + secret +
		`","id":"alert-7","time":"2024-03-15T14:23:11Z","interval":"15"}`
	s, meta, err := ParseTradingView([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := TradingViewMeta{Passphrase: secret, AlertID: "alert-7",
		SignalTime: time.Date(2024, 3, 15, 14, 23, 11, 0, time.UTC), Interval: "15"}
	if meta != want {
		t.Fatalf("meta = %+v, want %+v", meta, want)
	}
	if s.ExternalID != "alert-7" {
		t.Fatalf("ExternalID = %q", s.ExternalID)
	}
	// The passphrase must not reach anything that is stored.
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte(secret)) {
		t.Fatalf("passphrase leaked into the signal: %s", js)
	}

	// On a parse error the passphrase is still returned (to authenticate
	// before replying) and never echoed in the error.
	_, meta, err = ParseTradingView([]byte(`{"ticker":"TSLA","action":"hold","passphrase":"` + secret + `"}`))
	if err == nil || meta.Passphrase != secret {
		t.Fatalf("want error and passphrase, got %v %+v", err, meta)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("passphrase echoed in error: %v", err)
	}
}

func TestParseTradingViewTimes(t *testing.T) {
	want := time.Date(2024, 3, 15, 14, 23, 11, 0, time.UTC)
	for _, body := range []string{
		`{"ticker":"A","action":"buy","time":"2024-03-15T14:23:11Z"}`,
		`{"ticker":"A","action":"buy","time":"2024-03-15T15:23:11+01:00"}`,
		`{"ticker":"A","action":"buy","timestamp":1710512591}`,
		`{"ticker":"A","action":"buy","timestamp":"1710512591000"}`,
		`{"ticker":"A","action":"buy","time":"2024-03-15T14:23:11Z","timestamp":1710512591}`,
	} {
		_, meta, err := ParseTradingView([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if !meta.SignalTime.Equal(want) || meta.SignalTime.Location() != time.UTC {
			t.Fatalf("%s: SignalTime = %v", body, meta.SignalTime)
		}
	}
}

// TestSchemaErrorsDeterministic guards against the validator's map
// iteration order choosing between several violations.
func TestSchemaErrorsDeterministic(t *testing.T) {
	body := []byte(`{"ticker":"AAPL","action":"buy","quantity":"x","price":"y","limitPrice":"z","stopPrice":"w"}`)
	_, _, first := ParseTradingView(body)
	for i := 0; i < 50; i++ {
		_, _, err := ParseTradingView(body)
		if err.Error() != first.Error() {
			t.Fatalf("error changed between runs: %q vs %q", first, err)
		}
	}
}

// timeInForce and extendedHours are read into the signal (the broker's
// support is checked when it is routed); values or combinations no broker
// executes are refused here with the field named.
func TestSessionFields(t *testing.T) {
	for _, tc := range []struct {
		body string
		tif  TimeInForce
		ext  bool
	}{
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"fok"}`, TIFFOK, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"GTC"}`, TIFGTC, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":" ioc "}`, TIFIOC, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"opg"}`, TIFOPG, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","limitPrice":190,"timeInForce":"cls"}`, TIFCLS, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"DAY"}`, TIFDefault, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","limitPrice":190,"extendedHours":true}`, TIFDefault, true},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","limitPrice":190,"timeInForce":"day","extendedHours":true}`, TIFDefault, true},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"extendedHours":false}`, TIFDefault, false},
		{`{"ticker":"BTCUSD","action":"buy","quantity":0.1,"type":"limit","limitPrice":40000,"timeInForce":"fok"}`, TIFFOK, false},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"note":"my strategy v2"}`, TIFDefault, false},
	} {
		s, _, err := ParseTradingView([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		if s.TimeInForce != tc.tif || s.ExtendedHours != tc.ext {
			t.Errorf("%s: timeInForce %q extendedHours %v, want %q %v", tc.body, s.TimeInForce, s.ExtendedHours, tc.tif, tc.ext)
		}
	}
	for _, tc := range []struct{ body, field string }{
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"gtd"}`, "timeInForce"},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":5}`, "timeInForce"},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"type":"stop","stopPrice":170,"timeInForce":"fok"}`, "timeInForce"},
		{`{"ticker":"BTCUSD","action":"buy","quantity":1,"timeInForce":"opg"}`, "timeInForce"},
		{`{"ticker":"AAPL","action":"exit","timeInForce":"gtc"}`, "timeInForce"},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"extendedHours":true}`, "extendedHours"},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","limitPrice":190,"timeInForce":"gtc","extendedHours":true}`, "extendedHours"},
		{`{"ticker":"BTCUSD","action":"buy","quantity":1,"type":"limit","limitPrice":40000,"extendedHours":true}`, "extendedHours"},
		{`{"ticker":"AAPL","action":"buy","quantity":1,"extendedHours":"yes"}`, "extendedHours"},
	} {
		_, _, err := ParseTradingView([]byte(tc.body))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Field != tc.field {
			t.Errorf("%s: err = %v, want a refusal of %s", tc.body, err, tc.field)
		}
	}
	// TradersPost's first documented example: its take-profit is read.
	s, _, err := ParseTradingView([]byte(`{"ticker":"AMD","action":"buy","signalPrice":143.12,"quantity":1,"takeProfit":{"percent":10},"stopLoss":{"type":"stop","percent":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.TakeProfitPercent.Equal(decimal.NewFromInt(10)) || !s.StopLossPercent.Equal(decimal.NewFromInt(5)) {
		t.Fatalf("take-profit %s%%, stop-loss %s%%", s.TakeProfitPercent, s.StopLossPercent)
	}
}

// Every property the webhook schema accepts is either executed (it changes
// the signal), refused with its name, or read as metadata: the walk sends
// each with a sample value on top of a plain buy, so a property accepted and
// then ignored fails here. A new schema property without a sample fails too.
func TestEveryWebhookFieldIsExecutedOrRefused(t *testing.T) {
	base := `{"ticker":"AAPL","action":"buy","quantity":1`
	samples := map[string]string{
		"ticker": `"MSFT"`, "action": `"sell"`, "sentiment": `"flat"`, "quantity": `2`, "quantityType": `"dollar_amount"`,
		"orderType": `"limit","limitPrice":150`, "type": `"limit","limitPrice":150`, "price": `150`, "limitPrice": `150`,
		"stopPrice": `170`, "signalPrice": `181`, "trailPercent": `2`, "trailAmount": `1`,
		"timeInForce": `"gtc"`, "extendedHours": `true`, "stopLoss": `{"percent":3}`, "takeProfit": `{"percent":5}`,
	}
	meta := map[string]bool{"passphrase": true, "id": true, "time": true, "timestamp": true, "interval": true}
	plain, _, err := ParseTradingView([]byte(base + "}"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prop := range sortedKeys(tradingViewSchemaProps) {
		if meta[prop] {
			continue
		}
		v, ok := samples[prop]
		if !ok {
			t.Errorf("schema property %q has no sample: say whether it is executed or refused", prop)
			continue
		}
		body := base + `,"` + prop + `":` + v + "}"
		if prop == "quantity" {
			body = `{"ticker":"AAPL","action":"buy","quantity":` + v + "}"
		}
		s, _, err := ParseTradingView([]byte(body))
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.HasPrefix(pe.Field, prop) && !(prop == "type" && pe.Field == "orderType") {
				t.Errorf("%s: refused without naming %s: %v", body, prop, err)
			}
			continue
		}
		s.Text, plain.Text = "", ""
		if reflect.DeepEqual(s, plain) {
			t.Errorf("%s: accepted but the signal is the same as without %s (ignored)", body, prop)
		}
	}
}
