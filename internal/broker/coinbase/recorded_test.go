package coinbase

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// replay answers the adapter with recorded Coinbase answers (testdata,
// sources in testdata/README.md), so the adapter's decoding is checked
// against what Coinbase really sends rather than against our fake. Order
// submissions are decoded strictly into the fake's documented request type.
type replay struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]string // "METHOD path" → testdata file
	sent   []cbCreateOrderRequest
}

func newReplay(t *testing.T, routes map[string]string) *replay {
	r := &replay{t: t, routes: routes}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, apiPrefix)
	if !strings.HasPrefix(path, "/market/") && !strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	key := req.Method + " " + path
	if strings.HasPrefix(path, "/orders/historical/") && path != "/orders/historical/batch" {
		key = req.Method + " /orders/historical/{id}"
	}
	if req.Method == http.MethodPost && path == "/orders" {
		body, _ := io.ReadAll(req.Body)
		var sent cbCreateOrderRequest
		if err := decodeStrict(body, &sent); err != nil {
			r.t.Errorf("create-order body %s does not match the documented request: %v", body, err)
		}
		r.mu.Lock()
		r.sent = append(r.sent, sent)
		r.mu.Unlock()
	}
	file, ok := r.routes[key]
	if !ok {
		r.t.Errorf("unexpected request %s", key)
		http.Error(w, `{"error":"NOT_FOUND","message":"not recorded"}`, http.StatusNotFound)
		return
	}
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		r.t.Fatal(err)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (r *replay) adapter(t *testing.T) *Adapter {
	return openAccount(t, broker.Credentials{
		"api_key": "organizations/test-organization/apiKeys/test-api-key", "api_secret": sdkEd25519Secret, "base_url": r.srv.URL})
}

var recordedRoutes = map[string]string{
	"GET /market/products/BTC-USD": "public_product_btc_usd.json",
	"GET /products/BTC-USD":        "public_product_btc_usd.json",
	"GET /accounts":                "list_accounts.json",
	"GET /orders/historical/{id}":  "get_order.json",
	"GET /orders/historical/batch": "list_orders.json",
	"POST /orders":                 "create_order_success.json",
}

func TestRecordedOrderDecodes(t *testing.T) {
	a := newReplay(t, recordedRoutes).adapter(t)
	o, err := a.GetOrderStatus(testCtx(t), "0000-000000-000000")
	if err != nil {
		t.Fatal(err)
	}
	want := broker.Order{
		ID: "0000-000000-000000", ClientOrderID: "11111-000000-000000", Symbol: "BTC-USD", Side: signal.SideBuy,
		Type: signal.OrderLimit, Status: broker.StatusPartiallyFilled, Quantity: d("0.001"), LimitPrice: d("10000"),
		FilledQuantity: d("0.001"), AvgFillPrice: d("50"),
		SubmittedAt: time.Date(2021, 5, 31, 9, 59, 59, 0, time.UTC), UpdatedAt: time.Date(2021, 5, 31, 10, 30, 0, 0, time.UTC),
	}
	assertOrder(t, o, want)
}

func TestRecordedOrderListDecodes(t *testing.T) {
	a := newReplay(t, recordedRoutes).adapter(t)
	o, found, err := a.FindOrderByClientID(testCtx(t), "11111-000000-000002")
	if err != nil || !found {
		t.Fatalf("found %v, %v", found, err)
	}
	assertOrder(t, o, broker.Order{
		ID: "0000-000000-000002", ClientOrderID: "11111-000000-000002", Symbol: "ETH-USD", Side: signal.SideSell,
		Type: signal.OrderMarket, Status: broker.StatusFilled, FilledQuantity: d("0.0325"), AvgFillPrice: d("3076.92"),
		SubmittedAt: time.Date(2024, 1, 15, 10, 5, 0, 0, time.UTC), UpdatedAt: time.Date(2024, 1, 15, 10, 5, 0, 0, time.UTC),
	})
	resting, found, err := a.FindOrderByClientID(testCtx(t), "11111-000000-000001")
	if err != nil || !found || resting.Status != broker.StatusNew || !resting.LimitPrice.Equal(d("45000")) || !resting.Quantity.Equal(d("0.01")) {
		t.Fatalf("resting order %+v %v %v", resting, found, err)
	}
}

func TestRecordedAccountsDecode(t *testing.T) {
	a := newReplay(t, recordedRoutes).adapter(t)
	bal, err := a.GetBalance(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	btc := d("1.23956789") // available 1.23456789 + hold 0.005
	if !bal.Cash.Equal(d("10450.50")) || !bal.BuyingPower.Equal(d("10000.50")) || bal.Currency != "USD" ||
		!bal.Equity.Equal(d("10450.50").Add(btc.Mul(d("68923.67")))) {
		t.Fatalf("balance %+v", bal)
	}
	pos, err := a.GetPositions(testCtx(t))
	if err != nil || len(pos) != 1 || pos[0].Symbol != "BTC-USD" || !pos[0].Quantity.Equal(btc) || !pos[0].CurrentPrice.Equal(d("68923.67")) {
		t.Fatalf("positions %+v %v", pos, err)
	}
	if p, err := a.LastPrice(testCtx(t), "BTC-USD"); err != nil || !p.Equal(d("68923.67")) {
		t.Fatalf("LastPrice %s %v", p, err)
	}
}

// TestRecordedCreateOrder places an order against the recorded product
// rules and create-order answer: the request matches the documented body and
// the success answer's order id is followed.
func TestRecordedCreateOrder(t *testing.T) {
	r := newReplay(t, recordedRoutes)
	a := r.adapter(t)
	req := order("0000-00000-000000", signal.SideBuy, signal.OrderLimit, "0.0010000049")
	req.LimitPrice = d("10000.009")
	o, err := a.PlaceOrder(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "0000-000000-000000" || o.Status != broker.StatusPartiallyFilled {
		t.Fatalf("order %+v", o)
	}
	if len(r.sent) != 1 {
		t.Fatalf("%d submissions", len(r.sent))
	}
	s := r.sent[0]
	gtc := s.OrderConfiguration.LimitLimitGTC
	// base_increment 0.00000001, price_increment 0.01 from the recorded product.
	if s.ClientOrderID != "0000-00000-000000" || s.ProductID != "BTC-USD" || s.Side != "BUY" || gtc == nil ||
		gtc.BaseSize != "0.001" || gtc.LimitPrice != "10000" {
		t.Fatalf("sent %+v %+v", s, gtc)
	}
}

func TestRecordedCreateOrderFailure(t *testing.T) {
	routes := map[string]string{}
	for k, v := range recordedRoutes {
		routes[k] = v
	}
	routes["POST /orders"] = "create_order_failure.json"
	a := newReplay(t, routes).adapter(t)
	req := order("tee-refused", signal.SideBuy, signal.OrderLimit, "0.001")
	req.LimitPrice = d("10000")
	_, err := a.PlaceOrder(testCtx(t), req)
	var be *broker.Error
	if !errors.As(err, &be) || be.Kind != broker.KindRejected || !strings.Contains(be.Message, "The order configuration was invalid") {
		t.Fatalf("err = %v", err)
	}
}

func assertOrder(t *testing.T, got, want broker.Order) {
	t.Helper()
	if got.ID != want.ID || got.ClientOrderID != want.ClientOrderID || got.Symbol != want.Symbol || got.Side != want.Side ||
		got.Type != want.Type || got.Status != want.Status || !got.Quantity.Equal(want.Quantity) ||
		!got.LimitPrice.Equal(want.LimitPrice) || !got.FilledQuantity.Equal(want.FilledQuantity) ||
		!got.AvgFillPrice.Equal(want.AvgFillPrice) || !got.SubmittedAt.Equal(want.SubmittedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("order\n got %+v\nwant %+v", got, want)
	}
}
