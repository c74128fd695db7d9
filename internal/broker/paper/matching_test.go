package paper

import (
	"context"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// expect is the order state after a step; empty strings are not checked.
type expect struct {
	status broker.OrderStatus
	filled string
	avg    string
	stop   string
}

type priceStep struct {
	price string // new AAPL price, then one matching pass
	expect
}

func checkOrder(t *testing.T, label string, o broker.Order, want expect) {
	t.Helper()
	if want.status != "" && o.Status != want.status {
		t.Errorf("%s: status = %s, want %s (reason %q)", label, o.Status, want.status, o.RejectReason)
	}
	if want.filled != "" {
		eq(t, label+": filled", o.FilledQuantity, d(want.filled))
	}
	if want.avg != "" {
		eq(t, label+": avg fill price", o.AvgFillPrice, d(want.avg))
	}
	if want.stop != "" {
		eq(t, label+": stop price", o.StopPrice, d(want.stop))
	}
}

func limitReq(side signal.Side, qty, limit string) broker.OrderRequest {
	r := req(side, signal.OrderLimit, "AAPL", qty)
	r.LimitPrice = d(limit)
	return r
}

func stopReq(side signal.Side, qty, stop string) broker.OrderRequest {
	r := req(side, signal.OrderStop, "AAPL", qty)
	r.StopPrice = d(stop)
	return r
}

func TestOrderMatching(t *testing.T) {
	long10 := func(t *testing.T, f *fixture) {
		f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	}
	stopLimit := func(side signal.Side, stop, limit string) broker.OrderRequest {
		r := req(side, signal.OrderStopLimit, "AAPL", "10")
		r.StopPrice, r.LimitPrice = d(stop), d(limit)
		return r
	}
	trailing := func(side signal.Side, pct string) broker.OrderRequest {
		r := req(side, signal.OrderTrailingStop, "AAPL", "10")
		r.TrailPercent = d(pct)
		return r
	}
	ioc := func(r broker.OrderRequest) broker.OrderRequest { r.TimeInForce = broker.TIFIOC; return r }
	fok := func(r broker.OrderRequest) broker.OrderRequest { r.TimeInForce = broker.TIFFOK; return r }

	tests := []struct {
		name      string
		setup     func(*testing.T, *fixture)
		liquidity string
		order     broker.OrderRequest
		placed    expect
		steps     []priceStep
	}{
		{
			name:   "market buy fills at the current price",
			order:  req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"),
			placed: expect{broker.StatusFilled, "10", "100", ""},
		},
		{
			name:   "market sell fills at the current price",
			setup:  long10,
			order:  req(signal.SideSell, signal.OrderMarket, "AAPL", "10"),
			placed: expect{broker.StatusFilled, "10", "100", ""},
		},
		{
			name:   "limit buy rests until the price reaches the limit",
			order:  limitReq(signal.SideBuy, "10", "95"),
			placed: expect{broker.StatusNew, "0", "0", ""},
			steps: []priceStep{
				{"96", expect{broker.StatusNew, "0", "", ""}},
				{"95", expect{broker.StatusFilled, "10", "95", ""}},
			},
		},
		{
			name:   "limit buy filled at a better price on a gap",
			order:  limitReq(signal.SideBuy, "10", "95"),
			placed: expect{status: broker.StatusNew},
			steps:  []priceStep{{"94.5", expect{broker.StatusFilled, "10", "94.5", ""}}},
		},
		{
			name:   "marketable limit buy fills at once at the current price",
			order:  limitReq(signal.SideBuy, "10", "105"),
			placed: expect{broker.StatusFilled, "10", "100", ""},
		},
		{
			name:   "limit sell rests until the price reaches the limit",
			setup:  long10,
			order:  limitReq(signal.SideSell, "10", "110"),
			placed: expect{status: broker.StatusNew},
			steps: []priceStep{
				{"109.99", expect{status: broker.StatusNew}},
				{"111", expect{broker.StatusFilled, "10", "111", ""}},
			},
		},
		{
			name:   "stop-loss sell triggers at or below the stop and fills at market",
			setup:  long10,
			order:  stopReq(signal.SideSell, "10", "98"),
			placed: expect{status: broker.StatusNew},
			steps: []priceStep{
				{"98.01", expect{status: broker.StatusNew}},
				{"97.5", expect{broker.StatusFilled, "10", "97.5", ""}},
			},
		},
		{
			name:   "stop buy triggers at or above the stop",
			order:  stopReq(signal.SideBuy, "10", "105"),
			placed: expect{status: broker.StatusNew},
			steps: []priceStep{
				{"104.99", expect{status: broker.StatusNew}},
				{"105", expect{broker.StatusFilled, "10", "105", ""}},
			},
		},
		{
			name:   "stop sell already crossed at submission fills at once",
			setup:  long10,
			order:  stopReq(signal.SideSell, "10", "101"),
			placed: expect{broker.StatusFilled, "10", "100", ""},
		},
		{
			name:   "stop-limit sell waits for the limit after triggering",
			setup:  long10,
			order:  stopLimit(signal.SideSell, "98", "97"),
			placed: expect{status: broker.StatusNew},
			steps: []priceStep{
				{"96", expect{broker.StatusNew, "0", "", ""}},
				{"97.2", expect{broker.StatusFilled, "10", "97.2", ""}},
			},
		},
		{
			name:   "stop-limit buy",
			order:  stopLimit(signal.SideBuy, "105", "106"),
			placed: expect{status: broker.StatusNew},
			steps: []priceStep{
				{"107", expect{status: broker.StatusNew}},
				{"105.5", expect{broker.StatusFilled, "10", "105.5", ""}},
			},
		},
		{
			name:   "trailing stop sell follows the high-water mark",
			setup:  long10,
			order:  trailing(signal.SideSell, "5"),
			placed: expect{broker.StatusNew, "0", "", "95"},
			steps: []priceStep{
				{"110", expect{broker.StatusNew, "0", "", "104.5"}},
				{"105", expect{broker.StatusNew, "0", "", "104.5"}},
				{"108", expect{broker.StatusNew, "0", "", "104.5"}},
				{"104.4", expect{broker.StatusFilled, "10", "104.4", "104.5"}},
			},
		},
		{
			name:   "trailing stop buy follows the low-water mark",
			order:  trailing(signal.SideBuy, "5"),
			placed: expect{broker.StatusNew, "0", "", "105"},
			steps: []priceStep{
				{"90", expect{broker.StatusNew, "0", "", "94.5"}},
				{"94", expect{broker.StatusNew, "0", "", "94.5"}},
				{"94.5", expect{broker.StatusFilled, "10", "94.5", "94.5"}},
			},
		},
		{
			name:      "liquidity cap fills a market order over several passes",
			liquidity: "4",
			order:     req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"),
			placed:    expect{broker.StatusPartiallyFilled, "4", "100", ""},
			steps: []priceStep{
				{"101", expect{broker.StatusPartiallyFilled, "8", "100.5", ""}},
				{"102", expect{broker.StatusFilled, "10", "100.8", ""}},
			},
		},
		{
			name:      "liquidity cap on a limit order",
			liquidity: "6",
			order:     limitReq(signal.SideBuy, "10", "95"),
			placed:    expect{status: broker.StatusNew},
			steps: []priceStep{
				{"95", expect{broker.StatusPartiallyFilled, "6", "95", ""}},
				{"96", expect{broker.StatusPartiallyFilled, "6", "95", ""}},
				{"94", expect{broker.StatusFilled, "10", "94.6", ""}},
			},
		},
		{
			name:   "ioc limit that cannot fill is cancelled",
			order:  ioc(limitReq(signal.SideBuy, "10", "95")),
			placed: expect{broker.StatusCancelled, "0", "", ""},
		},
		{
			name:      "ioc market fills what liquidity allows and cancels the rest",
			liquidity: "4",
			order:     ioc(req(signal.SideBuy, signal.OrderMarket, "AAPL", "10")),
			placed:    expect{broker.StatusCancelled, "4", "100", ""},
		},
		{
			name:      "fok market that liquidity cannot fill in full fills nothing",
			liquidity: "4",
			order:     fok(req(signal.SideBuy, signal.OrderMarket, "AAPL", "10")),
			placed:    expect{broker.StatusCancelled, "0", "", ""},
		},
		{
			name:      "fok market fills in full when it can",
			liquidity: "10",
			order:     fok(req(signal.SideBuy, signal.OrderMarket, "AAPL", "10")),
			placed:    expect{broker.StatusFilled, "10", "100", ""},
		},
		{
			name:   "fok limit that cannot fill now is cancelled",
			order:  fok(limitReq(signal.SideBuy, "10", "95")),
			placed: expect{broker.StatusCancelled, "0", "", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "100000")
			if tt.setup != nil {
				tt.setup(t, f)
			}
			if tt.liquidity != "" {
				f.e.SetLiquidity("AAPL", d(tt.liquidity))
			}
			o := f.place(t, tt.order)
			checkOrder(t, "placed", o, tt.placed)
			for _, s := range tt.steps {
				f.feed.Set("AAPL", d(s.price))
				f.matchAll(t)
				st, err := f.e.store.Load(context.Background(), f.id)
				if err != nil {
					t.Fatal(err)
				}
				checkOrder(t, "step "+s.price, st.orderByID(o.ID).Order, s.expect)
			}
		})
	}
}

// GetOrderStatus matches working orders itself, without Run.
func TestGetOrderStatusMatches(t *testing.T) {
	f := newFixture(t, "10000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	stop := f.place(t, stopReq(signal.SideSell, "10", "98"))
	f.feed.Set("AAPL", d("97"))
	got := f.status(t, stop.ID)
	checkOrder(t, "status", got, expect{broker.StatusFilled, "10", "97", ""})
	if _, ok := f.position(t, "AAPL"); ok {
		t.Fatal("position still open after the stop filled")
	}
	eq(t, "cash", f.balance(t).Cash, d("9970"))
}

func TestSlippage(t *testing.T) {
	f := newFixture(t, "10000", WithSlippageBps(d("10")))
	buy := f.place(t, req(signal.SideBuy, signal.OrderMarket, "AAPL", "10"))
	eq(t, "buy fill", buy.AvgFillPrice, d("100.1"))
	sell := f.place(t, req(signal.SideSell, signal.OrderMarket, "AAPL", "10"))
	eq(t, "sell fill", sell.AvgFillPrice, d("99.9"))
	lim := f.place(t, limitReq(signal.SideBuy, "1", "100"))
	eq(t, "limit fill has no slippage", lim.AvgFillPrice, d("100"))
	eq(t, "cash", f.balance(t).Cash, d("9898"))
}

func TestTrailingStopCrypto(t *testing.T) {
	f := newFixture(t, "100000")
	f.place(t, req(signal.SideBuy, signal.OrderMarket, "BTC-USD", "0.5"))
	r := req(signal.SideSell, signal.OrderTrailingStop, "BTC-USD", "0.5")
	r.TrailPercent = d("2.5")
	o := f.place(t, r)
	eq(t, "initial trail", o.StopPrice, d("48750"))
	f.feed.Set("BTC-USD", d("60000"))
	eq(t, "raised trail", f.status(t, o.ID).StopPrice, d("58500"))
	f.feed.Set("BTC-USD", d("58499.99"))
	got := f.status(t, o.ID)
	checkOrder(t, "triggered", got, expect{broker.StatusFilled, "0.5", "58499.99", ""})
	eq(t, "cash", f.balance(t).Cash, d("100000").Sub(d("25000")).Add(d("29249.995")))
}

func TestApplyFillPositionMath(t *testing.T) {
	st := &AccountState{Cash: d("0"), Positions: map[string]PositionState{}}
	fill := func(side signal.Side, qty, price string) {
		o := &OrderState{}
		o.Symbol, o.Side, o.Quantity = "TSLA", side, d(qty)
		applyFill(st, o, d(qty), d(price), t0)
	}
	pos := func() PositionState { return st.Positions["TSLA"] }

	fill(signal.SideBuy, "10", "100")
	fill(signal.SideBuy, "5", "130")
	eq(t, "qty", pos().Quantity, d("15"))
	eq(t, "avg after add", pos().AvgEntryPrice, d("110"))
	fill(signal.SideSell, "5", "150")
	eq(t, "avg unchanged by a reduction", pos().AvgEntryPrice, d("110"))
	fill(signal.SideSell, "15", "90")
	eq(t, "qty after flip", pos().Quantity, d("-5"))
	eq(t, "avg after flip", pos().AvgEntryPrice, d("90"))
	fill(signal.SideBuy, "5", "80")
	if _, ok := st.Positions["TSLA"]; ok {
		t.Fatal("flat position not removed")
	}
	// −1000 −650 +750 +1350 −400
	eq(t, "cash", st.Cash, d("50"))
}

func TestAveragePriceRounding(t *testing.T) {
	st := &AccountState{Cash: d("0"), Positions: map[string]PositionState{}}
	o := &OrderState{}
	o.Symbol, o.Side, o.Quantity = "AAPL", signal.SideBuy, d("3")
	applyFill(st, o, d("1"), d("100"), t0)
	applyFill(st, o, d("2"), d("100.01"), t0)
	eq(t, "avg fill", o.AvgFillPrice, d("100.0066666667"))
	eq(t, "cash stays exact", st.Cash, d("-300.02"))
	if o.Status != broker.StatusFilled {
		t.Fatalf("status = %s", o.Status)
	}
}
