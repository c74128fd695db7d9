package ibkr

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The exit pair's request as IBKR documents an OCA group ("How to Code an
// OCA Order in the Web API"): both tickets in one orders array, each with
// isSingleGroup true. Against the replay, IBKR's documented order question
// is confirmed and its documented acknowledgement (one order, no
// local_order_id) read: an answer that does not acknowledge both legs is
// never taken for the pair; the legs are looked up and, not listed, the
// answer is retryable (UNAVAILABLE), never a rejection.
func TestRecordedExitPairTickets(t *testing.T) {
	r := newReplay(t)
	req := broker.ExitPairRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideSell, Quantity: dec("3"), TakeProfitPrice: dec("210.5"), StopPrice: dec("170")}
	_, err := r.adapter(t).(*Adapter).PlaceExitPair(testCtx(t), req)
	if broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("err = %v, want UNAVAILABLE", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.placed) != 2 {
		t.Fatalf("%d tickets in the request, want the two legs together", len(r.placed))
	}
	want := []map[string]any{
		{"acctId": recordedAccount, "conid": 265598.0, "secType": "265598:STK", "cOID": req.ClientOrderID + "-tp", "orderType": "LMT",
			"price": 210.5, "side": "SELL", "tif": "GTC", "quantity": 3.0, "isSingleGroup": true},
		{"acctId": recordedAccount, "conid": 265598.0, "secType": "265598:STK", "cOID": req.ClientOrderID + "-sl", "orderType": "STP",
			"price": 170.0, "side": "SELL", "tif": "GTC", "quantity": 3.0, "isSingleGroup": true},
	}
	for i, w := range want {
		for k, v := range w {
			if r.placed[i][k] != v {
				t.Errorf("ticket %d %s = %#v, want %#v", i, k, r.placed[i][k], v)
			}
		}
		if _, ok := r.placed[i]["parentId"]; ok {
			t.Errorf("ticket %d carries parentId: an exit pair is an OCA group, not a bracket", i)
		}
	}
}

// A leg the fake filled cancels its OCA sibling, and the order status
// reports the shared oca_group_id (IBKR: "All orders in the same group will
// be assigned the same oca_group_id").
func TestFakeOCAGroup(t *testing.T) {
	h := newHarness(t)
	h.fake.SetPrice("AAPL", dec("190"))
	b := h.NewAccount(t, dec("100000"))
	if _, err := b.PlaceOrder(testCtx(t), marketBuy("5")); err != nil {
		t.Fatal(err)
	}
	p := b.(broker.ExitPairPlacer)
	pair, err := p.PlaceExitPair(testCtx(t), broker.ExitPairRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL",
		AssetClass: signal.AssetStock, Side: signal.SideSell, Quantity: dec("5"), TakeProfitPrice: dec("200"), StopPrice: dec("180")})
	if err != nil {
		t.Fatal(err)
	}
	h.fake.mu.Lock()
	var tp, sl *fakeOrder
	for _, g := range h.fake.gateways {
		if o := g.account.order(pair.TakeProfit.ID); o != nil {
			tp, sl = o, g.account.order(pair.StopLoss.ID)
		}
	}
	group := tp.ocaGroup
	st := h.fake.statusJSON(sl)
	h.fake.mu.Unlock()
	if group == "" || sl.ocaGroup != group || st["oca_group_id"] != group {
		t.Fatalf("legs in OCA groups %q and %q (status %v)", group, sl.ocaGroup, st["oca_group_id"])
	}
}
