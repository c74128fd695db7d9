package paper

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestCashAndPositions(t *testing.T) {
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	bal := f.balance(t)
	eq(t, "cash", bal.Cash, d("9000"))
	eq(t, "equity", bal.Equity, d("10000"))
	eq(t, "buying power", bal.BuyingPower, d("9000"))

	f.feed.Set("AAPL", d("110"))
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "5"))
	p, ok := f.position(t, "AAPL")
	if !ok {
		t.Fatal("no AAPL position")
	}
	eq(t, "qty", p.Quantity, d("15"))
	eq(t, "avg entry", p.AvgEntryPrice, d("103.3333333333"))
	eq(t, "market value", p.MarketValue, d("1650"))
	eq(t, "current price", p.CurrentPrice, d("110"))
	eq(t, "unrealized", p.UnrealizedPnL, d("110").Sub(d("103.3333333333")).Mul(d("15")))
	bal = f.balance(t)
	eq(t, "cash", bal.Cash, d("8450"))
	eq(t, "equity", bal.Equity, d("10100"))

	f.feed.Set("AAPL", d("120"))
	f.place(t, req(signal.SideSell, signal.OrderMarket, "AAPL", "15"))
	if _, ok := f.position(t, "AAPL"); ok {
		t.Fatal("position not closed")
	}
	bal = f.balance(t)
	eq(t, "cash after close", bal.Cash, d("10250"))
	eq(t, "equity after close", bal.Equity, d("10250"))
	if bal.Currency != "USD" {
		t.Fatalf("currency = %q", bal.Currency)
	}
}

func TestCryptoFractionalCash(t *testing.T) {
	f := newFixture(t, "10000")
	f.feed.Set("BTC-USD", d("50000.5"))
	r := req(signal.SideBuy, signal.OrderMarket, "BTCUSD", "0.123456789")
	r.AssetClass = signal.AssetCrypto
	o := f.place(t, r)
	eq(t, "qty rounded down to the lot step", o.Quantity, d("0.12345678"))
	if o.Symbol != "BTC-USD" {
		t.Fatalf("symbol = %q, want BTC-USD", o.Symbol)
	}
	eq(t, "cash", f.balance(t).Cash, d("3827.09927161"))
	f.place(t, req(signal.SideSell, signal.OrderMarket, "BTC/USD", "0.12345678"))
	eq(t, "cash after round trip", f.balance(t).Cash, d("10000"))
}

func TestShortSellingStocks(t *testing.T) {
	f := newFixture(t, "10000")
	o := f.place(t, req(signal.SideSell, signal.OrderMarket, "TSLA", "20"))
	checkOrder(t, "short", o, expect{broker.StatusFilled, "20", "200", ""})
	bal := f.balance(t)
	eq(t, "cash includes proceeds", bal.Cash, d("14000"))
	eq(t, "equity", bal.Equity, d("10000"))
	eq(t, "buying power", bal.BuyingPower, d("8000")) // 14,000 − 150% × 4,000

	f.feed.Set("TSLA", d("180"))
	p, _ := f.position(t, "TSLA")
	eq(t, "short qty", p.Quantity, d("-20"))
	eq(t, "short market value", p.MarketValue, d("-3600"))
	eq(t, "short unrealized", p.UnrealizedPnL, d("400"))
	eq(t, "equity", f.balance(t).Equity, d("10400"))

	// A buy while short only covers; more than the short is refused.
	_, err := f.b.PlaceOrder(context.Background(), req(signal.SideBuy, signal.OrderMarket, "TSLA", "25"))
	be := wantKind(t, err, broker.KindInsufficientFunds)
	if !strings.Contains(be.Message, "short position to cover: 20 available") {
		t.Fatalf("message = %q", be.Message)
	}
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "TSLA", "20"))
	bal = f.balance(t)
	eq(t, "cash after cover", bal.Cash, d("10400"))
	eq(t, "equity after cover", bal.Equity, d("10400"))
}

func TestShortNeedsMargin(t *testing.T) {
	f := newFixture(t, "1000")
	_, err := f.b.PlaceOrder(context.Background(), req(signal.SideSell, signal.OrderMarket, "TSLA", "20"))
	be := wantKind(t, err, broker.KindInsufficientFunds)
	if be.Message != "insufficient buying power: $1,000.00 available, $2,000.00 required" {
		t.Fatalf("message = %q", be.Message)
	}
	f.place(t, req(signal.SideSell, signal.OrderMarket, "TSLA", "10")) // needs exactly $1,000
	eq(t, "buying power", f.balance(t).BuyingPower, d("0"))
}

func TestPositionLimits(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "100000")

	_, err := f.b.PlaceOrder(ctx, req(signal.SideSell, signal.OrderMarket, "BTC-USD", "0.5"))
	be := wantKind(t, err, broker.KindInsufficientFunds)
	if be.Message != "insufficient BTC-USD position: 0 available, 0.5 required (crypto cannot be sold short)" {
		t.Fatalf("message = %q", be.Message)
	}

	f.place(t, req(signal.SideBuy, signal.OrderMarket, "BTC-USD", "0.25"))
	_, err = f.b.PlaceOrder(ctx, req(signal.SideSell, signal.OrderMarket, "BTC-USD", "0.5"))
	wantKind(t, err, broker.KindInsufficientFunds)

	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	_, err = f.b.PlaceOrder(ctx, req(signal.SideSell, signal.OrderMarket, "AAPL", "15"))
	wantKind(t, err, broker.KindInsufficientFunds)

	// A working stop-loss holds the shares: a second sell does not fit.
	stop := f.place(t, stopReq(signal.SideSell, "10", "95"))
	_, err = f.b.PlaceOrder(ctx, req(signal.SideSell, signal.OrderMarket, "AAPL", "10"))
	be = wantKind(t, err, broker.KindInsufficientFunds)
	if be.Message != "insufficient AAPL position: 0 available (10 held, 10 reserved by open orders), 10 required" {
		t.Fatalf("message = %q", be.Message)
	}
	if err := f.b.CancelOrder(ctx, stop.ID); err != nil {
		t.Fatal(err)
	}
	f.place(t, req(signal.SideSell, signal.OrderMarket, "AAPL", "10"))
}

func TestBuyingPowerReservations(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "20000")
	_, err := f.b.PlaceOrder(ctx, req(signal.SideBuy, signal.OrderMarket, "AAPL", "500"))
	be := wantKind(t, err, broker.KindInsufficientFunds)
	if be.Message != "insufficient buying power: $20,000.00 available, $50,000.00 required" {
		t.Fatalf("message = %q", be.Message)
	}

	lim := f.place(t, limitReq(signal.SideBuy, "100", "90")) // reserves $9,000
	eq(t, "buying power with a working limit", f.balance(t).BuyingPower, d("11000"))
	eq(t, "cash unchanged", f.balance(t).Cash, d("20000"))
	_, err = f.b.PlaceOrder(ctx, req(signal.SideBuy, signal.OrderMarket, "AAPL", "120"))
	be = wantKind(t, err, broker.KindInsufficientFunds)
	if be.Message != "insufficient buying power: $11,000.00 available, $12,000.00 required" {
		t.Fatalf("message = %q", be.Message)
	}
	if err := f.b.CancelOrder(ctx, lim.ID); err != nil {
		t.Fatal(err)
	}
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "120"))
	eq(t, "cash", f.balance(t).Cash, d("8000"))

	// A stop buy reserves at the higher of its stop and the price.
	f.place(t, stopReq(signal.SideBuy, "50", "150"))
	eq(t, "buying power", f.balance(t).BuyingPower, d("500"))
}

func TestFillNeedsBuyingPower(t *testing.T) {
	f := newFixture(t, "10000")
	stop := f.place(t, stopReq(signal.SideBuy, "50", "150")) // reserves $7,500
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "20"))
	f.feed.Set("AAPL", d("190")) // a gap: 50 × 190 = 9,500 > 8,000 cash
	got := f.status(t, stop.ID)
	if got.Status != broker.StatusCancelled || !strings.HasPrefix(got.RejectReason, "insufficient buying power at fill") {
		t.Fatalf("stop = %s %q, want cancelled for buying power", got.Status, got.RejectReason)
	}
	eq(t, "cash never negative", f.balance(t).Cash, d("8000"))
}

func TestReduceOnlyStopsAtFlat(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	stop := f.place(t, stopReq(signal.SideSell, "10", "95"))
	// The position disappears behind the order's back (another order type
	// cannot do this; the engine must still never sell past flat).
	if err := f.e.store.Update(ctx, f.id, func(st *AccountState) error {
		delete(st.Positions, "AAPL")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.feed.Set("AAPL", d("90"))
	got := f.status(t, stop.ID)
	if got.Status != broker.StatusCancelled || got.RejectReason != "position already closed" {
		t.Fatalf("stop = %s %q", got.Status, got.RejectReason)
	}
	if _, ok := f.position(t, "AAPL"); ok {
		t.Fatal("a short was opened by a reduce-only order")
	}
}

func TestDayRoll(t *testing.T) {
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	f.feed.Set("AAPL", d("120"))
	bal := f.balance(t)
	eq(t, "equity", bal.Equity, d("10200"))
	eq(t, "last equity on day one", bal.LastEquity, d("10000"))

	f.clock.Set(time.Date(2024, 3, 14, 0, 0, 1, 0, time.UTC))
	bal = f.balance(t)
	eq(t, "last equity after the roll", bal.LastEquity, d("10200"))
	f.feed.Set("AAPL", d("110"))
	bal = f.balance(t)
	eq(t, "last equity within the day", bal.LastEquity, d("10200"))
	eq(t, "equity", bal.Equity, d("10100"))

	// A process with a lagging clock never rolls the day back.
	f.clock.Set(time.Date(2024, 3, 13, 23, 59, 0, 0, time.UTC))
	eq(t, "lagging clock", f.balance(t).LastEquity, d("10200"))

	// Several idle days: the roll happens on first access.
	f.clock.Set(time.Date(2024, 3, 18, 9, 0, 0, 0, time.UTC))
	eq(t, "after idle days", f.balance(t).LastEquity, d("10100"))
	st, err := f.e.store.Load(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Day != "2024-03-18" {
		t.Fatalf("day = %q", st.Day)
	}
}

func TestDepositAndCreateIdempotent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "1000")
	if err := f.e.CreateAccount(ctx, f.id, d("999999")); err != nil {
		t.Fatal(err)
	}
	eq(t, "cash after a repeated create", f.balance(t).Cash, d("1000"))
	if err := f.e.Deposit(ctx, f.id, d("250.50")); err != nil {
		t.Fatal(err)
	}
	bal := f.balance(t)
	eq(t, "cash", bal.Cash, d("1250.50"))
	eq(t, "last equity is not moved by a deposit", bal.LastEquity, d("1000"))
	if err := f.e.Deposit(ctx, f.id, d("-1")); err == nil {
		t.Fatal("negative deposit accepted")
	}
	if err := f.e.Deposit(ctx, "nope", d("1")); err == nil {
		t.Fatal("deposit to a missing account accepted")
	}
	for _, id := range []string{"", strings.Repeat("x", 37)} {
		if err := f.e.CreateAccount(ctx, id, d("1")); err == nil {
			t.Fatalf("CreateAccount(%q) accepted", id)
		}
	}
}

func TestOrderRetention(t *testing.T) {
	f := newFixture(t, "10000", WithOrderRetention(48*time.Hour))
	old := f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "1"))
	f.clock.Advance(72 * time.Hour)
	live := f.place(t, limitReq(signal.SideBuy, "1", "50"))
	if _, err := f.b.GetOrderStatus(context.Background(), old.ID); broker.KindOf(err) != broker.KindNotFound {
		t.Fatalf("pruned order: err = %v", err)
	}
	if got := f.status(t, live.ID); got.Status != broker.StatusNew {
		t.Fatalf("working order status = %s", got.Status)
	}
	n, err := f.e.OrderCount(context.Background(), f.id)
	if err != nil || n != 2 {
		t.Fatalf("OrderCount = %d, %v; want 2 (pruning does not reduce it)", n, err)
	}
}

// GetAccount is GetBalance and GetPositions from one read at one set of
// prices (the guard's look and the sync after a fill use it).
func TestGetAccountIsBalanceAndPositions(t *testing.T) {
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "TSLA", "2"))
	f.feed.Set("AAPL", d("111"))
	ctx := context.Background()
	bal, err := f.b.GetBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	positions, err := f.b.GetPositions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := f.b.(broker.AccountReader)
	if !ok {
		t.Fatal("the paper broker reads its account in one call")
	}
	gotBal, gotPositions, err := r.GetAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotBal) != fmt.Sprint(bal) || fmt.Sprint(gotPositions) != fmt.Sprint(positions) {
		t.Fatalf("GetAccount = %v %v, want %v %v", gotBal, gotPositions, bal, positions)
	}
	if len(gotPositions) != 2 || gotPositions[0].Symbol != "AAPL" || !gotPositions[0].CurrentPrice.Equal(d("111")) {
		t.Fatalf("positions %v", gotPositions)
	}
	viaHelper, _, err := broker.ReadAccount(ctx, f.b)
	if err != nil || fmt.Sprint(viaHelper) != fmt.Sprint(bal) {
		t.Fatalf("ReadAccount = %v, %v", viaHelper, err)
	}
}
