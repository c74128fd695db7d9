package binance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The exit pair against Binance's own published answers (testdata/recorded,
// SOURCES.md): the OCO placement, the order-list query and the cancel.

const listNotFoundBody = `{"code":-2018,"msg":"Order list does not exist."}`

func TestRecordedExitPairPlace(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/exchangeInfo", "exchangeinfo_bnbbtc_docs.json")
	r.answer("GET /api/v3/orderList", 400, listNotFoundBody)
	r.recorded(t, "POST /api/v3/orderList/oco", "orderlist_oco_docs.json")
	req := broker.ExitPairRequest{ClientOrderID: "tee-pair-1", Symbol: "BNB-BTC", Side: signal.SideSell, Quantity: d("5"),
		TakeProfitPrice: d("3"), StopPrice: d("1"), TimeInForce: broker.TIFGTC}
	pair, err := r.adapter(t, Options{}).PlaceExitPair(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	// BNBBTC lists STOP_LOSS_LIMIT, not STOP_LOSS: the stop leg is a
	// stop-limit 1% below the stop, GTC.
	p := r.params("POST /api/v3/orderList/oco")
	want := map[string]string{
		"symbol": "BNBBTC", "side": "SELL", "quantity": "5", "listClientOrderId": "tee-pair-1",
		"aboveType": "LIMIT_MAKER", "abovePrice": "3", "aboveClientOrderId": "tee-pair-1:tp",
		"belowType": "STOP_LOSS_LIMIT", "belowStopPrice": "1", "belowPrice": "0.99", "belowTimeInForce": "GTC",
		"belowClientOrderId": "tee-pair-1:sl", "newOrderRespType": "RESULT",
	}
	for k, v := range want {
		if p.Get(k) != v {
			t.Errorf("%s = %q, want %q (sent %v)", k, p.Get(k), v, p)
		}
	}
	for _, k := range []string{"aboveStopPrice", "aboveTimeInForce", "price", "stopPrice", "type"} {
		if p.Has(k) {
			t.Errorf("%s sent: %v", k, p)
		}
	}
	if p.Get("signature") == "" || p.Get("timestamp") == "" {
		t.Errorf("not signed: %v", p)
	}
	if q := r.params("GET /api/v3/orderList"); q.Get("origClientOrderId") != "tee-pair-1" {
		t.Errorf("look-up before placing sent %v", q)
	}
	// The documented answer: list 1, order 10 the STOP_LOSS_LIMIT, 11 the
	// LIMIT_MAKER.
	tp, sl := pair.TakeProfit, pair.StopLoss
	if pair.ID != "LTCBTC:1" || pair.ClientOrderID != "tee-pair-1" ||
		tp.ID != "LTCBTC:11" || tp.Type != signal.OrderLimit || !tp.LimitPrice.Equal(d("3")) || tp.Side != signal.SideSell ||
		!tp.Quantity.Equal(d("5")) || tp.Status != broker.StatusNew || tp.ClientOrderID != "NuMp0nVYnciDiFmVqfpBqK" ||
		sl.ID != "LTCBTC:10" || sl.Type != signal.OrderStopLimit || !sl.StopPrice.Equal(d("1")) || !sl.LimitPrice.Equal(d("1")) ||
		sl.Status != broker.StatusNew || !sl.Quantity.Equal(d("5")) {
		t.Fatalf("pair %+v", pair)
	}
}

func TestRecordedExitPairRefused(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/exchangeInfo", "exchangeinfo_bnbbtc_docs.json")
	r.answer("GET /api/v3/orderList", 400, listNotFoundBody)
	// errors.md, messages for -2010.
	r.answer("POST /api/v3/orderList/oco", 400, `{"code":-2010,"msg":"The relationship of the prices for the orders is not correct."}`)
	_, err := r.adapter(t, Options{}).PlaceExitPair(testCtx(t), broker.ExitPairRequest{ClientOrderID: "tee-pair-2", Symbol: "BNB-BTC",
		Side: signal.SideSell, Quantity: d("5"), TakeProfitPrice: d("3"), StopPrice: d("1")})
	if broker.KindOf(err) != broker.KindInvalidOrder {
		t.Fatalf("err = %v, want INVALID_ORDER (the caller emulates the pair)", err)
	}
}

// FindExitPair reads the documented "Query Order list" answer (orders 4
// and 5 of LTCBTC) and each leg; the legs are answered with the two order
// reports of the documented OCO answer.
func TestRecordedExitPairFind(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/orderList", "query_orderlist_docs.json")
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", "orderlist_oco_docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OrderReports []json.RawMessage `json:"orderReports"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.OrderReports) != 2 {
		t.Fatalf("orderlist_oco_docs.json: %v", err)
	}
	r.answer("GET /api/v3/order?orderId=4", 200, string(doc.OrderReports[0]))
	r.answer("GET /api/v3/order?orderId=5", 200, string(doc.OrderReports[1]))
	pair, found, err := r.adapter(t, Options{}).FindExitPair(testCtx(t), "tee-pair-3")
	if err != nil || !found {
		t.Fatalf("found %v, %v", found, err)
	}
	if q := r.params("GET /api/v3/orderList"); q.Get("origClientOrderId") != "tee-pair-3" || q.Has("symbol") {
		t.Errorf("query sent %v", q)
	}
	if q := r.params("GET /api/v3/order"); q.Get("symbol") != "LTCBTC" || q.Get("orderId") != "5" {
		t.Errorf("leg query sent %v", q)
	}
	if pair.ID != "LTCBTC:27" || pair.ClientOrderID != "tee-pair-3" || pair.TakeProfit.Type != signal.OrderLimit ||
		!pair.TakeProfit.LimitPrice.Equal(d("3")) || !pair.StopLoss.StopPrice.Equal(d("1")) || pair.Done() {
		t.Fatalf("pair %+v", pair)
	}

	r.answer("GET /api/v3/orderList", 400, listNotFoundBody)
	if _, found, err := r.adapter(t, Options{}).FindExitPair(testCtx(t), "tee-none"); found || err != nil {
		t.Fatalf("unknown list: found %v, %v", found, err)
	}
}

func TestRecordedExitPairCancel(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "DELETE /api/v3/orderList", "cancel_orderlist_docs.json")
	if err := r.adapter(t, Options{}).CancelExitPair(testCtx(t), "LTCBTC:0"); err != nil {
		t.Fatal(err)
	}
	if p := r.params("DELETE /api/v3/orderList"); p.Get("symbol") != "LTCBTC" || p.Get("orderListId") != "0" || p.Get("signature") == "" {
		t.Fatalf("cancel sent %v", p)
	}
}
