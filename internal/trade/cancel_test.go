package trade

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestCancelScopeReaches(t *testing.T) {
	at := time.Date(2026, 3, 16, 14, 0, 0, 0, time.UTC)
	scope := CancelScope{UserID: "u1", Symbol: "AAPL", AssetClass: "stock", ConnectionID: "c1", CancelTradeID: "cx", Before: at}
	base := OpenOrder{TradeID: "t1", UserID: "u1", Symbol: "AAPL", AssetClass: "stock", Status: StatusSubmitted,
		Action: signal.ActionBuy, ConnectionID: "c1", CreatedAt: at.Add(-time.Minute)}
	with := func(f func(*OpenOrder)) OpenOrder {
		o := base
		f(&o)
		return o
	}
	cases := []struct {
		name  string
		scope CancelScope
		order OpenOrder
		want  bool
	}{
		{"working entry order on the connection", scope, base, true},
		{"partially filled", scope, with(func(o *OpenOrder) { o.Status = StatusPartialFill }), true},
		{"pending (being sized or submitted)", scope, with(func(o *OpenOrder) { o.Status = StatusPending }), true},
		{"halted", scope, with(func(o *OpenOrder) { o.Status = StatusHalted }), true},
		{"queued, routed to the connection", scope, with(func(o *OpenOrder) { o.Status, o.ConnectionID, o.RoutedConnectionID = StatusQueued, "", "c1" }), true},
		{"queued, routes elsewhere", scope, with(func(o *OpenOrder) { o.Status, o.ConnectionID, o.RoutedConnectionID = StatusQueued, "", "c2" }), false},
		{"queued, routes nowhere", scope, with(func(o *OpenOrder) { o.Status, o.ConnectionID = StatusQueued, "" }), false},
		{"routed connection ignored once the trade has its own", scope, with(func(o *OpenOrder) { o.ConnectionID, o.RoutedConnectionID = "c2", "c1" }), false},
		{"exit order working", scope, with(func(o *OpenOrder) { o.Action = signal.ActionExit }), true},
		{"created at the same instant", scope, with(func(o *OpenOrder) { o.CreatedAt = at }), true},
		{"another trader's order", scope, with(func(o *OpenOrder) { o.UserID = "u2" }), false},
		{"no trader in scope", CancelScope{Symbol: "AAPL", AssetClass: "stock", ConnectionID: "c1", Before: at},
			with(func(o *OpenOrder) { o.UserID = "" }), false},
		{"other symbol", scope, with(func(o *OpenOrder) { o.Symbol = "MSFT" }), false},
		{"other asset class", scope, with(func(o *OpenOrder) { o.AssetClass = "crypto" }), false},
		{"other connection", scope, with(func(o *OpenOrder) { o.ConnectionID = "c2" }), false},
		{"scope without a connection", CancelScope{UserID: "u1", Symbol: "AAPL", AssetClass: "stock", Before: at},
			with(func(o *OpenOrder) { o.ConnectionID = "" }), false},
		{"filled", scope, with(func(o *OpenOrder) { o.Status = StatusFilled }), false},
		{"cancelled", scope, with(func(o *OpenOrder) { o.Status = StatusCancelled }), false},
		{"rejected", scope, with(func(o *OpenOrder) { o.Status = StatusRejected }), false},
		{"received after the cancel", scope, with(func(o *OpenOrder) { o.CreatedAt = at.Add(time.Millisecond) }), false},
		{"the cancel signal itself", scope, with(func(o *OpenOrder) { o.TradeID = "cx" }), false},
		{"another cancel signal", scope, with(func(o *OpenOrder) { o.Action = signal.ActionCancel }), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.scope.Reaches(c.order); got != c.want {
				t.Fatalf("Reaches = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCancelTargetsOrderAndFilter(t *testing.T) {
	at := time.Date(2026, 3, 16, 14, 0, 0, 0, time.UTC)
	scope := CancelScope{UserID: "u1", Symbol: "AAPL", AssetClass: "stock", ConnectionID: "c1", CancelTradeID: "cx", Before: at}
	o := func(id string, ago time.Duration, st Status, user string) OpenOrder {
		return OpenOrder{TradeID: id, UserID: user, Symbol: "AAPL", AssetClass: "stock", Status: st, Action: signal.ActionBuy,
			ConnectionID: "c1", CreatedAt: at.Add(-ago)}
	}
	got := CancelTargets(scope, []OpenOrder{
		o("b", time.Minute, StatusSubmitted, "u1"),
		o("c", time.Hour, StatusQueued, "u1"),
		o("a", time.Minute, StatusPartialFill, "u1"),
		o("d", time.Second, StatusFilled, "u1"),
		o("e", time.Second, StatusSubmitted, "u2"),
	})
	var ids []string
	for _, t := range got {
		ids = append(ids, t.TradeID)
	}
	if want := []string{"c", "a", "b"}; len(ids) != len(want) || ids[0] != want[0] || ids[1] != want[1] || ids[2] != want[2] {
		t.Fatalf("targets = %v, want %v", ids, want)
	}
	if CancelTargets(scope, nil) != nil {
		t.Fatal("no orders, yet targets")
	}
}

func TestCancelResultOf(t *testing.T) {
	d := decimal.NewFromInt
	cases := []struct {
		status         Status
		qty, filled    decimal.Decimal
		want           CancelResult
		tallyCancelled int
	}{
		{StatusCancelled, d(10), d(0), CancelDone, 1},
		{StatusCancelled, d(10), d(4), CancelPartial, 1},
		{StatusFilled, d(10), d(4), CancelPartial, 1},
		{StatusFilled, d(10), d(10), CancelTooLate, 0},
		{StatusRejected, d(10), d(0), CancelNothing, 0},
		{StatusSubmitted, d(10), d(0), CancelPending, 0},
		{StatusQueued, d(10), d(0), CancelPending, 0},
	}
	for _, c := range cases {
		got := ResultOf(c.status, c.qty, c.filled)
		if got != c.want {
			t.Errorf("ResultOf(%s, %s, %s) = %s, want %s", c.status, c.qty, c.filled, got, c.want)
		}
		var tally CancelTally
		tally.Add(got)
		if tally.Cancelled+tally.Partial != c.tallyCancelled {
			t.Errorf("%s: tally %+v", c.want, tally)
		}
	}
}

func TestCancelMessages(t *testing.T) {
	cases := []struct {
		tally CancelTally
		want  string
	}{
		{CancelTally{}, "No open AAPL orders to cancel."},
		{CancelTally{Cancelled: 1}, "Cancelled 1 open AAPL order."},
		{CancelTally{Cancelled: 2}, "Cancelled 2 open AAPL orders."},
		{CancelTally{Cancelled: 1, Partial: 1}, "Cancelled 2 open AAPL orders (1 after a partial fill)."},
		{CancelTally{Partial: 2}, "Cancelled 2 open AAPL orders (2 after partial fills)."},
		{CancelTally{Cancelled: 1, Filled: 1}, "Cancelled 1 open AAPL order; 1 filled before it could be cancelled."},
		{CancelTally{Filled: 2}, "No open AAPL orders left to cancel; 2 filled before they could be cancelled."},
		{CancelTally{Open: 1}, "No open AAPL orders cancelled yet; 1 is still being cancelled; check it in the trades list."},
		{CancelTally{Cancelled: 3, Filled: 1, Open: 2},
			"Cancelled 3 open AAPL orders; 1 filled before it could be cancelled; 2 are still being cancelled; check them in the trades list."},
	}
	for _, c := range cases {
		if got := CancelOrdersMessage("AAPL", c.tally); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.tally, got, c.want)
		}
	}
	if got := CancelRequestedMessage("paper"); got != "Cancel requested: cancelling the order at Paper broker." {
		t.Errorf("CancelRequestedMessage = %q", got)
	}
	if got := CancelSignalNotExecutedMessage("AAPL"); got != "Cancel signal for AAPL recorded; no new order placed." {
		t.Errorf("CancelSignalNotExecutedMessage = %q", got)
	}
}
