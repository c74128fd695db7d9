package sources

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestSizingValidate(t *testing.T) {
	tests := []struct {
		sz    Sizing
		field string
	}{
		{DefaultSizing(), ""},
		{Sizing{Mode: SizingMultiplier, Multiplier: d("0.5")}, ""},
		{Sizing{Mode: SizingMultiplier, Multiplier: d("100")}, ""},
		{Sizing{Mode: SizingMultiplier, Multiplier: d("0")}, "multiplier"},
		{Sizing{Mode: SizingMultiplier, Multiplier: d("100.5")}, "multiplier"},
		{Sizing{Mode: SizingMultiplier, Multiplier: d("0.00001")}, "multiplier"},
		{Sizing{Mode: SizingFixedAmount, FixedAmount: d("250.50")}, ""},
		{Sizing{Mode: SizingFixedAmount, FixedAmount: d("-1")}, "fixedAmount"},
		{Sizing{Mode: SizingFixedAmount, FixedAmount: d("1.005")}, "fixedAmount"},
		{Sizing{Mode: "percent"}, "mode"},
	}
	for _, tt := range tests {
		err := tt.sz.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.sz, err)
			}
			continue
		}
		e, ok := AsError(err)
		if !ok || e.Field != tt.field {
			t.Errorf("%+v: err %v, want field %s", tt.sz, err, tt.field)
		}
	}
}

func TestFollowerSignal(t *testing.T) {
	base := signal.Signal{Source: signal.SourceDiscord, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionBuy,
		Side: signal.SideBuy, OrderType: signal.OrderMarket, Text: "x"}
	with := func(qt signal.QuantityType, q string) signal.Signal {
		s := base
		s.QuantityType = qt
		if q != "" {
			s.Quantity = d(q)
		}
		return s
	}
	mult := func(m string) Sizing { return Sizing{Mode: SizingMultiplier, Multiplier: d(m)} }
	fixed := func(a string) Sizing { return Sizing{Mode: SizingFixedAmount, FixedAmount: d(a)} }
	maxPct := d("10")
	tests := []struct {
		name   string
		leg    signal.Leg
		sz     Sizing
		wantQT signal.QuantityType
		wantQ  string
	}{
		{"fixed quantity × 1", signal.Leg{Signal: with(signal.QtyFixed, "100"), Share: d("100")}, mult("1"), signal.QtyFixed, "100"},
		{"fixed quantity × 0.5", signal.Leg{Signal: with(signal.QtyFixed, "100"), Share: d("100")}, mult("0.5"), signal.QtyFixed, "50"},
		{"fixed quantity, third leg", signal.Leg{Signal: with(signal.QtyFixed, "100"), Share: d("33.33333333")}, mult("1"), signal.QtyFixed, "33.33333333"},
		{"dollars × 2", signal.Leg{Signal: with(signal.QtyDollarAmount, "500"), Share: d("100")}, mult("2"), signal.QtyDollarAmount, "1000"},
		{"percent of equity capped", signal.Leg{Signal: with(signal.QtyPercentOfEquity, "60"), Share: d("100")}, mult("2"), signal.QtyPercentOfEquity, "100"},
		{"default stays default", signal.Leg{Signal: with(signal.QtyDefault, ""), Share: d("100")}, mult("1"), signal.QtyDefault, "0"},
		{"default scaled", signal.Leg{Signal: with(signal.QtyDefault, ""), Share: d("100")}, mult("0.5"), signal.QtyPercentOfEquity, "5"},
		{"default split", signal.Leg{Signal: with(signal.QtyDefault, ""), Share: d("50")}, mult("1"), signal.QtyPercentOfEquity, "5"},
		{"fixed amount whole", signal.Leg{Signal: with(signal.QtyFixed, "100"), Share: d("100")}, fixed("250"), signal.QtyDollarAmount, "250"},
		{"fixed amount third", signal.Leg{Signal: with(signal.QtyDefault, ""), Share: d("33.33333333")}, fixed("100"), signal.QtyDollarAmount, "33.33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FollowerSignal(tt.leg, tt.sz, maxPct, false)
			if err != nil {
				t.Fatal(err)
			}
			if got.QuantityType != tt.wantQT || !got.Quantity.Equal(d(tt.wantQ)) {
				t.Fatalf("got %s %s, want %s %s", got.QuantityType, got.Quantity, tt.wantQT, tt.wantQ)
			}
			if got.Broker != "" {
				t.Fatalf("broker set without shadow: %q", got.Broker)
			}
		})
	}
}

func TestFollowerSignalClosingAndShadow(t *testing.T) {
	exit := signal.Signal{Source: signal.SourceDiscord, Symbol: "TSLA", AssetClass: signal.AssetStock, Action: signal.ActionExit,
		OrderType: signal.OrderMarket, QuantityType: signal.QtyDefault, Text: "CLOSE $TSLA"}
	got, err := FollowerSignal(signal.Leg{Signal: exit, Share: d("100")}, Sizing{Mode: SizingFixedAmount, FixedAmount: d("100")}, d("10"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuantityType != signal.QtyDefault || got.Action != signal.ActionExit || got.Broker != "paper" {
		t.Fatalf("exit changed: %+v", got)
	}
	tiny := signal.Signal{Source: signal.SourceDiscord, Symbol: "AAPL", AssetClass: signal.AssetStock, Action: signal.ActionBuy,
		Side: signal.SideBuy, OrderType: signal.OrderMarket, QuantityType: signal.QtyDollarAmount, Quantity: d("0.01"), Text: "x"}
	if _, err := FollowerSignal(signal.Leg{Signal: tiny, Share: d("50")}, DefaultSizing(), d("10"), false); err == nil {
		t.Fatal("a size rounding to zero was accepted")
	} else if e, ok := AsError(err); !ok || e.Field != "size" {
		t.Fatalf("err = %v", err)
	}
}
