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
// exact parameters sent, timestamp window, mandatory parameters, symbol
// filters, balances, and refuses a newClientOrderId that an open order
// already carries. Market orders fill at once at the symbol's price; limit
// orders fill when marketable and rest otherwise; stop orders rest.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	now func() time.Time

	mu            sync.Mutex
	symbols       map[string]*fakeSymbol
	accounts      map[string]*fakeAccount // by API key
	lastKey       string
	nextID        int64
	failNext      int
	dropNext      bool
	rateLimitNext int
	banNext       int
	weightMinute  int64
	weightUsed    int
}

type fakeSymbol struct {
	wire        string
	base, quote string
	status      string
	tick, step  decimal.Decimal
	minQty      decimal.Decimal
	minNotional decimal.Decimal
	price       decimal.Decimal
}

type fakeAccount struct {
	secret string
	free   map[string]decimal.Decimal
	locked map[string]decimal.Decimal
	orders []*wireOrder
}

// NewFake starts a fake with BTCUSDT (step 0.00001, tick 0.01, min notional
// 5, price 50000) and ETHUSDT (step 0.0001, tick 0.01, price 3000).
func NewFake() *Fake {
	f := &Fake{
		now:      time.Now,
		symbols:  map[string]*fakeSymbol{},
		accounts: map[string]*fakeAccount{},
		nextID:   1000,
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
		wire: base + quote, base: base, quote: quote, status: "TRADING",
		step: decimal.RequireFromString(step), tick: decimal.RequireFromString(tick),
		minQty: decimal.RequireFromString(minQty), minNotional: decimal.RequireFromString(minNotional),
		price: decimal.RequireFromString(price),
	}
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
		s.price = price
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

// DropNextResponse accepts the next order submission and closes the
// connection without answering.
func (f *Fake) DropNextResponse() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// RateLimitNext answers the next n requests with 429, Retry-After: 1.
func (f *Fake) RateLimitNext(n int) { f.mu.Lock(); f.rateLimitNext = n; f.mu.Unlock() }

// BanNext answers the next n requests with 418 (IP auto-ban), Retry-After: 1.
func (f *Fake) BanNext(n int) { f.mu.Lock(); f.banNext = n; f.mu.Unlock() }

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
	return fakeReply{status: status, body: map[string]any{"code": code, "msg": msg}}
}

var endpointWeight = map[string]int{
	"GET /api/v3/exchangeInfo": weightExchangeInfo,
	"GET /api/v3/account":      weightAccount,
	"POST /api/v3/order":       weightNewOrder,
	"GET /api/v3/order":        weightQueryOrder,
	"DELETE /api/v3/order":     weightCancelOrder,
	"GET /api/v3/ticker/price": weightTickerPrice,
	"GET /api/v3/openOrders":   weightOpenOrdersAll,
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.Path

	f.mu.Lock()
	weight, known := endpointWeight[route]
	used := f.addWeight(weight)
	var rep fakeReply
	drop := false
	switch {
	case f.banNext > 0:
		f.banNext--
		rep = errReply(418, -1003, "Way too much request weight used; IP banned until "+strconv.FormatInt(f.now().Add(time.Second).UnixMilli(), 10)+". Please use WebSocket Streams for live updates to avoid bans.")
		rep.header = map[string]string{"Retry-After": "1"}
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
	case "GET /api/v3/exchangeInfo":
		return f.exchangeInfo(params), false
	case "GET /api/v3/ticker/price":
		s := f.symbols[params.Get("symbol")]
		if s == nil {
			return errReply(400, -1121, "Invalid symbol."), false
		}
		return fakeReply{status: 200, body: wireTickerPrice{Symbol: s.wire, Price: s.price.StringFixed(8)}}, false
	}

	acct, rep, ok := f.authenticate(r, body)
	if !ok {
		return rep, false
	}
	switch route {
	case "GET /api/v3/account":
		return f.accountInfo(acct), false
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
		return fakeReply{status: 200, body: o}, false
	case "DELETE /api/v3/order":
		return f.cancel(acct, params), false
	case "GET /api/v3/openOrders":
		open := []*wireOrder{}
		for _, o := range acct.orders {
			if o.Status == "NEW" || o.Status == "PARTIALLY_FILLED" {
				if s := params.Get("symbol"); s == "" || s == o.Symbol {
					open = append(open, o)
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
	if !strings.EqualFold(sig, sign([]byte(acct.secret), query+form)) {
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
	list := []wireSymbol{}
	for _, s := range f.symbols {
		if q := params.Get("symbol"); q != "" && q != s.wire {
			continue
		}
		list = append(list, wireSymbol{
			Symbol: s.wire, Status: s.status, BaseAsset: s.base, QuoteAsset: s.quote,
			OrderTypes: []string{"LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"},
			Filters: []wireFilter{
				{FilterType: "PRICE_FILTER", MinPrice: s.tick.StringFixed(8), MaxPrice: "1000000.00000000", TickSize: s.tick.StringFixed(8)},
				{FilterType: "LOT_SIZE", MinQty: s.minQty.StringFixed(8), MaxQty: "9000.00000000", StepSize: s.step.StringFixed(8)},
				{FilterType: "NOTIONAL", MinNotional: s.minNotional.StringFixed(8)},
			},
		})
	}
	if len(list) == 0 {
		return errReply(400, -1121, "Invalid symbol.")
	}
	return fakeReply{status: 200, body: map[string]any{
		"timezone": "UTC", "serverTime": f.now().UnixMilli(),
		"rateLimits": []map[string]any{
			{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": WeightLimitPerMinute},
			{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
		},
		"symbols": list,
	}}
}

func (f *Fake) accountInfo(a *fakeAccount) fakeReply {
	bal := []wireBalance{}
	assets := map[string]bool{}
	for k := range a.free {
		assets[k] = true
	}
	for k := range a.locked {
		assets[k] = true
	}
	for k := range assets {
		if a.free[k].IsZero() && a.locked[k].IsZero() {
			continue
		}
		bal = append(bal, wireBalance{Asset: k, Free: a.free[k].StringFixed(8), Locked: a.locked[k].StringFixed(8)})
	}
	return fakeReply{status: 200, body: wireAccount{
		CanTrade: true, AccountType: "SPOT", UpdateTime: f.now().UnixMilli(),
		Balances: bal, Permissions: []string{"SPOT"},
	}}
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
	switch typ {
	case "MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_LIMIT":
	default:
		return errReply(400, -1116, "Invalid orderType.")
	}
	if s.status != "TRADING" {
		return errReply(400, -2010, "Market is closed.")
	}
	cid := p.Get("newClientOrderId")
	if cid == "" {
		cid = "x-" + randomHex(10)
	}
	if !clientIDPattern.MatchString(cid) {
		return errReply(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
	}
	for _, o := range a.orders {
		if o.ClientOrderID == cid && (o.Status == "NEW" || o.Status == "PARTIALLY_FILLED") {
			return errReply(400, -2010, "Duplicate order sent.")
		}
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
	var price, stop decimal.Decimal
	if needPrice {
		if p.Get("timeInForce") == "" {
			return errReply(400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
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
	if needStop && typ == "STOP_LOSS" {
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
	o := &wireOrder{
		Symbol: s.wire, OrderID: f.nextID, OrderListID: -1, ClientOrderID: cid,
		TransactTime: now, Time: now, UpdateTime: now, WorkingTime: now,
		Price: price.StringFixed(8), OrigQty: qty.StringFixed(8),
		ExecutedQty: "0.00000000", CummulativeQuoteQty: "0.00000000",
		Status: "NEW", TimeInForce: p.Get("timeInForce"), Type: typ, Side: side,
		StopPrice: stop.StringFixed(8),
	}
	if o.TimeInForce == "" {
		o.TimeInForce = "GTC"
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
		o.Status, o.ExecutedQty, o.CummulativeQuoteQty = "FILLED", qty.StringFixed(8), cost.StringFixed(8)
	} else {
		a.free[needAsset] = a.free[needAsset].Sub(need)
		a.locked[needAsset] = a.locked[needAsset].Add(need)
	}
	a.orders = append(a.orders, o)
	return fakeReply{status: 200, body: o}
}

func (f *Fake) findOrder(a *fakeAccount, p url.Values) (*wireOrder, fakeReply) {
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
		if o.Symbol != sym {
			continue
		}
		if (id != "" && strconv.FormatInt(o.OrderID, 10) == id) || (id == "" && o.ClientOrderID == cid) {
			return o, fakeReply{}
		}
	}
	return nil, errReply(400, -2013, "Order does not exist.")
}

func (f *Fake) cancel(a *fakeAccount, p url.Values) fakeReply {
	o, rep := f.findOrder(a, p)
	if o == nil {
		if rep.body.(map[string]any)["code"] == -2013 {
			return errReply(400, -2011, "Unknown order sent.")
		}
		return rep
	}
	if o.Status != "NEW" && o.Status != "PARTIALLY_FILLED" {
		return errReply(400, -2011, "Unknown order sent.")
	}
	s := f.symbols[o.Symbol]
	qty := decimal.RequireFromString(o.OrigQty)
	asset, amt := s.base, qty
	if o.Side == "BUY" {
		price := decimal.RequireFromString(o.Price)
		if o.Type == "STOP_LOSS" {
			price = decimal.RequireFromString(o.StopPrice)
		}
		asset, amt = s.quote, qty.Mul(price)
	}
	a.locked[asset] = a.locked[asset].Sub(amt)
	a.free[asset] = a.free[asset].Add(amt)
	o.Status, o.UpdateTime = "CANCELED", f.now().UnixMilli()
	return fakeReply{status: 200, body: o}
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
