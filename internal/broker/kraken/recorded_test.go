package kraken

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Recorded answers (testdata/README.md names the source of each) replayed
// through the adapter built by Factory, as in production: what is asserted
// is what the adapter reads out of Kraken's own wire format, not out of the
// fake's.

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replay serves the recorded bodies and keeps the AddOrder forms it got.
type replay struct {
	srv *httptest.Server

	mu     sync.Mutex
	orders []url.Values
}

func newReplay(t *testing.T) *replay {
	t.Helper()
	rp := &replay{}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		q := r.URL.Query()
		file := ""
		switch r.Method + " " + r.URL.Path {
		case "GET /0/public/AssetPairs":
			file = map[bool]string{true: "asset_pairs_xbtusd.json", false: "unknown_pair.json"}[q.Get("pair") == "XBTUSD"]
		case "GET /0/public/Ticker":
			file = map[bool]string{true: "ticker_xbtusd.json", false: "unknown_pair.json"}[q.Get("pair") == "XBTUSD"]
		case "POST /0/private/BalanceEx":
			file = "balance_ex.json"
		case "POST /0/private/OpenOrders":
			file = "open_orders.json"
		case "POST /0/private/ClosedOrders":
			file = "closed_orders.json"
		case "POST /0/private/QueryOrders":
			file = map[bool]string{true: "query_orders_added.json", false: "query_orders.json"}[form.Get("txid") == "OUF4EM-FRGI2-MQMWZD"]
		case "POST /0/private/AddOrder":
			rp.mu.Lock()
			rp.orders = append(rp.orders, form)
			rp.mu.Unlock()
			file = "add_order.json"
		case "POST /0/private/CancelOrder":
			file = "cancel_unknown_order.json"
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(readTestdata(t, file))
	}))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) adapter(t *testing.T) *Adapter {
	t.Helper()
	b, err := Factory(testOptions())(broker.Config{Credentials: broker.Credentials{
		"api_key": "recorded-key", "api_secret": base64.StdEncoding.EncodeToString([]byte("recorded-secret")),
		"base_url": rp.srv.URL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b.(*Adapter)
}

func unix(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }

// sameTime compares Kraken's float epoch seconds to the millisecond.
func sameTime(a, b time.Time) bool { return a.Sub(b).Abs() < time.Millisecond }

func checkOrder(t *testing.T, got, want broker.Order) {
	t.Helper()
	ok := got.ID == want.ID && got.ClientOrderID == want.ClientOrderID && got.Symbol == want.Symbol &&
		got.Side == want.Side && got.Type == want.Type && got.Status == want.Status &&
		got.Quantity.Equal(want.Quantity) && got.FilledQuantity.Equal(want.FilledQuantity) &&
		got.AvgFillPrice.Equal(want.AvgFillPrice) && got.LimitPrice.Equal(want.LimitPrice) &&
		got.StopPrice.Equal(want.StopPrice) && got.RejectReason == want.RejectReason &&
		sameTime(got.SubmittedAt, want.SubmittedAt) && sameTime(got.UpdatedAt, want.UpdatedAt)
	if !ok {
		t.Fatalf("order\n got %+v\nwant %+v", got, want)
	}
}

func TestRecordedQueryOrders(t *testing.T) {
	a := newReplay(t).adapter(t)
	tests := []struct {
		txid string
		want broker.Order
	}{
		// price is Kraken's average price; cost / vol_exec
		// (755.98093 / 0.01234567 = 61234.50003…) is off by the rounding of
		// cost to 5 decimals.
		{"OQ7XKB-2MZ4N-ZC3PAF", broker.Order{ID: "OQ7XKB-2MZ4N-ZC3PAF", Symbol: "BTC-USD", Side: signal.SideBuy,
			Type: signal.OrderStopLimit, Status: broker.StatusFilled, Quantity: d("0.01234567"),
			FilledQuantity: d("0.01234567"), AvgFillPrice: d("61234.5"), StopPrice: d("61200"), LimitPrice: d("61300"),
			SubmittedAt: unix(1737471896, 780800000), UpdatedAt: unix(1737471899, 192200000)}},
		{"O3FWLA-6RZJX-QSNT7M", broker.Order{ID: "O3FWLA-6RZJX-QSNT7M", Symbol: "BTC-USD", Side: signal.SideSell,
			Type: signal.OrderMarket, Status: broker.StatusFilled, Quantity: d("0.25"), FilledQuantity: d("0.25"),
			AvgFillPrice: d("60110.3"), SubmittedAt: unix(1737398412, 231700000), UpdatedAt: unix(1737398412, 233500000)}},
		// "User requested" is the trader's own cancel, not a rejection.
		{"OKQ2M4-7NWZD-XH3FQT", broker.Order{ID: "OKQ2M4-7NWZD-XH3FQT", Symbol: "BTC-USD", Side: signal.SideBuy,
			Type: signal.OrderLimit, Status: broker.StatusCancelled, Quantity: d("0.05"), LimitPrice: d("58000"),
			SubmittedAt: unix(1737390716, 440951800), UpdatedAt: unix(1737476419, 576873500)}},
	}
	for _, tt := range tests {
		t.Run(tt.txid, func(t *testing.T) {
			got, err := a.GetOrderStatus(testCtx(t), tt.txid)
			if err != nil {
				t.Fatal(err)
			}
			checkOrder(t, got, tt.want)
		})
	}
}

func TestRecordedFindOrderByClientID(t *testing.T) {
	a := newReplay(t).adapter(t)
	tests := []struct {
		cid  string
		want broker.Order
	}{
		{"sig-42-entry", broker.Order{ID: "OCUG7Z-4EM5R-7ZCJ47", ClientOrderID: "sig-42-entry", Symbol: "BTC-USD",
			Side: signal.SideBuy, Type: signal.OrderLimit, Status: broker.StatusPartiallyFilled, Quantity: d("0.5"),
			FilledQuantity: d("0.2"), AvgFillPrice: d("60875"), LimitPrice: d("60900"),
			SubmittedAt: unix(1737477427, 576083000), UpdatedAt: unix(1737477427, 576083000)}},
		{"sig-41-exit", broker.Order{ID: "OBGFYP-XVQNL-P4GMWF", ClientOrderID: "sig-41-exit", Symbol: "BTC-USD",
			Side: signal.SideSell, Type: signal.OrderLimit, Status: broker.StatusFilled, Quantity: d("0.02"),
			FilledQuantity: d("0.02"), AvgFillPrice: d("60760"), LimitPrice: d("60760"),
			SubmittedAt: unix(1737398929, 905204500), UpdatedAt: unix(1737477419, 811567500)}},
	}
	for _, tt := range tests {
		t.Run(tt.cid, func(t *testing.T) {
			got, found, err := a.FindOrderByClientID(testCtx(t), tt.cid)
			if err != nil || !found {
				t.Fatalf("found %v, %v", found, err)
			}
			checkOrder(t, got, tt.want)
		})
	}
	if _, found, err := a.FindOrderByClientID(testCtx(t), "sig-99-entry"); err != nil || found {
		t.Fatalf("an id in neither list: found %v, %v", found, err)
	}
}

// TestRecordedPlaceOrder: the pair's recorded rules shape the request
// (volume to lot_decimals 8, a buy's price down to tick_size 0.1), the txid
// comes from AddOrder's recorded answer, the state from QueryOrders'.
func TestRecordedPlaceOrder(t *testing.T) {
	rp := newReplay(t)
	a := rp.adapter(t)
	o, err := a.PlaceOrder(testCtx(t), broker.OrderRequest{ClientOrderID: "sig-43-entry", Symbol: "BTC-USD",
		AssetClass: signal.AssetCrypto, Side: signal.SideBuy, Type: signal.OrderLimit, Quantity: d("0.0123456789"),
		LimitPrice: d("61234.56"), TimeInForce: broker.TIFGTC})
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, o, broker.Order{ID: "OUF4EM-FRGI2-MQMWZD", ClientOrderID: "sig-43-entry", Symbol: "BTC-USD",
		Side: signal.SideBuy, Type: signal.OrderLimit, Status: broker.StatusNew, Quantity: d("0.01234567"),
		LimitPrice: d("61234.5"), SubmittedAt: unix(1737478012, 372327800), UpdatedAt: unix(1737478012, 372327800)})
	if len(rp.orders) != 1 {
		t.Fatalf("%d AddOrder requests", len(rp.orders))
	}
	sent := rp.orders[0]
	want := map[string]string{"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "volume": "0.01234567",
		"price": "61234.5", "cl_ord_id": "sig-43-entry", "timeinforce": "GTC"}
	for k, v := range want {
		if sent.Get(k) != v {
			t.Errorf("AddOrder %s = %q, want %q (form %v)", k, sent.Get(k), v, sent)
		}
	}
}

func TestRecordedBalanceAndPrice(t *testing.T) {
	a := newReplay(t).adapter(t)
	p, err := a.LastPrice(testCtx(t), "BTC-USD")
	if err != nil || !p.Equal(d("61238.7")) { // c[0], the last trade
		t.Fatalf("LastPrice = %s, %v", p, err)
	}
	if _, err := a.LastPrice(testCtx(t), "NOPE-USD"); broker.KindOf(err) != broker.KindInvalidSymbol {
		t.Fatalf("unknown pair: %v", err)
	}
	bal, err := a.GetBalance(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	// ZUSD is cash, less hold_trade for buying power; XXBT at the last
	// trade; the zero XXLM and the earn balance XBT.F count for nothing.
	btc := d("0.40317091").Mul(d("61238.7"))
	if !bal.Cash.Equal(d("24198.3141")) || !bal.BuyingPower.Equal(d("18077.4341")) ||
		!bal.Equity.Equal(d("24198.3141").Add(btc)) || bal.Currency != "USD" {
		t.Fatalf("balance %+v", bal)
	}
	pos, err := a.GetPositions(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != 1 || pos[0].Symbol != "BTC-USD" || !pos[0].Quantity.Equal(d("0.40317091")) ||
		!pos[0].CurrentPrice.Equal(d("61238.7")) || !pos[0].MarketValue.Equal(btc) {
		t.Fatalf("positions %+v", pos)
	}
}

// TestRecordedCancelOfFilledOrder: Kraken answers a cancel of a closed order
// with EOrder:Unknown order; QueryOrders shows it filled, which is a
// refusal, not a success nor a missing order.
func TestRecordedCancelOfFilledOrder(t *testing.T) {
	a := newReplay(t).adapter(t)
	err := a.CancelOrder(testCtx(t), "O3FWLA-6RZJX-QSNT7M")
	if broker.KindOf(err) != broker.KindRejected {
		t.Fatalf("cancel of a filled order: %v, want %s", err, broker.KindRejected)
	}
	if err := a.CancelOrder(testCtx(t), "OKQ2M4-7NWZD-XH3FQT"); err != nil {
		t.Fatalf("cancel of a cancelled order: %v", err)
	}
}
