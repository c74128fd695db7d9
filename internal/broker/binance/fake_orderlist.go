package binance

// The fake's order lists and its matching of resting orders, from the
// Binance spot REST documentation (binance/binance-spot-api-docs
// rest-api.md, "New Order list - OCO (TRADE)", "Query Order list
// (USER_DATA)", "Cancel Order list (TRADE)", "Cancel order (TRADE)";
// enums.md "Order List Status" / "Order List Order Status"; errors.md,
// messages for -2010/-2011):
//   - POST /api/v3/orderList/oco places an above and a below order on one
//     side for one quantity; for a SELL the LIMIT_MAKER price must be above
//     the last price and the STOP_LOSS/STOP_LOSS_LIMIT stopPrice below it
//     ("The relationship of the prices for the orders is not correct.");
//     a listClientOrderId that an open list carries is refused ("Duplicate
//     order sent."; a done list's id may be reused).
//   - when one order of the list executes, the exchange cancels the other
//     ("activation of one order immediately cancels the other"), and the
//     list goes ALL_DONE; the quantity is locked once for both orders.
//   - GET /api/v3/orderList by orderListId or origClientOrderId (the
//     listClientOrderId) answers the list with its orders' ids only; an
//     unknown list is -2018 "Order list does not exist." (the code Binance
//     answers, binance-spot-api-docs pull request #43).
//   - DELETE /api/v3/orderList (symbol + orderListId or listClientOrderId)
//     cancels both orders; DELETE /api/v3/order of one leg does the same.
// The fake models the exit pairs: a LIMIT_MAKER leg with a STOP_LOSS or
// STOP_LOSS_LIMIT leg (TAKE_PROFIT legs are answered "Unsupported order
// combination", which the exchange sends for combinations it refuses).
//
// Matching (SetPrice): the price moves along a continuous path from the old
// price to the new one, so every resting order whose price lies on the path
// executes there: a limit at its price, a stop when the path reaches its
// stopPrice (a STOP_LOSS_LIMIT's limit, at or beyond its stop, is
// marketable at the trigger, so it fills at the stopPrice too).

import (
	"net/url"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
)

// fakeOrderList is one order list (an OCO) as the fake keeps it.
type fakeOrderList struct {
	id        int64
	clientID  string
	symbol    string
	side      string
	qty       decimal.Decimal
	orders    []*fakeOrder // in orderId order: below, then above
	transact  int64
	cancelled bool
}

func (l *fakeOrderList) done() bool {
	for _, o := range l.orders {
		if o.open() {
			return false
		}
	}
	return true
}

func (l *fakeOrderList) statusJSON() jsonObject {
	listStatus, orderStatus := "EXEC_STARTED", "EXECUTING"
	if l.done() {
		listStatus, orderStatus = "ALL_DONE", "ALL_DONE"
	}
	orders := []jsonObject{}
	for _, o := range l.orders {
		orders = append(orders, jsonObject{"symbol": o.symbol, "orderId": o.id, "clientOrderId": o.clientID})
	}
	return jsonObject{
		"orderListId":       l.id,
		"contingencyType":   "OCO",
		"listStatusType":    listStatus,
		"listOrderStatus":   orderStatus,
		"listClientOrderId": l.clientID,
		"transactionTime":   l.transact,
		"symbol":            l.symbol,
		"orders":            orders,
	}
}

// queryJSON is the answer to GET /api/v3/orderList: no orderReports.
func (l *fakeOrderList) queryJSON() jsonObject { return l.statusJSON() }

// placedJSON is the answer to POST /api/v3/orderList/oco: orderReports in
// the newOrderRespType format (ACK: none).
func (l *fakeOrderList) placedJSON(respType string) jsonObject {
	out := l.statusJSON()
	if respType == "" {
		respType = "ACK"
	}
	reports := []jsonObject{}
	for _, o := range l.orders {
		if respType == "ACK" {
			continue
		}
		r := o.newOrderJSON("RESULT", l.transact)
		if o.isStop() {
			r["workingTime"] = int64(-1)
		}
		if o.typ == "LIMIT_MAKER" {
			delete(r, "stopPrice")
		}
		reports = append(reports, r)
	}
	if respType != "ACK" {
		out["orderReports"] = reports
	}
	return out
}

// cancelledJSON is the answer to DELETE /api/v3/orderList.
func (l *fakeOrderList) cancelledJSON(cancelID string, now int64) jsonObject {
	out := l.statusJSON()
	reports := []jsonObject{}
	for _, o := range l.orders {
		reports = append(reports, o.cancelJSON(cancelID, now))
	}
	out["orderReports"] = reports
	return out
}

var ocoAboveTypes = map[string]bool{"STOP_LOSS_LIMIT": true, "STOP_LOSS": true, "LIMIT_MAKER": true, "TAKE_PROFIT": true, "TAKE_PROFIT_LIMIT": true}
var ocoBelowTypes = map[string]bool{"STOP_LOSS": true, "STOP_LOSS_LIMIT": true, "TAKE_PROFIT": true, "TAKE_PROFIT_LIMIT": true}

// ocoLeg reads the parameters of one leg ("above" or "below").
type ocoLeg struct {
	typ, clientID, tif string
	price, stop        decimal.Decimal
}

func readLeg(s *fakeSymbol, p url.Values, pos string) (ocoLeg, fakeReply, bool) {
	l := ocoLeg{typ: p.Get(pos + "Type"), clientID: p.Get(pos + "ClientOrderId"), tif: p.Get(pos + "TimeInForce")}
	wantPrice := l.typ == "LIMIT_MAKER" || l.typ == "STOP_LOSS_LIMIT"
	wantStop := l.typ == "STOP_LOSS" || l.typ == "STOP_LOSS_LIMIT"
	wantTIF := l.typ == "STOP_LOSS_LIMIT"
	for param, wanted := range map[string]bool{pos + "Price": wantPrice, pos + "StopPrice": wantStop, pos + "TimeInForce": wantTIF} {
		if p.Get(param) != "" && !wanted {
			return l, errReply(400, -1106, "Parameter '"+param+"' sent when not required."), false
		}
		if p.Get(param) == "" && wanted {
			return l, errReply(400, -1102, "Mandatory parameter '"+param+"' was not sent, was empty/null, or malformed."), false
		}
	}
	var err error
	if wantPrice {
		if l.price, err = decimal.NewFromString(p.Get(pos + "Price")); err != nil || l.price.Sign() <= 0 {
			return l, errReply(400, -1102, "Mandatory parameter '"+pos+"Price' was not sent, was empty/null, or malformed."), false
		}
		if !l.price.Mod(s.tick).IsZero() {
			return l, errReply(400, -1013, "Filter failure: PRICE_FILTER"), false
		}
	}
	if wantStop {
		if l.stop, err = decimal.NewFromString(p.Get(pos + "StopPrice")); err != nil || l.stop.Sign() <= 0 {
			return l, errReply(400, -1102, "Mandatory parameter '"+pos+"StopPrice' was not sent, was empty/null, or malformed."), false
		}
		if !l.stop.Mod(s.tick).IsZero() {
			return l, errReply(400, -1013, "Filter failure: PRICE_FILTER"), false
		}
	}
	if wantTIF && l.tif != "GTC" && l.tif != "IOC" && l.tif != "FOK" {
		return l, errReply(400, -1115, "Invalid timeInForce."), false
	}
	if l.clientID == "" {
		l.clientID = "x-" + randomHex(10)
	}
	if !fakeClientIDPattern.MatchString(l.clientID) {
		return l, errReply(400, -1100, "Illegal characters found in parameter '"+pos+"ClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."), false
	}
	return l, fakeReply{}, true
}

func (f *Fake) newOCO(a *fakeAccount, p url.Values) fakeReply {
	for _, m := range []string{"symbol", "side", "quantity", "aboveType", "belowType"} {
		if p.Get(m) == "" {
			return errReply(400, -1102, "Mandatory parameter '"+m+"' was not sent, was empty/null, or malformed.")
		}
	}
	s := f.symbols[p.Get("symbol")]
	if s == nil {
		return errReply(400, -1121, "Invalid symbol.")
	}
	side := p.Get("side")
	if side != "BUY" && side != "SELL" {
		return errReply(400, -1117, "Invalid side.")
	}
	if !ocoAboveTypes[p.Get("aboveType")] || !ocoBelowTypes[p.Get("belowType")] {
		return errReply(400, -1116, "Invalid orderType.")
	}
	if !s.ocoAllowed {
		return errReply(400, -2010, "OCO orders are not supported for this symbol")
	}
	if s.status != "TRADING" {
		return errReply(400, -2010, "Market is closed.")
	}
	above, rep, ok := readLeg(s, p, "above")
	if !ok {
		return rep
	}
	below, rep, ok := readLeg(s, p, "below")
	if !ok {
		return rep
	}
	for _, l := range []ocoLeg{above, below} {
		if !slices.Contains(s.orderTypes, l.typ) {
			if msg, known := unsupported[l.typ]; known {
				return errReply(400, -2010, msg)
			}
		}
	}
	// SELL: above is the LIMIT_MAKER take-profit, below the stop; BUY the
	// other way round.
	var limit, stop ocoLeg
	switch {
	case side == "SELL" && above.typ == "LIMIT_MAKER" && (below.typ == "STOP_LOSS" || below.typ == "STOP_LOSS_LIMIT"):
		limit, stop = above, below
	case side == "BUY" && below.typ == "LIMIT_MAKER" && (above.typ == "STOP_LOSS" || above.typ == "STOP_LOSS_LIMIT"):
		limit, stop = below, above
	default:
		return errReply(400, -2010, "Unsupported order combination")
	}
	if (side == "SELL" && !(limit.price.GreaterThan(s.price) && s.price.GreaterThan(stop.stop))) ||
		(side == "BUY" && !(limit.price.LessThan(s.price) && s.price.LessThan(stop.stop))) {
		return errReply(400, -2010, "The relationship of the prices for the orders is not correct.")
	}
	listCID := p.Get("listClientOrderId")
	if listCID == "" {
		listCID = "x-" + randomHex(10)
	}
	if !fakeClientIDPattern.MatchString(listCID) {
		return errReply(400, -1100, "Illegal characters found in parameter 'listClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
	}
	for _, l := range a.lists {
		if l.clientID == listCID && !l.done() {
			return errReply(400, -2010, "Duplicate order sent.")
		}
	}
	for _, o := range a.orders {
		if o.open() && (o.clientID == above.clientID || o.clientID == below.clientID) {
			return errReply(400, -2010, "Duplicate order sent.")
		}
	}
	if rt := p.Get("newOrderRespType"); rt != "" && rt != "ACK" && rt != "RESULT" && rt != "FULL" {
		return errReply(400, -1100, "Illegal characters found in parameter 'newOrderRespType'.")
	}
	qty, err := decimal.NewFromString(p.Get("quantity"))
	if err != nil || qty.Sign() <= 0 {
		return errReply(400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
	}
	if qty.LessThan(s.minQty) || !qty.Sub(s.minQty).Mod(s.step).IsZero() {
		return errReply(400, -1013, "Filter failure: LOT_SIZE")
	}
	low := decimal.Min(limit.price, stop.stop)
	if qty.Mul(low).LessThan(s.minNotional) {
		return errReply(400, -1013, "Filter failure: NOTIONAL")
	}
	needAsset, need := s.base, qty
	if side == "BUY" {
		needAsset, need = s.quote, qty.Mul(decimal.Max(limit.price, stop.stop, stop.price))
	}
	if a.free[needAsset].LessThan(need) {
		return errReply(400, -2010, "Account has insufficient balance for requested action.")
	}
	a.free[needAsset] = a.free[needAsset].Sub(need)
	a.locked[needAsset] = a.locked[needAsset].Add(need)

	now := f.now().UnixMilli()
	f.nextID++
	l := &fakeOrderList{id: f.nextID, clientID: listCID, symbol: s.wire, side: side, qty: qty, transact: now}
	for _, leg := range []ocoLeg{below, above} {
		f.nextID++
		tif := leg.tif
		if tif == "" {
			tif = "GTC"
		}
		o := &fakeOrder{symbol: s.wire, id: f.nextID, clientID: leg.clientID, side: side, typ: leg.typ, tif: tif,
			status: "NEW", price: leg.price, stop: leg.stop, qty: qty, created: now, updated: now, list: l}
		l.orders = append(l.orders, o)
		a.orders = append(a.orders, o)
	}
	a.lists = append(a.lists, l)
	return fakeReply{status: 200, body: l.placedJSON(p.Get("newOrderRespType"))}
}

// findList looks a list up by orderListId or by the client id parameter
// idParam (origClientOrderId for GET, listClientOrderId for DELETE).
func (f *Fake) findList(a *fakeAccount, p url.Values, idParam string) (*fakeOrderList, fakeReply) {
	id, cid := p.Get("orderListId"), p.Get(idParam)
	if id == "" && cid == "" {
		return nil, errReply(400, -1102, "Param '"+idParam+"' or 'orderListId' must be sent, but both were empty/null!")
	}
	for i := len(a.lists) - 1; i >= 0; i-- {
		l := a.lists[i]
		if id != "" && strconv.FormatInt(l.id, 10) != id {
			continue
		}
		if cid != "" && l.clientID != cid {
			continue
		}
		return l, fakeReply{}
	}
	return nil, errReply(400, -2018, "Order list does not exist.")
}

func (f *Fake) cancelList(a *fakeAccount, p url.Values) fakeReply {
	if p.Get("symbol") == "" {
		return errReply(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
	}
	if f.symbols[p.Get("symbol")] == nil {
		return errReply(400, -1121, "Invalid symbol.")
	}
	l, rep := f.findList(a, p, "listClientOrderId")
	if l == nil {
		return rep
	}
	if l.symbol != p.Get("symbol") || l.done() {
		return errReply(400, -2011, "Unknown order sent.")
	}
	f.cancelListOrders(a, l)
	cancelID := p.Get("newClientOrderId")
	if cancelID == "" {
		cancelID = "x-" + randomHex(10)
	}
	return fakeReply{status: 200, body: l.cancelledJSON(cancelID, f.now().UnixMilli())}
}

// cancelListOrders cancels the open orders of l and releases the funds the
// list locked (once for both orders).
func (f *Fake) cancelListOrders(a *fakeAccount, l *fakeOrderList) {
	if l.done() {
		return
	}
	s := f.symbols[l.symbol]
	asset, amt := s.base, l.qty
	if l.side == "BUY" {
		asset, amt = s.quote, l.lockedQuote()
	}
	a.locked[asset] = a.locked[asset].Sub(amt)
	a.free[asset] = a.free[asset].Add(amt)
	now := f.now().UnixMilli()
	for _, o := range l.orders {
		if o.open() {
			o.status, o.updated = "CANCELED", now
		}
	}
	l.cancelled = true
}

// lockedQuote is what a BUY list locked: its quantity at its highest price.
func (l *fakeOrderList) lockedQuote() decimal.Decimal {
	top := decimal.Zero
	for _, o := range l.orders {
		top = decimal.Max(top, o.price, o.stop)
	}
	return l.qty.Mul(top)
}

// match executes the resting orders of s that the move from old to price
// crosses (see the file comment); callers hold f.mu.
func (f *Fake) match(s *fakeSymbol, old, price decimal.Decimal) {
	up := price.GreaterThan(old)
	for _, a := range f.accounts {
		for _, o := range a.orders {
			if o.symbol != s.wire || !o.open() {
				continue
			}
			at, ok := crossed(o, old, price, up)
			if ok {
				f.fill(a, s, o, at)
			}
		}
	}
}

// crossed reports whether the path old → price executes o, and at what.
func crossed(o *fakeOrder, old, price decimal.Decimal, up bool) (decimal.Decimal, bool) {
	onPath := func(x decimal.Decimal) bool {
		if up {
			return x.GreaterThan(old) && x.LessThanOrEqual(price)
		}
		return x.LessThan(old) && x.GreaterThanOrEqual(price)
	}
	switch o.typ {
	case "LIMIT", "LIMIT_MAKER":
		// A sell limit executes when the price rises to it, a buy when it
		// falls to it.
		if (o.side == "SELL") == up && onPath(o.price) {
			return o.price, true
		}
	case "STOP_LOSS", "STOP_LOSS_LIMIT":
		// A sell stop triggers when the price falls to it, a buy stop when
		// it rises to it.
		if (o.side == "SELL") != up && onPath(o.stop) {
			if o.typ == "STOP_LOSS_LIMIT" && ((o.side == "SELL" && o.price.GreaterThan(o.stop)) || (o.side == "BUY" && o.price.LessThan(o.stop))) {
				return decimal.Zero, false // a limit beyond the trigger: not marketable there
			}
			return o.stop, true
		}
	}
	return decimal.Zero, false
}

// fill executes o in full at price, moves the funds and, for a leg of an
// order list, cancels its sibling (the list locked the funds once).
func (f *Fake) fill(a *fakeAccount, s *fakeSymbol, o *fakeOrder, price decimal.Decimal) {
	now := f.now().UnixMilli()
	proceeds := o.qty.Mul(price)
	if o.side == "SELL" {
		a.locked[s.base] = a.locked[s.base].Sub(o.qty)
		a.free[s.quote] = a.free[s.quote].Add(proceeds)
	} else {
		locked := o.qty.Mul(o.price)
		switch {
		case o.list != nil:
			locked = o.list.lockedQuote()
		case o.typ == "STOP_LOSS":
			locked = o.qty.Mul(o.stop)
		}
		a.locked[s.quote] = a.locked[s.quote].Sub(locked)
		a.free[s.quote] = a.free[s.quote].Add(locked.Sub(proceeds))
		a.free[s.base] = a.free[s.base].Add(o.qty)
	}
	o.status, o.executed, o.quoteQty, o.updated = "FILLED", o.qty, proceeds, now
	if o.list != nil {
		for _, sib := range o.list.orders {
			if sib != o && sib.open() {
				sib.status, sib.updated = "CANCELED", now
			}
		}
	}
}
