package signal

import (
	"strings"
	"testing"
)

func validDashboardSignal() Signal {
	return Signal{
		Source: SourceDashboard, ExternalID: "order-form-1", Symbol: "AAPL", AssetClass: AssetStock,
		Action: ActionBuy, Side: SideBuy, Quantity: dec("10"), QuantityType: QtyFixed,
		OrderType: OrderLimit, LimitPrice: dec("180"), StopLossPercent: dec("2"), TakeProfitPrice: dec("200"),
		Text: "AAPL limit buy 10 @ 180.00",
	}
}

func TestValidateAcceptsValidSignals(t *testing.T) {
	cases := map[string]func(*Signal){
		"as is":       func(*Signal) {},
		"crypto":      func(s *Signal) { s.Symbol, s.AssetClass, s.Quantity = "BTC-USDT", AssetCrypto, dec("0.00000001") },
		"market":      func(s *Signal) { s.OrderType, s.LimitPrice = OrderMarket, dec("0") },
		"stop":        func(s *Signal) { s.OrderType, s.LimitPrice, s.StopPrice = OrderStop, dec("0"), dec("185") },
		"stop_limit":  func(s *Signal) { s.OrderType, s.StopPrice = OrderStopLimit, dec("181") },
		"trailing":    func(s *Signal) { s.OrderType, s.LimitPrice, s.TrailPercent = OrderTrailingStop, dec("0"), dec("1") },
		"default qty": func(s *Signal) { s.QuantityType, s.Quantity = QtyDefault, dec("0") },
		"exit": func(s *Signal) {
			s.Action, s.Side, s.StopLossPercent, s.TakeProfitPrice = ActionExit, "", dec("0"), dec("0")
		},
		"add no side": func(s *Signal) { s.Action, s.Side = ActionAdd, "" },
		"add bearish": func(s *Signal) {
			s.Action, s.Side, s.Sentiment, s.TakeProfitPrice = ActionAdd, SideSell, SentimentBearish, dec("0")
		},
		"broker override": func(s *Signal) { s.Broker = "schwab" },
		"copy source":     func(s *Signal) { s.Source = SourceCopy },
		"tp percent":      func(s *Signal) { s.TakeProfitPrice, s.TakeProfitPercent = dec("0"), dec("150") },
		"cancel": func(s *Signal) {
			*s = Signal{Source: SourceDashboard, Symbol: "AAPL", AssetClass: AssetStock, Action: ActionCancel, QuantityType: QtyDefault}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := validDashboardSignal()
			mutate(&s)
			if err := s.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Signal)
		err    string
	}{
		{"source", func(s *Signal) { s.Source = "email" }, "source: must be one of discord, tradingview, dashboard, copy"},
		{"symbol empty", func(s *Signal) { s.Symbol = "" }, "symbol: is required"},
		{"symbol lower", func(s *Signal) { s.Symbol = "aapl" }, `symbol: is not in canonical form (AAPL, BRK.B, BTC-USD), got "aapl"`},
		{"crypto not canonical", func(s *Signal) { s.Symbol, s.AssetClass = "BTCUSD", AssetCrypto }, `symbol: is not in canonical form (AAPL, BRK.B, BTC-USD), got "BTCUSD"`},
		{"class mismatch", func(s *Signal) { s.Symbol = "BTC-USD" }, `symbol: is not in canonical form (AAPL, BRK.B, BTC-USD), got "BTC-USD"`},
		{"asset class", func(s *Signal) { s.AssetClass = "forex" }, "assetClass: must be one of stock, crypto"},
		{"broker", func(s *Signal) { s.Broker = "robinhood" }, `broker: must be one of paper, alpaca, ibkr, schwab, coinbase, kraken, binance, got "robinhood"`},
		{"external id control", func(s *Signal) { s.ExternalID = "a\nb" }, "externalId: must not contain control characters"},
		{"external id long", func(s *Signal) { s.ExternalID = strings.Repeat("x", 257) }, "externalId: is too long (at most 256 characters)"},
		{"text long", func(s *Signal) { s.Text = strings.Repeat("x", 5000) }, "text: is too long (at most 4096 characters)"},
		{"action", func(s *Signal) { s.Action = "hold" }, "action: must be one of buy, sell, exit, cancel, add"},
		{"side mismatch", func(s *Signal) { s.Side = SideSell }, "side: must be buy for action buy"},
		{"exit with side", func(s *Signal) { s.Action = ActionExit }, "side: must be empty for action exit (the open position decides it)"},
		{"sentiment", func(s *Signal) { s.Sentiment = "long" }, "sentiment: must be one of bullish, bearish, flat"},
		{"add disagreeing", func(s *Signal) { s.Action, s.Sentiment = ActionAdd, SentimentBearish }, "sentiment: disagrees with side (bullish means buy, bearish means sell)"},
		{"negative quantity", func(s *Signal) { s.Quantity = dec("-1") }, "quantity: must not be negative"},
		{"zero quantity", func(s *Signal) { s.Quantity = dec("0") }, "quantity: must be empty when quantityType is default, and set otherwise"},
		{"default with quantity", func(s *Signal) { s.QuantityType = QtyDefault }, "quantity: must be empty when quantityType is default, and set otherwise"},
		{"quantity type", func(s *Signal) { s.QuantityType = "shares" }, "quantityType: must be one of fixed_quantity, dollar_amount, percent_of_equity, percent_of_position, default"},
		{"percent over 100", func(s *Signal) { s.QuantityType, s.Quantity = QtyPercentOfEquity, dec("101") }, "quantity: must be a percentage greater than 0 and at most 100"},
		{"huge price", func(s *Signal) { s.LimitPrice = dec("1000000000000000") }, "limitPrice: is too large (must be below 1000000000000000)"},
		{"too precise", func(s *Signal) { s.SignalPrice = dec("0.0000000000000000001") }, "signalPrice: has too many decimal places (at most 18)"},
		{"order type", func(s *Signal) { s.OrderType = "" }, "orderType: must be one of market, limit, stop, stop_limit, trailing_stop"},
		{"limit without price", func(s *Signal) { s.LimitPrice = dec("0") }, "limitPrice: is required for a limit order"},
		{"market with price", func(s *Signal) { s.OrderType = OrderMarket }, "limitPrice: is not used by a market order"},
		{"stop without stop", func(s *Signal) { s.OrderType = OrderStopLimit }, "stopPrice: is required for a stop-limit order"},
		{"trail 100", func(s *Signal) { s.OrderType, s.LimitPrice, s.TrailPercent = OrderTrailingStop, dec("0"), dec("100") }, "trailPercent: must be a percentage greater than 0 and below 100"},
		{"sl both", func(s *Signal) { s.StopLossPrice = dec("170") }, "stopLoss: use either a percentage or a price, not both"},
		{"tp both", func(s *Signal) { s.TakeProfitPercent = dec("5") }, "takeProfit: use either a percentage or a price, not both"},
		{"sl 100%", func(s *Signal) { s.StopLossPercent = dec("100") }, "stopLossPercent: must be a percentage greater than 0 and below 100"},
		{"sl above buy", func(s *Signal) { s.StopLossPercent, s.StopLossPrice = dec("0"), dec("180") }, "stopLossPrice: must be below the entry price (180.00) for a buy"},
		{"tp below buy", func(s *Signal) { s.TakeProfitPrice = dec("179.99") }, "takeProfitPrice: must be above the entry price (180.00) for a buy"},
		{"flat with sl", func(s *Signal) { s.Sentiment = SentimentFlat }, "stopLoss: cannot be used when sentiment is flat (the signal only closes a position)"},
		{"cancel with order type", func(s *Signal) {
			*s = Signal{Source: SourceDashboard, Symbol: "AAPL", AssetClass: AssetStock, Action: ActionCancel, QuantityType: QtyDefault, OrderType: OrderMarket}
		}, "orderType: cannot be used with action cancel"},
		{"cancel with quantity", func(s *Signal) {
			*s = Signal{Source: SourceDashboard, Symbol: "AAPL", AssetClass: AssetStock, Action: ActionCancel, QuantityType: QtyFixed, Quantity: dec("1")}
		}, "quantity: cannot be used with action cancel"},
		{"cancel with stop loss", func(s *Signal) {
			*s = Signal{Source: SourceDashboard, Symbol: "AAPL", AssetClass: AssetStock, Action: ActionCancel, QuantityType: QtyDefault, StopLossPercent: dec("1")}
		}, "stopLoss: cannot be used with action cancel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validDashboardSignal()
			tt.mutate(&s)
			wantParseError(t, s.Validate(), tt.err)
		})
	}
}

func TestValidateNilIsUntypedNil(t *testing.T) {
	if err := validDashboardSignal().Validate(); err != nil {
		t.Fatalf("valid signal: %v", err)
	}
}

func TestBrokersIsACopy(t *testing.T) {
	b := Brokers()
	b[0] = "mutated"
	if Brokers()[0] != "paper" {
		t.Fatal("Brokers() must return a copy")
	}
}
