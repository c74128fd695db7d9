package paper

import (
	"context"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The paper broker's exit pair (broker.ExitPairPlacer): a position's
// take-profit (a reduce-only limit) and stop-loss (a reduce-only stop)
// admitted together as one group. The matching pass that fills one leg
// cancels the other in the same state update, so it happens exactly once;
// a partial fill shrinks the sibling to what is left. Cancelling either leg
// (or the pair) cancels both. Leg client order ids are the pair's with
// "-tp" and "-sl" appended.
//
// The switch: Engine.SetExitPairs(account, false) makes that account's
// adapter a plain broker.Broker (no ExitPairPlacer), so the trade path
// emulates the take-profit server-side there — both paths run on paper.

// Leg names (OrderState.PairLeg).
const (
	legTakeProfit = "take_profit"
	legStopLoss   = "stop_loss"
)

// pairBroker is an account's adapter with the exit pair.
type pairBroker struct{ *accountBroker }

var _ broker.ExitPairPlacer = (*pairBroker)(nil)

// SetExitPairs turns the exit pair of one account's adapter on (the
// default) or off; brokers opened afterwards follow it.
func (e *Engine) SetExitPairs(accountID string, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		delete(e.noPairs, accountID)
	} else {
		e.noPairs[accountID] = true
	}
}

func (e *Engine) exitPairs(accountID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.noPairs[accountID]
}

// PlaceExitPair implements broker.ExitPairPlacer. The quantity must be
// held (and not already being closed by other orders); a pair already
// placed under the client order id is returned as it is.
func (b *pairBroker) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	fail, drop, dup := b.e.pairFaults(b.id, true)
	if fail {
		return broker.ExitPair{}, errInjectedUnavailable()
	}
	if req.ClientOrderID == "" || len(req.ClientOrderID)+3 > maxClientOrderIDLen {
		return broker.ExitPair{}, brokerErr(broker.KindInvalidOrder, "client order id must be 1 to %d characters", maxClientOrderIDLen-3)
	}
	tif := req.TimeInForce
	if tif == "" {
		tif = broker.TIFGTC
	}
	tp, err := prepare(broker.OrderRequest{ClientOrderID: req.ClientOrderID + "-tp", Symbol: req.Symbol, AssetClass: req.AssetClass,
		Side: req.Side, Type: signal.OrderLimit, Quantity: req.Quantity, LimitPrice: req.TakeProfitPrice, TimeInForce: tif})
	if err != nil {
		return broker.ExitPair{}, err
	}
	sl, err := prepare(broker.OrderRequest{ClientOrderID: req.ClientOrderID + "-sl", Symbol: req.Symbol, AssetClass: req.AssetClass,
		Side: req.Side, Type: signal.OrderStop, Quantity: req.Quantity, StopPrice: req.StopPrice, TimeInForce: tif})
	if err != nil {
		return broker.ExitPair{}, err
	}
	if tif != broker.TIFDay && tif != broker.TIFGTC {
		return broker.ExitPair{}, brokerErr(broker.KindInvalidOrder, "an exit pair is day or gtc, not %s", tif)
	}
	// The take-profit must be on the profit side of the stop.
	if (req.Side == signal.SideSell && !tp.LimitPrice.GreaterThan(sl.StopPrice)) ||
		(req.Side == signal.SideBuy && !tp.LimitPrice.LessThan(sl.StopPrice)) {
		return broker.ExitPair{}, brokerErr(broker.KindInvalidOrder, "take-profit %s and stop %s are on the wrong sides for a %s exit",
			tp.LimitPrice, sl.StopPrice, req.Side)
	}
	now := b.e.now()
	q := newQuotes(b.e.feed)
	var out broker.ExitPair
	err = b.e.store.Update(ctx, b.id, func(st *AccountState) error {
		b.e.advance(st, now, q)
		if p, ok := st.pair(req.ClientOrderID, true); ok && dup != DuplicatesAccept {
			out = p
			return nil
		}
		price, err := q.price(tp.Symbol)
		if err != nil {
			return feedErr(tp.Symbol, err)
		}
		if b.e.isHalted(tp.Symbol) {
			return errHalted(tp.Symbol)
		}
		held := st.Positions[tp.Symbol].Quantity
		if req.Side == signal.SideBuy {
			held = held.Neg()
		}
		if !held.IsPositive() {
			return brokerErr(broker.KindInvalidOrder, "an exit pair closes a position: no %s position to %s", tp.Symbol, req.Side)
		}
		if avail := held.Sub(committed(st, tp.Symbol, req.Side, "")); tp.Quantity.GreaterThan(avail) {
			return brokerErr(broker.KindInsufficientFunds, "insufficient %s position: %s available, %s required", tp.Symbol, avail, tp.Quantity)
		}
		pairID := uuid.NewString()
		for _, leg := range []struct {
			o    OrderState
			name string
		}{{tp, legTakeProfit}, {sl, legStopLoss}} {
			o := leg.o
			o.ID = uuid.NewString()
			o.RefPrice = price
			o.Status = broker.StatusNew
			o.SubmittedAt, o.UpdatedAt = now, now
			o.ReduceOnly = true
			o.PairID, o.PairClientID, o.PairLeg = pairID, req.ClientOrderID, leg.name
			st.Orders = append(st.Orders, o)
			st.OrdersCreated++
		}
		b.e.matchOrders(st, now, q)
		st.UpdatedAt = now
		out, _ = st.pair(pairID, false)
		return nil
	})
	if err != nil {
		return broker.ExitPair{}, storeErr(b.id, err)
	}
	if drop {
		return broker.ExitPair{}, errInjectedUnavailable()
	}
	return out, nil
}

// GetExitPair implements broker.ExitPairPlacer.
func (b *pairBroker) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.ExitPair{}, storeErr(b.id, err)
	}
	p, ok := st.pair(id, false)
	if !ok {
		return broker.ExitPair{}, brokerErr(broker.KindNotFound, "exit pair %s not found", printable(id))
	}
	return p, nil
}

// FindExitPair implements broker.ExitPairPlacer.
func (b *pairBroker) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	if fail, _, _ := b.e.pairFaults(b.id, false); fail {
		return broker.ExitPair{}, false, errInjectedUnavailable()
	}
	st, err := b.e.refresh(ctx, b.id)
	if err != nil {
		return broker.ExitPair{}, false, storeErr(b.id, err)
	}
	p, ok := st.pair(clientOrderID, true)
	return p, ok, nil
}

// CancelExitPair implements broker.ExitPairPlacer: the legs still working
// are cancelled (after a matching pass: a cancel races the market).
func (b *pairBroker) CancelExitPair(ctx context.Context, id string) error {
	now, q := b.e.now(), newQuotes(b.e.feed)
	err := b.e.store.Update(ctx, b.id, func(st *AccountState) error {
		b.e.advance(st, now, q)
		if _, ok := st.pair(id, false); !ok {
			return brokerErr(broker.KindNotFound, "exit pair %s not found", printable(id))
		}
		for i := range st.Orders {
			if o := &st.Orders[i]; o.PairID == id && !o.Status.Terminal() {
				finish(o, broker.StatusCancelled, now, "exit pair cancelled")
			}
		}
		st.UpdatedAt = now
		return nil
	})
	if err != nil {
		return storeErr(b.id, err)
	}
	return nil
}

// pair assembles an exit pair from its legs, by pair id or (byClient) by
// the pair's client order id (the first pair under it).
func (s *AccountState) pair(key string, byClient bool) (broker.ExitPair, bool) {
	var p broker.ExitPair
	n := 0
	for i := range s.Orders {
		o := &s.Orders[i]
		if o.PairID == "" || (byClient && o.PairClientID != key) || (!byClient && o.PairID != key) || (p.ID != "" && o.PairID != p.ID) {
			continue
		}
		p.ID, p.ClientOrderID = o.PairID, o.PairClientID
		if o.PairLeg == legTakeProfit {
			p.TakeProfit = o.Order
		} else {
			p.StopLoss = o.Order
		}
		n++
	}
	return p, n == 2
}

// ocoCancel: o just changed in a matching pass; when it is a pair leg that
// filled, its sibling is cancelled (filled in full) or shrunk to what is
// left of the position the pair closes (filled in part).
func ocoCancel(st *AccountState, o *OrderState) {
	if o.PairID == "" || !o.FilledQuantity.IsPositive() {
		return
	}
	for i := range st.Orders {
		sib := &st.Orders[i]
		if sib.PairID != o.PairID || sib.ID == o.ID || sib.Status.Terminal() {
			continue
		}
		at := o.UpdatedAt
		if o.Status == broker.StatusFilled {
			finish(sib, broker.StatusCancelled, at, "one-cancels-other: the "+legName(o.PairLeg)+" leg filled")
			continue
		}
		if left := sib.FilledQuantity.Add(o.Remaining()); left.LessThan(sib.Quantity) {
			sib.Quantity = decimal.Max(left, sib.FilledQuantity)
			sib.UpdatedAt = at
		}
	}
}

func legName(leg string) string {
	if leg == legTakeProfit {
		return "take-profit"
	}
	return "stop-loss"
}
