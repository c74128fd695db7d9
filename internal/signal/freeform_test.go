package signal

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseFreeformValid(t *testing.T) {
	long := func(sym string, class AssetClass) Signal {
		return Signal{Source: SourceDiscord, Action: ActionBuy, Side: SideBuy, Symbol: sym, AssetClass: class,
			QuantityType: QtyDefault, OrderType: OrderMarket}
	}
	short := func(sym string, class AssetClass) Signal {
		s := long(sym, class)
		s.Action, s.Side = ActionSell, SideSell
		return s
	}
	limit := func(s Signal, p string) Signal {
		s.OrderType, s.LimitPrice = OrderLimit, dec(p)
		return s
	}
	tests := []struct {
		name    string
		msg     string
		want    Signal
		targets []Target
	}{
		{"issue example", "BTC/USDT LONG  Entry 42000  SL 41000  TP1 43000 TP2 44500",
			func() Signal {
				s := limit(long("BTC-USDT", AssetCrypto), "42000")
				s.StopLossPrice = dec("41000")
				return s
			}(),
			[]Target{{Price: dec("43000"), Share: dec("50")}, {Price: dec("44500"), Share: dec("50")}}},
		{"multi-line with colons", "BTC/USDT LONG\nEntry: 42000\nSL: 41000\nTP1: 43000\nTP2: 44500\nTP3: 46000",
			func() Signal {
				s := limit(long("BTC-USDT", AssetCrypto), "42000")
				s.StopLossPrice = dec("41000")
				return s
			}(),
			[]Target{{Price: dec("43000"), Share: dec("33.33333333")}, {Price: dec("44500"), Share: dec("33.33333333")},
				{Price: dec("46000"), Share: dec("33.33333334")}}},
		{"cashtag market with one target", "$TSLA BUY SL 245 TP 270",
			func() Signal {
				s := long("TSLA", AssetStock)
				s.StopLossPrice, s.TakeProfitPrice = dec("245"), dec("270")
				return s
			}(), nil},
		{"glued values and emoji", "🚀 New signal 🚀 $ETH short entry:2500 sl:2600 tp1:2400 tp2:2300 ✅",
			func() Signal {
				s := limit(short("ETH-USD", AssetCrypto), "2500")
				s.StopLossPrice = dec("2600")
				return s
			}(),
			[]Target{{Price: dec("2400"), Share: dec("50")}, {Price: dec("2300"), Share: dec("50")}}},
		{"target list with shares", "ETHUSDT LONG Entry 2500 Targets: 2600 (60%) / 2700 (40%) Stop loss: 2400",
			func() Signal {
				s := limit(long("ETH-USDT", AssetCrypto), "2500")
				s.StopLossPrice = dec("2400")
				return s
			}(),
			[]Target{{Price: dec("2600"), Share: dec("60")}, {Price: dec("2700"), Share: dec("40")}}},
		{"spelled target numbers", "AAPL long entry 180 Target 1: 185 Target 2: 190 SL 175",
			func() Signal { s := limit(long("AAPL", AssetStock), "180"); s.StopLossPrice = dec("175"); return s }(),
			[]Target{{Price: dec("185"), Share: dec("50")}, {Price: dec("190"), Share: dec("50")}}},
		{"entry zone long buys at its top", "BTC LONG Entry 42000-42500 SL 41000 TP 44000",
			func() Signal {
				s := limit(long("BTC-USD", AssetCrypto), "42500")
				s.StopLossPrice, s.TakeProfitPrice = dec("41000"), dec("44000")
				return s
			}(), nil},
		{"entry zone short sells at its bottom", "SOL/USDT SHORT Entry 100 to 102 SL 105 TP 90",
			func() Signal {
				s := limit(short("SOL-USDT", AssetCrypto), "100")
				s.StopLossPrice, s.TakeProfitPrice = dec("105"), dec("90")
				return s
			}(), nil},
		{"grouped thousands and dollars", "BTC/USD long entry $42,000.50 sl $41,000",
			func() Signal {
				s := limit(long("BTC-USD", AssetCrypto), "42000.50")
				s.StopLossPrice = dec("41000")
				return s
			}(), nil},
		{"percent levels", "$NVDA buy @ 900 SL 2% TP 5%",
			func() Signal {
				s := limit(long("NVDA", AssetStock), "900")
				s.StopLossPercent, s.TakeProfitPercent = dec("2"), dec("5")
				return s
			}(), nil},
		{"entry market and size", "MSFT long entry market size 10 shares",
			func() Signal {
				s := long("MSFT", AssetStock)
				s.Quantity, s.QuantityType = dec("10"), QtyFixed
				return s
			}(), nil},
		{"dollar size", "$AMD buy size $500",
			func() Signal {
				s := long("AMD", AssetStock)
				s.Quantity, s.QuantityType = dec("500"), QtyDollarAmount
				return s
			}(), nil},
		{"percent size", "AMD buy size 5%",
			func() Signal {
				s := long("AMD", AssetStock)
				s.Quantity, s.QuantityType = dec("5"), QtyPercentOfEquity
				return s
			}(), nil},
		{"mentions are decoration", "<@&123456789> $TSLA LONG <:rocket:998877> entry 250 sl 245",
			func() Signal { s := limit(long("TSLA", AssetStock), "250"); s.StopLossPrice = dec("245"); return s }(), nil},
		{"markdown bold labels", "**$TSLA** **LONG**\n**Entry:** 250\n**SL:** 245",
			func() Signal { s := limit(long("TSLA", AssetStock), "250"); s.StopLossPrice = dec("245"); return s }(), nil},
		{"close whatever is open", "CLOSE $TSLA",
			Signal{Source: SourceDiscord, Action: ActionExit, Symbol: "TSLA", AssetClass: AssetStock, QuantityType: QtyDefault, OrderType: OrderMarket}, nil},
		{"close long only sells", "Close long BTC/USDT",
			Signal{Source: SourceDiscord, Action: ActionSell, Side: SideSell, Sentiment: SentimentFlat, Symbol: "BTC-USDT",
				AssetClass: AssetCrypto, QuantityType: QtyDefault, OrderType: OrderMarket}, nil},
		{"close part of a short", "exit short $TSLA size 5",
			Signal{Source: SourceDiscord, Action: ActionBuy, Side: SideBuy, Sentiment: SentimentFlat, Symbol: "TSLA",
				AssetClass: AssetStock, Quantity: dec("5"), QuantityType: QtyFixed, OrderType: OrderMarket}, nil},
		{"repeated same side", "BUY $TSLA long entry 250", limit(long("TSLA", AssetStock), "250"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFreeform(tt.msg)
			if err != nil {
				t.Fatalf("ParseFreeform(%q): %v", tt.msg, err)
			}
			want := tt.want
			want.Text = tt.msg
			if !sameSignal(f.Signal, want, true) {
				t.Fatalf("signal\n got  %+v\n want %+v", f.Signal, want)
			}
			if len(f.Targets) != len(tt.targets) {
				t.Fatalf("targets %+v, want %+v", f.Targets, tt.targets)
			}
			for i := range tt.targets {
				g, w := f.Targets[i], tt.targets[i]
				if !g.Price.Equal(w.Price) || !g.Percent.Equal(w.Percent) || !g.Share.Equal(w.Share) {
					t.Fatalf("target %d: got %+v, want %+v", i, g, w)
				}
			}
			checkFreeform(t, f)
		})
	}
}

func TestParseFreeformRefusals(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"$TSLA $NVDA LONG entry 250", `symbol: two symbols "$TSLA" and "$NVDA"; a signal names one`},
		{"BTC/USDT LONG SHORT Entry 42000", `side: is given both as "LONG" and "SHORT"; a signal is either long or short`},
		{"$TSLA Entry 250", "side: is missing; say LONG or SHORT (or BUY or SELL)"},
		{"$TSLA Entry 250-260 SL 255", "side: is missing and the prices do not tell it; say LONG or SHORT (or BUY or SELL)"},
		{"LONG Entry 250 SL 245", "symbol: is missing; name one, e.g. $TSLA, AAPL or BTC/USDT"},
		{"BTC/USDT LONG Entry 42000 SL 43000", "sl: must be below the entry price (42000) for a buy"},
		{"BTC/USDT SHORT Entry 42000 SL 41000", "sl: must be above the entry price (42000) for a sell"},
		{"BTC/USDT LONG Entry 42000 TP1 41000", "tp: must be above the entry price (42000) for a buy"},
		{"BTC/USDT LONG Entry 42000-42500 SL 42100", "sl: must be below the entry price (42000-42500) for a buy"},
		{"BTC/USDT LONG Entry 42000-42500 TP 42400", "tp: must be above the entry price (42000-42500) for a buy"},
		{"BTC/USDT LONG SL 45000 TP 44000", "sl: 45000 must be below every target for a long (target 44000)"},
		{"BTC/USDT LONG Entry 42000 TP1 44500 TP2 43000", `tp: targets must rise for a long: "43000" comes after "44500"`},
		{"BTC/USDT SHORT Entry 42000 TP1 41000 TP2 41500", `tp: targets must fall for a short: "41500" comes after "41000"`},
		{"BTC/USDT LONG Entry 42000 TP1 43000 TP3 44500", "tp: TP3 comes where TP2 is expected; number targets TP1, TP2, ... in order"},
		{"BTC/USDT LONG Entry 42000 TP1 43000 TP 44500", "tp: use either numbered targets (TP1, TP2) or one TP list, not both"},
		{"BTC/USDT LONG Entry 42000 TP 43000 (60%) 44000 (60%)", "tp: target shares must add up to 100%, got 120%"},
		{"BTC/USDT LONG Entry 42000 TP 43000 (60%) 44000", "tp: give a share for every target, e.g. TP1 43000 (50%) TP2 44500 (50%), or for none (equal shares)"},
		{"BTC/USDT LONG Entry 42000 TP 43000 5%", "tp: targets must all be prices or all be percentages"},
		{"BTC/USDT LONG Entry 42000 Entry 42100", "entry: is given more than once"},
		{"BTC/USDT LONG Entry 42000 SL 41000 SL 40000", "sl: is given more than once"},
		{"BTC/USDT LONG Entry zone 42500-42000", "entry: zone 42500-42000 must go from the lower to the higher price"},
		{"BTC/USDT LONG 10x Entry 42000", `message: leverage and margin ("10x") are not supported; signals are executed spot only`},
		{"BTC/USDT LONG leverage 10 Entry 42000", `message: leverage and margin ("leverage") are not supported; signals are executed spot only`},
		{"BTC LONG perp Entry 42000", `message: futures and perpetual contracts ("perp") are not supported; signals are executed spot only`},
		{"$TSLA LONG Entry 250 looking great", `message: unknown word "looking"; write the signal as symbol, side, Entry, SL and TP, e.g. "BTC/USDT LONG Entry 42000 SL 41000 TP1 43000 TP2 44500"`},
		{"$TSLA LONG Entry", `entry: value is missing after "Entry", e.g. Entry 42000, Entry 42000-42500 or Entry market`},
		{"$TSLA LONG SL", `sl: value is missing after "SL", e.g. SL 41000 or SL 2%`},
		{"$TSLA LONG SL 100%", "sl: must be a percentage greater than 0 and below 100"},
		{"$TSLA LONG Entry 0", "entry: must be greater than 0"},
		{"$TSLA LONG SL 245 250", `message: unexpected number "250"; a number follows its label, e.g. Entry 42000, SL 41000, TP1 43000`},
		{"$TSLA LONG Entry 42k", `message: unknown word "42k"; write the signal as symbol, side, Entry, SL and TP, e.g. "BTC/USDT LONG Entry 42000 SL 41000 TP1 43000 TP2 44500"`},
		{"$EURUSD LONG Entry 1.08", `symbol: forex and metals are not supported, got "EURUSD"`},
		{"CLOSE $TSLA SL 240", "sl: cannot be used with CLOSE"},
		{"CLOSE $TSLA size 5", "size: with CLOSE only a quantity is allowed, together with LONG or SHORT, e.g. CLOSE LONG $TSLA Size 5"},
		{"$TSLA LONG size 150%", "size: must be a percentage greater than 0 and at most 100"},
		{"$TSLA LONG TP 260 (50%)", "tp: target shares must add up to 100%, got 50%"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			f, err := ParseFreeform(tt.msg)
			wantParseError(t, err, tt.want)
			if !reflect.DeepEqual(f.Signal, Signal{}) || f.Targets != nil {
				t.Fatalf("non-zero result with error: %+v", f)
			}
		})
	}
}

func TestParseFreeformChatterIsNoSignal(t *testing.T) {
	for _, msg := range []string{
		"", "good morning traders", "TSLA looking good today", "$TSLA to the moon 🚀",
		"long day today, stay safe", "I'd buy the dip", "see you at 9:30",
		"https://example.com/chart.png", "lol 100x gains",
	} {
		t.Run(msg, func(t *testing.T) {
			_, err := ParseFreeform(msg)
			if !errors.Is(err, ErrNoSignal) {
				t.Fatalf("ParseFreeform(%q) = %v, want ErrNoSignal", msg, err)
			}
		})
	}
	// An attempted signal gets its reason even when it fails early.
	for _, msg := range []string{"$TSLA long entry 25o", "BTC/USDT long 10x", "TP1 43000"} {
		if _, err := ParseFreeform(msg); errors.Is(err, ErrNoSignal) || err == nil {
			t.Errorf("ParseFreeform(%q) = %v, want a reason", msg, err)
		}
	}
}

func TestFreeformLegs(t *testing.T) {
	f, err := ParseFreeform("BTC/USDT LONG Entry 42000 SL 41000 TP1 43000 (25%) TP2 44500 (75%)")
	if err != nil {
		t.Fatal(err)
	}
	// One entry for the whole position; its targets are the ladder.
	legs := f.Legs()
	if len(legs) != 1 || legs[0].Key != "" || !legs[0].Share.Equal(decimal.NewFromInt(100)) {
		t.Fatalf("legs = %+v", legs)
	}
	l := legs[0].Signal
	if !l.StopLossPrice.Equal(dec("41000")) || !l.LimitPrice.Equal(dec("42000")) || !l.HasLadder() || l.HasTakeProfit() {
		t.Fatalf("ladder signal lost the entry, stop or targets: %+v", l)
	}
	for i, want := range []struct{ tp, share string }{{"43000", "25"}, {"44500", "75"}} {
		if tg := l.TakeProfitTargets[i]; !tg.Price.Equal(dec(want.tp)) || !tg.Share.Equal(dec(want.share)) {
			t.Errorf("target %d = %+v", i+1, tg)
		}
	}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := l
	bad.TakeProfitTargets = []Target{{Price: dec("44500"), Share: dec("50")}, {Price: dec("43000"), Share: dec("50")}}
	wantParseError(t, bad.Validate(), "takeProfitTargets: targets must rise for a long: \"43000.00\" comes after \"44500.00\"")
	bad.TakeProfitTargets = []Target{{Price: dec("43000"), Share: dec("50")}, {Price: dec("44500"), Share: dec("40")}}
	wantParseError(t, bad.Validate(), "takeProfitTargets: the target shares must all be given and sum to 100%, or all be left out (equal shares)")
	bad.TakeProfitTargets = []Target{{Price: dec("43000")}}
	wantParseError(t, bad.Validate(), "takeProfitTargets: a take-profit ladder needs at least two targets (one target is takeProfit)")
	bad.TakeProfitTargets = []Target{{Price: dec("41500")}, {Price: dec("44000")}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "takeProfitTargets") {
		t.Fatalf("a target below a long's entry: %v", err)
	}
	single, err := ParseFreeform("$TSLA long tp 270")
	if err != nil {
		t.Fatal(err)
	}
	if l := single.Legs(); len(l) != 1 || l[0].Key != "" || !l[0].Share.Equal(decimal.NewFromInt(100)) ||
		!l[0].Signal.TakeProfitPrice.Equal(dec("270")) {
		t.Fatalf("single leg = %+v", l)
	}
}

func TestParseFreeformBoundsInput(t *testing.T) {
	_, err := ParseFreeform("$TSLA LONG " + strings.Repeat("x", maxTextLen))
	wantParseError(t, err, "message: is too long (at most 4096 characters)")
	_, err = ParseFreeform("$TSLA LONG Entry 250 TP 251 252 253 254 255 256 257 258 259 260 261")
	wantParseError(t, err, "tp: at most 10 targets")
}

// checkFreeform asserts what every parsed free-form message satisfies.
func checkFreeform(t *testing.T, f Freeform) {
	t.Helper()
	checkInvariants(t, f.Signal)
	if f.Signal.Source != SourceDiscord || f.Signal.ExternalID != "" {
		t.Fatalf("source/external id wrong: %+v", f.Signal)
	}
	if len(f.Targets) == 1 {
		t.Fatalf("a single target belongs in the signal: %+v", f.Targets)
	}
	if len(f.Targets) > 1 && (!f.Signal.TakeProfitPrice.IsZero() || !f.Signal.TakeProfitPercent.IsZero()) {
		t.Fatalf("split signal carries its own take-profit: %+v", f.Signal)
	}
	sum := decimal.Zero
	legs := f.Legs()
	for _, l := range legs {
		checkInvariants(t, l.Signal)
		if !l.Share.IsPositive() {
			t.Fatalf("leg share %s", l.Share)
		}
		sum = sum.Add(l.Share)
	}
	if !sum.Equal(decimal.NewFromInt(100)) {
		t.Fatalf("leg shares sum to %s", sum)
	}
}
