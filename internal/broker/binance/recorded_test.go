package binance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Responses published by Binance (testdata/recorded, sources in its
// SOURCES.md), fed through the adapter: what the real API sends must
// decode into the right orders, balances and refusals, whatever our own
// fake does.

const notFoundBody = `{"code":-2013,"msg":"Order does not exist."}` // errors.md -2013

func TestRecordedOrderQueries(t *testing.T) {
	tests := []struct {
		file string
		want broker.Order
	}{
		{"query_order_docs.json", broker.Order{ID: "LTCBTC:1", ClientOrderID: "myOrder1", Symbol: "LTCBTC", Side: signal.SideBuy,
			Type: signal.OrderLimit, Status: broker.StatusNew, Quantity: d("1"), LimitPrice: d("0.1")}},
		{"get_order_sdk.json", broker.Order{ID: "LTCBTC:1", ClientOrderID: "myOrder1", Symbol: "LTCBTC", Side: signal.SideBuy,
			Type: signal.OrderLimit, Status: broker.StatusNew, Quantity: d("1"), LimitPrice: d("0.1")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := newReplay(t)
			r.recorded(t, "GET /api/v3/order", tt.file)
			o, err := r.adapter(t, Options{}).GetOrderStatus(testCtx(t), "LTCBTC:1")
			if err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if o.ID != w.ID || o.ClientOrderID != w.ClientOrderID || o.Symbol != w.Symbol || o.Side != w.Side || o.Type != w.Type ||
				o.Status != w.Status || !o.Quantity.Equal(w.Quantity) || !o.FilledQuantity.IsZero() || !o.LimitPrice.Equal(w.LimitPrice) ||
				!o.StopPrice.IsZero() || !o.SubmittedAt.Equal(time.UnixMilli(1499827319559).UTC()) {
				t.Fatalf("order %+v", o)
			}
			if p := r.params("GET /api/v3/order"); p.Get("orderId") != "1" || p.Get("symbol") != "LTCBTC" || p.Get("signature") == "" {
				t.Fatalf("query sent %v", p)
			}
		})
	}
}

// A market order on BNBBTC as the documentation lists it (exchangeInfo
// example), answered with the documented RESULT and FULL bodies.
func TestRecordedMarketOrder(t *testing.T) {
	for _, file := range []string{"order_result_docs.json", "order_full_docs.json"} {
		t.Run(file, func(t *testing.T) {
			r := newReplay(t)
			r.recorded(t, "GET /api/v3/exchangeInfo?symbol=BNBBTC", "exchangeinfo_bnbbtc_docs.json")
			r.recorded(t, "GET /api/v3/ticker/price", "ticker_price_docs.json")
			r.answer("GET /api/v3/order", 400, notFoundBody)
			r.recorded(t, "POST /api/v3/order", file)
			req := broker.OrderRequest{ClientOrderID: "tee-rec-1", Symbol: "BNB-BTC", Side: signal.SideSell,
				Type: signal.OrderMarket, Quantity: d("10.0004"), TimeInForce: broker.TIFGTC}
			o, err := r.adapter(t, Options{}).PlaceOrder(testCtx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			p := r.params("POST /api/v3/order")
			if p.Get("symbol") != "BNBBTC" || p.Get("side") != "SELL" || p.Get("type") != "MARKET" || p.Get("quantity") != "10" ||
				p.Get("newOrderRespType") != "RESULT" || p.Get("newClientOrderId") != "tee-rec-1" || p.Has("price") || p.Has("timeInForce") {
				t.Fatalf("order sent %v", p)
			}
			// The documented answer: order 28, 10 filled for 10 quote.
			if o.ID != "BTCUSDT:28" || o.Status != broker.StatusFilled || !o.Quantity.Equal(d("10")) || !o.FilledQuantity.Equal(d("10")) ||
				!o.AvgFillPrice.Equal(d("1")) || o.Type != signal.OrderMarket || o.Side != signal.SideSell || o.ClientOrderID != "tee-rec-1" ||
				!o.SubmittedAt.Equal(time.UnixMilli(1507725176595).UTC()) {
				t.Fatalf("order %+v", o)
			}
		})
	}
}

// Stops against recorded orderTypes: BNBBTC (docs) lists STOP_LOSS_LIMIT
// only, ETHBTC (SDK fixture) only LIMIT.
func TestRecordedOrderTypes(t *testing.T) {
	stop := broker.OrderRequest{ClientOrderID: "tee-rec-stop", Side: signal.SideSell, Type: signal.OrderStop,
		Quantity: d("1"), StopPrice: d("0.002"), TimeInForce: broker.TIFGTC}

	r := newReplay(t)
	r.recorded(t, "GET /api/v3/exchangeInfo?symbol=BNBBTC", "exchangeinfo_bnbbtc_docs.json")
	r.recorded(t, "GET /api/v3/exchangeInfo?symbol=ETHBTC", "exchangeinfo_ethbtc_sdk.json")
	r.answer("GET /api/v3/order", 400, notFoundBody)
	r.recorded(t, "POST /api/v3/order", "order_result_docs.json")
	a := r.adapter(t, Options{})

	bnb := stop
	bnb.Symbol = "BNB-BTC"
	if _, err := a.PlaceOrder(testCtx(t), bnb); err != nil {
		t.Fatal(err)
	}
	p := r.params("POST /api/v3/order")
	if p.Get("type") != "STOP_LOSS_LIMIT" || p.Get("stopPrice") != "0.002" || p.Get("price") != "0.00198" || p.Get("timeInForce") != "GTC" {
		t.Fatalf("BNBBTC stop sent as %v, want STOP_LOSS_LIMIT stop 0.002 limit 0.00198 GTC", p)
	}

	posts := r.hits("POST /api/v3/order")
	for _, typ := range []signal.OrderType{signal.OrderStop, signal.OrderStopLimit, signal.OrderMarket} {
		eth := stop
		eth.Symbol, eth.Type, eth.LimitPrice = "ETH-BTC", typ, d("0.0019")
		_, err := a.PlaceOrder(testCtx(t), eth)
		var te *OrderTypeError
		if !errors.As(err, &te) || broker.KindOf(err) != broker.KindInvalidOrder || te.Symbol != "ETHBTC" || len(te.Allowed) != 1 || te.Allowed[0] != "LIMIT" {
			t.Fatalf("ETHBTC %s: %v, want OrderTypeError (LIMIT only)", typ, err)
		}
	}
	if r.hits("POST /api/v3/order") != posts {
		t.Fatal("an order type ETHBTC does not list was sent")
	}
	limit := stop
	limit.Symbol, limit.Type, limit.LimitPrice = "ETH-BTC", signal.OrderLimit, d("0.05")
	if _, err := a.PlaceOrder(testCtx(t), limit); err != nil || r.params("POST /api/v3/order").Get("type") != "LIMIT" {
		t.Fatalf("ETHBTC limit: %v", err)
	}
}

func TestRecordedAccount(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/account", "account_docs.json")
	r.recorded(t, "GET /api/v3/ticker/price", "ticker_price_docs.json")
	a := r.adapter(t, Options{})
	bal, err := a.Connect(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	price := d("4.00000200")
	btc, ltc := d("4723846.89208129"), d("4763368.68006011")
	if !bal.Cash.IsZero() || bal.Currency != "USDT" || !bal.Equity.Equal(btc.Add(ltc).Mul(price)) {
		t.Fatalf("balance %+v", bal)
	}
	pos, err := a.GetPositions(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]decimal.Decimal{}
	for _, p := range pos {
		got[p.Symbol] = p.Quantity
	}
	if len(pos) != 2 || !got["BTC-USD"].Equal(btc) || !got["LTC-USD"].Equal(ltc) {
		t.Fatalf("positions %+v", pos)
	}
	if p := r.params("GET /api/v3/account"); p.Get("omitZeroBalances") != "true" || p.Get("recvWindow") != "5000" || p.Get("timestamp") == "" {
		t.Fatalf("account request %v", p)
	}

	r.recorded(t, "GET /api/v3/account", "get_account_sdk.json")
	if _, err := a.Connect(testCtx(t)); err != nil {
		t.Fatalf("SDK account fixture: %v", err)
	}
}

func TestRecordedOpenOrdersAndCancel(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/openOrders", "open_orders_docs.json")
	a := r.adapter(t, Options{})
	o, found, err := a.FindOrderByClientID(testCtx(t), "myOrder1")
	if err != nil || !found || o.ID != "LTCBTC:1" || o.Status != broker.StatusNew || !o.Quantity.Equal(d("1")) {
		t.Fatalf("Find = %+v, %v, %v", o, found, err)
	}
	for _, file := range []string{"cancel_order_docs.json", "delete_order_sdk.json"} {
		r.recorded(t, "DELETE /api/v3/order", file)
		if err := a.CancelOrder(testCtx(t), "LTCBTC:4"); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if p := r.params("DELETE /api/v3/order"); p.Get("orderId") != "4" || p.Get("symbol") != "LTCBTC" {
		t.Fatalf("cancel sent %v", p)
	}
}

func TestRecordedServerTime(t *testing.T) {
	r := newReplay(t)
	r.recorded(t, "GET /api/v3/time", "time_docs.json")
	local := time.UnixMilli(1499827319559).Add(-7 * time.Second)
	a := r.adapter(t, Options{Now: func() time.Time { return local }})
	if err := a.c.syncClock(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := a.c.clock.get(); got != 7*time.Second {
		t.Fatalf("offset %s, want 7s", got)
	}
	if got := a.c.timestamp(); got != 1499827319559 {
		t.Fatalf("timestamp %d, want the server's 1499827319559", got)
	}
}

// The documented 418 names the end of the ban; it is honoured when later
// than Retry-After.
func TestRecordedIPBanAnswer(t *testing.T) {
	r := newReplay(t)
	r.answer("GET /api/v3/account", 418,
		`{"code":-1003,"msg":"Way too much request weight used; IP banned until 1499827319559. Please use WebSocket Streams for live updates to avoid bans."}`,
		"Retry-After", "30")
	now := time.UnixMilli(1499827319559).Add(-2 * time.Minute)
	a := r.adapter(t, Options{Now: func() time.Time { return now }})
	_, err := a.GetBalance(testCtx(t))
	var be *ratelimit.BannedError
	if !errors.As(err, &be) || !be.Until.Equal(time.UnixMilli(1499827319559)) {
		t.Fatalf("err = %v, want a ban until 1499827319559", err)
	}
	var bre *broker.Error
	if !errors.As(err, &bre) || bre.RetryAfter != 2*time.Minute {
		t.Fatalf("RetryAfter = %v, want 2m", bre)
	}
	if r.hits("GET /api/v3/account") != 1 {
		t.Fatalf("%d requests; a ban is not retried", r.hits("GET /api/v3/account"))
	}
}

// The documented 429 for request weight: waited out while the deadline
// allows, then RATE_LIMIT_EXCEEDED.
func TestRecordedTooManyRequestsAnswer(t *testing.T) {
	r := newReplay(t)
	r.answer("GET /api/v3/account", 429,
		`{"code":-1003,"msg":"Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}`,
		"Retry-After", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, err := r.adapter(t, Options{}).GetBalance(ctx)
	if broker.KindOf(err) != broker.KindRateLimited || errors.Is(err, ratelimit.ErrBanned) {
		t.Fatalf("err = %v, want RATE_LIMIT_EXCEEDED (not a ban)", err)
	}
	if n := r.hits("GET /api/v3/account"); n != 2 {
		t.Fatalf("%d requests, want 2 (one Retry-After waited within 1.5 s)", n)
	}
}
