package schwab

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/brokertest"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The recorded OCO (testdata/order_oco.json) read as a pair: the LIMIT is
// the take-profit, the STOP the stop-loss, each with its own order id and
// status; the OCO's id is the pair's.
func TestRecordedExitPair(t *testing.T) {
	b := recordedAdapter(t, time.Now())
	pair, err := b.(broker.ExitPairPlacer).GetExitPair(testCtx(t), "1002650011400")
	if err != nil {
		t.Fatal(err)
	}
	tp, sl := pair.TakeProfit, pair.StopLoss
	if pair.ID != "1002650011400" || tp.ID != "1002650011399" || tp.Type != signal.OrderLimit || !tp.LimitPrice.Equal(dec("210")) ||
		tp.Status != broker.StatusNew || tp.Side != signal.SideSell || !tp.Quantity.Equal(dec("25")) || tp.Symbol != "AAPL" ||
		sl.ID != "1002650011400" || sl.Type != signal.OrderStop || !sl.StopPrice.Equal(dec("175.5")) || sl.Status != broker.StatusNew ||
		pair.Done() {
		t.Fatalf("pair %+v", pair)
	}
	// A single order is not a pair.
	if _, err := b.(broker.ExitPairPlacer).GetExitPair(testCtx(t), "1002650011305"); broker.KindOf(err) != broker.KindNotFound {
		t.Fatalf("single order as a pair: %v", err)
	}
}

// The body sent is the OCO as schwab-py's one_cancels_other builds it:
// orderStrategyType OCO and the two SINGLE orders in childOrderStrategies,
// nothing else at the top level.
func TestExitPairBody(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		accounts := "/trader/v1/accounts/"
		switch {
		case r.URL.Path == accounts+"accountNumbers":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(readTestdata(t, "accountNumbers.json"))
		case r.Method == http.MethodGet && r.URL.Path == accounts+recordedHash+"/orders":
			_, _ = io.WriteString(w, "[]")
		case r.Method == http.MethodPost && r.URL.Path == accounts+recordedHash+"/orders":
			if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
				t.Error(err)
			}
			w.Header().Set("Location", "https://api.schwabapi.com"+accounts+recordedHash+"/orders/1002650011400")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet && r.URL.Path == accounts+recordedHash+"/orders/1002650011400":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(readTestdata(t, "order_oco.json"))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	b, err := Factory(WithApp(App{ClientID: "app", ClientSecret: "secret"}), WithCustomURLs(true),
		WithLimiter(ratelimit.New(600000)))(broker.Config{ConnectionID: "body", Credentials: broker.Credentials{
		CredAccessToken: recordedToken, CredRefreshToken: "recorded-refresh-token@",
		CredAccessExpires: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
		CredAccountNumber: recordedAccount, CredBaseURL: srv.URL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	req := broker.ExitPairRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "aapl", AssetClass: signal.AssetStock,
		Side: signal.SideSell, Quantity: dec("25.7"), TakeProfitPrice: dec("210"), StopPrice: dec("175.5")}
	pair, err := b.(broker.ExitPairPlacer).PlaceExitPair(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if pair.ID != "1002650011400" || pair.ClientOrderID != req.ClientOrderID {
		t.Fatalf("pair %+v", pair)
	}
	if len(got) != 2 || got["orderStrategyType"] != "OCO" {
		t.Fatalf("top level %v", got)
	}
	children, _ := got["childOrderStrategies"].([]any)
	if len(children) != 2 {
		t.Fatalf("children %v", got["childOrderStrategies"])
	}
	want := []map[string]any{
		{"orderType": "LIMIT", "price": 210.0, "duration": "GOOD_TILL_CANCEL", "session": "NORMAL", "orderStrategyType": "SINGLE"},
		{"orderType": "STOP", "stopPrice": 175.5, "duration": "GOOD_TILL_CANCEL", "session": "NORMAL", "orderStrategyType": "SINGLE"},
	}
	for i, w := range want {
		c := children[i].(map[string]any)
		for k, v := range w {
			if c[k] != v {
				t.Errorf("child %d %s = %#v, want %#v", i, k, c[k], v)
			}
		}
		legs, _ := c["orderLegCollection"].([]any)
		leg, _ := legs[0].(map[string]any)
		inst, _ := leg["instrument"].(map[string]any)
		if len(legs) != 1 || leg["instruction"] != "SELL" || leg["quantity"] != 25.0 || inst["symbol"] != "AAPL" || inst["assetType"] != "EQUITY" {
			t.Errorf("child %d legs %v", i, legs)
		}
	}
}

// A pair whose answer was lost (the fake accepted the OCO and dropped the
// connection) is recognised among the recent orders by its two orders'
// shapes and claimed: the retry returns it and no second OCO is sent.
func TestExitPairLostAnswerRecovered(t *testing.T) {
	h := newHarness(t)
	h.SetPrice(t, "AAPL", dec("190"))
	b := h.NewAccount(t, dec("100000"))
	if _, err := b.PlaceOrder(testCtx(t), broker.OrderRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL",
		AssetClass: signal.AssetStock, Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: dec("3"), TimeInForce: broker.TIFDay}); err != nil {
		t.Fatal(err)
	}
	p := b.(broker.ExitPairPlacer)
	req := broker.ExitPairRequest{ClientOrderID: brokertest.NewClientOrderID(), Symbol: "AAPL", AssetClass: signal.AssetStock,
		Side: signal.SideSell, Quantity: dec("3"), TakeProfitPrice: dec("210"), StopPrice: dec("170")}
	before := h.OrderCount(t)
	h.DropNextResponse(t)
	pair, err := p.PlaceExitPair(testCtx(t), req)
	if err != nil {
		t.Fatalf("PlaceExitPair after a lost answer: %v", err)
	}
	if n := h.OrderCount(t) - before; n != 1 {
		t.Fatalf("%d OCOs at Schwab, want 1", n)
	}
	found, ok, err := p.FindExitPair(testCtx(t), req.ClientOrderID)
	if err != nil || !ok || found.ID != pair.ID {
		t.Fatalf("FindExitPair = %s, %v, %v; want %s", found.ID, ok, err, pair.ID)
	}
}
