package paper

import (
	"context"
	"reflect"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestSetHaltedCanonicalises(t *testing.T) {
	f := newFixture(t, "100000")
	for _, s := range []string{"aapl", "btc-usd", "ETH/USD"} {
		if err := f.e.SetHalted(s, true); err != nil {
			t.Fatalf("SetHalted(%q): %v", s, err)
		}
	}
	if got, want := f.e.Halted(), []string{"AAPL", "BTC-USD", "ETH-USD"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Halted() = %v, want %v", got, want)
	}
	if err := f.e.SetHalted("BTC-USD", false); err != nil {
		t.Fatal(err)
	}
	if got := f.e.Halted(); !reflect.DeepEqual(got, []string{"AAPL", "ETH-USD"}) {
		t.Fatalf("after resume Halted() = %v", got)
	}
	if err := f.e.SetHalted("not a symbol!", true); broker.KindOf(err) != broker.KindInvalidSymbol {
		t.Fatalf("malformed symbol: %v", err)
	}
}

func TestHaltedSymbolRefusesNewOrders(t *testing.T) {
	tests := []struct {
		name   string
		symbol string
		qty    string
	}{
		{"stock", "AAPL", "5"},
		{"crypto", "BTC-USD", "0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "100000")
			if err := f.e.SetHalted(tt.symbol, true); err != nil {
				t.Fatal(err)
			}
			r := req(signal.SideBuy, signal.OrderMarket, tt.symbol, tt.qty)
			_, err := f.b.PlaceOrder(context.Background(), r)
			if broker.KindOf(err) != broker.KindHalted {
				t.Fatalf("PlaceOrder on a halted symbol: %v, want MARKET_HALTED", err)
			}
			if n, _ := f.e.OrderCount(context.Background(), f.id); n != 0 {
				t.Fatalf("%d orders created", n)
			}
			// Other symbols trade.
			other := "TSLA"
			if tt.symbol != "AAPL" {
				other = "ETH-USD"
			}
			if o := f.place(t, req(signal.SideBuy, signal.OrderMarket, other, "1")); o.Status != broker.StatusFilled {
				t.Fatalf("%s order status %s", other, o.Status)
			}
			if err := f.e.SetHalted(tt.symbol, false); err != nil {
				t.Fatal(err)
			}
			if o := f.place(t, r); o.Status != broker.StatusFilled || o.ClientOrderID != r.ClientOrderID {
				t.Fatalf("after resume: %+v", o)
			}
		})
	}
}

// A working order does not fill while its symbol is halted, and a retry
// with the client order id of an order placed before the halt returns it.
func TestHaltFreezesWorkingOrders(t *testing.T) {
	f := newFixture(t, "100000")
	r := req(signal.SideBuy, signal.OrderLimit, "AAPL", "10")
	r.LimitPrice = d("90")
	o := f.place(t, r)
	if o.Status != broker.StatusNew {
		t.Fatalf("limit order status %s", o.Status)
	}
	if err := f.e.SetHalted("AAPL", true); err != nil {
		t.Fatal(err)
	}
	f.feed.Set("AAPL", d("85"))
	if got := f.status(t, o.ID); got.Status != broker.StatusNew {
		t.Fatalf("filled during the halt: %s", got.Status)
	}
	if again := f.place(t, r); again.ID != o.ID {
		t.Fatalf("retry returned %s, want %s", again.ID, o.ID)
	}
	if err := f.e.SetHalted("AAPL", false); err != nil {
		t.Fatal(err)
	}
	if got := f.status(t, o.ID); got.Status != broker.StatusFilled || !got.AvgFillPrice.Equal(d("85")) {
		t.Fatalf("after resume: %s at %s", got.Status, got.AvgFillPrice)
	}
}
