package ibkr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/shopspring/decimal"
)

// The fake gateway's orders: ticket validation, placement with order
// questions, matching against the fake's prices, cancellation and the
// order views (live orders, order status).

// ticketError validates an order ticket like the gateway does.
func (f *Fake) ticketError(t fakeOrderTicket, acct *fakeAccount) (string, bool) {
	sym, ok := f.symbols[t.Conid]
	if !ok {
		return "Invalid conid " + strconv.FormatInt(t.Conid, 10), false
	}
	switch t.Side {
	case "BUY", "SELL":
	default:
		return "Invalid side " + t.Side, false
	}
	switch t.TIF {
	case "DAY", "GTC", "IOC", "OPG":
	default:
		return "Invalid tif " + t.TIF, false
	}
	qty, err := decimal.NewFromString(t.Quantity.String())
	if !t.Quantity.set || err != nil || !qty.IsPositive() {
		return "Invalid quantity", false
	}
	if t.SecType != "" && t.SecType != strconv.FormatInt(t.Conid, 10)+":STK" {
		return "Invalid secType " + t.SecType, false
	}
	if !qty.Equal(qty.Truncate(0)) {
		return "Fractional share size rules: this account may not trade fractional quantities", false
	}
	price := func(n fakeNumber) (decimal.Decimal, bool) {
		d, err := decimal.NewFromString(n.String())
		return d, n.set && err == nil && d.IsPositive()
	}
	onTick := func(d decimal.Decimal) bool {
		places := int32(2)
		if d.LessThan(decimal.NewFromInt(1)) {
			places = 4
		}
		return d.Equal(d.Truncate(places))
	}
	switch t.OrderType {
	case "MKT":
	case "LMT", "STP":
		p, ok := price(t.Price)
		if !ok {
			return "Missing price for " + t.OrderType + " order", false
		}
		if !onTick(p) {
			return "The price does not conform to the minimum price variation for this contract.", false
		}
	case "STOP_LIMIT":
		p, ok1 := price(t.Price)
		a, ok2 := price(t.AuxPrice)
		if !ok1 || !ok2 {
			return "Missing price or auxPrice for STOP_LIMIT order", false
		}
		if !onTick(p) || !onTick(a) {
			return "The price does not conform to the minimum price variation for this contract.", false
		}
	case "TRAIL":
		// IBKR Campus, "Order Types" → CP API Trailing Stop: the trail offset
		// (trailingAmt with trailingType "amt" or "%") and the stop price in
		// "price" are both required. The refusal's wording is assumed.
		if _, ok := price(t.TrailingAmt); !ok || (t.TrailingType != "%" && t.TrailingType != "amt") {
			return "Missing trailingAmt or trailingType for TRAIL order", false
		}
		p, ok := price(t.Price)
		if !ok {
			return "Missing price for TRAIL order: the stop price is required", false
		}
		if !onTick(p) {
			return "The price does not conform to the minimum price variation for this contract.", false
		}
	default:
		return "Invalid orderType " + t.OrderType, false
	}
	px := f.prices[sym]
	if t.Side == "BUY" {
		cost := qty.Mul(px)
		if t.OrderType == "LMT" {
			lp, _ := decimal.NewFromString(t.Price.String())
			cost = qty.Mul(decimal.Min(lp, px))
		}
		if cost.GreaterThan(acct.cash) {
			return fmt.Sprintf("Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION "+
				"YOUR EQUITY WITH LOAN VALUE [%s USD] MUST EXCEED THE INITIAL MARGIN [%s USD]", acct.cash.StringFixed(2), cost.StringFixed(2)), false
		}
	} else {
		held := decimal.Zero
		if p := acct.positions[sym]; p != nil {
			held = p.qty
		}
		if qty.GreaterThan(held) {
			return "Order rejected - reason:Short stock positions can only be held in a margin account.", false
		}
	}
	return "", true
}

func (f *Fake) placeOrders(w http.ResponseWriter, r *http.Request, g *fakeGateway, accountID string) bool {
	if f.failNext > 0 {
		f.failNext--
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return false
	}
	if !g.accountsQueried {
		writeError(w, 400, "Please query /accounts first")
		return false
	}
	acct := g.account
	if accountID != acct.id {
		writeError(w, 400, "Account "+accountID+" is not available in this session")
		return false
	}
	var body fakePlaceOrders
	if err := decodeStrict(r, &body); err != nil || len(body.Orders) == 0 {
		writeError(w, 400, "Bad Request: body must be {\"orders\":[<order ticket>]}")
		return false
	}
	// IBKR Campus, "Place Order" / "How to Code an OCA Order in the Web
	// API": apart from OCA groups (every order with isSingleGroup true) and
	// brackets, the endpoint takes one order; the orders of one OCA request
	// share one oca_group_id, and when one fills the others are cancelled.
	group := len(body.Orders) > 1
	if group && f.failGroups > 0 {
		f.failGroups--
		writeError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return false
	}
	for _, t := range body.Orders {
		if group && !t.IsSingleGroup {
			writeError(w, 400, "Bad Request: several orders are placed together only as an OCA group (isSingleGroup) or a bracket")
			return false
		}
	}
	orders := make([]*fakeOrder, 0, len(body.Orders))
	ocaGroup := ""
	if group {
		f.nextOrderID++
		ocaGroup = strconv.FormatInt(f.nextOrderID, 10)
	}
	for _, t := range body.Orders {
		if t.COID != "" && acct.coids[t.COID] {
			writeError(w, 400, "Order couldn't be submitted: Local order ID="+t.COID+" is already registered.")
			return false
		}
		if msg, ok := f.ticketError(t, acct); !ok {
			writeError(w, 400, msg)
			return false
		}
		if sym := f.symbols[t.Conid]; f.halted[sym] {
			writeError(w, 400, "Order rejected - reason:Trading in "+sym+" is halted.")
			return false
		}
		o := f.newOrder(t, acct.id)
		o.ocaGroup = ocaGroup
		orders = append(orders, o)
	}
	ask := f.askNext > 0
	if ask {
		f.askNext--
	}
	var asked *fakeOrder
	for _, o := range orders {
		px := f.prices[o.symbol]
		if !ask && o.orderType == "LMT" && o.price.Sub(px).Abs().GreaterThan(px.Mul(decimal.RequireFromString("0.03"))) {
			ask = true
		}
		if ask && asked == nil {
			asked = o
		}
	}
	if ask {
		f.nextReply++
		id := fmt.Sprintf("07a13a5a-4a48-44a5-bb25-%012d", f.nextReply)
		g.pending[id] = orders
		writeJSON(w, 200, []map[string]any{{
			"id": id,
			"message": []string{fmt.Sprintf("The following order \"%s %s %s NASDAQ.NMS @ %s\" price exceeds \nthe Percentage constraint of 3%%.\nAre you sure you want to submit this order?",
				asked.side, asked.qty, asked.symbol, asked.price)},
			"isSuppressed": false, "messageIds": []string{"o163"},
		}})
		return false
	}
	return f.accept(w, acct, orders)
}

func (f *Fake) reply(w http.ResponseWriter, r *http.Request, g *fakeGateway, replyID string) bool {
	var body fakeReplyBody
	if err := decodeStrict(r, &body); err != nil || body.Confirmed == nil {
		writeError(w, 400, "Bad Request: body must be {\"confirmed\":true}")
		return false
	}
	orders, ok := g.pending[replyID]
	if !ok {
		writeError(w, 400, "Reply ID "+replyID+" is not valid or has expired")
		return false
	}
	delete(g.pending, replyID)
	if !*body.Confirmed {
		writeJSON(w, 200, []map[string]string{{"error": "Order was not confirmed and has been discarded"}})
		return false
	}
	for _, o := range orders {
		if o.coid != "" && g.account.coids[o.coid] {
			writeError(w, 400, "Order couldn't be submitted: Local order ID="+o.coid+" is already registered.")
			return false
		}
	}
	return f.accept(w, g.account, orders)
}

// accept books validated orders (one, or an OCA group) and acknowledges
// each (or drops the answer).
func (f *Fake) accept(w http.ResponseWriter, acct *fakeAccount, orders []*fakeOrder) bool {
	for _, o := range orders {
		f.nextOrderID++
		o.id = f.nextOrderID
		if o.coid != "" {
			acct.coids[o.coid] = true
		}
		acct.orders = append(acct.orders, o)
	}
	acks := make([]map[string]any, 0, len(orders))
	for _, o := range orders {
		if working(o.status) {
			f.match(acct, o)
		}
		if o.status == "Submitted" && o.tif == "IOC" {
			o.status = "Cancelled"
		}
	}
	for _, o := range orders {
		acks = append(acks, map[string]any{"order_id": strconv.FormatInt(o.id, 10), "order_status": o.status,
			"encrypt_message": "1", "local_order_id": o.coid})
	}
	if f.dropNext {
		f.dropNext = false
		return true
	}
	writeJSON(w, 200, acks)
	return false
}

func (f *Fake) newOrder(t fakeOrderTicket, account string) *fakeOrder {
	now := f.now().UTC()
	o := &fakeOrder{coid: t.COID, account: account, conid: t.Conid, symbol: f.symbols[t.Conid], side: t.Side,
		orderType: t.OrderType, tif: t.TIF, qty: decimal.RequireFromString(t.Quantity.String()),
		created: now, updated: now, outsideRTH: t.OutsideRTH, status: "Submitted", trailingType: t.TrailingType}
	if t.Price.set {
		o.price = decimal.RequireFromString(t.Price.String())
		o.sentPrice = o.price
	}
	if t.AuxPrice.set {
		o.aux = decimal.RequireFromString(t.AuxPrice.String())
	}
	if t.TrailingAmt.set {
		o.trailingAmt = decimal.RequireFromString(t.TrailingAmt.String())
	}
	switch o.orderType {
	case "STP", "STOP_LIMIT", "TRAIL":
		o.status = "PreSubmitted"
	}
	return o
}

func working(status string) bool {
	return status == "Submitted" || status == "PreSubmitted" || status == "PendingSubmit"
}

// match fills a working order when the price allows.
func (f *Fake) match(acct *fakeAccount, o *fakeOrder) {
	px := f.prices[o.symbol]
	buy := o.side == "BUY"
	fill := false
	switch o.orderType {
	case "MKT":
		fill = true
	case "LMT":
		fill = (buy && px.LessThanOrEqual(o.price)) || (!buy && px.GreaterThanOrEqual(o.price))
	case "STP":
		fill = (buy && px.GreaterThanOrEqual(o.price)) || (!buy && px.LessThanOrEqual(o.price))
	case "STOP_LIMIT":
		triggered := (buy && px.GreaterThanOrEqual(o.aux)) || (!buy && px.LessThanOrEqual(o.aux))
		if triggered {
			o.status = "Submitted"
			fill = (buy && px.LessThanOrEqual(o.price)) || (!buy && px.GreaterThanOrEqual(o.price))
		}
	case "TRAIL":
		// The stop ("price") follows the market by the offset, never back.
		offset := o.trailingAmt
		if o.trailingType == "%" {
			offset = px.Mul(o.trailingAmt).Div(decimal.NewFromInt(100))
		}
		if buy {
			if s := px.Add(offset).Round(2); s.LessThan(o.price) {
				o.price = s
			}
			fill = px.GreaterThanOrEqual(o.price)
		} else {
			if s := px.Sub(offset).Round(2); s.GreaterThan(o.price) {
				o.price = s
			}
			fill = px.LessThanOrEqual(o.price)
		}
	}
	if !fill {
		return
	}
	qty := o.qty.Sub(o.filled)
	if buy {
		acct.cash = acct.cash.Sub(qty.Mul(px))
	} else {
		acct.cash = acct.cash.Add(qty.Mul(px))
	}
	p := acct.positions[o.symbol]
	if p == nil {
		p = &fakePosition{conid: o.conid}
		acct.positions[o.symbol] = p
	}
	if buy {
		total := p.qty.Mul(p.avg).Add(qty.Mul(px))
		p.qty = p.qty.Add(qty)
		p.avg = total.Div(p.qty).Round(4)
	} else {
		p.qty = p.qty.Sub(qty)
	}
	o.filled, o.avg, o.status, o.updated = o.qty, px, "Filled", f.now().UTC()
	if o.ocaGroup != "" {
		// One-cancels-all: the fill cancels the group's other orders.
		for _, other := range acct.orders {
			if other != o && other.ocaGroup == o.ocaGroup && working(other.status) {
				other.status, other.updated = "Cancelled", o.updated
			}
		}
	}
}

func (f *Fake) cancel(w http.ResponseWriter, g *fakeGateway, accountID, orderID string) {
	if !g.accountsQueried {
		writeError(w, 400, "Please query /accounts first")
		return
	}
	if accountID != g.account.id {
		writeError(w, 400, "Account "+accountID+" is not available in this session")
		return
	}
	o := g.account.order(orderID)
	if o == nil {
		writeError(w, 400, "OrderID "+orderID+" doesn't exist")
		return
	}
	if !working(o.status) {
		writeError(w, 400, "OrderID "+orderID+" cannot be cancelled, status: "+o.status)
		return
	}
	o.status, o.updated = "Cancelled", f.now().UTC()
	writeJSON(w, 200, map[string]any{"msg": "Request was submitted", "order_id": o.id, "conid": o.conid, "account": g.account.id})
}

func orderTypeNames(t string) (orig, display string) {
	switch t {
	case "LMT":
		return "LIMIT", "Limit"
	case "STP":
		return "STOP", "Stop"
	case "STOP_LIMIT":
		return "STOP_LIMIT", "Stop Limit"
	case "TRAIL":
		return "TRAIL", "Trail"
	default:
		return "MARKET", "Market"
	}
}

func (f *Fake) liveOrderJSON(o *fakeOrder) map[string]any {
	orig, display := orderTypeNames(o.orderType)
	m := map[string]any{
		"acct": o.account, "conidex": strconv.FormatInt(o.conid, 10), "conid": o.conid, "orderId": o.id,
		"cashCcy": "USD", "sizeAndFills": o.filled.String() + "/" + o.qty.String(),
		"description1": o.symbol, "ticker": o.symbol, "secType": "STK", "listingExchange": "NASDAQ.NMS",
		"remainingQuantity": json.Number(o.qty.Sub(o.filled).String()), "filledQuantity": json.Number(o.filled.String()),
		"totalSize": json.Number(o.qty.String()), "companyName": o.symbol + " INC", "status": o.status,
		"order_ccp_status": o.status, "origOrderType": orig, "orderType": display, "order_ref": o.coid,
		"timeInForce": o.tif, "side": o.side, "lastExecutionTime": o.updated.Format("060102150405"),
		"lastExecutionTime_r": o.updated.UnixMilli(), "bgColor": "#FFFFFF", "fgColor": "#000000",
	}
	if o.filled.IsPositive() {
		m["avgPrice"] = o.avg.String()
	}
	if o.price.IsPositive() {
		m["price"] = o.price.String()
	}
	if o.aux.IsPositive() {
		m["auxPrice"] = o.aux.String()
	}
	return m
}

func (f *Fake) statusJSON(o *fakeOrder) map[string]any {
	orig, _ := orderTypeNames(o.orderType)
	side := "B"
	if o.side == "SELL" {
		side = "S"
	}
	m := map[string]any{
		"sub_type": nil, "request_id": "209", "server_id": "0", "order_id": o.id,
		"conidex": strconv.FormatInt(o.conid, 10), "conid": o.conid, "symbol": o.symbol, "side": side,
		"contract_description_1": o.symbol, "listing_exchange": "NASDAQ.NMS", "company_name": o.symbol + " INC",
		"size": o.qty.Sub(o.filled).String(), "total_size": o.qty.String(), "currency": "USD", "account": o.account,
		"order_type": orig, "cum_fill": o.filled.String(), "order_status": o.status, "tif": o.tif,
		"order_not_editable": !working(o.status), "cannot_cancel_order": !working(o.status), "sec_type": "STK",
		"order_time": o.created.Format("060102150405"),
	}
	if o.ocaGroup != "" {
		m["oca_group_id"] = o.ocaGroup
	}
	if o.filled.IsPositive() {
		m["average_price"] = o.avg.String()
	}
	switch o.orderType {
	case "LMT":
		m["limit_price"] = o.price.String()
	case "STP":
		m["stop_price"] = o.price.String()
	case "STOP_LIMIT":
		m["limit_price"], m["stop_price"] = o.price.String(), o.aux.String()
	case "TRAIL":
		m["stop_price"] = o.price.String()
	}
	return m
}

// liveOrders serves GET /iserver/account/orders. As documented, the first
// request of a brokerage session starts the subscription and answers an
// empty list (pre-flight), and force=true drops the cached view and answers
// an empty list too; later reads list the account's orders of the day.
func (f *Fake) liveOrders(w http.ResponseWriter, r *http.Request, g *fakeGateway) {
	if !g.accountsQueried {
		writeError(w, 400, "Please query /accounts first")
		return
	}
	blank := map[string]any{"filters": []string{}, "orders": []map[string]any{}, "snapshot": false}
	if r.URL.Query().Get("force") == "true" {
		g.ordersPrimed, g.staleOrders = true, nil
		writeJSON(w, 200, blank)
		return
	}
	if !g.ordersPrimed {
		g.ordersPrimed = true
		writeJSON(w, 200, blank)
		return
	}
	if g.blankOrders > 0 {
		g.blankOrders--
		writeJSON(w, 200, blank)
		return
	}
	view := g.account.orders
	if g.staleOrders != nil {
		view = g.staleOrders
	}
	orders := make([]map[string]any, 0, len(view))
	for _, o := range view {
		orders = append(orders, f.liveOrderJSON(o))
	}
	writeJSON(w, 200, map[string]any{"filters": []string{}, "orders": orders, "snapshot": true})
}
