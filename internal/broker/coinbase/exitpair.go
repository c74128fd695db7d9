package coinbase

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// The exit pair at Coinbase is ONE order, order_configuration
// trigger_bracket_gtc {base_size, limit_price, stop_trigger_price}
// (Advanced Trade create-order; DESIGN §8 Take-profit): a SELL of a held
// position that executes at limit_price (the take-profit) or, once the
// last trade crosses stop_trigger_price, as a stop — never both, since it
// is one order. The pair id is the order id; both legs report that order,
// each leg's status saying which side executed (trigger_status
// STOP_TRIGGERED: the stop side). Coinbase spot has no shorts, so only a
// SELL pair exists; a BUY pair is refused as INVALID_ORDER.

var _ broker.ExitPairPlacer = (*Adapter)(nil)

// PlaceExitPair implements broker.ExitPairPlacer. Coinbase de-duplicates
// client_order_id (a second create answers with the first order), and the
// pair is looked up by client id before it is placed.
func (a *Adapter) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	if req.ClientOrderID == "" {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "an exit pair needs a client order id", nil)
	}
	if req.Side != signal.SideSell {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "Coinbase brackets exit a held position: sell only", nil)
	}
	if req.TimeInForce != "" && req.TimeInForce != broker.TIFGTC {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder, "a Coinbase bracket is good till cancelled", nil)
	}
	if p, found, err := a.FindExitPair(ctx, req.ClientOrderID); err != nil || found {
		return p, err
	}
	info, err := a.product(ctx, req.Symbol)
	if err != nil {
		return broker.ExitPair{}, err
	}
	rules := info.Rules
	qty := rules.NormalizeQty(req.Quantity)
	tp := rules.NormalizePrice(req.TakeProfitPrice, req.Side)
	stop := rules.NormalizePrice(req.StopPrice, req.Side)
	if tp.Sign() <= 0 || stop.Sign() <= 0 || !tp.GreaterThan(stop) {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("a sell bracket needs its take-profit (%s) above its stop trigger (%s)", tp, stop), nil)
	}
	if err := rules.Check(Name, qty, stop); err != nil {
		return broker.ExitPair{}, err
	}
	cfg := wireOrderConfig{BracketGTC: &wireBracketGTC{BaseSize: qty.String(), LimitPrice: tp.String(), StopTriggerPrice: stop.String()}}
	resp, err := a.c.createOrder(ctx, wireCreateOrder{ClientOrderID: req.ClientOrderID, ProductID: info.Product.ProductID, Side: "SELL", OrderConfiguration: cfg})
	if err != nil {
		return broker.ExitPair{}, mapError(err)
	}
	return a.GetExitPair(ctx, resp.SuccessResponse.OrderID)
}

// GetExitPair implements broker.ExitPairPlacer.
func (a *Adapter) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	w, err := a.c.order(ctx, id)
	if err != nil {
		return broker.ExitPair{}, mapError(err)
	}
	return toPair(w)
}

// FindExitPair implements broker.ExitPairPlacer (the order history, newest
// first, as FindOrderByClientID).
func (a *Adapter) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	cursor := ""
	for range maxOrderPages {
		page, err := a.c.listOrders(ctx, cursor)
		if err != nil {
			return broker.ExitPair{}, false, mapError(err)
		}
		for _, w := range page.Orders {
			if w.ClientOrderID == clientOrderID {
				p, err := toPair(w)
				return p, err == nil, err
			}
		}
		if !page.HasNext || page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	return broker.ExitPair{}, false, nil
}

// CancelExitPair implements broker.ExitPairPlacer: the one order is
// cancelled; a bracket already done is not an error.
func (a *Adapter) CancelExitPair(ctx context.Context, id string) error {
	err := a.CancelOrder(ctx, id)
	if broker.KindOf(err) == broker.KindRejected {
		if p, gerr := a.GetExitPair(ctx, id); gerr == nil && p.Done() {
			return nil
		}
	}
	return err
}

// toPair reads a bracket as its two legs: the take-profit (limit_price)
// and the stop (stop_trigger_price), the side that did not execute
// reported cancelled.
func toPair(w wireOrder) (broker.ExitPair, error) {
	if w.OrderConfiguration.BracketGTC == nil {
		return broker.ExitPair{}, broker.NewError(Name, broker.KindRejected, "the order under that id is not a trigger_bracket_gtc", nil)
	}
	o := toOrder(w)
	tp, sl := o, o
	tp.Type, tp.StopPrice = signal.OrderLimit, decimal.Zero
	sl.Type, sl.LimitPrice = signal.OrderStop, decimal.Zero
	if o.FilledQuantity.IsPositive() {
		other := &sl // the take-profit side executed
		if w.TriggerStatus == "STOP_TRIGGERED" {
			other = &tp
		}
		other.FilledQuantity, other.AvgFillPrice = decimal.Zero, decimal.Zero
		if o.Status == broker.StatusFilled {
			other.Status = broker.StatusCancelled
		}
	}
	return broker.ExitPair{ID: o.ID, ClientOrderID: o.ClientOrderID, TakeProfit: tp, StopLoss: sl}, nil
}
