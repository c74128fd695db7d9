package ibkr

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// A trailing stop goes out as IBKR documents it: TRAIL with trailingAmt,
// trailingType "%" and its stop price in "price" (the fake refuses a TRAIL
// without one, as IBKR does). With no stop price in the request the stop
// trails the last price; the fake then trails the market with it.
func TestTrailingStopSendsStopPrice(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("5")); err != nil {
		t.Fatal(err)
	}
	req := broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideSell, Type: signal.OrderTrailingStop, TrailPercent: dec("2"), Quantity: dec("5"), TimeInForce: broker.TIFGTC}
	o, err := b.PlaceOrder(testCtx(t), req)
	if err != nil {
		t.Fatalf("trailing stop: %v", err)
	}
	sent, _ := h.fake.OrderByCOID(req.ClientOrderID)
	// 190 - 2% = 186.20.
	if sent.Type != "TRAIL" || !sent.Price.Equal(dec("186.2")) || !sent.TrailingAmt.Equal(dec("2")) || sent.TrailingType != "%" {
		t.Fatalf("ticket at IBKR %+v", sent)
	}
	if o.Status != broker.StatusNew || !o.StopPrice.Equal(dec("186.2")) {
		t.Fatalf("order %+v", o)
	}
	h.fake.SetPrice("AAPL", dec("200")) // the stop follows to 196
	h.fake.SetPrice("AAPL", dec("197"))
	if o, err = b.GetOrderStatus(testCtx(t), o.ID); err != nil || o.Status != broker.StatusNew || !o.StopPrice.Equal(dec("196")) {
		t.Fatalf("after the rise: %+v, %v", o, err)
	}
	h.fake.SetPrice("AAPL", dec("195.5"))
	if o, err = b.GetOrderStatus(testCtx(t), o.ID); err != nil || o.Status != broker.StatusFilled {
		t.Fatalf("after the fall: %+v, %v", o, err)
	}

	// A stop price in the request is sent as it is (on the tick).
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("1")); err != nil {
		t.Fatal(err)
	}
	req.ClientOrderID, req.Quantity, req.StopPrice = brokertest.NewClientOrderID(), dec("1"), dec("180.004")
	if _, err := b.PlaceOrder(testCtx(t), req); err != nil {
		t.Fatal(err)
	}
	if sent, _ = h.fake.OrderByCOID(req.ClientOrderID); !sent.Price.Equal(dec("180.01")) {
		t.Fatalf("ticket price %s, want 180.01", sent.Price)
	}
}

// As documented, /iserver/accounts must be called before
// /iserver/marketdata/snapshot in a brokerage session (the fake refuses
// otherwise), and again after the gateway begins a new session.
func TestLastPriceQueriesAccountsFirst(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("1000"))
	b := h.open(t, id, base) // no Connect: nothing queried yet
	if p, err := b.LastPrice(testCtx(t), "AAPL"); err != nil || !p.Equal(dec("190")) {
		t.Fatalf("first LastPrice = %s, %v", p, err)
	}
	accounts := false
	for _, r := range h.fake.RequestLog(base) {
		switch r {
		case "GET /iserver/accounts":
			accounts = true
		case "GET " + pathSnapshot:
			if !accounts {
				t.Fatalf("snapshot requested before /iserver/accounts: %v", h.fake.RequestLog(base))
			}
		}
	}
	h.fake.RestartSession(base)
	h.fake.SetPrice("AAPL", dec("191.5"))
	if p, err := b.LastPrice(testCtx(t), "AAPL"); err != nil || !p.Equal(dec("191.5")) {
		t.Fatalf("LastPrice after a new brokerage session = %s, %v", p, err)
	}
}
