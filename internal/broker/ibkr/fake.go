package ibkr

// Fake is a local stand-in for a trader's Client Portal Gateway, speaking the
// wire format of the IBKR Client Portal Web API v1.0 as documented at
//   https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/
//   (Web API documentation: sessions, pacing limitations, market data
//   snapshots and pre-flight, new orders, order reply messages, cancelling)
// and its Swagger reference (https://interactivebrokers.github.io/cpwebapi/):
// order tickets {"orders":[...]} with cOID, order acknowledgements
// [{"order_id","order_status","encrypt_message"}], order questions
// [{"id","message":[...],"messageIds":[...]}] answered at /iserver/reply/{id}
// with {"confirmed":true}, live orders with order_ref = cOID, the order
// status fields, /trsrv/secdef/schedule trading times, and errors as
// {"error": "..."}.
//
// What it checks, like the real gateway: a User-Agent on every request; an
// authenticated brokerage session for /iserver, /portfolio and /trsrv (401
// otherwise); /iserver/accounts queried before order endpoints ("Please query
// /accounts first"); JSON order tickets with valid types, sides, TIFs, whole
// share quantities, prices on the 0.01 tick; a cOID used once; cash for buys.
// It answers the first snapshot of a contract without fields (pre-flight).
// Controls simulate 429 pacing violations (no Retry-After, as documented),
// 503s on order submission and responses dropped after the order was
// accepted. Market orders fill at once at the fake's price; limit and stop
// orders work until SetPrice makes them marketable.
//
// Each gateway (one per trader) is served under its own path prefix:
// <server>/gw/<n>/v1/api.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Fake is the fake gateway server. Safe for concurrent use.
type Fake struct {
	srv *httptest.Server

	mu            sync.Mutex
	now           func() time.Time
	gateways      map[string]*fakeGateway
	last          *fakeGateway
	nextGateway   int
	nextOrderID   int64
	nextConid     int64
	nextReply     int
	prices        map[string]decimal.Decimal
	conids        map[string]int64
	symbols       map[int64]string
	holidays      map[string]bool // yyyymmdd
	failNext      int
	rateLimitNext int
	dropNext      bool
	askNext       int
	requests      int
	halted        map[string]bool // symbols whose trading is halted
}

type fakeGateway struct {
	id              string
	authenticated   bool
	accountsQueried bool
	account         *fakeAccount
	streaming       map[int64]bool
	pending         map[string]*fakeOrder // reply id → order awaiting confirmation
}

type fakeAccount struct {
	id         string
	cash       decimal.Decimal
	prevEquity decimal.Decimal
	positions  map[string]*fakePosition
	orders     []*fakeOrder
	coids      map[string]bool
}

type fakePosition struct {
	qty, avg decimal.Decimal
	conid    int64
}

type fakeOrder struct {
	id          int64
	coid        string
	account     string
	conid       int64
	symbol      string
	side        string // BUY | SELL
	orderType   string // MKT | LMT | STP | STOP_LIMIT | TRAIL
	tif         string
	qty         decimal.Decimal
	filled      decimal.Decimal
	avg         decimal.Decimal
	price       decimal.Decimal
	aux         decimal.Decimal
	status      string // PreSubmitted | Submitted | Filled | Cancelled | Inactive
	created     time.Time
	updated     time.Time
	outsideRTH  bool
	trailingAmt decimal.Decimal
}

// NewFake starts a fake gateway server on 127.0.0.1. Close it when done.
func NewFake() *Fake {
	f := &Fake{
		now:         time.Now,
		gateways:    map[string]*fakeGateway{},
		nextOrderID: 1000000,
		nextConid:   9000000,
		prices:      map[string]decimal.Decimal{},
		conids:      map[string]int64{},
		symbols:     map[int64]string{},
		holidays:    map[string]bool{},
		halted:      map[string]bool{},
	}
	for sym, c := range map[string]int64{"AAPL": 265598, "SPY": 756733, "NVDA": 4815747, "TSLA": 76792991, "MSFT": 272093} {
		f.conids[sym], f.symbols[c] = c, sym
	}
	for sym, p := range map[string]string{"AAPL": "190.00", "SPY": "520.00", "NVDA": "900.00", "TSLA": "250.00", "MSFT": "420.00"} {
		f.prices[sym] = decimal.RequireFromString(p)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// URL is the server root.
func (f *Fake) URL() string { return f.srv.URL }

// SetClock replaces the fake's wall clock (order timestamps).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// NewAccount starts a logged-in gateway holding one account with cash USD
// and returns its account id and base URL (the connection's credentials).
func (f *Fake) NewAccount(cash decimal.Decimal) (accountID, baseURL string) {
	return f.newGateway(cash, true)
}

// NewLoggedOutGateway starts a gateway whose brokerage session is not
// authenticated (the trader has not completed the two-factor login).
func (f *Fake) NewLoggedOutGateway() (accountID, baseURL string) {
	return f.newGateway(decimal.Zero, false)
}

func (f *Fake) newGateway(cash decimal.Decimal, authenticated bool) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextGateway++
	id := strconv.Itoa(f.nextGateway)
	acct := &fakeAccount{
		id:         fmt.Sprintf("DU%07d", 1000+f.nextGateway),
		cash:       cash,
		prevEquity: cash,
		positions:  map[string]*fakePosition{},
		coids:      map[string]bool{},
	}
	g := &fakeGateway{id: id, authenticated: authenticated, account: acct,
		streaming: map[int64]bool{}, pending: map[string]*fakeOrder{}}
	f.gateways[id] = g
	f.last = g
	return acct.id, f.srv.URL + "/gw/" + id + "/v1/api"
}

// LogOut ends the brokerage session of the gateway at baseURL (the session
// timed out or the trader logged in elsewhere).
func (f *Fake) LogOut(baseURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.gateways {
		if strings.HasSuffix(baseURL, "/gw/"+g.id+"/v1/api") {
			g.authenticated = false
			g.accountsQueried = false
		}
	}
}

// SetPrice sets a symbol's price (listing it when new) and lets working
// orders that became marketable fill.
func (f *Fake) SetPrice(symbol string, price decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	symbol = strings.ToUpper(symbol)
	if _, ok := f.conids[symbol]; !ok {
		f.nextConid++
		f.conids[symbol], f.symbols[f.nextConid] = f.nextConid, symbol
	}
	f.prices[symbol] = price
	for _, g := range f.gateways {
		for _, o := range g.account.orders {
			if o.symbol == symbol && working(o.status) {
				f.match(g.account, o)
			}
		}
	}
}

// SetHalted halts (true) or resumes (false) trading in a symbol. While
// halted, an order ticket for it is refused like any gateway order
// rejection, HTTP 400 {"error":"Order rejected - reason:Trading in AAPL is
// halted."}. The "Order rejected - reason:<text>" form is the gateway's
// (IB error 201, e.g. "Order rejected - reason:Exchange is closed." in
// QuantConnect/Lean.Brokerages.InteractiveBrokers#204); IBKR documents no
// halt-specific text for the Web API, so the reason text is assumed. The
// adapter keys on "halted" (errors.go).
func (f *Fake) SetHalted(symbol string, halted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if halted {
		f.halted[strings.ToUpper(symbol)] = true
	} else {
		delete(f.halted, strings.ToUpper(symbol))
	}
}

// AddHoliday closes the market on a date (yyyymmdd) in the schedule.
func (f *Fake) AddHoliday(yyyymmdd string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holidays[yyyymmdd] = true
}

// FailNext makes the next n order submissions fail with 503.
func (f *Fake) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}

// DropNextResponse makes the next order the fake accepts lose its answer:
// the connection is closed without a response.
func (f *Fake) DropNextResponse() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropNext = true
}

// RateLimitNext answers the next n requests with 429 Too Many Requests.
func (f *Fake) RateLimitNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimitNext = n
}

// AskNext makes the next n order submissions answer with an order question
// that must be confirmed at /iserver/reply/{id}.
func (f *Fake) AskNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.askNext = n
}

// OrderCount is the number of orders of the most recently created account.
func (f *Fake) OrderCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return 0
	}
	return len(f.last.account.orders)
}

// Requests is the number of HTTP requests served.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// --- serving ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	rest, ok := strings.CutPrefix(r.URL.Path, "/gw/")
	var g *fakeGateway
	var path string
	if ok {
		id, p, _ := strings.Cut(rest, "/")
		g = f.gateways[id]
		path, ok = strings.CutPrefix("/"+p, "/v1/api")
	}
	if !ok || g == nil {
		f.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("User-Agent") == "" {
		f.mu.Unlock()
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	if f.rateLimitNext > 0 {
		f.rateLimitNext--
		f.mu.Unlock()
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	drop := f.route(w, r, g, path)
	f.mu.Unlock()
	if drop {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("ibkr fake: response writer cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}
}

// route serves one request with f.mu held. It reports whether the response
// must be dropped (nothing has been written then).
func (f *Fake) route(w http.ResponseWriter, r *http.Request, g *fakeGateway, path string) bool {
	method := r.Method
	switch {
	case method == http.MethodPost && path == "/iserver/auth/status":
		writeJSON(w, 200, map[string]any{"authenticated": g.authenticated, "connected": true, "competing": false,
			"fail": "", "message": "", "MAC": "00:00:5E:00:53:00",
			"serverInfo": map[string]string{"serverName": "JifN19053", "serverVersion": "Build 10.25.0p"}})
		return false
	case method == http.MethodPost && path == "/tickle":
		writeJSON(w, 200, map[string]any{"session": "fake-session-" + g.id, "ssoExpires": 460000, "collission": false,
			"userId": 12345678, "iserver": map[string]any{"authStatus": map[string]bool{
				"authenticated": g.authenticated, "competing": false, "connected": true}}})
		return false
	}
	if !g.authenticated {
		writeError(w, http.StatusUnauthorized, "not authenticated")
		return false
	}
	acct := g.account
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case method == http.MethodGet && path == "/iserver/accounts":
		g.accountsQueried = true
		writeJSON(w, 200, map[string]any{"accounts": []string{acct.id}, "selectedAccount": acct.id,
			"aliases": map[string]string{acct.id: acct.id}, "isPaper": true, "sessionId": "fake-" + g.id})
	case method == http.MethodGet && path == "/portfolio/accounts":
		writeJSON(w, 200, []map[string]any{{"id": acct.id, "accountId": acct.id, "accountVan": acct.id,
			"displayName": acct.id, "currency": "USD", "type": "DEMO", "tradingType": "STKCASH", "desc": acct.id}})
	case method == http.MethodGet && len(parts) == 3 && parts[0] == "portfolio" && parts[2] == "summary":
		if parts[1] != acct.id {
			writeError(w, 400, "Account "+parts[1]+" is not available")
			return false
		}
		writeJSON(w, 200, f.summary(acct))
	case method == http.MethodGet && len(parts) == 4 && parts[0] == "portfolio" && parts[2] == "positions":
		if parts[1] != acct.id {
			writeError(w, 400, "Account "+parts[1]+" is not available")
			return false
		}
		out := []map[string]any{}
		if parts[3] == "0" {
			out = f.positions(acct)
		}
		writeJSON(w, 200, out)
	case method == http.MethodPost && path == "/iserver/secdef/search":
		f.secdefSearch(w, r)
	case method == http.MethodPost && len(parts) == 4 && parts[0] == "iserver" && parts[1] == "account" && parts[3] == "orders":
		return f.placeOrders(w, r, g, parts[2])
	case method == http.MethodPost && len(parts) == 3 && parts[0] == "iserver" && parts[1] == "reply":
		return f.reply(w, r, g, parts[2])
	case method == http.MethodGet && path == "/iserver/account/orders":
		if !g.accountsQueried {
			writeError(w, 400, "Please query /accounts first")
			return false
		}
		orders := make([]map[string]any, 0, len(acct.orders))
		for _, o := range acct.orders {
			orders = append(orders, f.liveOrderJSON(o))
		}
		writeJSON(w, 200, map[string]any{"orders": orders, "snapshot": true})
	case method == http.MethodGet && len(parts) == 5 && parts[0] == "iserver" && parts[2] == "order" && parts[3] == "status":
		o := acct.order(parts[4])
		if o == nil {
			writeError(w, 400, "OrderID "+parts[4]+" doesn't exist")
			return false
		}
		writeJSON(w, 200, f.statusJSON(o))
	case method == http.MethodDelete && len(parts) == 5 && parts[0] == "iserver" && parts[1] == "account" && parts[3] == "order":
		f.cancel(w, g, parts[2], parts[4])
	case method == http.MethodGet && path == "/iserver/marketdata/snapshot":
		f.snapshot(w, r, g)
	case method == http.MethodGet && path == "/trsrv/secdef/schedule":
		f.schedule(w, r)
	default:
		writeError(w, http.StatusNotFound, "Resource not found")
	}
	return false
}

func (a *fakeAccount) order(id string) *fakeOrder {
	for _, o := range a.orders {
		if strconv.FormatInt(o.id, 10) == id {
			return o
		}
	}
	return nil
}

func summaryValue(d decimal.Decimal) map[string]any {
	return map[string]any{"amount": json.Number(d.Round(2).String()), "currency": "USD", "isNull": false,
		"timestamp": 1712596911000, "value": nil}
}

func (f *Fake) marketValue(a *fakeAccount) decimal.Decimal {
	mv := decimal.Zero
	for sym, p := range a.positions {
		mv = mv.Add(p.qty.Mul(f.prices[sym]))
	}
	return mv
}

func (f *Fake) summary(a *fakeAccount) map[string]any {
	nl := a.cash.Add(f.marketValue(a))
	return map[string]any{
		"accountcode":                    map[string]any{"value": a.id, "isNull": false},
		"netliquidation":                 summaryValue(nl),
		"totalcashvalue":                 summaryValue(a.cash),
		"buyingpower":                    summaryValue(a.cash),
		"availablefunds":                 summaryValue(a.cash),
		"equitywithloanvalue":            summaryValue(nl),
		"previousdayequitywithloanvalue": summaryValue(a.prevEquity),
		"grosspositionvalue":             summaryValue(f.marketValue(a)),
	}
}

func (f *Fake) positions(a *fakeAccount) []map[string]any {
	syms := make([]string, 0, len(a.positions))
	for s := range a.positions {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	out := []map[string]any{}
	for _, s := range syms {
		p := a.positions[s]
		if p.qty.IsZero() {
			continue
		}
		px := f.prices[s]
		mv := p.qty.Mul(px)
		out = append(out, map[string]any{
			"acctId": a.id, "conid": p.conid, "contractDesc": s, "ticker": s, "assetClass": "STK",
			"position": json.Number(p.qty.String()), "mktPrice": json.Number(px.String()),
			"mktValue": json.Number(mv.Round(2).String()), "currency": "USD",
			"avgCost": json.Number(p.avg.String()), "avgPrice": json.Number(p.avg.String()),
			"realizedPnl": 0, "unrealizedPnl": json.Number(mv.Sub(p.qty.Mul(p.avg)).Round(2).String()),
		})
	}
	return out
}

func (f *Fake) secdefSearch(w http.ResponseWriter, r *http.Request) {
	var body secdefSearchRequest
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil || body.Symbol == "" {
		writeError(w, 400, "Bad Request: symbol required")
		return
	}
	sym := strings.ToUpper(body.Symbol)
	conid, ok := f.conids[sym]
	if !ok {
		writeJSON(w, 200, map[string]string{"error": "No symbol found"})
		return
	}
	writeJSON(w, 200, []map[string]any{{
		"conid": strconv.FormatInt(conid, 10), "companyHeader": sym + " INC - NASDAQ", "companyName": sym + " INC",
		"symbol": sym, "description": "NASDAQ", "restricted": nil,
		"sections": []map[string]string{{"secType": "STK"}, {"secType": "OPT", "months": "JAN25;FEB25"}},
	}})
}

// ticketError validates an order ticket like the gateway does.
func (f *Fake) ticketError(t wireOrderTicket, acct *fakeAccount) (string, bool) {
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
	case "DAY", "GTC", "IOC":
	default:
		return "Invalid tif " + t.TIF, false
	}
	qty, err := decimal.NewFromString(string(t.Quantity))
	if err != nil || !qty.IsPositive() {
		return "Invalid quantity", false
	}
	if !qty.Equal(qty.Truncate(0)) {
		return "Fractional share size rules: this account may not trade fractional quantities", false
	}
	price := func(n json.Number) (decimal.Decimal, bool) {
		d, err := decimal.NewFromString(string(n))
		return d, err == nil && d.IsPositive()
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
		if _, ok := price(t.TrailingAmt); !ok || (t.TrailingTyp != "%" && t.TrailingTyp != "amt") {
			return "Missing trailingAmt or trailingType for TRAIL order", false
		}
	default:
		return "Invalid orderType " + t.OrderType, false
	}
	px := f.prices[sym]
	if t.Side == "BUY" {
		cost := qty.Mul(px)
		if t.OrderType == "LMT" {
			lp, _ := decimal.NewFromString(string(t.Price))
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
	var body placeOrdersRequest
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil || len(body.Orders) != 1 {
		writeError(w, 400, "Bad Request: body must be {\"orders\":[<one order ticket>]}")
		return false
	}
	t := body.Orders[0]
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
	ask := f.askNext > 0
	if ask {
		f.askNext--
	} else if o.orderType == "LMT" {
		px := f.prices[o.symbol]
		ask = o.price.Sub(px).Abs().GreaterThan(px.Mul(decimal.RequireFromString("0.03")))
	}
	if ask {
		f.nextReply++
		id := fmt.Sprintf("07a13a5a-4a48-44a5-bb25-%012d", f.nextReply)
		g.pending[id] = o
		writeJSON(w, 200, []map[string]any{{
			"id": id,
			"message": []string{fmt.Sprintf("The following order \"%s %s %s NASDAQ.NMS @ %s\" price exceeds \nthe Percentage constraint of 3%%.\nAre you sure you want to submit this order?",
				o.side, o.qty, o.symbol, o.price)},
			"isSuppressed": false, "messageIds": []string{"o163"},
		}})
		return false
	}
	return f.accept(w, acct, o)
}

func (f *Fake) reply(w http.ResponseWriter, r *http.Request, g *fakeGateway, replyID string) bool {
	var body replyRequest
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		writeError(w, 400, "Bad Request: body must be {\"confirmed\":true}")
		return false
	}
	o, ok := g.pending[replyID]
	if !ok {
		writeError(w, 400, "Reply ID "+replyID+" is not valid or has expired")
		return false
	}
	delete(g.pending, replyID)
	if !body.Confirmed {
		writeJSON(w, 200, []map[string]string{{"error": "Order was not confirmed and has been discarded"}})
		return false
	}
	if o.coid != "" && g.account.coids[o.coid] {
		writeError(w, 400, "Order couldn't be submitted: Local order ID="+o.coid+" is already registered.")
		return false
	}
	return f.accept(w, g.account, o)
}

// accept books a validated order and acknowledges it (or drops the answer).
func (f *Fake) accept(w http.ResponseWriter, acct *fakeAccount, o *fakeOrder) bool {
	f.nextOrderID++
	o.id = f.nextOrderID
	if o.coid != "" {
		acct.coids[o.coid] = true
	}
	acct.orders = append(acct.orders, o)
	f.match(acct, o)
	if o.status == "Submitted" && o.tif == "IOC" {
		o.status = "Cancelled"
	}
	if f.dropNext {
		f.dropNext = false
		return true
	}
	writeJSON(w, 200, []map[string]any{{"order_id": strconv.FormatInt(o.id, 10), "order_status": o.status,
		"encrypt_message": "1", "local_order_id": o.coid}})
	return false
}

func (f *Fake) newOrder(t wireOrderTicket, account string) *fakeOrder {
	now := f.now().UTC()
	o := &fakeOrder{coid: t.COID, account: account, conid: t.Conid, symbol: f.symbols[t.Conid], side: t.Side,
		orderType: t.OrderType, tif: t.TIF, qty: decimal.RequireFromString(string(t.Quantity)),
		created: now, updated: now, outsideRTH: t.OutsideRTH, status: "Submitted"}
	if t.Price != "" {
		o.price = decimal.RequireFromString(string(t.Price))
	}
	if t.AuxPrice != "" {
		o.aux = decimal.RequireFromString(string(t.AuxPrice))
	}
	if t.TrailingAmt != "" {
		o.trailingAmt = decimal.RequireFromString(string(t.TrailingAmt))
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
	}
	return m
}

func (f *Fake) snapshot(w http.ResponseWriter, r *http.Request, g *fakeGateway) {
	ids := strings.Split(r.URL.Query().Get("conids"), ",")
	out := []map[string]any{}
	for _, s := range ids {
		conid, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			writeError(w, 400, "Bad Request: conids")
			return
		}
		row := map[string]any{"conid": conid, "conidEx": strconv.FormatInt(conid, 10)}
		sym, known := f.symbols[conid]
		if known && g.streaming[conid] {
			px := f.prices[sym]
			row["31"] = px.StringFixed(2)
			row["84"] = px.Sub(decimal.RequireFromString("0.01")).StringFixed(2)
			row["86"] = px.Add(decimal.RequireFromString("0.01")).StringFixed(2)
			row["_updated"] = f.now().UnixMilli()
			row["server_id"] = "q0"
			row["6119"] = "q0"
			row["6509"] = "RpB"
		}
		if known {
			g.streaming[conid] = true // pre-flight: data from the next request on
		}
		out = append(out, row)
	}
	writeJSON(w, 200, out)
}

func (f *Fake) schedule(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("assetClass") == "" || q.Get("symbol") == "" {
		writeError(w, 400, "Bad Request: assetClass and symbol are required")
		return
	}
	// As documented: "tradingtimes" is the whole trading day (extended
	// hours included), "sessions" the liquid (regular) session.
	liquid := []map[string]string{{"openingTime": "0930", "closingTime": "1600", "prop": "LIQUID"}}
	whole := []map[string]string{{"openingTime": "0400", "closingTime": "2000", "cancelDayOrders": "Y"}}
	closed := []map[string]string{{"openingTime": "0000", "closingTime": "0000", "cancelDayOrders": "N"}}
	var days []map[string]any
	for d := 20000101; d <= 20000107; d++ {
		day := map[string]any{"clearingCycleEndTime": "0000", "tradingScheduleDate": strconv.Itoa(d),
			"sessions": []map[string]string{}, "tradingtimes": closed}
		if d >= 20000103 { // Monday..Friday
			day["clearingCycleEndTime"], day["sessions"], day["tradingtimes"] = "2000", liquid, whole
		}
		days = append(days, day)
	}
	hol := make([]string, 0, len(f.holidays))
	for h := range f.holidays {
		hol = append(hol, h)
	}
	sort.Strings(hol)
	for _, h := range hol {
		days = append(days, map[string]any{"clearingCycleEndTime": "0000", "tradingScheduleDate": h,
			"sessions": []map[string]string{}, "tradingtimes": closed})
	}
	writeJSON(w, 200, []map[string]any{{"id": "p102082", "tradeVenueId": "v13038", "timezone": "America/New_York", "schedules": days}})
}

// RestartSession makes the gateway at baseURL start a new brokerage session
// (as after its nightly reset): /iserver/accounts must be queried again
// before order endpoints answer.
func (f *Fake) RestartSession(baseURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.gateways {
		if strings.HasSuffix(baseURL, "/gw/"+g.id+"/v1/api") {
			g.accountsQueried = false
		}
	}
}
