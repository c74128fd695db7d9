package binance

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The order type sent follows the symbol's exchangeInfo orderTypes.
func TestOrderTypeFollowsTheSymbolsOrderTypes(t *testing.T) {
	stopSell := func() broker.OrderRequest {
		return broker.OrderRequest{ClientOrderID: "tee-stop", Symbol: "BTC-USD", Side: signal.SideSell,
			Type: signal.OrderStop, Quantity: d("0.1"), StopPrice: d("45000.005"), TimeInForce: broker.TIFGTC}
	}
	stopLimitSell := func() broker.OrderRequest {
		r := stopSell()
		r.Type, r.LimitPrice = signal.OrderStopLimit, d("44000")
		return r
	}
	stopBuy := func() broker.OrderRequest {
		r := stopSell()
		r.Side, r.StopPrice = signal.SideBuy, d("55000.005")
		return r
	}
	tests := []struct {
		name      string
		types     []string // nil: the fake's SpotOrderTypes
		req       broker.OrderRequest
		wantType  string // sent to Binance; "" = refused before sending
		wantPrice string
		wantStop  string
	}{
		{"stop sell without STOP_LOSS goes as STOP_LOSS_LIMIT 1% below", nil, stopSell(), "STOP_LOSS_LIMIT", "44550.00", "45000.01"},
		{"stop buy without STOP_LOSS goes as STOP_LOSS_LIMIT 1% above", nil, stopBuy(), "STOP_LOSS_LIMIT", "55550.00", "55000.00"},
		{"stop where STOP_LOSS is listed", []string{"LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"}, stopSell(), "STOP_LOSS", "", "45000.01"},
		{"stop-limit where listed", nil, stopLimitSell(), "STOP_LOSS_LIMIT", "44000.00", "45000.01"},
		{"stop where no stop type is listed", []string{"LIMIT", "LIMIT_MAKER", "MARKET"}, stopSell(), "", "", ""},
		{"stop-limit where only STOP_LOSS is listed", []string{"LIMIT", "MARKET", "STOP_LOSS"}, stopLimitSell(), "", "", ""},
		{"market where only LIMIT is listed", []string{"LIMIT"}, buy("tee-m", signal.OrderMarket, "0.01"), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake()
			defer f.Close()
			if tt.types != nil {
				f.SetOrderTypes("BTCUSDT", tt.types...)
			}
			a, creds := newAccount(t, f, Options{}, "100000")
			f.SetBalance(creds["api_key"], "BTC", d("1"))
			o, err := a.PlaceOrder(testCtx(t), tt.req)
			if tt.wantType == "" {
				var te *OrderTypeError
				if !errors.As(err, &te) || broker.KindOf(err) != broker.KindInvalidOrder || te.Symbol != "BTCUSDT" || len(te.Allowed) == 0 {
					t.Fatalf("err = %v, want an INVALID_ORDER OrderTypeError", err)
				}
				if n := f.Hits("POST /api/v3/order"); n != 0 {
					t.Fatalf("%d orders sent to Binance", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sent := f.lastOrder(creds["api_key"])
			if sent.typ != tt.wantType || amountOr(sent.price) != tt.wantPrice || amountOr(sent.stop) != tt.wantStop {
				t.Fatalf("sent %s price %s stop %s; want %s price %q stop %q", sent.typ, sent.price, sent.stop, tt.wantType, tt.wantPrice, tt.wantStop)
			}
			if !o.StopPrice.Equal(sent.stop) {
				t.Fatalf("reported stop %s, sent %s", o.StopPrice, sent.stop)
			}
		})
	}
}

// orderTypes changed after they were cached: Binance's refusal drops the
// cache and the next attempt follows the new list.
func TestChangedOrderTypesRefreshTheCache(t *testing.T) {
	f := NewFake()
	defer f.Close()
	f.SetOrderTypes("BTCUSDT", "LIMIT", "MARKET", "STOP_LOSS")
	a, creds := newAccount(t, f, Options{}, "100000")
	f.SetBalance(creds["api_key"], "BTC", d("1"))
	stop := broker.OrderRequest{ClientOrderID: "tee-s", Symbol: "BTC-USD", Side: signal.SideSell,
		Type: signal.OrderStop, Quantity: d("0.1"), StopPrice: d("45000"), TimeInForce: broker.TIFGTC}
	if _, _, err := a.symbol(testCtx(t), "BTC-USD"); err != nil {
		t.Fatal(err)
	}
	f.SetOrderTypes("BTCUSDT", SpotOrderTypes...)
	if _, err := a.PlaceOrder(testCtx(t), stop); broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("stale STOP_LOSS: %v, want INVALID_ORDER from Binance", err)
	}
	o, err := a.PlaceOrder(testCtx(t), stop)
	if err != nil || o.Type != signal.OrderStopLimit {
		t.Fatalf("after the refresh: %+v, %v; want a STOP_LOSS_LIMIT", o, err)
	}
}

// amountOr is a price as "0.00", or "" when unset.
func amountOr(x decimal.Decimal) string {
	if x.IsZero() {
		return ""
	}
	return x.StringFixed(2)
}

// lastOrder is the newest order of an account on the fake.
func (f *Fake) lastOrder(apiKey string) fakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[apiKey]
	if a == nil || len(a.orders) == 0 {
		return fakeOrder{}
	}
	return *a.orders[len(a.orders)-1]
}
