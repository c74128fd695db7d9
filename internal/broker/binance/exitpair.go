package binance

import (
	"context"
	"fmt"
	"slices"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// A position's exit pair is one Binance OCO order list (POST
// /api/v3/orderList/oco, rest-api.md "New Order list - OCO"): for a sell
// exit the above order is the take-profit, LIMIT_MAKER at the take-profit
// price, and the below order the stop, STOP_LOSS when the symbol's
// orderTypes list it, else STOP_LOSS_LIMIT with its limit StopLimitBand
// below the stop (GTC) — the same choice as a single stop (ordertypes.go).
// The exchange cancels one order when the other executes. A symbol without
// ocoAllowed or LIMIT_MAKER, or a stop it cannot take, is INVALID_ORDER
// before anything is sent (the caller emulates the pair). Binance spot
// holds no short position, so a buy exit pair is refused too.
//
// Ids: listClientOrderId is wireClientID(pair client id); the legs carry
// wireClientID(id+":tp") and wireClientID(id+":sl"). A list with that
// listClientOrderId is looked up first (GET /api/v3/orderList,
// origClientOrderId; Binance accepts the id again once the first list is
// done, so the look-up is what makes a retry safe), and a "Duplicate order
// sent." answer is read back the same way. The pair id is
// "<SYMBOL>:<orderListId>" (cancelling needs the symbol).
//
// Weights: the OCO 1 and 2 orders of the account's ORDERS budget, the list
// query 4 plus 4 per leg read, the list cancel 1.

var _ broker.ExitPairPlacer = (*Adapter)(nil)

// PlaceExitPair implements broker.ExitPairPlacer.
func (a *Adapter) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	if req.ClientOrderID == "" {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "an exit pair needs a client order id", nil)
	}
	if req.Side != signal.SideSell {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("Binance spot holds no short position: an exit pair sells (got side %q)", req.Side), nil)
	}
	switch req.TimeInForce {
	case "", broker.TIFGTC, broker.TIFDay:
	default:
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("a Binance exit pair rests until it executes (GTC); time in force %q is not taken", req.TimeInForce), nil)
	}
	if req.Quantity.Sign() <= 0 || req.TakeProfitPrice.Sign() <= 0 || req.StopPrice.Sign() <= 0 {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "an exit pair needs a quantity, a take-profit price and a stop price", nil)
	}
	if !req.TakeProfitPrice.GreaterThan(req.StopPrice) {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("the take-profit %s of a sell exit must be above its stop %s", req.TakeProfitPrice, req.StopPrice), nil)
	}
	wire, info, err := a.symbol(ctx, req.Symbol)
	if err != nil {
		return broker.ExitPair{}, err
	}
	if info.Status != "TRADING" {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindHalted,
			fmt.Sprintf("trading in %s is halted on Binance (symbol status %s); the exit pair waits until trading resumes", info.Canonical, info.Status), nil)
	}
	if !info.OCOAllowed {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("Binance does not take one-cancels-other orders on %s (ocoAllowed is false)", wire), nil)
	}
	if len(info.OrderTypes) > 0 && !slices.Contains(info.OrderTypes, "LIMIT_MAKER") {
		te := &OrderTypeError{Symbol: wire, Type: "LIMIT_MAKER", Allowed: info.OrderTypes}
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, te.Error(), te)
	}
	stopType, err := chooseType(wire, info.OrderTypes, "STOP_LOSS")
	if err != nil {
		return broker.ExitPair{}, err
	}
	rules := info.Rules
	qty := rules.NormalizeQty(req.Quantity)
	tp := rules.NormalizePrice(req.TakeProfitPrice, signal.SideSell)
	stop := rules.NormalizePrice(req.StopPrice, signal.SideSell)
	p := ocoParams{
		Symbol: wire, Side: "SELL", Quantity: qty.String(),
		ListClientOrderID:  wireClientID(req.ClientOrderID),
		AboveType:          "LIMIT_MAKER",
		AboveClientOrderID: wireClientID(req.ClientOrderID + ":tp"),
		AbovePrice:         tp.String(),
		BelowType:          stopType,
		BelowClientOrderID: wireClientID(req.ClientOrderID + ":sl"),
		BelowStopPrice:     stop.String(),
	}
	low := stop
	if stopType == "STOP_LOSS_LIMIT" {
		limit := stopLimitPrice(rules, signal.SideSell, stop, a.sh.opts.StopLimitBand)
		p.BelowPrice, p.BelowTimeInForce = limit.String(), "GTC"
		low = limit
	}
	if err := rules.Check(Name, qty, low); err != nil {
		return broker.ExitPair{}, err
	}

	if pair, found, err := a.findPair(ctx, p.ListClientOrderID); err != nil || found {
		return a.withPairClientID(pair, req.ClientOrderID), err
	}
	w, err := a.c.newOCO(ctx, p)
	if isDuplicate(err) {
		pair, found, ferr := a.findPair(ctx, p.ListClientOrderID)
		if ferr != nil {
			return broker.ExitPair{}, ferr
		}
		if found {
			return a.withPairClientID(pair, req.ClientOrderID), nil
		}
		// A leg's client id is held by an open order outside any list.
		return broker.ExitPair{}, mapError(err)
	}
	if err != nil {
		err = mapError(err)
		if broker.KindOf(err) == broker.KindInvalidOrder {
			a.sh.rules.Invalidate(a.c.baseURL + "|" + wire)
		}
		return broker.ExitPair{}, err
	}
	pair, err := pairFrom(w.Symbol, w.OrderListID, w.ListClientOrderID, w.OrderReports, info.Canonical)
	if err != nil {
		return broker.ExitPair{}, err
	}
	return a.withPairClientID(pair, req.ClientOrderID), nil
}

func (a *Adapter) withPairClientID(p broker.ExitPair, cid string) broker.ExitPair {
	if p.ID != "" {
		p.ClientOrderID = cid
	}
	return p
}

// pairFrom builds the pair from its two orders, told apart by type: the
// LIMIT_MAKER is the take-profit, the STOP_LOSS(_LIMIT) the stop.
func pairFrom(symbol string, listID int64, listClientID string, legs []wireOrder, canonical string) (broker.ExitPair, error) {
	pair := broker.ExitPair{ID: orderID(symbol, listID), ClientOrderID: listClientID}
	var tp, sl bool
	for _, w := range legs {
		switch w.Type {
		case "LIMIT_MAKER":
			pair.TakeProfit, tp = toOrder(w, canonical), true
		case "STOP_LOSS", "STOP_LOSS_LIMIT":
			pair.StopLoss, sl = toOrder(w, canonical), true
		}
	}
	if !tp || !sl {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindUnavailable,
			fmt.Sprintf("Binance order list %d is not a take-profit/stop pair", listID), nil)
	}
	return pair, nil
}

// findPair reads the list with that listClientOrderId, if any.
func (a *Adapter) findPair(ctx context.Context, listClientID string) (broker.ExitPair, bool, error) {
	l, err := a.c.queryOrderList(ctx, 0, listClientID)
	if isListNotFound(err) {
		return broker.ExitPair{}, false, nil
	}
	if err != nil {
		return broker.ExitPair{}, false, mapError(err)
	}
	pair, err := a.readLegs(ctx, l)
	return pair, err == nil, err
}

// readLegs reads both orders of a list (GET /api/v3/orderList answers their
// ids only).
func (a *Adapter) readLegs(ctx context.Context, l wireOrderList) (broker.ExitPair, error) {
	legs := make([]wireOrder, 0, len(l.Orders))
	for _, o := range l.Orders {
		w, err := a.c.queryOrder(ctx, o.Symbol, o.OrderID, "")
		if err != nil {
			return broker.ExitPair{}, mapError(err)
		}
		legs = append(legs, w)
	}
	return pairFrom(l.Symbol, l.OrderListID, l.ListClientOrderID, legs, a.canonicalOf(ctx, l.Symbol))
}

// GetExitPair implements broker.ExitPairPlacer.
func (a *Adapter) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	sym, listID, err := parseOrderID(id)
	if err != nil {
		return broker.ExitPair{}, err
	}
	l, err := a.c.queryOrderList(ctx, listID, "")
	if err != nil {
		return broker.ExitPair{}, mapError(err)
	}
	if l.Symbol != sym {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindNotFound, fmt.Sprintf("Binance order list %d is not on %s", listID, sym), nil)
	}
	return a.readLegs(ctx, l)
}

// FindExitPair implements broker.ExitPairPlacer.
func (a *Adapter) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	pair, found, err := a.findPair(ctx, wireClientID(clientOrderID))
	return a.withPairClientID(pair, clientOrderID), found, err
}

// CancelExitPair implements broker.ExitPairPlacer (DELETE
// /api/v3/orderList). A list already done is not an error.
func (a *Adapter) CancelExitPair(ctx context.Context, id string) error {
	sym, listID, err := parseOrderID(id)
	if err != nil {
		return err
	}
	_, cerr := a.c.cancelOrderList(ctx, sym, listID)
	if cerr == nil {
		return nil
	}
	mapped := mapError(cerr)
	if broker.KindOf(mapped) != broker.KindNotFound {
		return mapped
	}
	pair, err := a.GetExitPair(ctx, id)
	if err != nil {
		return err
	}
	if pair.Done() {
		return nil
	}
	return mapped
}
