package brokertest

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The exit-pair subtests: a position's stop-loss and take-profit placed as
// the broker's own one-cancels-other pair. The fake must execute it the way
// the broker documents: when the price crosses one leg, that leg fills and
// the fake (not the adapter) cancels the other.

// pairAccount opens an account holding caps.Quantity of caps.Symbol and
// returns its exit-pair placer; it skips when the adapter has none (and
// fails when Caps and the adapter disagree).
func (s *suite) pairAccount(t *testing.T) (broker.Broker, broker.ExitPairPlacer) {
	t.Helper()
	b, _ := s.account(t)
	p, ok := b.(broker.ExitPairPlacer)
	switch {
	case ok && !s.caps.ExitPair:
		t.Fatalf("%s implements ExitPairPlacer but Caps.ExitPair is false", s.caps.Name)
	case !ok && s.caps.ExitPair:
		t.Fatalf("Caps.ExitPair is true but %s does not implement ExitPairPlacer", s.caps.Name)
	case !ok:
		t.Skipf("%s has no native exit pair: its take-profit is emulated server-side", s.caps.Name)
	}
	o, err := b.PlaceOrder(ctx(t), s.marketBuy(s.caps.Quantity))
	if err != nil {
		t.Fatalf("PlaceOrder entry: %v", err)
	}
	waitStatus(t, b, o.ID, "filled", func(o broker.Order) bool { return o.Status == broker.StatusFilled })
	return b, p
}

// pairPrice is caps.Price moved by pct percent, on the tick farLimitBuy uses.
func (s *suite) pairPrice(pct int64) decimal.Decimal {
	places := int32(2)
	if s.caps.Price.GreaterThanOrEqual(decimal.NewFromInt(1000)) {
		places = 0
	}
	return s.caps.Price.Mul(decimal.NewFromInt(100 + pct)).Div(decimal.NewFromInt(100)).Round(places)
}

func (s *suite) exitPairRequest() broker.ExitPairRequest {
	return broker.ExitPairRequest{
		ClientOrderID:   NewClientOrderID(),
		Symbol:          s.caps.Symbol,
		AssetClass:      s.caps.AssetClass,
		Side:            signal.SideSell,
		Quantity:        s.caps.Quantity,
		TakeProfitPrice: s.pairPrice(10),
		StopPrice:       s.pairPrice(-10),
		TimeInForce:     broker.TIFGTC,
	}
}

// placePair places the pair, checks both legs rest with the requested
// prices, and that placing it again (a retried activity) neither errors
// nor creates a second pair.
func (s *suite) placePair(t *testing.T, p broker.ExitPairPlacer) broker.ExitPair {
	t.Helper()
	req := s.exitPairRequest()
	pair, err := p.PlaceExitPair(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceExitPair: %v", err)
	}
	if pair.ID == "" {
		t.Fatal("PlaceExitPair returned no pair id")
	}
	if pair.TakeProfit.Status.Terminal() || pair.StopLoss.Status.Terminal() {
		t.Fatalf("fresh pair not working: take-profit %s, stop %s", pair.TakeProfit.Status, pair.StopLoss.Status)
	}
	if !pair.TakeProfit.LimitPrice.Equal(req.TakeProfitPrice) {
		t.Fatalf("take-profit leg limit %s, want %s", pair.TakeProfit.LimitPrice, req.TakeProfitPrice)
	}
	if !pair.StopLoss.StopPrice.Equal(req.StopPrice) {
		t.Fatalf("stop leg trigger %s, want %s", pair.StopLoss.StopPrice, req.StopPrice)
	}
	for _, leg := range []broker.Order{pair.TakeProfit, pair.StopLoss} {
		if leg.Side != signal.SideSell || !leg.Quantity.Equal(req.Quantity) {
			t.Fatalf("leg %s: side %s qty %s, want sell %s", leg.ID, leg.Side, leg.Quantity, req.Quantity)
		}
	}
	count := s.orderCount(t)
	again, err := p.PlaceExitPair(ctx(t), req)
	if err != nil {
		t.Fatalf("PlaceExitPair again (same client id): %v", err)
	}
	if again.ID != pair.ID {
		t.Fatalf("second PlaceExitPair with the same client id gave pair %s, first %s", again.ID, pair.ID)
	}
	if n := s.orderCount(t); n != count {
		t.Fatalf("second PlaceExitPair created orders: %d -> %d", count, n)
	}
	found, ok, err := p.FindExitPair(ctx(t), req.ClientOrderID)
	if err != nil || !ok || found.ID != pair.ID {
		t.Fatalf("FindExitPair(%s) = %s, %v, %v; want %s", req.ClientOrderID, found.ID, ok, err, pair.ID)
	}
	if _, ok, err := p.FindExitPair(ctx(t), NewClientOrderID()); err != nil || ok {
		t.Fatalf("FindExitPair(unknown) = found %v, %v", ok, err)
	}
	return pair
}

// waitPair polls GetExitPair until the pair is done, bounded.
func waitPair(t *testing.T, p broker.ExitPairPlacer, id string) broker.ExitPair {
	t.Helper()
	deadline := time.Now().Add(pollFor)
	for {
		pair, err := p.GetExitPair(ctx(t), id)
		if err != nil {
			t.Fatalf("GetExitPair(%s): %v", id, err)
		}
		if pair.Done() {
			return pair
		}
		if time.Now().After(deadline) {
			t.Fatalf("pair %s not done after %s: take-profit %s, stop %s", id, pollFor, pair.TakeProfit.Status, pair.StopLoss.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *suite) positionOf(t *testing.T, b broker.Broker) decimal.Decimal {
	t.Helper()
	ps, err := b.GetPositions(ctx(t))
	if err != nil {
		t.Fatalf("GetPositions: %v", err)
	}
	for _, p := range ps {
		if p.Symbol == s.caps.Symbol {
			return p.Quantity
		}
	}
	return decimal.Zero
}

func (s *suite) exitPairTakeProfit(t *testing.T) {
	b, p := s.pairAccount(t)
	pair := s.placePair(t, p)
	s.h.SetPrice(t, s.caps.Symbol, s.pairPrice(15))
	done := waitPair(t, p, pair.ID)
	if done.TakeProfit.Status != broker.StatusFilled || !done.TakeProfit.FilledQuantity.Equal(s.caps.Quantity) {
		t.Fatalf("take-profit leg %s filled %s, want filled %s", done.TakeProfit.Status, done.TakeProfit.FilledQuantity, s.caps.Quantity)
	}
	if done.StopLoss.Status != broker.StatusCancelled || !done.StopLoss.FilledQuantity.IsZero() {
		t.Fatalf("stop leg %s filled %s after the take-profit filled, want cancelled, nothing filled", done.StopLoss.Status, done.StopLoss.FilledQuantity)
	}
	if q := s.positionOf(t, b); !q.IsZero() {
		t.Fatalf("position after the take-profit: %s, want 0", q)
	}
}

func (s *suite) exitPairStop(t *testing.T) {
	b, p := s.pairAccount(t)
	pair := s.placePair(t, p)
	s.h.SetPrice(t, s.caps.Symbol, s.pairPrice(-15))
	done := waitPair(t, p, pair.ID)
	if done.StopLoss.Status != broker.StatusFilled || !done.StopLoss.FilledQuantity.Equal(s.caps.Quantity) {
		t.Fatalf("stop leg %s filled %s, want filled %s", done.StopLoss.Status, done.StopLoss.FilledQuantity, s.caps.Quantity)
	}
	if done.TakeProfit.Status != broker.StatusCancelled || !done.TakeProfit.FilledQuantity.IsZero() {
		t.Fatalf("take-profit leg %s filled %s after the stop filled, want cancelled, nothing filled", done.TakeProfit.Status, done.TakeProfit.FilledQuantity)
	}
	if q := s.positionOf(t, b); !q.IsZero() {
		t.Fatalf("position after the stop: %s, want 0", q)
	}
}

func (s *suite) exitPairCancel(t *testing.T) {
	b, p := s.pairAccount(t)
	pair := s.placePair(t, p)
	if err := p.CancelExitPair(ctx(t), pair.ID); err != nil {
		t.Fatalf("CancelExitPair: %v", err)
	}
	done := waitPair(t, p, pair.ID)
	if done.TakeProfit.Status != broker.StatusCancelled || done.StopLoss.Status != broker.StatusCancelled {
		t.Fatalf("after CancelExitPair: take-profit %s, stop %s, want both cancelled", done.TakeProfit.Status, done.StopLoss.Status)
	}
	if err := p.CancelExitPair(ctx(t), pair.ID); err != nil {
		t.Fatalf("CancelExitPair of a done pair: %v", err)
	}
	if q := s.positionOf(t, b); !q.Equal(s.caps.Quantity) {
		t.Fatalf("position after cancelling the pair: %s, want %s untouched", q, s.caps.Quantity)
	}
}
