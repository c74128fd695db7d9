package schwab

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// A position's exit pair is one OCO order (orderStrategyType "OCO", the
// take-profit LIMIT and the stop-loss STOP as its two childOrderStrategies,
// each a SINGLE order on the exit side for the same whole-share quantity;
// schwab-py orders.common.one_cancels_other), POST
// /trader/v1/accounts/{accountHash}/orders: 201 with the OCO's id in
// Location. GET of that id answers the OCO with both orders, each with its
// own orderId and status, in childOrderStrategies; Schwab cancels one when
// the other fills. The pair id is the OCO's order id.
//
// Schwab orders have no client order id, so the pair is made idempotent the
// way PlaceOrder is (claims.go): the pair's client order id claims the OCO's
// id; a retry returns the claimed OCO, or an unclaimed OCO entered within
// the recovery window whose two orders have the requested shapes (an
// earlier attempt whose answer was lost), before submitting a new one.
//
// Cancelling deletes the OCO's id, then any order of it still working
// (Schwab does not document whether deleting the OCO cancels both).

var _ broker.ExitPairPlacer = (*Adapter)(nil)

// errNotPair is a GET answer that is not a take-profit/stop OCO.
var errNotPair = errors.New("schwab: the order is not an OCO of a LIMIT and a STOP order")

// exitPairBodies builds the two orders of a pair.
func exitPairBodies(req broker.ExitPairRequest) (tp, sl wireOrderRequest, err error) {
	if !req.TakeProfitPrice.IsPositive() || !req.StopPrice.IsPositive() {
		return tp, sl, invalidOrder("an exit pair needs a take-profit price and a stop price")
	}
	switch {
	case req.Side == signal.SideSell && !req.TakeProfitPrice.GreaterThan(req.StopPrice),
		req.Side == signal.SideBuy && !req.TakeProfitPrice.LessThan(req.StopPrice):
		return tp, sl, invalidOrder(fmt.Sprintf("the take-profit %s and the stop %s are on the wrong sides for a %s exit",
			req.TakeProfitPrice, req.StopPrice, req.Side))
	}
	tif := req.TimeInForce
	switch tif {
	case "":
		tif = broker.TIFGTC
	case broker.TIFGTC, broker.TIFDay:
	default:
		return tp, sl, invalidOrder("a Schwab exit pair rests day or gtc; time in force " + string(tif) + " is not taken")
	}
	qty := wholeShares(req.Quantity)
	if !qty.IsPositive() {
		return tp, sl, invalidOrder("Schwab orders are in whole shares; the quantity rounds down to zero.")
	}
	symbol := canonical(req.Symbol)
	tp, err = toWireOrder(broker.OrderRequest{Symbol: symbol, Side: req.Side, Type: signal.OrderLimit, Quantity: qty,
		LimitPrice: req.TakeProfitPrice, TimeInForce: tif}, qty)
	if err != nil {
		return tp, sl, err
	}
	sl, err = toWireOrder(broker.OrderRequest{Symbol: symbol, Side: req.Side, Type: signal.OrderStop, Quantity: qty,
		StopPrice: req.StopPrice, TimeInForce: tif}, qty)
	return tp, sl, err
}

// pairFromWire reads an OCO: the LIMIT order is the take-profit, the STOP
// (or STOP_LIMIT) the stop-loss.
func pairFromWire(w wireOrder) (broker.ExitPair, error) {
	if !strings.EqualFold(w.OrderStrategyType, "OCO") || len(w.ChildOrderStrategies) != 2 {
		return broker.ExitPair{}, errNotPair
	}
	pair := broker.ExitPair{ID: w.OrderID.String()}
	var tp, sl bool
	for _, c := range w.ChildOrderStrategies {
		o := orderFromWire(c)
		switch o.Type {
		case signal.OrderLimit:
			pair.TakeProfit, tp = o, true
		case signal.OrderStop, signal.OrderStopLimit:
			pair.StopLoss, sl = o, true
		}
	}
	if !tp || !sl {
		return broker.ExitPair{}, errNotPair
	}
	return pair, nil
}

// PlaceExitPair implements broker.ExitPairPlacer.
func (a *Adapter) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	if strings.TrimSpace(req.ClientOrderID) == "" {
		return broker.ExitPair{}, invalidOrder("the exit pair has no client order id")
	}
	if req.AssetClass == signal.AssetCrypto {
		return broker.ExitPair{}, invalidOrder("Schwab does not trade crypto.")
	}
	tp, sl, err := exitPairBodies(req)
	if err != nil {
		return broker.ExitPair{}, err
	}
	tp.OrderStrategyType, sl.OrderStrategyType = "SINGLE", "SINGLE"
	body := wireOCORequest{OrderStrategyType: "OCO", ChildOrderStrategies: []wireOrderRequest{tp, sl}}
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.ExitPair{}, err
	}
	lock := a.submitLock(hash)
	lock.Lock()
	defer lock.Unlock()

	if pair, found, err := a.FindExitPair(ctx, req.ClientOrderID); err != nil || found {
		return pair, err
	}
	want := [2]shape{shapeOfRequest(tp), shapeOfRequest(sl)}
	if pair, found, err := a.recoverPair(ctx, hash, req.ClientOrderID, want); err != nil || found {
		return pair, err
	}
	id, err := a.c.placeOrder(ctx, hash, body)
	if err == nil && id == "" {
		err = newErr(broker.KindUnavailable, msgUnavailable, errNoLocation)
	}
	if err != nil {
		mapped := mapError(err, "order")
		if broker.KindOf(mapped) == broker.KindUnavailable {
			if pair, found, rerr := a.recoverPair(ctx, hash, req.ClientOrderID, want); rerr == nil && found {
				return pair, nil
			}
		}
		return broker.ExitPair{}, mapped
	}
	// The OCO exists; a failing claim store must not turn that into an
	// error (the caller records the returned id itself).
	_, _ = a.sh.claims.Claim(ctx, hash, id, req.ClientOrderID)
	w, err := a.c.order(ctx, hash, id)
	if err != nil {
		return broker.ExitPair{}, mapError(err, "order")
	}
	pair, err := pairFromWire(w)
	if err != nil {
		return broker.ExitPair{}, newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	pair.ClientOrderID = req.ClientOrderID
	return pair, nil
}

// recoverPair looks among the account's orders entered within the recovery
// window for an unclaimed OCO whose two orders have the wanted shapes,
// newest first, and claims it for clientOrderID.
func (a *Adapter) recoverPair(ctx context.Context, hash, clientOrderID string, want [2]shape) (broker.ExitPair, bool, error) {
	now := time.Now()
	from := now.Add(-a.sh.o.recoveryWindow)
	orders, err := a.c.orders(ctx, hash, ordersQuery{From: from, To: now.Add(5 * time.Minute), MaxResults: recoveryMaxResults})
	if err != nil {
		return broker.ExitPair{}, false, mapError(err, "order list")
	}
	entered := func(o wireOrder) time.Time {
		if t := parseTime(o.EnteredTime); !t.IsZero() || len(o.ChildOrderStrategies) == 0 {
			return t
		}
		return parseTime(o.ChildOrderStrategies[0].EnteredTime)
	}
	sort.SliceStable(orders, func(i, j int) bool { return entered(orders[i]).After(entered(orders[j])) })
	for _, o := range orders {
		if !strings.EqualFold(o.OrderStrategyType, "OCO") || len(o.ChildOrderStrategies) != 2 {
			continue
		}
		s0, s1 := shapeOfOrder(o.ChildOrderStrategies[0]), shapeOfOrder(o.ChildOrderStrategies[1])
		if !(s0 == want[0] && s1 == want[1]) && !(s0 == want[1] && s1 == want[0]) {
			continue
		}
		if t := entered(o); !t.IsZero() && t.Before(from) {
			continue
		}
		pair, err := pairFromWire(o)
		if err != nil {
			continue
		}
		ok, err := a.sh.claims.Claim(ctx, hash, pair.ID, clientOrderID)
		if err != nil {
			return broker.ExitPair{}, false, newErr(broker.KindUnavailable, msgUnavailable, err)
		}
		if ok {
			pair.ClientOrderID = clientOrderID
			return pair, true, nil
		}
	}
	return broker.ExitPair{}, false, nil
}

// GetExitPair implements broker.ExitPairPlacer (GET the OCO).
// ClientOrderID stays empty: Schwab orders carry none.
func (a *Adapter) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.ExitPair{}, err
	}
	w, err := a.c.order(ctx, hash, id)
	if err != nil {
		return broker.ExitPair{}, mapError(err, "order")
	}
	pair, err := pairFromWire(w)
	if err != nil {
		return broker.ExitPair{}, newErr(broker.KindNotFound, "Schwab order "+id+" is not a take-profit/stop-loss OCO.", err)
	}
	return pair, nil
}

// FindExitPair implements broker.ExitPairPlacer from the claim store.
func (a *Adapter) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.ExitPair{}, false, err
	}
	id, found, err := a.sh.claims.Lookup(ctx, hash, clientOrderID)
	if err != nil {
		return broker.ExitPair{}, false, newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	if !found {
		return broker.ExitPair{}, false, nil
	}
	pair, err := a.GetExitPair(ctx, id)
	if broker.KindOf(err) == broker.KindNotFound {
		return broker.ExitPair{}, false, nil
	}
	if err != nil {
		return broker.ExitPair{}, false, err
	}
	pair.ClientOrderID = clientOrderID
	return pair, true, nil
}

// CancelExitPair implements broker.ExitPairPlacer.
func (a *Adapter) CancelExitPair(ctx context.Context, id string) error {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return err
	}
	derr := mapError(a.c.cancelOrder(ctx, hash, id), "cancel")
	pair, err := a.GetExitPair(ctx, id)
	if err != nil {
		if derr != nil {
			return derr
		}
		return err
	}
	for _, leg := range []broker.Order{pair.TakeProfit, pair.StopLoss} {
		if leg.Status.Terminal() {
			continue
		}
		if cerr := a.c.cancelOrder(ctx, hash, leg.ID); cerr != nil {
			o, gerr := a.GetOrderStatus(ctx, leg.ID)
			if gerr != nil || !o.Status.Terminal() {
				return mapError(cerr, "cancel")
			}
		}
	}
	return nil
}
