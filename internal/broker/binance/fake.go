package binance

// Fake is a local Binance spot exchange for tests, modelled on the official
// REST API documentation:
//   https://developers.binance.com/docs/binance-spot-api-docs/rest-api
//     (general info: HTTP 4XX/429/418/5XX semantics, Retry-After, X-MBX-USED-WEIGHT-1M;
//      endpoint security: SIGNED = HMAC-SHA256 hex of totalParams (query string + body)
//      with X-MBX-APIKEY, timestamp and recvWindow checks)
//   https://developers.binance.com/docs/binance-spot-api-docs/filters
//     (PRICE_FILTER tickSize, LOT_SIZE stepSize/minQty, NOTIONAL minNotional)
//   https://developers.binance.com/docs/binance-spot-api-docs/errors
//     (-1013 filter failure, -1021 timestamp, -1022 signature, -1121 invalid symbol,
//      -2010 insufficient balance / duplicate order, -2011, -2013, -2014, -2015, -1003)
// It verifies what the real exchange verifies: API key, signature over the
// exact parameters sent, timestamp window (against its own clock, which a
// test may set apart from ours), mandatory parameters, the symbol's
// orderTypes and filters, balances, and refuses a newClientOrderId that an
// open order already carries. Market orders fill at once at the symbol's
// price; limit orders fill when marketable and rest otherwise; stop orders
// rest; resting orders execute when SetPrice moves the price across them,
// and OCO order lists cancel their other order (fake_orderlist.go). An IP
// ban (BanFor) answers 418 to every request until it ends.
//
// Requests are read as form parameters by name (url.ParseQuery) and
// answers are built in fake_wire.go from the documented response examples,
// never from the adapter's wire structs: a misnamed field on either side
// fails the tests instead of agreeing with itself.

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Fake is a running fake Binance. Create with NewFake, stop with Close.
type Fake struct {
	srv *httptest.Server

	mu            sync.Mutex
	clockOffset   time.Duration
	symbols       map[string]*fakeSymbol
	accounts      map[string]*fakeAccount // by API key
	lastKey       string
	nextID        int64
	failNext      int
	dropNext      bool
	failLists     int // next order-list submissions answered 503
	rateLimitNext int
	bannedUntil   time.Time
	weightMinute  int64
	weightUsed    int
	hits          map[string]int // "METHOD /path" → requests received
}

type fakeSymbol struct {
	wire        string
	base, quote string
	status      string
	orderTypes  []string
	tick, step  decimal.Decimal
	minQty      decimal.Decimal
	minNotional decimal.Decimal
	price       decimal.Decimal
	ocoAllowed  bool
}

type fakeAccount struct {
	secret string
	free   map[string]decimal.Decimal
	locked map[string]decimal.Decimal
	orders []*fakeOrder
	lists  []*fakeOrderList
}

// SpotOrderTypes is what exchangeInfo lists for most spot symbols, e.g. the
// documented BNBBTC (web-socket-api.md, "Exchange information" example):
// stop orders only as STOP_LOSS_LIMIT.
var SpotOrderTypes = []string{"LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}

// NewFake starts a fake with BTCUSDT (step 0.00001, tick 0.01, min notional
// 5, price 50000) and ETHUSDT (step 0.0001, tick 0.01, price 3000), both
// with SpotOrderTypes.
func NewFake() *Fake {
	f := &Fake{
		symbols:  map[string]*fakeSymbol{},
		accounts: map[string]*fakeAccount{},
		nextID:   1000,
		hits:     map[string]int{},
	}
	f.AddSymbol("BTC", "USDT", "0.00001", "0.01", "0.00001", "5", "50000")
	f.AddSymbol("ETH", "USDT", "0.0001", "0.01", "0.0001", "5", "3000")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's base URL (the base_url credential).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// AddSymbol lists a pair with its filters and price.
func (f *Fake) AddSymbol(base, quote, step, tick, minQty, minNotional, price string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.symbols[base+quote] = &fakeSymbol{
		wire: base + quote, base: base, quote: quote, status: "TRADING", orderTypes: SpotOrderTypes, ocoAllowed: true,
		step: decimal.RequireFromString(step), tick: decimal.RequireFromString(tick),
		minQty: decimal.RequireFromString(minQty), minNotional: decimal.RequireFromString(minNotional),
		price: decimal.RequireFromString(price),
	}
}

// SetOrderTypes replaces the orderTypes a symbol accepts ("BTCUSDT").
func (f *Fake) SetOrderTypes(wireSymbol string, types ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.symbols[wireSymbol]; s != nil {
		s.orderTypes = types
	}
}

// SetOCOAllowed sets a symbol's exchangeInfo ocoAllowed ("BTCUSDT"); when
// false, POST /api/v3/orderList/oco is refused for it.
func (f *Fake) SetOCOAllowed(wireSymbol string, allowed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.symbols[wireSymbol]; s != nil {
		s.ocoAllowed = allowed
	}
}

// SetClockOffset sets the fake's clock d ahead of ours (behind when
// negative): signed requests stamped with our time fall outside recvWindow
// (-1021) until the adapter reads /api/v3/time.
func (f *Fake) SetClockOffset(d time.Duration) {
	f.mu.Lock()
	f.clockOffset = d
	f.mu.Unlock()
}

// now is the fake's clock; callers hold f.mu.
func (f *Fake) now() time.Time { return time.Now().Add(f.clockOffset) }

// Hits is how many requests "METHOD /path" received (including refused ones).
func (f *Fake) Hits(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[route]
}

// NewAccount creates an account holding cash USDT and returns credentials
// for the adapter (api_key, api_secret, base_url).
func (f *Fake) NewAccount(cash decimal.Decimal) broker.Credentials {
	key, secret := randomHex(32), randomHex(32)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[key] = &fakeAccount{
		secret: secret,
		free:   map[string]decimal.Decimal{cashAsset: cash},
		locked: map[string]decimal.Decimal{},
	}
	f.lastKey = key
	return broker.Credentials{"api_key": key, "api_secret": secret, "base_url": f.srv.URL}
}

// SetBalance sets an asset's free balance on the account of apiKey.
func (f *Fake) SetBalance(apiKey, asset string, amount decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[apiKey]; a != nil {
		a.free[asset] = amount
	}
}

// SetPrice sets the price of a canonical symbol ("BTC-USD" is BTCUSDT).
func (f *Fake) SetPrice(symbol string, price decimal.Decimal) {
	base, quote, _ := strings.Cut(strings.ToUpper(symbol), "-")
	if quote == usdQuote {
		quote = cashAsset
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.symbols[base+quote]; s != nil {
		old := s.price
		s.price = price
		f.match(s, old, price)
	}
}

// SetHalted halts (true: exchangeInfo status "HALT") or resumes ("TRADING")
// a canonical symbol ("BTC-USD" is BTCUSDT). While halted, exchangeInfo
// shows the status and a new order gets HTTP 400
// {"code":-2010,"msg":"Market is closed."}, the matching engine's answer for
// "The symbol is not trading" (errors.md, messages for -1010
// ERROR_MSG_RECEIVED / -2010 NEW_ORDER_REJECTED; symbol statuses in
// enums.md).
func (f *Fake) SetHalted(symbol string, halted bool) {
	base, quote, _ := strings.Cut(strings.ToUpper(symbol), "-")
	if quote == usdQuote {
		quote = cashAsset
	}
	status := "TRADING"
	if halted {
		status = "HALT"
	}
	f.SetStatus(base+quote, status)
}

// SetStatus sets a symbol's trading status ("TRADING", "BREAK", "HALT").
func (f *Fake) SetStatus(wireSymbol, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.symbols[wireSymbol]; s != nil {
		s.status = status
	}
}

// FailNext makes the next n order submissions answer HTTP 503.
func (f *Fake) FailNext(n int) { f.mu.Lock(); f.failNext = n; f.mu.Unlock() }

// FailNextOrderLists makes the next n order-list (OCO) submissions answer
// HTTP 503; single orders pass.
func (f *Fake) FailNextOrderLists(n int) { f.mu.Lock(); f.failLists = n; f.mu.Unlock() }

// FakeListOrder is an order as the fake holds it (for tests).
type FakeListOrder struct {
	Type, Side, Status string
}

// OrderLists returns the order lists of the account of apiKey, oldest
// first, each as its orders (a test hook: the fake's own book).
func (f *Fake) OrderLists(apiKey string) [][]FakeListOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[apiKey]
	if a == nil {
		return nil
	}
	out := make([][]FakeListOrder, 0, len(a.lists))
	for _, l := range a.lists {
		legs := []FakeListOrder{}
		for _, o := range l.orders {
			legs = append(legs, FakeListOrder{Type: o.typ, Side: o.side, Status: o.status})
		}
		out = append(out, legs)
	}
	return out
}

// Singles returns the orders of the account of apiKey that are not part of
// an order list, oldest first (a test hook).
func (f *Fake) Singles(apiKey string) []FakeListOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[apiKey]
	if a == nil {
		return nil
	}
	var out []FakeListOrder
	for _, o := range a.orders {
		if o.list == nil {
			out = append(out, FakeListOrder{Type: o.typ, Side: o.side, Status: o.status})
		}
	}
	return out
}

// DropNextResponse accepts the next order submission and closes the
// connection without answering.
func (f *Fake) DropNextResponse() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// RateLimitNext answers the next n requests with 429, Retry-After: 1.
func (f *Fake) RateLimitNext(n int) { f.mu.Lock(); f.rateLimitNext = n; f.mu.Unlock() }

// BanFor bans the client's IP for d from now: every request is answered
// 418 with the ban's end in the message and Retry-After until it ends.
func (f *Fake) BanFor(d time.Duration) {
	f.mu.Lock()
	f.bannedUntil = f.now().Add(d)
	f.mu.Unlock()
}

// OrderCount is the number of orders created for the most recent account.
func (f *Fake) OrderCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[f.lastKey]; a != nil {
		return len(a.orders)
	}
	return 0
}

// OrderCountFor is the number of orders created for one API key.
func (f *Fake) OrderCountFor(apiKey string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[apiKey]; a != nil {
		return len(a.orders)
	}
	return 0
}

// --- HTTP ---

type fakeReply struct {
	status int
	body   any
	header map[string]string
}

func errReply(status, code int, msg string) fakeReply {
	return fakeReply{status: status, body: jsonObject{"code": code, "msg": msg}}
}

// endpointWeight is each route's documented request weight (rest-api.md,
// "Weight"; openOrders without a symbol, ticker/price with one).
var endpointWeight = map[string]int{
	"GET /api/v3/exchangeInfo": 20,
	"GET /api/v3/account":      20,
	"POST /api/v3/order":       1,
	"GET /api/v3/order":        4,
	"DELETE /api/v3/order":     1,
	"GET /api/v3/ticker/price": 2,
	"GET /api/v3/openOrders":   80,
	"GET /api/v3/time":         1,
	// Order lists (rest-api.md, "Order lists" / "Query Order list" /
	// "Cancel Order list").
	"POST /api/v3/orderList/oco": 1,
	"GET /api/v3/orderList":      4,
	"DELETE /api/v3/orderList":   1,
}

// fakeClientIDPattern is the documented legal range of newClientOrderId
// (the -1100 message below).
var fakeClientIDPattern = regexp.MustCompile(`^[\.A-Z\:/a-z0-9_-]{1,36}$`)

// fakeSignature is the documented HMAC-SHA256 signature: hex of the
// HMAC of totalParams keyed with the secret (rest-api.md, "SIGNED Endpoint
// Examples").
func fakeSignature(secret, totalParams string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(totalParams))
	return hex.EncodeToString(m.Sum(nil))
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.Path

	f.mu.Lock()
	f.hits[route]++
	weight, known := endpointWeight[route]
	used := f.addWeight(weight)
	var rep fakeReply
	drop := false
	switch {
	case f.now().Before(f.bannedUntil):
		// errors.md -1003; rest-api.md: Retry-After gives the seconds
		// until the ban is over.
		secs := int(f.bannedUntil.Sub(f.now()).Seconds() + 0.999)
		rep = errReply(418, -1003, "Way too much request weight used; IP banned until "+strconv.FormatInt(f.bannedUntil.UnixMilli(), 10)+". Please use WebSocket Streams for live updates to avoid bans.")
		rep.header = map[string]string{"Retry-After": strconv.Itoa(max(1, secs))}
	case f.rateLimitNext > 0:
		f.rateLimitNext--
		rep = errReply(429, -1003, "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
		rep.header = map[string]string{"Retry-After": "1"}
	case !known:
		rep = errReply(404, -1000, "An unknown error occurred while processing the request.")
	default:
		rep, drop = f.handle(r, route, body)
	}
	f.mu.Unlock()

	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close() // the simulated drop: a failed close leaves nothing to do
				return
			}
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(used))
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

func (f *Fake) addWeight(w int) int {
	minute := f.now().Unix() / 60
	if minute != f.weightMinute {
		f.weightMinute, f.weightUsed = minute, 0
	}
	f.weightUsed += w
	return f.weightUsed
}

// handle runs with f.mu held.
func (f *Fake) handle(r *http.Request, route string, body []byte) (fakeReply, bool) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errReply(400, -1100, "Illegal characters found in a parameter."), false
	}
	if len(body) > 0 {
		bp, err := url.ParseQuery(string(body))
		if err != nil {
			return errReply(400, -1100, "Illegal characters found in a parameter."), false
		}
		for k, v := range bp {
			params[k] = append(params[k], v...)
		}
	}
	switch route {
	case "GET /api/v3/time":
		return fakeReply{status: 200, body: jsonObject{"serverTime": f.now().UnixMilli()}}, false
	case "GET /api/v3/exchangeInfo":
		return f.exchangeInfo(params), false
	case "GET /api/v3/ticker/price":
		s := f.symbols[params.Get("symbol")]
		if s == nil {
			return errReply(400, -1121, "Invalid symbol."), false
		}
		return fakeReply{status: 200, body: jsonObject{"symbol": s.wire, "price": s.price.StringFixed(8)}}, false
	}

	acct, rep, ok := f.authenticate(r, body)
	if !ok {
		return rep, false
	}
	switch route {
	case "GET /api/v3/account":
		return f.accountInfo(acct, params.Get("omitZeroBalances") == "true"), false
	case "POST /api/v3/order":
		if f.failNext > 0 {
			f.failNext--
			return errReply(503, -1001, "Internal error; unable to process your request. Please try again."), false
		}
		rep := f.newOrder(acct, params)
		if rep.status == 200 && f.dropNext {
			f.dropNext = false
			return rep, true
		}
		return rep, false
	case "GET /api/v3/order":
		o, rep := f.findOrder(acct, params)
		if o == nil {
			return rep, false
		}
		return fakeReply{status: 200, body: o.queryJSON()}, false
	case "DELETE /api/v3/order":
		return f.cancel(acct, params), false
	case "POST /api/v3/orderList/oco":
		if f.failLists > 0 {
			f.failLists--
			return errReply(503, -1001, "Internal error; unable to process your request. Please try again."), false
		}
		if f.failNext > 0 {
			f.failNext--
			return errReply(503, -1001, "Internal error; unable to process your request. Please try again."), false
		}
		rep := f.newOCO(acct, params)
		if rep.status == 200 && f.dropNext {
			f.dropNext = false
			return rep, true
		}
		return rep, false
	case "GET /api/v3/orderList":
		l, rep := f.findList(acct, params, "origClientOrderId")
		if l == nil {
			return rep, false
		}
		return fakeReply{status: 200, body: l.queryJSON()}, false
	case "DELETE /api/v3/orderList":
		return f.cancelList(acct, params), false
	case "GET /api/v3/openOrders":
		open := []jsonObject{}
		for _, o := range acct.orders {
			if o.open() {
				if s := params.Get("symbol"); s == "" || s == o.symbol {
					open = append(open, o.queryJSON())
				}
			}
		}
		return fakeReply{status: 200, body: open}, false
	}
	return errReply(404, -1000, "An unknown error occurred while processing the request."), false
}

// authenticate checks X-MBX-APIKEY, the signature over totalParams (query
// string concatenated with the body, signature removed) and the timestamp.
func (f *Fake) authenticate(r *http.Request, body []byte) (*fakeAccount, fakeReply, bool) {
	key := r.Header.Get("X-MBX-APIKEY")
	if key == "" || len(key) > 64 {
		return nil, errReply(401, -2014, "API-key format invalid."), false
	}
	acct := f.accounts[key]
	if acct == nil {
		return nil, errReply(401, -2015, "Invalid API-key, IP, or permissions for action."), false
	}
	query, qsig := stripSignature(r.URL.RawQuery)
	form, bsig := stripSignature(string(body))
	sig := qsig
	if sig == "" {
		sig = bsig
	}
	if sig == "" {
		return nil, errReply(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."), false
	}
	if !strings.EqualFold(sig, fakeSignature(acct.secret, query+form)) {
		return nil, errReply(400, -1022, "Signature for this request is not valid."), false
	}
	params, _ := url.ParseQuery(query + "&" + form)
	ts, err := strconv.ParseInt(params.Get("timestamp"), 10, 64)
	if err != nil {
		return nil, errReply(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."), false
	}
	window := int64(5000)
	if rw := params.Get("recvWindow"); rw != "" {
		if window, err = strconv.ParseInt(rw, 10, 64); err != nil || window > 60000 {
			return nil, errReply(400, -1131, "recvWindow must be less than 60000"), false
		}
	}
	now := f.now().UnixMilli()
	if ts >= now+1000 || now-ts > window {
		return nil, errReply(400, -1021, "Timestamp for this request is outside of the recvWindow."), false
	}
	return acct, fakeReply{}, true
}

// stripSignature removes the signature parameter from a raw query string,
// keeping every other byte exactly as sent.
func stripSignature(raw string) (rest, sig string) {
	if raw == "" {
		return "", ""
	}
	parts := strings.Split(raw, "&")
	kept := parts[:0]
	for _, p := range parts {
		if v, ok := strings.CutPrefix(p, "signature="); ok {
			sig = v
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&"), sig
}

func (f *Fake) exchangeInfo(params url.Values) fakeReply {
	list := []jsonObject{}
	for _, s := range f.symbols {
		if q := params.Get("symbol"); q != "" && q != s.wire {
			continue
		}
		list = append(list, s.exchangeInfoJSON())
	}
	if len(list) == 0 {
		return errReply(400, -1121, "Invalid symbol.")
	}
	return fakeReply{status: 200, body: jsonObject{
		"timezone": "UTC", "serverTime": f.now().UnixMilli(),
		"rateLimits": []jsonObject{
			{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": WeightLimitPerMinute},
			{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": OrderLimitPer10s},
			{"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
			{"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
		},
		"exchangeFilters": []jsonObject{},
		"symbols":         list,
	}}
}

func (f *Fake) accountInfo(a *fakeAccount, omitZero bool) fakeReply {
	assets := map[string]bool{cashAsset: true}
	for k := range a.free {
		assets[k] = true
	}
	for k := range a.locked {
		assets[k] = true
	}
	names := make([]string, 0, len(assets))
	for k := range assets {
		names = append(names, k)
	}
	sort.Strings(names)
	bal := []jsonObject{}
	for _, k := range names {
		if omitZero && a.free[k].IsZero() && a.locked[k].IsZero() {
			continue
		}
		bal = append(bal, jsonObject{"asset": k, "free": a.free[k].StringFixed(8), "locked": a.locked[k].StringFixed(8)})
	}
	return fakeReply{status: 200, body: accountJSON(f.now().UnixMilli(), bal)}
}

// unsupported is the matching engine's refusal of an order type the symbol
// does not list (errors.md, messages for -2010).
var unsupported = map[string]string{
	"MARKET":          "Market orders are not supported for this symbol.",
	"LIMIT":           "Limit orders are not supported for this symbol.",
	"STOP_LOSS":       "Stop loss orders are not supported for this symbol.",
	"STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
}

func (f *Fake) newOrder(a *fakeAccount, p url.Values) fakeReply {
	s := f.symbols[p.Get("symbol")]
	if p.Get("symbol") == "" {
		return errReply(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
	}
	if s == nil {
		return errReply(400, -1121, "Invalid symbol.")
	}
	side, typ := p.Get("side"), p.Get("type")
	if side != "BUY" && side != "SELL" {
		return errReply(400, -1117, "Invalid side.")
	}
	if _, ok := unsupported[typ]; !ok {
		return errReply(400, -1116, "Invalid orderType.")
	}
	if !slices.Contains(s.orderTypes, typ) {
		return errReply(400, -2010, unsupported[typ])
	}
	if s.status != "TRADING" {
		return errReply(400, -2010, "Market is closed.")
	}
	cid := p.Get("newClientOrderId")
	if cid == "" {
		cid = "x-" + randomHex(10)
	}
	if !fakeClientIDPattern.MatchString(cid) {
		return errReply(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
	}
	for _, o := range a.orders {
		if o.clientID == cid && o.open() {
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
	if qty.Exponent() < -8 {
		return errReply(400, -1111, "Parameter 'quantity' has too much precision.")
	}
	needPrice := typ == "LIMIT" || typ == "STOP_LOSS_LIMIT"
	needStop := typ == "STOP_LOSS" || typ == "STOP_LOSS_LIMIT"
	// rest-api.md, "Additional mandatory parameters based on type";
	// errors.md -1106 for a parameter the type does not take.
	for param, wanted := range map[string]bool{"timeInForce": needPrice, "price": needPrice, "stopPrice": needStop} {
		if p.Get(param) != "" && !wanted {
			return errReply(400, -1106, "Parameter '"+param+"' sent when not required.")
		}
	}
	var price, stop decimal.Decimal
	if needPrice {
		switch p.Get("timeInForce") {
		case "GTC", "IOC", "FOK":
		case "":
			return errReply(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
		default:
			return errReply(400, -1115, "Invalid timeInForce.")
		}
		if price, err = decimal.NewFromString(p.Get("price")); err != nil || price.Sign() <= 0 {
			return errReply(400, -1102, "Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
		}
		if !price.Mod(s.tick).IsZero() {
			return errReply(400, -1013, "Filter failure: PRICE_FILTER")
		}
	}
	if needStop {
		if stop, err = decimal.NewFromString(p.Get("stopPrice")); err != nil || stop.Sign() <= 0 {
			return errReply(400, -1102, "Mandatory parameter 'stopPrice' was not sent, was empty/null, or malformed.")
		}
		if !stop.Mod(s.tick).IsZero() {
			return errReply(400, -1013, "Filter failure: PRICE_FILTER")
		}
	}
	if qty.LessThan(s.minQty) || !qty.Sub(s.minQty).Mod(s.step).IsZero() {
		return errReply(400, -1013, "Filter failure: LOT_SIZE")
	}
	valuePrice := s.price
	if needPrice {
		valuePrice = price
	}
	if qty.Mul(valuePrice).LessThan(s.minNotional) {
		return errReply(400, -1013, "Filter failure: NOTIONAL")
	}
	if needStop && ((side == "SELL" && stop.GreaterThanOrEqual(s.price)) || (side == "BUY" && stop.LessThanOrEqual(s.price))) {
		return errReply(400, -2010, "Stop price would trigger immediately.")
	}

	// Funds: a buy reserves quote at the price it may pay, a sell reserves base.
	payPrice := s.price
	if needPrice && (typ == "STOP_LOSS_LIMIT" || price.LessThan(s.price)) {
		payPrice = price
	}
	if typ == "STOP_LOSS" {
		payPrice = stop
	}
	fillNow := typ == "MARKET" || (typ == "LIMIT" && ((side == "BUY" && price.GreaterThanOrEqual(s.price)) || (side == "SELL" && price.LessThanOrEqual(s.price))))
	needAsset, need := s.quote, qty.Mul(payPrice)
	if side == "SELL" {
		needAsset, need = s.base, qty
	}
	if a.free[needAsset].LessThan(need) {
		return errReply(400, -2010, "Account has insufficient balance for requested action.")
	}

	now := f.now().UnixMilli()
	f.nextID++
	o := &fakeOrder{
		symbol: s.wire, id: f.nextID, clientID: cid, side: side, typ: typ,
		tif: p.Get("timeInForce"), status: "NEW", price: price, stop: stop, qty: qty,
		created: now, updated: now,
	}
	if o.tif == "" {
		o.tif = "GTC"
	}
	if fillNow {
		cost := qty.Mul(s.price)
		if side == "BUY" {
			a.free[s.quote] = a.free[s.quote].Sub(cost)
			a.free[s.base] = a.free[s.base].Add(qty)
		} else {
			a.free[s.base] = a.free[s.base].Sub(qty)
			a.free[s.quote] = a.free[s.quote].Add(cost)
		}
		o.status, o.executed, o.quoteQty = "FILLED", qty, cost
	} else {
		a.free[needAsset] = a.free[needAsset].Sub(need)
		a.locked[needAsset] = a.locked[needAsset].Add(need)
	}
	a.orders = append(a.orders, o)
	return fakeReply{status: 200, body: o.newOrderJSON(p.Get("newOrderRespType"), now)}
}

func (f *Fake) findOrder(a *fakeAccount, p url.Values) (*fakeOrder, fakeReply) {
	sym := p.Get("symbol")
	if sym == "" {
		return nil, errReply(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
	}
	if f.symbols[sym] == nil {
		return nil, errReply(400, -1121, "Invalid symbol.")
	}
	id, cid := p.Get("orderId"), p.Get("origClientOrderId")
	if id == "" && cid == "" {
		return nil, errReply(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	for i := len(a.orders) - 1; i >= 0; i-- {
		o := a.orders[i]
		if o.symbol != sym {
			continue
		}
		if (id != "" && strconv.FormatInt(o.id, 10) == id) || (id == "" && o.clientID == cid) {
			return o, fakeReply{}
		}
	}
	return nil, errReply(400, -2013, "Order does not exist.")
}

func (f *Fake) cancel(a *fakeAccount, p url.Values) fakeReply {
	o, rep := f.findOrder(a, p)
	if o == nil {
		if rep.body.(jsonObject)["code"] == -2013 {
			return errReply(400, -2011, "Unknown order sent.")
		}
		return rep
	}
	if !o.open() {
		return errReply(400, -2011, "Unknown order sent.")
	}
	if o.list != nil {
		// rest-api.md, "Cancel order": cancelling one order of an order
		// list cancels the entire list.
		f.cancelListOrders(a, o.list)
		cancelID := p.Get("newClientOrderId")
		if cancelID == "" {
			cancelID = "x-" + randomHex(10)
		}
		return fakeReply{status: 200, body: o.cancelJSON(cancelID, o.updated)}
	}
	s := f.symbols[o.symbol]
	asset, amt := s.base, o.qty
	if o.side == "BUY" {
		price := o.price
		if o.typ == "STOP_LOSS" {
			price = o.stop
		}
		asset, amt = s.quote, o.qty.Mul(price)
	}
	a.locked[asset] = a.locked[asset].Sub(amt)
	a.free[asset] = a.free[asset].Add(amt)
	now := f.now().UnixMilli()
	o.status, o.updated = "CANCELED", now
	cancelID := p.Get("newClientOrderId")
	if cancelID == "" {
		cancelID = "x-" + randomHex(10)
	}
	return fakeReply{status: 200, body: o.cancelJSON(cancelID, now)}
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
