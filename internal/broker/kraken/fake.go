package kraken

// Fake is a local Kraken spot exchange for tests, modelled on the official
// documentation:
//   https://docs.kraken.com/api/docs/guides/spot-rest-auth
//     (API-Key header; API-Sign = base64(HMAC-SHA512(base64decode(secret),
//      uri_path + SHA256(nonce + postdata))); strictly increasing nonce)
//   https://docs.kraken.com/api/docs/rest-api/get-tradable-asset-pairs
//     (altname, base/quote, lot_decimals, pair_decimals, ordermin, costmin, tick_size, status)
//   https://docs.kraken.com/api/docs/rest-api/add-order, .../query-orders-info,
//   .../get-open-orders, .../get-closed-orders, .../cancel-order, .../get-extended-balance
//   https://docs.kraken.com/api/docs/guides/spot-errors
//     (errors are HTTP 200 with {"error":["EOrder:Insufficient funds"]}: EAPI:Invalid key,
//      EAPI:Invalid signature, EAPI:Invalid nonce, EQuery:Unknown asset pair,
//      EGeneral:Invalid arguments, EOrder:Order minimum not met, EOrder:Cost minimum not met,
//      EOrder:Unknown order, EAPI:Rate limit exceeded, EService:Unavailable)
//   https://docs.kraken.com/api/docs/guides/spot-clordid
//     (cl_ord_id: UUID or short free text, unique among open orders)
// Market orders fill at once at the pair's price; limit orders fill when
// marketable and rest otherwise; stop orders rest.
//
// Answers are written with the fake's own types (fake_wire.go), never with
// the adapter's, and a request parameter an endpoint does not take is
// refused with "EGeneral:Invalid arguments:<name>", so a parameter or field
// the adapter names wrongly fails a test.

import (
	"crypto/rand"
	"encoding/base64"
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

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Fake is a running fake Kraken. Create with NewFake, stop with Close.
type Fake struct {
	srv *httptest.Server
	now func() time.Time

	mu            sync.Mutex
	pairs         map[string]*fakePair // by key, "XXBTZUSD"
	accounts      map[string]*fakeAccount
	lastKey       string
	failNext      int
	dropNext      bool
	failStops     int // next stop-loss AddOrder calls answered 503
	rateLimitNext int
}

type fakePair struct {
	key                  string
	wire                 krakenAssetPairJSON
	lotDecimals          int32
	tick, ordermin, cmin decimal.Decimal
	price                decimal.Decimal
}

type fakeAccount struct {
	secret    []byte
	lastNonce int64
	balance   map[string]decimal.Decimal
	hold      map[string]decimal.Decimal
	orders    map[string]*krakenOrderInfoJSON
	order     []string // txids in creation order
	cancels   int      // CancelOrder calls that cancelled an order
}

// NewFake starts a fake listing XBTUSD (lot 8 decimals, tick 0.1, ordermin
// 0.0001, costmin 0.5, price 50000) and ETHUSD (tick 0.01, price 3000).
func NewFake() *Fake {
	f := &Fake{now: time.Now, pairs: map[string]*fakePair{}, accounts: map[string]*fakeAccount{}}
	f.AddPair("XXBTZUSD", "XBTUSD", "XBT/USD", "XXBT", "ZUSD", 8, 1, "0.1", "0.0001", "0.5", "50000")
	f.AddPair("XETHZUSD", "ETHUSD", "ETH/USD", "XETH", "ZUSD", 8, 2, "0.01", "0.002", "0.5", "3000")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's base URL (the base_url credential).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// AddPair lists a pair.
func (f *Fake) AddPair(key, altname, wsname, base, quote string, lotDecimals, pairDecimals int32, tick, ordermin, costmin, price string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pairs[key] = &fakePair{
		key: key,
		wire: krakenAssetPairJSON{Altname: altname, Wsname: wsname, AclassBase: "currency", Base: base,
			AclassQuote: "currency", Quote: quote, Lot: "unit", CostDecimals: 5, PairDecimals: pairDecimals,
			LotDecimals: lotDecimals, LotMultiplier: 1, LeverageBuy: []int{2, 3, 4, 5}, LeverageSell: []int{2, 3, 4, 5},
			Fees: [][2]float64{{0, 0.4}, {10000, 0.35}}, FeesMaker: [][2]float64{{0, 0.25}, {10000, 0.2}},
			FeeVolumeCurrency: "ZUSD", MarginCall: 80, MarginStop: 40, OrderMin: ordermin, CostMin: costmin,
			TickSize: tick, Status: "online", LongPositionLimit: 250, ShortPositionLimit: 200},
		lotDecimals: lotDecimals,
		tick:        decimal.RequireFromString(tick), ordermin: decimal.RequireFromString(ordermin),
		cmin: decimal.RequireFromString(costmin), price: decimal.RequireFromString(price),
	}
}

// NewAccount creates an account holding cash ZUSD and returns credentials
// (api_key, api_secret, base_url).
func (f *Fake) NewAccount(cash decimal.Decimal) broker.Credentials {
	secret := make([]byte, 64)
	_, _ = rand.Read(secret)
	key := base64.StdEncoding.EncodeToString(randomBytes(42))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[key] = &fakeAccount{
		secret:  secret,
		balance: map[string]decimal.Decimal{cashAsset: cash},
		hold:    map[string]decimal.Decimal{},
		orders:  map[string]*krakenOrderInfoJSON{},
	}
	f.lastKey = key
	return broker.Credentials{"api_key": key, "api_secret": base64.StdEncoding.EncodeToString(secret), "base_url": f.srv.URL}
}

// SetBalance sets an asset balance ("XXBT", "ZUSD") of the account of apiKey.
func (f *Fake) SetBalance(apiKey, asset string, amount decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[apiKey]; a != nil {
		a.balance[asset] = amount
	}
}

// SetPrice sets the price of a canonical symbol ("BTC-USD" is XBTUSD).
func (f *Fake) SetPrice(symbol string, price decimal.Decimal) {
	base, quote, _ := strings.Cut(strings.ToUpper(symbol), "-")
	name := krakenAsset(base) + krakenAsset(quote)
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pairByName(name); p != nil {
		p.price = price
	}
}

// SetHalted halts (true: AssetPairs status "cancel_only") or resumes
// ("online") a canonical symbol ("BTC-USD" is XBTUSD). While halted,
// AssetPairs shows the status and AddOrder answers HTTP 200
// {"error":["EService:Market in cancel_only mode"],"result":{}}, Kraken's
// refusal while a market takes only cancellations (get-tradable-asset-pairs
// status values; spot-errors and support.kraken.com "API error messages",
// service status errors). Kraken documents no separate "halted" status: a
// halted pair is put in cancel_only, then re-opens through post_only /
// limit_only.
func (f *Fake) SetHalted(symbol string, halted bool) {
	base, quote, _ := strings.Cut(strings.ToUpper(symbol), "-")
	status := "online"
	if halted {
		status = "cancel_only"
	}
	f.SetStatus(krakenAsset(base)+krakenAsset(quote), status)
}

// SetStatus sets a pair's status ("online", "cancel_only", "limit_only", ...).
func (f *Fake) SetStatus(altname, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.pairByName(altname); p != nil {
		p.wire.Status = status
	}
}

// FailNext makes the next n AddOrder calls answer HTTP 503 EService:Unavailable.
func (f *Fake) FailNext(n int) { f.mu.Lock(); f.failNext = n; f.mu.Unlock() }

// FailNextStops makes the next n AddOrder calls for a stop-loss or
// stop-loss-limit order answer HTTP 503 EService:Unavailable; other
// orders pass.
func (f *Fake) FailNextStops(n int) { f.mu.Lock(); f.failStops = n; f.mu.Unlock() }

// FakeOrder is an order as the fake holds it (for tests).
type FakeOrder struct {
	TxID, ClOrdID, Type, OrderType, Status string
}

// Orders returns the orders of the account of apiKey in creation order (a
// test hook: the fake's own book).
func (f *Fake) Orders(apiKey string) []FakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[apiKey]
	if a == nil {
		return nil
	}
	out := make([]FakeOrder, 0, len(a.order))
	for _, id := range a.order {
		o := a.orders[id]
		out = append(out, FakeOrder{TxID: id, ClOrdID: o.ClOrdID, Type: o.Descr.Type, OrderType: o.Descr.OrderType, Status: o.Status})
	}
	return out
}

// Cancels is how many CancelOrder calls cancelled an order of apiKey.
func (f *Fake) Cancels(apiKey string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[apiKey]; a != nil {
		return a.cancels
	}
	return 0
}

// DropNextResponse accepts the next AddOrder and closes the connection
// without answering.
func (f *Fake) DropNextResponse() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// RateLimitNext answers the next n requests {"error":["EAPI:Rate limit exceeded"]}.
func (f *Fake) RateLimitNext(n int) { f.mu.Lock(); f.rateLimitNext = n; f.mu.Unlock() }

// OrderCount is the number of orders created for the most recent account.
func (f *Fake) OrderCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[f.lastKey]; a != nil {
		return len(a.order)
	}
	return 0
}

// OrderCountFor is the number of orders created for one API key.
func (f *Fake) OrderCountFor(apiKey string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[apiKey]; a != nil {
		return len(a.order)
	}
	return 0
}

// pairByName resolves a request pair name: altname, key or wsname.
func (f *Fake) pairByName(name string) *fakePair {
	for _, p := range f.pairs {
		if name == p.key || name == p.wire.Altname || name == p.wire.Wsname {
			return p
		}
	}
	return nil
}

// --- HTTP ---

type fakeReply struct {
	status int
	errs   []string
	result any
}

func kerr(e ...string) fakeReply { return fakeReply{status: 200, errs: e} }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	var rep fakeReply
	drop := false
	if f.rateLimitNext > 0 {
		f.rateLimitNext--
		rep = kerr("EAPI:Rate limit exceeded")
	} else {
		rep, drop = f.handle(r, body)
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
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	out := krakenEnvelopeJSON{Error: rep.errs, Result: rep.result}
	if out.Error == nil {
		out.Error = []string{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// handle runs with f.mu held.
func (f *Fake) handle(r *http.Request, body []byte) (fakeReply, bool) {
	path := r.URL.Path
	if r.Header.Get("User-Agent") == "" {
		return kerr("EAPI:Invalid request: User-Agent required"), false
	}
	if method, public := strings.CutPrefix(path, "/0/public/"); public {
		if _, known := fakeParams[method]; known {
			if name, bad := unknownParam(method, r.URL.Query()); bad {
				return kerr("EGeneral:Invalid arguments:" + name), false
			}
		}
	}
	switch {
	case path == "/0/public/AssetPairs":
		if info := r.URL.Query().Get("info"); info != "" && info != "info" {
			return kerr("EGeneral:Invalid arguments:info"), false
		}
		return f.assetPairs(r.URL.Query()), false
	case path == "/0/public/Ticker":
		p := f.pairByName(r.URL.Query().Get("pair"))
		if p == nil {
			return kerr("EQuery:Unknown asset pair"), false
		}
		px := p.price.StringFixed(5)
		return fakeReply{status: 200, result: map[string]krakenTickerJSON{p.key: {
			A: []string{px, "1", "1.000"}, B: []string{px, "1", "1.000"}, C: []string{px, "0.00100000"},
			V: []string{"12.50000000", "2069.05127456"}, P: []string{px, px}, T: []int{537, 59587},
			L: []string{px, px}, H: []string{px, px}, O: px,
		}}}, false
	case !strings.HasPrefix(path, "/0/private/"):
		return fakeReply{status: 404, errs: []string{"EGeneral:Unknown method"}}, false
	}
	if r.Method != http.MethodPost {
		return kerr("EGeneral:Invalid arguments"), false
	}
	acct, rep, ok := f.authenticate(r, path, body)
	if !ok {
		return rep, false
	}
	params, _ := url.ParseQuery(string(body))
	method := strings.TrimPrefix(path, "/0/private/")
	if _, known := fakeParams[method]; !known {
		return kerr("EGeneral:Unknown method"), false
	}
	if name, bad := unknownParam(method, params); bad {
		return kerr("EGeneral:Invalid arguments:" + name), false
	}
	switch method {
	case "Balance":
		out := map[string]string{}
		for k, v := range acct.balance {
			out[k] = v.StringFixed(4)
		}
		return fakeReply{status: 200, result: out}, false
	case "BalanceEx":
		out := map[string]krakenBalanceExJSON{}
		for k, v := range acct.balance {
			out[k] = krakenBalanceExJSON{Balance: v.StringFixed(10), HoldTrade: acct.hold[k].StringFixed(10)}
		}
		return fakeReply{status: 200, result: out}, false
	case "AddOrder":
		if f.failStops > 0 && strings.HasPrefix(params.Get("ordertype"), "stop-loss") {
			f.failStops--
			return fakeReply{status: 503, errs: []string{"EService:Unavailable"}}, false
		}
		if f.failNext > 0 {
			f.failNext--
			return fakeReply{status: 503, errs: []string{"EService:Unavailable"}}, false
		}
		rep := f.addOrder(acct, params)
		if rep.errs == nil && f.dropNext {
			f.dropNext = false
			return rep, true
		}
		return rep, false
	case "QueryOrders":
		txids := strings.Split(params.Get("txid"), ",")
		if params.Get("txid") == "" {
			return kerr("EGeneral:Invalid arguments:txid"), false
		}
		out := map[string]*krakenOrderInfoJSON{}
		for _, id := range txids {
			o := acct.orders[id]
			if o == nil {
				return kerr("EOrder:Invalid order"), false
			}
			out[id] = o
		}
		return fakeReply{status: 200, result: out}, false
	case "OpenOrders", "ClosedOrders":
		open := strings.HasSuffix(path, "OpenOrders")
		out := map[string]*krakenOrderInfoJSON{}
		for id, o := range acct.orders {
			isOpen := o.Status == "open" || o.Status == "pending"
			if isOpen != open {
				continue
			}
			if c := params.Get("cl_ord_id"); c != "" && c != o.ClOrdID {
				continue
			}
			out[id] = o
		}
		if open {
			return fakeReply{status: 200, result: krakenOpenOrdersJSON{Open: out}}, false
		}
		return fakeReply{status: 200, result: krakenClosedOrdersJSON{Closed: out, Count: len(out)}}, false
	case "CancelOrder":
		return f.cancel(acct, params.Get("txid")), false
	}
	return kerr("EGeneral:Unknown method"), false
}

// authenticate checks API-Key, API-Sign over the exact body sent, and the
// nonce (strictly increasing per key).
func (f *Fake) authenticate(r *http.Request, path string, body []byte) (*fakeAccount, fakeReply, bool) {
	acct := f.accounts[r.Header.Get("API-Key")]
	if acct == nil {
		return nil, kerr("EAPI:Invalid key"), false
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, kerr("EGeneral:Invalid arguments"), false
	}
	nonceStr := params.Get("nonce")
	nonce, err := strconv.ParseInt(nonceStr, 10, 64)
	if err != nil || nonce <= 0 {
		return nil, kerr("EAPI:Invalid nonce"), false
	}
	if r.Header.Get("API-Sign") != apiSign(acct.secret, path, nonceStr, string(body)) {
		return nil, kerr("EAPI:Invalid signature"), false
	}
	if nonce <= acct.lastNonce {
		return nil, kerr("EAPI:Invalid nonce"), false
	}
	acct.lastNonce = nonce
	return acct, fakeReply{}, true
}

func (f *Fake) assetPairs(q url.Values) fakeReply {
	out := map[string]krakenAssetPairJSON{}
	if names := q.Get("pair"); names != "" {
		for _, n := range strings.Split(names, ",") {
			p := f.pairByName(n)
			if p == nil {
				return kerr("EQuery:Unknown asset pair")
			}
			out[p.key] = p.wire
		}
	} else {
		for k, p := range f.pairs {
			out[k] = p.wire
		}
	}
	return fakeReply{status: 200, result: out}
}

func validClOrdID(s string) bool {
	if _, err := uuid.Parse(s); err == nil && (len(s) == 36 || len(s) == 32) {
		return true
	}
	return shortClOrdID.MatchString(s)
}

func (f *Fake) addOrder(a *fakeAccount, p url.Values) fakeReply {
	pair := f.pairByName(p.Get("pair"))
	if p.Get("pair") == "" {
		return kerr("EGeneral:Invalid arguments:pair")
	}
	if pair == nil {
		return kerr("EQuery:Unknown asset pair")
	}
	side, otype := p.Get("type"), p.Get("ordertype")
	if side != "buy" && side != "sell" {
		return kerr("EGeneral:Invalid arguments:type")
	}
	switch otype {
	case "market", "limit", "stop-loss", "stop-loss-limit":
	default:
		return kerr("EGeneral:Invalid arguments:ordertype")
	}
	switch pair.wire.Status {
	case "online":
	case "limit_only", "post_only":
		if otype != "limit" {
			return kerr("EService:Market in " + pair.wire.Status + " mode")
		}
	default:
		return kerr("EService:Market in cancel_only mode")
	}
	switch p.Get("timeinforce") {
	case "", "GTC", "IOC", "GTD":
	default:
		return kerr("EGeneral:Invalid arguments:timeinforce")
	}
	cl := p.Get("cl_ord_id")
	if cl != "" && p.Get("userref") != "" {
		return kerr("EGeneral:Invalid arguments:cl_ord_id and userref are mutually exclusive")
	}
	if cl != "" && !validClOrdID(cl) {
		return kerr("EGeneral:Invalid arguments:cl_ord_id")
	}
	for _, o := range a.orders {
		if cl != "" && o.ClOrdID == cl && (o.Status == "open" || o.Status == "pending") {
			return kerr("EOrder:Duplicate cl_ord_id")
		}
	}
	vol, err := decimal.NewFromString(p.Get("volume"))
	if err != nil || vol.Sign() <= 0 {
		return kerr("EGeneral:Invalid arguments:volume")
	}
	if -vol.Exponent() > pair.lotDecimals {
		return kerr("EGeneral:Invalid arguments:volume")
	}
	if vol.LessThan(pair.ordermin) {
		return kerr("EOrder:Order minimum not met")
	}
	var price, price2 decimal.Decimal
	needPrice := otype != "market"
	if needPrice {
		if price, err = decimal.NewFromString(p.Get("price")); err != nil || price.Sign() <= 0 {
			return kerr("EGeneral:Invalid arguments:price")
		}
		if !price.Mod(pair.tick).IsZero() {
			return kerr(fmt.Sprintf("EOrder:Invalid price:%s price can only be specified up to %d decimals.", pair.wire.Altname, pair.wire.PairDecimals))
		}
	}
	if otype == "stop-loss-limit" {
		if price2, err = decimal.NewFromString(p.Get("price2")); err != nil || price2.Sign() <= 0 {
			return kerr("EGeneral:Invalid arguments:price2")
		}
		if !price2.Mod(pair.tick).IsZero() {
			return kerr(fmt.Sprintf("EOrder:Invalid price:%s price can only be specified up to %d decimals.", pair.wire.Altname, pair.wire.PairDecimals))
		}
	}
	valuePrice := pair.price
	switch otype {
	case "limit", "stop-loss":
		valuePrice = price
	case "stop-loss-limit":
		valuePrice = price2
	}
	if vol.Mul(valuePrice).LessThan(pair.cmin) {
		return kerr("EOrder:Cost minimum not met")
	}
	fill := otype == "market" || (otype == "limit" && ((side == "buy" && price.GreaterThanOrEqual(pair.price)) || (side == "sell" && price.LessThanOrEqual(pair.price))))
	base, quote := pair.wire.Base, pair.wire.Quote
	needAsset, need := quote, vol.Mul(pair.price)
	if !fill {
		need = vol.Mul(valuePrice)
	}
	if side == "sell" {
		needAsset, need = base, vol
	}
	if a.balance[needAsset].Sub(a.hold[needAsset]).LessThan(need) {
		return kerr("EOrder:Insufficient funds")
	}
	txid := newTxID()
	now := float64(f.now().UnixMicro()) / 1e6
	descr := krakenOrderDescrJSON{Pair: pair.wire.Altname, Type: side, OrderType: otype, Price: "0", Price2: "0", Leverage: "none"}
	if needPrice {
		descr.Price = price.String()
	}
	if otype == "stop-loss-limit" {
		descr.Price2 = price2.String()
	}
	descr.Order = fmt.Sprintf("%s %s %s @ %s", side, vol.StringFixed(8), pair.wire.Altname, otype)
	if needPrice {
		descr.Order += " " + descr.Price
	}
	o := &krakenOrderInfoJSON{
		ClOrdID: cl, Status: "open", OpenTm: now, Descr: descr,
		Vol: vol.StringFixed(8), VolExec: "0.00000000", Cost: "0.00000", Fee: "0.00000", Price: "0.00000",
		StopPrice: "0.00000", LimitPrice: "0.00000", OFlags: "fciq",
	}
	if fill {
		cost := vol.Mul(pair.price)
		if side == "buy" {
			a.balance[quote] = a.balance[quote].Sub(cost)
			a.balance[base] = a.balance[base].Add(vol)
		} else {
			a.balance[base] = a.balance[base].Sub(vol)
			a.balance[quote] = a.balance[quote].Add(cost)
		}
		o.Status, o.CloseTm = "closed", now
		o.VolExec, o.Cost, o.Price = vol.StringFixed(8), cost.StringFixed(5), pair.price.StringFixed(pair.wire.PairDecimals)
	} else {
		a.hold[needAsset] = a.hold[needAsset].Add(need)
	}
	a.orders[txid] = o
	a.order = append(a.order, txid)
	added := krakenAddOrderJSON{TxID: []string{txid}}
	added.Descr.Order = descr.Order
	return fakeReply{status: 200, result: added}
}

func (f *Fake) cancel(a *fakeAccount, txid string) fakeReply {
	o := a.orders[txid]
	if o == nil || (o.Status != "open" && o.Status != "pending") {
		return kerr("EOrder:Unknown order")
	}
	pair := f.pairByName(o.Descr.Pair)
	vol := decimal.RequireFromString(o.Vol)
	asset, amt := pair.wire.Base, vol
	if o.Descr.Type == "buy" {
		price := decimal.RequireFromString(o.Descr.Price)
		if o.Descr.OrderType == "stop-loss-limit" {
			price = decimal.RequireFromString(o.Descr.Price2)
		}
		asset, amt = pair.wire.Quote, vol.Mul(price)
	}
	a.hold[asset] = a.hold[asset].Sub(amt)
	reason := "User requested"
	o.Status, o.Reason, o.CloseTm = "canceled", &reason, float64(f.now().UnixMicro())/1e6
	a.cancels++
	return fakeReply{status: 200, result: krakenCancelOrderJSON{Count: 1}}
}

// newTxID returns an id of Kraken's shape, "OUF4EM-FRGI2-MQMWZD".
func newTxID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := randomBytes(16)
	s := make([]byte, 16)
	for i := range s {
		s[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(s[:6]) + "-" + string(s[6:11]) + "-" + string(s[11:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return b
}
