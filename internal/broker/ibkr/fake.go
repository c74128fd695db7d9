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
// otherwise); /iserver/accounts queried before order endpoints and market
// data snapshots ("Please query /accounts first"); request bodies decoded
// into its own types written from IBKR's docs (fake_wire.go; unknown fields
// and quoted numbers refused); order tickets with valid types, sides, TIFs,
// whole share quantities, prices on the 0.01 tick, a stop price with every
// TRAIL; a cOID used once ("Local order ID=… is already registered"); cash
// for buys; IBKR's pacing (fake_pacing.go: 429 and the penalty box).
// Pre-flights as documented: the first snapshot of a contract carries no
// fields, and the first /iserver/account/orders of a brokerage session (and
// every force=true) answers an empty list.
// Controls simulate 429s (no Retry-After, as documented), 503s on order
// submission, responses dropped after the order was accepted, a live-orders
// view that stays empty or stale. Market orders fill at once at the fake's
// price; limit, stop and trailing orders work until SetPrice makes them
// marketable.
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
	failGroups    int // next OCA-group submissions answered 503
	askNext       int
	requests      int
	halted        map[string]bool // symbols whose trading is halted
	pacing        Pacing
	violations    int
}

type fakeGateway struct {
	id              string
	authenticated   bool
	accountsQueried bool
	account         *fakeAccount
	streaming       map[int64]bool
	pending         map[string][]*fakeOrder // reply id → order (or OCA group) awaiting confirmation
	pace            fakePacing
	ordersPrimed    bool         // the live-orders subscription has started
	blankOrders     int          // next live-orders reads answered empty (not yet listed)
	staleOrders     []*fakeOrder // non-nil: the cached view served until force=true
	log             []string     // "METHOD /path" of every request served, last 1000
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
	id           int64
	coid         string
	account      string
	conid        int64
	symbol       string
	side         string // BUY | SELL
	orderType    string // MKT | LMT | STP | STOP_LIMIT | TRAIL
	tif          string
	qty          decimal.Decimal
	filled       decimal.Decimal
	avg          decimal.Decimal
	price        decimal.Decimal
	aux          decimal.Decimal
	status       string // PreSubmitted | Submitted | Filled | Cancelled | Inactive
	created      time.Time
	updated      time.Time
	outsideRTH   bool
	trailingAmt  decimal.Decimal
	trailingType string
	sentPrice    decimal.Decimal // "price" as the ticket carried it
	ocaGroup     string          // oca_group_id shared by the orders of one isSingleGroup request
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
		pacing:      DocumentedPacing(),
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
		streaming: map[int64]bool{}, pending: map[string][]*fakeOrder{}}
	f.gateways[id] = g
	f.last = g
	return acct.id, f.srv.URL + "/gw/" + id + "/v1/api"
}

// LogOut ends the brokerage session of the gateway at baseURL (the session
// timed out or the trader logged in elsewhere).
func (f *Fake) LogOut(baseURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gatewayAt(baseURL); g != nil {
		g.authenticated = false
		g.newSession()
	}
}

// gatewayAt is the gateway serving baseURL, with f.mu held.
func (f *Fake) gatewayAt(baseURL string) *fakeGateway {
	for _, g := range f.gateways {
		if strings.HasSuffix(baseURL, "/gw/"+g.id+"/v1/api") {
			return g
		}
	}
	return nil
}

// newSession resets what a brokerage session holds: the /iserver/accounts
// query and the live-orders subscription.
func (g *fakeGateway) newSession() {
	g.accountsQueried = false
	g.ordersPrimed = false
	g.staleOrders = nil
}

// BlankOrdersNext makes the next n reads of /iserver/account/orders at
// baseURL answer an empty list, as a gateway does before it lists orders.
func (f *Fake) BlankOrdersNext(baseURL string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gatewayAt(baseURL); g != nil {
		g.blankOrders = n
	}
}

// StaleOrders freezes the live-orders view of the gateway at baseURL as it
// is now: reads serve it, without orders placed later, until a read with
// force=true (which the documentation offers to clear the cached view).
func (f *Fake) StaleOrders(baseURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gatewayAt(baseURL); g != nil {
		g.staleOrders = append([]*fakeOrder{}, g.account.orders...)
	}
}

// RequestLog returns "METHOD /path" of the requests the gateway at baseURL
// served, oldest first (the last 1000).
func (f *Fake) RequestLog(baseURL string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gatewayAt(baseURL); g != nil {
		return append([]string(nil), g.log...)
	}
	return nil
}

// FakeOrder is an order as the fake gateway holds it (for tests).
type FakeOrder struct {
	ID, COID, Type, Side, Status string
	// Price is the ticket's "price"; Stop the current stop of a TRAIL.
	Price, Stop, AuxPrice, TrailingAmt decimal.Decimal
	TrailingType                       string
	// OCAGroup is the oca_group_id of an order placed in an OCA group.
	OCAGroup string
}

func (o *fakeOrder) view() FakeOrder {
	return FakeOrder{ID: strconv.FormatInt(o.id, 10), COID: o.coid, Type: o.orderType, Side: o.side,
		Status: o.status, Price: o.sentPrice, Stop: o.price, AuxPrice: o.aux,
		TrailingAmt: o.trailingAmt, TrailingType: o.trailingType, OCAGroup: o.ocaGroup}
}

// Orders returns the orders of the gateway at baseURL, oldest first (a
// test hook: the fake's own book).
func (f *Fake) Orders(baseURL string) []FakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gatewayAt(baseURL)
	if g == nil {
		return nil
	}
	out := make([]FakeOrder, 0, len(g.account.orders))
	for _, o := range g.account.orders {
		out = append(out, o.view())
	}
	return out
}

// OrderByCOID returns the order of any gateway with the given cOID.
func (f *Fake) OrderByCOID(coid string) (FakeOrder, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.gateways {
		for _, o := range g.account.orders {
			if o.coid == coid {
				return o.view(), true
			}
		}
	}
	return FakeOrder{}, false
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

// FailNextGroups makes the next n OCA-group submissions (several orders
// with isSingleGroup in one request) fail with 503; single orders pass.
func (f *Fake) FailNextGroups(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failGroups = n
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
	if len(g.log) >= 1000 {
		g.log = g.log[1:]
	}
	g.log = append(g.log, r.Method+" "+path)
	if !f.paced(g, path) {
		f.mu.Unlock()
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
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
	case method == http.MethodGet && path == pathLiveOrders:
		f.liveOrders(w, r, g)
	case method == http.MethodGet && len(parts) == 5 && parts[0] == "iserver" && parts[2] == "order" && parts[3] == "status":
		o := acct.order(parts[4])
		if o == nil {
			writeError(w, 400, "OrderID "+parts[4]+" doesn't exist")
			return false
		}
		writeJSON(w, 200, f.statusJSON(o))
	case method == http.MethodDelete && len(parts) == 5 && parts[0] == "iserver" && parts[1] == "account" && parts[3] == "order":
		f.cancel(w, g, parts[2], parts[4])
	case method == http.MethodGet && path == pathSnapshot:
		if !g.accountsQueried {
			// Documented: /iserver/accounts must be called before
			// /iserver/marketdata/snapshot. The refusal's wording is assumed.
			writeError(w, 400, "Please query /accounts first")
			return false
		}
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
	var body fakeSecdefSearch
	if err := decodeStrict(r, &body); err != nil || body.Symbol == "" {
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
// before order endpoints and snapshots answer, and the live-orders
// subscription starts again with a pre-flight.
func (f *Fake) RestartSession(baseURL string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gatewayAt(baseURL); g != nil {
		g.newSession()
	}
}
