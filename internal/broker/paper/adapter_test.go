package paper

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestPlaceOrderValidation(t *testing.T) {
	mod := func(f func(*broker.OrderRequest)) broker.OrderRequest {
		r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "1")
		f(&r)
		return r
	}
	tests := []struct {
		name string
		req  broker.OrderRequest
		kind broker.Kind
		msg  string
	}{
		{"missing client order id", mod(func(r *broker.OrderRequest) { r.ClientOrderID = "" }), broker.KindInvalidOrder, ""},
		{"client order id too long", mod(func(r *broker.OrderRequest) { r.ClientOrderID = strings.Repeat("c", 129) }), broker.KindInvalidOrder, ""},
		{"zero quantity", mod(func(r *broker.OrderRequest) { r.Quantity = d("0") }), broker.KindInvalidOrder, "quantity must be greater than zero"},
		{"negative quantity", mod(func(r *broker.OrderRequest) { r.Quantity = d("-3") }), broker.KindInvalidOrder, ""},
		{"fractional shares", mod(func(r *broker.OrderRequest) { r.Quantity = d("1.5") }), broker.KindInvalidOrder,
			"fractional share quantity 1.5 is not supported; use whole shares"},
		{"bad side", mod(func(r *broker.OrderRequest) { r.Side = "hold" }), broker.KindInvalidOrder, ""},
		{"bad type", mod(func(r *broker.OrderRequest) { r.Type = "iceberg" }), broker.KindInvalidOrder, ""},
		{"limit without price", mod(func(r *broker.OrderRequest) { r.Type = signal.OrderLimit }), broker.KindInvalidOrder, ""},
		{"stop without price", mod(func(r *broker.OrderRequest) { r.Type = signal.OrderStop }), broker.KindInvalidOrder, ""},
		{"stop-limit without stop", mod(func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice = signal.OrderStopLimit, d("99")
		}), broker.KindInvalidOrder, ""},
		{"trailing without percent", mod(func(r *broker.OrderRequest) { r.Type = signal.OrderTrailingStop }), broker.KindInvalidOrder, ""},
		{"trailing 100%", mod(func(r *broker.OrderRequest) {
			r.Type, r.TrailPercent = signal.OrderTrailingStop, d("100")
		}), broker.KindInvalidOrder, ""},
		{"bad time in force", mod(func(r *broker.OrderRequest) { r.TimeInForce = "gtd" }), broker.KindInvalidOrder, ""},
		{"fok stop", mod(func(r *broker.OrderRequest) {
			r.Type, r.StopPrice, r.TimeInForce = signal.OrderStop, d("105"), broker.TIFFOK
		}), broker.KindInvalidOrder, ""},
		{"opg (no auctions in paper)", mod(func(r *broker.OrderRequest) { r.TimeInForce = broker.TIFOPG }), broker.KindInvalidOrder, ""},
		{"ioc stop", mod(func(r *broker.OrderRequest) {
			r.Type, r.StopPrice, r.TimeInForce = signal.OrderStop, d("105"), broker.TIFIOC
		}), broker.KindInvalidOrder, ""},
		{"extended-hours market order", mod(func(r *broker.OrderRequest) { r.ExtendedHours = true }), broker.KindInvalidOrder, ""},
		{"unknown symbol", mod(func(r *broker.OrderRequest) { r.Symbol = "XYZ" }), broker.KindInvalidSymbol, "unknown symbol XYZ"},
		{"malformed symbol", mod(func(r *broker.OrderRequest) { r.Symbol = "AA$PL" }), broker.KindInvalidSymbol, "unknown symbol AA$PL"},
		{"unknown crypto pair", mod(func(r *broker.OrderRequest) {
			r.Symbol, r.AssetClass, r.Quantity = "FOOUSD", signal.AssetCrypto, d("1")
		}), broker.KindInvalidSymbol, "unknown symbol FOO-USD"},
		{"bad asset class", mod(func(r *broker.OrderRequest) { r.AssetClass = "bond" }), broker.KindInvalidOrder, ""},
	}
	f := newFixture(t, "100000")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.b.PlaceOrder(context.Background(), tt.req)
			be := wantKind(t, err, tt.kind)
			if tt.msg != "" && be.Message != tt.msg {
				t.Fatalf("message = %q, want %q", be.Message, tt.msg)
			}
		})
	}
	if n, _ := f.e.OrderCount(context.Background(), f.id); n != 0 {
		t.Fatalf("%d orders created by invalid requests", n)
	}
}

func TestPriceNormalisation(t *testing.T) {
	f := newFixture(t, "100000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	buy := f.place(t, limitReq(signal.SideBuy, "1", "90.009"))
	eq(t, "buy limit rounded down", buy.LimitPrice, d("90"))
	sell := f.place(t, limitReq(signal.SideSell, "1", "110.001"))
	eq(t, "sell limit rounded up", sell.LimitPrice, d("110.01"))
	stop := f.place(t, stopReq(signal.SideSell, "1", "97.996"))
	eq(t, "stop rounded to the cent", stop.StopPrice, d("98"))
}

func TestCancelOrder(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "100000")
	lim := f.place(t, limitReq(signal.SideBuy, "10", "90"))
	if err := f.b.CancelOrder(ctx, lim.ID); err != nil {
		t.Fatal(err)
	}
	got := f.status(t, lim.ID)
	if got.Status != broker.StatusCancelled {
		t.Fatalf("status = %s", got.Status)
	}
	be := wantKind(t, f.b.CancelOrder(ctx, lim.ID), broker.KindRejected)
	if !strings.Contains(be.Message, "already cancelled") {
		t.Fatalf("message = %q", be.Message)
	}
	mkt := f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
	wantKind(t, f.b.CancelOrder(ctx, mkt.ID), broker.KindRejected)
	wantKind(t, f.b.CancelOrder(ctx, "no-such-order"), broker.KindNotFound)

	// A partially filled order keeps its fills when cancelled.
	f.e.SetLiquidity("AAPL", d("3"))
	part := f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	if err := f.b.CancelOrder(ctx, part.ID); err != nil {
		t.Fatal(err)
	}
	checkOrder(t, "cancelled partial", f.status(t, part.ID), expect{broker.StatusCancelled, "6", "100", ""})
	p, _ := f.position(t, "AAPL")
	eq(t, "position", p.Quantity, d("7"))

	// A working order that the market has reached fills before the cancel.
	f.e.SetLiquidity("AAPL", d("0"))
	lim2 := f.place(t, limitReq(signal.SideBuy, "1", "95"))
	f.feed.Set("AAPL", d("94"))
	wantKind(t, f.b.CancelOrder(ctx, lim2.ID), broker.KindRejected)
	if got := f.status(t, lim2.ID); got.Status != broker.StatusFilled {
		t.Fatalf("status = %s, want filled", got.Status)
	}
}

func TestOrderLookups(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "100000")
	_, err := f.b.GetOrderStatus(ctx, "no-such-order")
	wantKind(t, err, broker.KindNotFound)
	r := limitReq(signal.SideBuy, "1", "90")
	o := f.place(t, r)
	got, found, err := f.b.FindOrderByClientID(ctx, r.ClientOrderID)
	if err != nil || !found || got.ID != o.ID || got.ClientOrderID != r.ClientOrderID {
		t.Fatalf("FindOrderByClientID = %+v, %v, %v", got, found, err)
	}
	_, found, err = f.b.FindOrderByClientID(ctx, "unused")
	if err != nil || found {
		t.Fatalf("FindOrderByClientID(unused) = %v, %v", found, err)
	}
	if o.SubmittedAt != t0 || o.UpdatedAt != t0 || o.SubmittedAt.Location() != time.UTC {
		t.Fatalf("timestamps = %v, %v", o.SubmittedAt, o.UpdatedAt)
	}
}

func TestIdempotentClientOrderID(t *testing.T) {
	f := newFixture(t, "1000000")
	r := req(signal.SideBuy, signal.OrderMarket, "AAPL", "10")
	first := f.place(t, r)
	again := r
	again.Quantity = d("500") // a retry never creates a second order, whatever it carries
	if o := f.place(t, again); o.ID != first.ID || !o.Quantity.Equal(d("10")) {
		t.Fatalf("retry returned %+v", o)
	}
	if n, _ := f.e.OrderCount(context.Background(), f.id); n != 1 {
		t.Fatalf("OrderCount = %d", n)
	}
}

func TestIdempotentConcurrentPlaceOrder(t *testing.T) {
	for _, typ := range []signal.OrderType{signal.OrderMarket, signal.OrderLimit} {
		t.Run(string(typ), func(t *testing.T) {
			f := newFixture(t, "1000000")
			r := req(signal.SideBuy, typ, "AAPL", "10")
			r.LimitPrice = d("90")
			if typ == signal.OrderMarket {
				r.LimitPrice = d("0")
			}
			concurrentSameClientID(t, r, f.b, f.b)
			if n, _ := f.e.OrderCount(context.Background(), f.id); n != 1 {
				t.Fatalf("OrderCount = %d, want 1", n)
			}
			if typ == signal.OrderMarket {
				eq(t, "cash", f.balance(t).Cash, d("999000"))
			}
		})
	}
}

// concurrentSameClientID places r 20 times at once, alternating between the
// brokers, and checks every call returned the same order.
func concurrentSameClientID(t *testing.T, r broker.OrderRequest, bs ...broker.Broker) {
	t.Helper()
	const n = 20
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			o, err := bs[i%len(bs)].PlaceOrder(context.Background(), r)
			ids[i], errs[i] = o.ID, err
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("call %d returned order %q, call 0 %q", i, ids[i], ids[0])
		}
	}
}

func TestMarketHours(t *testing.T) {
	ctx := context.Background()
	nextOpen := time.Date(2024, 3, 14, 13, 30, 0, 0, time.UTC)
	closeAt := time.Date(2024, 3, 13, 20, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	regular, extended := false, true
	cal := CalendarFunc(func(now time.Time, class signal.AssetClass, ext bool) (bool, time.Time, time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if class != signal.AssetStock {
			t.Errorf("calendar asked about %s", class)
		}
		if ext {
			return extended, now, closeAt.Add(4 * time.Hour)
		}
		if regular {
			return true, now, closeAt
		}
		return false, nextOpen, nextOpen.Add(390 * time.Minute)
	})
	setOpen := func(r, e bool) { mu.Lock(); regular, extended = r, e; mu.Unlock() }
	f := newFixture(t, "100000", WithCalendar(cal))

	_, err := f.b.PlaceOrder(ctx, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
	be := wantKind(t, err, broker.KindMarketClosed)
	if be.Message != "the US stock market is closed; it next opens at 2024-03-14 13:30 UTC" {
		t.Fatalf("message = %q", be.Message)
	}
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "BTC-USD", "0.1")) // crypto never closes

	ext := limitReq(signal.SideBuy, "1", "101")
	ext.ExtendedHours = true
	checkOrder(t, "extended-hours limit", f.place(t, ext), expect{broker.StatusFilled, "1", "100", ""})

	clk, err := f.b.Clock(ctx, signal.AssetStock)
	if err != nil || clk.IsOpen || !clk.NextOpen.Equal(nextOpen) || !clk.Now.Equal(t0) {
		t.Fatalf("stock clock = %+v, %v", clk, err)
	}
	clk, err = f.b.Clock(ctx, signal.AssetCrypto)
	if err != nil || !clk.IsOpen {
		t.Fatalf("crypto clock = %+v, %v", clk, err)
	}
	_, err = f.b.Clock(ctx, "bond")
	wantKind(t, err, broker.KindInvalidOrder)

	// Working stock orders wait while the market is closed, and day orders
	// expire at the close.
	setOpen(true, true)
	gtc := limitReq(signal.SideBuy, "1", "95")
	gtc.TimeInForce = broker.TIFGTC
	gtcOrder := f.place(t, gtc)
	day := f.place(t, limitReq(signal.SideBuy, "1", "95"))
	setOpen(false, false)
	f.feed.Set("AAPL", d("94"))
	f.matchAll(t)
	checkOrder(t, "gtc while closed", f.status(t, gtcOrder.ID), expect{status: broker.StatusNew})
	f.clock.Set(closeAt)
	checkOrder(t, "day order at the close", f.status(t, day.ID), expect{status: broker.StatusExpired, filled: "0"})
	setOpen(true, true)
	checkOrder(t, "gtc after the open", f.status(t, gtcOrder.ID), expect{broker.StatusFilled, "1", "94", ""})
}

func TestLastPrice(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "1")
	for sym, want := range map[string]string{"aapl": "100", "BTC/USD": "50000", "btc-usd": "50000"} {
		p, err := f.b.LastPrice(ctx, sym)
		if err != nil || !p.Equal(d(want)) {
			t.Errorf("LastPrice(%s) = %s, %v", sym, p, err)
		}
	}
	_, err := f.b.LastPrice(ctx, "XYZ")
	be := wantKind(t, err, broker.KindInvalidSymbol)
	if be.Message != "unknown symbol XYZ" {
		t.Fatalf("message = %q", be.Message)
	}
}

func TestFactoryAndConnect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "5000")
	reg := broker.NewRegistry()
	reg.Register(Name, Factory(f.e))

	b, err := reg.Open(Name, broker.Config{Paper: true, Credentials: broker.Credentials{"account_id": f.id}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "paper" {
		t.Fatalf("Name = %q", b.Name())
	}
	bal, err := b.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "cash", bal.Cash, d("5000"))
	eq(t, "buying power", bal.BuyingPower, d("5000"))

	_, err = reg.Open(Name, broker.Config{Credentials: broker.Credentials{}})
	wantKind(t, err, broker.KindAuthFailed)

	missing, err := reg.Open(Name, broker.Config{Credentials: broker.Credentials{"account_id": "missing"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = missing.Connect(ctx)
	be := wantKind(t, err, broker.KindAuthFailed)
	if be.Message != "paper account does not exist" { // the id is a credential: never in a message
		t.Fatalf("message = %q", be.Message)
	}
	_, err = missing.PlaceOrder(ctx, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
	wantKind(t, err, broker.KindAuthFailed)
}
