package alpaca

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// The fake's OCO orders, as Alpaca documents them
// (https://docs.alpaca.markets/docs/orders-at-alpaca, "OCO Orders", and
// the announcement https://alpaca.markets/blog/oco-oto/): an exit of a
// position already held, POST /v2/orders with "order_class": "oco",
// "type": "limit", "take_profit": {"limit_price"} and "stop_loss":
// {"stop_price"[, "limit_price"]}. The answer is the take-profit limit
// order (the parent, carrying the client_order_id) with the stop-loss as
// its one entry in "legs"; both are order_class "oco". When one fills,
// Alpaca cancels the other; cancelling either cancels both. Advanced
// order classes are for equities only, and whole quantities.

func (f *Fake) createOCO(w http.ResponseWriter, req *fakeOrderRequest, a *fakeAccount, asset *fakeAsset) {
	if f.failOCO > 0 {
		f.failOCO--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	switch {
	case asset.class == "crypto":
		unprocessable(w, 42210000, "crypto orders must be simple orders")
		return
	case req.Type != "limit":
		unprocessable(w, 42210000, "oco orders must be limit orders")
		return
	case req.TakeProfit == nil || req.TakeProfit.LimitPrice == nil || !req.TakeProfit.LimitPrice.IsPositive():
		unprocessable(w, 42210000, "oco orders require take_profit.limit_price")
		return
	case req.StopLoss == nil || req.StopLoss.StopPrice == nil || !req.StopLoss.StopPrice.IsPositive():
		unprocessable(w, 42210000, "oco orders require stop_loss.stop_price")
		return
	case req.Qty == nil || !req.Qty.IsPositive():
		unprocessable(w, 40010001, "qty is required")
		return
	case !req.Qty.Equal(req.Qty.Truncate(0)):
		unprocessable(w, 42210000, "fractional orders must be simple orders")
		return
	case req.TimeInForce != "day" && req.TimeInForce != "gtc":
		unprocessable(w, 42210000, "oco orders must be day or gtc")
		return
	case req.Side != "buy" && req.Side != "sell":
		unprocessable(w, 40010001, fmt.Sprintf("invalid side %q", req.Side))
		return
	}
	tp, stop := *req.TakeProfit.LimitPrice, *req.StopLoss.StopPrice
	if req.LimitPrice != nil && !req.LimitPrice.Equal(tp) {
		unprocessable(w, 42210000, "limit_price must equal take_profit.limit_price for oco orders")
		return
	}
	if msg := subPenny(&tp, "limit_price", false) + subPenny(&stop, "stop_price", false); msg != "" {
		unprocessable(w, 42210000, msg)
		return
	}
	if (req.Side == "sell" && !tp.GreaterThan(stop)) || (req.Side == "buy" && !tp.LessThan(stop)) {
		unprocessable(w, 42210000, "take_profit.limit_price must be on the other side of stop_loss.stop_price")
		return
	}
	if f.halted[req.Symbol] {
		writeJSON(w, http.StatusForbidden, map[string]any{"code": 40310000, "message": fmt.Sprintf("asset %q is halted", req.Symbol)})
		return
	}
	if req.ClientOrderID == "" {
		req.ClientOrderID = uuid.NewString()
	}
	if _, dup := a.byClient[req.ClientOrderID]; dup {
		unprocessable(w, 40010001, "client_order_id must be unique")
		return
	}
	// An exit: the position must hold the quantity, less what other
	// working exits already take (the pair counts once).
	have := decimal.Zero
	if p, ok := a.positions[req.Symbol]; ok {
		have = p.qty
	}
	if req.Side == "buy" {
		have = have.Neg()
	}
	exitSide := req.Side
	for _, o := range a.orders {
		if o.working() && o.w.Side == exitSide && o.w.Symbol == req.Symbol && o.parent == "" {
			have = have.Sub(deref(o.w.Qty).Sub(o.w.FilledQty))
		}
	}
	qty := *req.Qty
	if qty.GreaterThan(have) {
		writeJSON(w, http.StatusForbidden, map[string]any{
			"code": 40310000, "symbol": req.Symbol, "existing_qty": have.String(), "held_for_orders": "0",
			"message": fmt.Sprintf("insufficient qty available for order (requested: %s, available: %s)", qty, have),
		})
		return
	}
	now := f.now().UTC()
	status := "accepted"
	if f.open {
		status = "new"
	}
	mk := func(cid, typ string, limit, stopPrice *decimal.Decimal) *fakeOrder {
		q := qty
		return &fakeOrder{w: alpacaOrder{
			ID: uuid.NewString(), ClientOrderID: cid, CreatedAt: now, UpdatedAt: now, SubmittedAt: now,
			AssetID: asset.id, Symbol: req.Symbol, AssetClass: asset.class, Qty: &q, FilledQty: decimal.Zero,
			OrderClass: "oco", Type: typ, OrderType: typ, Side: req.Side, TimeInForce: req.TimeInForce,
			LimitPrice: limit, StopPrice: stopPrice, Status: status,
		}}
	}
	parent := mk(req.ClientOrderID, "limit", &tp, nil)
	legType := "stop"
	if req.StopLoss.LimitPrice != nil {
		legType = "stop_limit"
	}
	leg := mk(uuid.NewString(), legType, req.StopLoss.LimitPrice, &stop)
	parent.leg, leg.parent = leg.w.ID, parent.w.ID
	for _, o := range []*fakeOrder{parent, leg} {
		a.orders[o.w.ID] = o
		a.byClient[o.w.ClientOrderID] = o
		a.created++
	}
	f.match(a, parent)
	f.match(a, leg)
	if f.dropNext > 0 {
		f.dropNext--
		dropConnection(w)
		return
	}
	writeJSON(w, http.StatusOK, f.view(a, parent))
}

// view is an order as Alpaca answers it: an OCO parent with its leg.
func (f *Fake) view(a *fakeAccount, o *fakeOrder) alpacaOrder {
	w := o.w
	w.Legs = nil
	if l, ok := a.orders[o.leg]; ok && o.leg != "" {
		w.Legs = []alpacaOrder{l.w}
	}
	return w
}

// sibling is the other order of o's OCO, or nil.
func sibling(a *fakeAccount, o *fakeOrder) *fakeOrder {
	switch {
	case o.leg != "":
		return a.orders[o.leg]
	case o.parent != "":
		return a.orders[o.parent]
	}
	return nil
}

// ocoFilled: one order of an OCO filled; Alpaca cancels the other.
func (f *Fake) ocoFilled(a *fakeAccount, o *fakeOrder) {
	if s := sibling(a, o); s != nil && s.working() {
		now := f.now().UTC()
		s.w.Status, s.w.CanceledAt, s.w.UpdatedAt = "canceled", &now, now
	}
}

// ocoCancelled: cancelling either order of an OCO cancels both.
func (f *Fake) ocoCancelled(a *fakeAccount, o *fakeOrder) { f.ocoFilled(a, o) }

// FailNextOCO makes the next n OCO submissions answer 503 (other orders
// go through): a test holds a trade between its entry fill and its pair.
func (f *Fake) FailNextOCO(n int) { f.mu.Lock(); f.failOCO = n; f.mu.Unlock() }

// OCOCount is how many OCO orders (parents) the account of keyID holds.
func (f *Fake) OCOCount(keyID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if a, ok := f.accounts[keyID]; ok {
		for _, o := range a.orders {
			if o.leg != "" {
				n++
			}
		}
	}
	return n
}
