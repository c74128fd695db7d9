package alpaca

import (
	"context"
	"errors"
	"strings"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The exit pair at Alpaca is an OCO order (order_class=oco, DESIGN §8
// Take-profit): POST /v2/orders with type limit, take_profit.limit_price
// and stop_loss.stop_price (a stop-market leg), the pair's client order id
// on the parent. Alpaca answers with the parent — the take-profit limit —
// whose one leg is the stop-loss; the pair id is the parent's order id.
// When one fills Alpaca cancels the other; cancelling the parent cancels
// both. Alpaca takes advanced orders for equities in whole shares only: a
// crypto or fractional pair is refused here as INVALID_ORDER (the trade
// path then emulates the take-profit).

var _ broker.ExitPairPlacer = (*Adapter)(nil)

// PlaceExitPair implements broker.ExitPairPlacer.
func (a *Adapter) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	if req.AssetClass == signal.AssetCrypto || isCryptoSymbol(toWireSymbol(req.Symbol)) {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "Alpaca has no OCO order for crypto", nil)
	}
	if !req.Quantity.IsPositive() || !req.Quantity.Equal(req.Quantity.Truncate(0)) {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "Alpaca takes OCO orders in whole shares only", nil)
	}
	if req.Side != signal.SideBuy && req.Side != signal.SideSell {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "an exit pair is a buy or a sell", nil)
	}
	tif := string(req.TimeInForce)
	switch req.TimeInForce {
	case "":
		tif = string(broker.TIFGTC)
	case broker.TIFDay, broker.TIFGTC:
	default:
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "an Alpaca OCO order is day or gtc", nil)
	}
	tp := normalisePrice(req.TakeProfitPrice, req.Side, false)
	stop := normalisePrice(req.StopPrice, req.Side, false)
	wire := createOrderRequest{
		Symbol: toWireSymbol(req.Symbol), Qty: decimalString(req.Quantity), Side: string(req.Side), Type: "limit",
		LimitPrice:  decimalString(tp), // the parent is the take-profit limit
		TimeInForce: tif, ClientOrderID: req.ClientOrderID, OrderClass: "oco",
		TakeProfit: &takeProfitWire{LimitPrice: decimalString(tp)},
		StopLoss:   &stopLossWire{StopPrice: decimalString(stop)},
	}
	w, err := wire.do(ctx, a.c)
	if err == nil {
		return toPair(w)
	}
	if isDuplicateClientID(err) || broker.KindOf(mapError(opPlace, err)) == broker.KindUnavailable {
		// Placed before (a retried step) or the answer was lost: look it up.
		p, found, ferr := a.FindExitPair(ctx, req.ClientOrderID)
		if ferr == nil && found {
			if !strings.EqualFold(p.TakeProfit.Symbol, req.Symbol) || p.TakeProfit.Side != req.Side {
				return broker.ExitPair{}, broker.NewError(Name, broker.KindRejected, "the client order id is already used by a different order at Alpaca", err)
			}
			return p, nil
		}
	}
	return broker.ExitPair{}, mapError(opPlace, err)
}

// GetExitPair implements broker.ExitPairPlacer (id: the parent order id).
func (a *Adapter) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	if !validOrderID(id) {
		return broker.ExitPair{}, notFound(id)
	}
	w, err := getOrderRequest{ID: id}.do(ctx, a.c)
	if err != nil {
		return broker.ExitPair{}, mapError(opGetOrder, err)
	}
	return toPair(w)
}

// FindExitPair implements broker.ExitPairPlacer.
func (a *Adapter) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	w, err := getOrderByClientIDRequest{ClientOrderID: clientOrderID}.do(ctx, a.c)
	if err != nil {
		mapped := mapError(opGetOrder, err)
		if errors.Is(mapped, broker.ErrNotFound) {
			return broker.ExitPair{}, false, nil
		}
		return broker.ExitPair{}, false, mapped
	}
	p, err := toPair(w)
	return p, err == nil, err
}

// CancelExitPair implements broker.ExitPairPlacer: DELETE of the parent
// (Alpaca cancels the leg with it). A pair already done is not an error.
func (a *Adapter) CancelExitPair(ctx context.Context, id string) error {
	err := a.CancelOrder(ctx, id)
	if broker.KindOf(err) == broker.KindRejected {
		if p, gerr := a.GetExitPair(ctx, id); gerr == nil && p.Done() {
			return nil
		}
	}
	return err
}

// toPair reads an OCO order: the parent is the take-profit, its one leg
// the stop-loss.
func toPair(w *orderWire) (broker.ExitPair, error) {
	if w.OrderClass != "oco" || len(w.Legs) != 1 {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindRejected,
			"Alpaca answered with an order that is not an OCO pair (order_class "+sanitize(w.OrderClass)+")", nil)
	}
	return broker.ExitPair{ID: w.ID, ClientOrderID: w.ClientOrderID, TakeProfit: toOrder(w), StopLoss: toOrder(&w.Legs[0])}, nil
}
