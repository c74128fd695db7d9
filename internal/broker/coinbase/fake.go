package coinbase

// Fake is a local Coinbase Advanced Trade exchange for tests, modelled on the
// official documentation:
//   https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication
//     (CDP API keys: Authorization: Bearer <JWT>, EdDSA for Ed25519 keys or ES256 for
//      ECDSA keys, header kid = key name + nonce, claims iss "cdp", sub = key name,
//      nbf/exp 2 minutes, uri "METHOD host/path"; verified in fake_auth.go)
//   https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api/orders/create-order
//     (client_order_id, product_id, side, order_configuration market_market_ioc /
//      limit_limit_gtc / sor_limit_ioc / stop_limit_stop_limit_gtc; HTTP 200 with
//      success=false and error_response {error, message, preview_failure_reason} for
//      business errors; a repeated client_order_id returns the existing order)
//   .../orders/get-order, .../orders/list-orders, .../orders/cancel-order (batch_cancel),
//   .../accounts/list-accounts, .../products/get-product, .../public/get-public-product
//   https://docs.cdp.coinbase.com/advanced-trade/docs/rest-api-rate-limits (429)
// Market orders fill at once at the product's price; limit orders fill when
// marketable and rest otherwise (IOC limits cancel instead); stop-limits rest.
// Requests are decoded into, and answers encoded from, the fake's own wire
// types (fake_wire.go), never the adapter's.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Fake is a running fake Coinbase. Create with NewFake, stop with Close.
type Fake struct {
	srv *httptest.Server
	now func() time.Time

	mu            sync.Mutex
	products      map[string]*cbProduct
	accounts      map[string]*fakeAccount // by key name
	lastKey       string
	failNext      int
	dropNext      bool
	rateLimitNext int
	failBracket   int // fake_bracket.go
}

type fakeAccount struct {
	key       fakeKey
	available map[string]decimal.Decimal
	hold      map[string]decimal.Decimal
	orders    []*cbOrder // creation order
}

// NewFake starts a fake listing BTC-USD (base increment 0.00000001, price
// increment 0.01, quote min 1, price 50000) and ETH-USD (price 3000).
func NewFake() *Fake {
	f := &Fake{now: time.Now, products: map[string]*cbProduct{}, accounts: map[string]*fakeAccount{}}
	f.AddProduct("BTC-USD", "0.00000001", "0.01", "0.00000001", "1", "50000")
	f.AddProduct("ETH-USD", "0.00000001", "0.01", "0.00000001", "1", "3000")
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the fake's base URL (the base_url credential).
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// AddProduct lists a spot product.
func (f *Fake) AddProduct(id, baseIncrement, priceIncrement, baseMin, quoteMin, price string) {
	base, quote, _ := strings.Cut(id, "-")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.products[id] = &cbProduct{
		ProductID: id, Price: price, BaseIncrement: baseIncrement, QuoteIncrement: priceIncrement, PriceIncrement: priceIncrement,
		BaseMinSize: baseMin, BaseMaxSize: "1000", QuoteMinSize: quoteMin, QuoteMaxSize: "10000000",
		BaseName: base, QuoteName: quote, BaseCurrencyID: base, QuoteCurrencyID: quote,
		BaseDisplaySymbol: base, QuoteDisplaySymbol: quote, Status: "online", ProductType: "SPOT",
		AliasTo: []string{},
	}
}

// SetBalance sets the available balance of a currency for key name.
func (f *Fake) SetBalance(keyName, currency string, amount decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[keyName]; a != nil {
		a.available[currency] = amount
	}
}

// SetPrice sets the price of a product ("BTC-USD").
func (f *Fake) SetPrice(productID string, price decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.products[productID]; p != nil {
		p.Price = price.String()
		f.matchBrackets(p)
	}
}

// SetHalted halts (true) or resumes (false) a product ("BTC-USD"): the
// product shows trading_disabled (get-product) and a create-order answers
// HTTP 200 {"success":false,"error_response":{"error":"ORDER_ENTRY_DISABLED",
// ...}} (create-order, NewOrderFailureReason ORDER_ENTRY_DISABLED). Coinbase
// has no separate "halted" flag: a halted product is trading_disabled (or
// cancel_only) until it re-opens.
func (f *Fake) SetHalted(productID string, halted bool) { f.SetTradingDisabled(productID, halted) }

// SetTradingDisabled pauses or resumes a product.
func (f *Fake) SetTradingDisabled(productID string, disabled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.products[productID]; p != nil {
		p.TradingDisabled = disabled
	}
}

// FailNext makes the next n order submissions answer HTTP 503.
func (f *Fake) FailNext(n int) { f.mu.Lock(); f.failNext = n; f.mu.Unlock() }

// DropNextResponse accepts the next order submission and closes the
// connection without answering.
func (f *Fake) DropNextResponse() { f.mu.Lock(); f.dropNext = true; f.mu.Unlock() }

// RateLimitNext answers the next n requests with 429.
func (f *Fake) RateLimitNext(n int) { f.mu.Lock(); f.rateLimitNext = n; f.mu.Unlock() }

// OrderCount is the number of orders created for the most recent account.
func (f *Fake) OrderCount() int { return f.OrderCountFor(f.last()) }

func (f *Fake) last() string { f.mu.Lock(); defer f.mu.Unlock(); return f.lastKey }

// OrderCountFor is the number of orders created for one key name.
func (f *Fake) OrderCountFor(keyName string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.accounts[keyName]; a != nil {
		return len(a.orders)
	}
	return 0
}

// --- HTTP ---

type fakeReply struct {
	status int
	body   any
	text   string
}

func grpcErr(status int, code, msg string) fakeReply {
	return fakeReply{status: status, body: cbError{Error: code, ErrorDetails: msg, Message: msg}}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	var rep fakeReply
	drop := false
	if f.rateLimitNext > 0 {
		f.rateLimitNext--
		rep = grpcErr(429, "RATE_LIMIT_EXCEEDED", "Too many requests")
	} else {
		rep, drop = f.handle(r, body)
	}
	// Encoded under the lock: the reply may point at live orders that a
	// price move (SetPrice → matchBrackets) changes (a race -race caught).
	var encoded []byte
	if rep.text == "" {
		encoded, _ = json.Marshal(rep.body)
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
	if rep.text != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.text)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(append(encoded, '\n'))
}

// handle runs with f.mu held.
func (f *Fake) handle(r *http.Request, body []byte) (fakeReply, bool) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if id, ok := strings.CutPrefix(path, "/market/products/"); ok && r.Method == http.MethodGet {
		return f.productReply(id), false
	}
	acct, ok := f.authenticate(r)
	if !ok {
		return fakeReply{status: 401, text: "Unauthorized\n"}, false
	}
	switch {
	case r.Method == http.MethodGet && path == "/accounts":
		return f.listAccounts(acct, r), false
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/products/"):
		return f.productReply(strings.TrimPrefix(path, "/products/")), false
	case r.Method == http.MethodPost && path == "/orders":
		if f.failNext > 0 {
			f.failNext--
			return grpcErr(503, "UNAVAILABLE", "Service Unavailable"), false
		}
		if f.failBracket > 0 && strings.Contains(string(body), `"trigger_bracket_gtc"`) {
			f.failBracket--
			return grpcErr(503, "UNAVAILABLE", "Service Unavailable"), false
		}
		rep := f.createOrder(acct, body)
		if rep.status == 200 && f.dropNext {
			f.dropNext = false
			return rep, true
		}
		return rep, false
	case r.Method == http.MethodGet && path == "/orders/historical/batch":
		return f.listOrders(acct, r), false
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/orders/historical/"):
		id := strings.TrimPrefix(path, "/orders/historical/")
		for _, o := range acct.orders {
			if o.OrderID == id {
				return fakeReply{status: 200, body: struct {
					Order *cbOrder `json:"order"`
				}{o}}, false
			}
		}
		return grpcErr(404, "NOT_FOUND", "order with this orderID was not found"), false
	case r.Method == http.MethodPost && path == "/orders/batch_cancel":
		return f.batchCancel(acct, body), false
	}
	return grpcErr(404, "NOT_FOUND", "Not Found"), false
}

func (f *Fake) productReply(id string) fakeReply {
	p := f.products[id]
	if p == nil {
		return grpcErr(404, "NOT_FOUND", "ProductID is invalid")
	}
	return fakeReply{status: 200, body: p}
}

func (f *Fake) listAccounts(a *fakeAccount, r *http.Request) fakeReply {
	currencies := map[string]bool{}
	for c := range a.available {
		currencies[c] = true
	}
	for c := range a.hold {
		currencies[c] = true
	}
	created := time.Date(2021, 5, 31, 9, 59, 59, 0, time.UTC)
	list := []cbAccount{}
	for c := range currencies {
		typ := "ACCOUNT_TYPE_CRYPTO"
		if c == cashCurrency {
			typ = "ACCOUNT_TYPE_FIAT"
		}
		list = append(list, cbAccount{
			UUID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(c)).String(), Name: c + " Wallet", Currency: c,
			AvailableBalance: cbMoney{Value: a.available[c].String(), Currency: c},
			Hold:             cbMoney{Value: a.hold[c].String(), Currency: c},
			Default:          c == cashCurrency, Active: true, Ready: true, Type: typ,
			CreatedAt: created, UpdatedAt: f.now().UTC(),
		})
	}
	return fakeReply{status: 200, body: cbListAccounts{Accounts: list, HasNext: false, Size: len(list)}}
}

func refuse(reason, preview, msg string) fakeReply {
	return fakeReply{status: 200, body: cbCreateOrderResponse{
		Success:       false,
		ErrorResponse: &cbErrorResponse{Error: reason, Message: msg, ErrorDetails: msg, PreviewFailureReason: preview, NewOrderFailureReason: reason},
	}}
}

// orderTerms are the parts of an order configuration the fake acts on.
type orderTerms struct {
	size, limit, stop, stopDirection string
	otype, tif                       string
}

// terms reads the one order configuration set in cfg; ok is false when none
// or several are set, or one the fake does not model.
func terms(cfg cbOrderConfiguration) (orderTerms, string) {
	n := 0
	for _, set := range []bool{cfg.MarketMarketIOC != nil, cfg.SorLimitIOC != nil, cfg.LimitLimitGTC != nil, cfg.LimitLimitGTD != nil,
		cfg.LimitLimitFOK != nil, cfg.StopLimitStopLimitGTC != nil, cfg.StopLimitStopLimitGTD != nil, cfg.TriggerBracketGTC != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return orderTerms{}, "exactly one order configuration is required"
	}
	switch {
	case cfg.MarketMarketIOC != nil:
		if cfg.MarketMarketIOC.QuoteSize != "" {
			return orderTerms{}, "quote_size market orders are not modelled by this fake"
		}
		return orderTerms{size: cfg.MarketMarketIOC.BaseSize, otype: "MARKET", tif: "IMMEDIATE_OR_CANCEL"}, ""
	case cfg.LimitLimitGTC != nil:
		c := cfg.LimitLimitGTC
		return orderTerms{size: c.BaseSize, limit: c.LimitPrice, otype: "LIMIT", tif: "GOOD_UNTIL_CANCELLED"}, ""
	case cfg.SorLimitIOC != nil:
		c := cfg.SorLimitIOC
		return orderTerms{size: c.BaseSize, limit: c.LimitPrice, otype: "LIMIT", tif: "IMMEDIATE_OR_CANCEL"}, ""
	case cfg.TriggerBracketGTC != nil:
		c := cfg.TriggerBracketGTC
		return orderTerms{size: c.BaseSize, limit: c.LimitPrice, stop: c.StopTriggerPrice, otype: "BRACKET", tif: "GOOD_UNTIL_CANCELLED"}, ""
	case cfg.StopLimitStopLimitGTC != nil:
		c := cfg.StopLimitStopLimitGTC
		return orderTerms{size: c.BaseSize, limit: c.LimitPrice, stop: c.StopPrice, stopDirection: c.StopDirection,
			otype: "STOP_LIMIT", tif: "GOOD_UNTIL_CANCELLED"}, ""
	}
	return orderTerms{}, "GTD and FOK order configurations are not modelled by this fake"
}

func (f *Fake) createOrder(a *fakeAccount, body []byte) fakeReply {
	var req cbCreateOrderRequest
	if err := decodeStrict(body, &req); err != nil {
		return grpcErr(400, "INVALID_ARGUMENT", "invalid request body: "+err.Error())
	}
	if req.ClientOrderID == "" {
		return grpcErr(400, "INVALID_ARGUMENT", "client_order_id is required")
	}
	for _, o := range a.orders {
		if o.ClientOrderID == req.ClientOrderID {
			return f.accepted(o)
		}
	}
	p := f.products[req.ProductID]
	if p == nil {
		return refuse("INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID", "Invalid product_id")
	}
	if req.Side != "BUY" && req.Side != "SELL" {
		return refuse("INVALID_SIDE", "PREVIEW_INVALID_SIDE", "Invalid side")
	}
	if p.TradingDisabled || p.CancelOnly || p.IsDisabled {
		return refuse("ORDER_ENTRY_DISABLED", "PREVIEW_INVALID_ORDER_CONFIG", "Order entry is disabled for this product")
	}
	t, problem := terms(req.OrderConfiguration)
	if problem != "" {
		return refuse("UNSUPPORTED_ORDER_CONFIGURATION", "PREVIEW_INVALID_ORDER_CONFIG", problem)
	}
	price := decimal.RequireFromString(p.Price)
	size, err := decimal.NewFromString(t.size)
	if err != nil || size.Sign() <= 0 {
		return refuse("INVALID_ARGUMENT", "PREVIEW_INVALID_ORDER_CONFIG", "base_size is required")
	}
	if !size.Mod(decimal.RequireFromString(p.BaseIncrement)).IsZero() {
		return refuse("INVALID_SIZE_PRECISION", "PREVIEW_INVALID_SIZE_PRECISION", "Too many decimals in order amount")
	}
	if size.LessThan(decimal.RequireFromString(p.BaseMinSize)) {
		return refuse("INVALID_BASE_SIZE_TOO_SMALL", "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL", "Order size is too small")
	}
	tick := decimal.RequireFromString(p.PriceIncrement)
	var limit, stop decimal.Decimal
	if t.otype != "MARKET" {
		if limit, err = decimal.NewFromString(t.limit); err != nil || limit.Sign() <= 0 {
			return refuse("INVALID_LIMIT_PRICE", "PREVIEW_INVALID_LIMIT_PRICE", "limit_price is required")
		}
		if !limit.Mod(tick).IsZero() {
			return refuse("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "Too many decimals in order price")
		}
	}
	if t.otype == "BRACKET" {
		if problem := bracketProblem(req.Side, price, limit, t.stop, tick); problem != nil {
			return *problem
		}
		stop = dec(t.stop)
	}
	if t.otype == "STOP_LIMIT" {
		if stop, err = decimal.NewFromString(t.stop); err != nil || stop.Sign() <= 0 || !stop.Mod(tick).IsZero() {
			return refuse("INVALID_STOP_PRICE", "PREVIEW_INVALID_STOP_PRICE", "Invalid stop price")
		}
		dir := t.stopDirection
		if (dir == "STOP_DIRECTION_STOP_DOWN" && stop.GreaterThanOrEqual(price)) || (dir == "STOP_DIRECTION_STOP_UP" && stop.LessThanOrEqual(price)) {
			return refuse("INVALID_STOP_PRICE", "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE", "Stop price would trigger immediately")
		}
		if dir != "STOP_DIRECTION_STOP_DOWN" && dir != "STOP_DIRECTION_STOP_UP" {
			return refuse("INVALID_ARGUMENT", "PREVIEW_INVALID_ORDER_CONFIG", "stop_direction is required")
		}
	}
	valuePrice := price
	if t.otype != "MARKET" {
		valuePrice = limit
	}
	if size.Mul(valuePrice).LessThan(decimal.RequireFromString(p.QuoteMinSize)) {
		return refuse("INVALID_QUOTE_SIZE_TOO_SMALL", "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL", "Order value is too small")
	}
	marketable := t.otype == "MARKET" || (t.otype == "LIMIT" && ((req.Side == "BUY" && limit.GreaterThanOrEqual(price)) || (req.Side == "SELL" && limit.LessThanOrEqual(price))))
	base, quote := p.BaseCurrencyID, p.QuoteCurrencyID
	needCur, need := quote, size.Mul(price)
	if !marketable {
		need = size.Mul(limit)
	}
	if req.Side == "SELL" {
		needCur, need = base, size
	}
	if a.available[needCur].LessThan(need) {
		return refuse("INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account")
	}
	now := f.now().UTC()
	o := &cbOrder{
		OrderID: uuid.NewString(), ProductID: p.ProductID, UserID: "fake-user", OrderConfiguration: req.OrderConfiguration,
		Side: req.Side, ClientOrderID: req.ClientOrderID, Status: "OPEN", TimeInForce: t.tif, CreatedTime: now,
		CompletionPercentage: "0", FilledSize: "0", AverageFilledPrice: "0", FilledValue: "0", NumberOfFills: "0", TotalFees: "0",
		TotalValueAfterFees: "0", TriggerStatus: "INVALID_ORDER_TYPE", OrderType: t.otype, RejectReason: "REJECT_REASON_UNSPECIFIED",
		ProductType: "SPOT", OrderPlacementSource: "RETAIL_ADVANCED", OutstandingHoldAmount: "0",
	}
	if t.otype == "STOP_LIMIT" || t.otype == "BRACKET" {
		o.TriggerStatus = "STOP_PENDING"
	}
	switch {
	case marketable:
		cost := size.Mul(price)
		if req.Side == "BUY" {
			a.available[quote] = a.available[quote].Sub(cost)
			a.available[base] = a.available[base].Add(size)
		} else {
			a.available[base] = a.available[base].Sub(size)
			a.available[quote] = a.available[quote].Add(cost)
		}
		o.Status, o.FilledSize, o.AverageFilledPrice, o.FilledValue, o.NumberOfFills = "FILLED", size.String(), price.String(), cost.String(), "1"
		o.CompletionPercentage, o.TotalValueAfterFees, o.Settled = "100", cost.String(), true
		o.LastFillTime = &now
	case t.tif == "IMMEDIATE_OR_CANCEL":
		o.Status = "CANCELLED"
	default:
		a.available[needCur] = a.available[needCur].Sub(need)
		a.hold[needCur] = a.hold[needCur].Add(need)
		o.OutstandingHoldAmount = need.String()
	}
	a.orders = append(a.orders, o)
	return f.accepted(o)
}

func (f *Fake) accepted(o *cbOrder) fakeReply {
	cfg := o.OrderConfiguration
	return fakeReply{status: 200, body: cbCreateOrderResponse{
		Success:            true,
		SuccessResponse:    &cbSuccessResponse{OrderID: o.OrderID, ProductID: o.ProductID, Side: o.Side, ClientOrderID: o.ClientOrderID},
		OrderConfiguration: &cfg,
	}}
}

func (f *Fake) listOrders(a *fakeAccount, r *http.Request) fakeReply {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	newest := make([]cbOrder, 0, len(a.orders))
	for i := len(a.orders) - 1; i >= 0; i-- {
		newest = append(newest, *a.orders[i])
	}
	if start > len(newest) {
		start = len(newest)
	}
	end := min(start+limit, len(newest))
	out := cbListOrders{Orders: newest[start:end], Sequence: "0", HasNext: end < len(newest)}
	if out.HasNext {
		out.Cursor = strconv.Itoa(end)
	}
	return fakeReply{status: 200, body: out}
}

func (f *Fake) batchCancel(a *fakeAccount, body []byte) fakeReply {
	var req cbCancelRequest
	if err := decodeStrict(body, &req); err != nil || len(req.OrderIDs) == 0 {
		return grpcErr(400, "INVALID_ARGUMENT", "order_ids is required")
	}
	results := []cbCancelResult{}
	for _, id := range req.OrderIDs {
		res := cbCancelResult{OrderID: id, FailureReason: "UNKNOWN_CANCEL_ORDER"}
		for _, o := range a.orders {
			if o.OrderID != id {
				continue
			}
			if o.Status != "OPEN" {
				res.FailureReason = "COMMANDER_REJECTED_CANCEL_ORDER"
				break
			}
			p := f.products[o.ProductID]
			t, _ := terms(o.OrderConfiguration)
			size := dec(t.size)
			cur, amt := p.BaseCurrencyID, size
			if o.Side == "BUY" {
				cur, amt = p.QuoteCurrencyID, size.Mul(dec(t.limit))
			}
			a.hold[cur] = a.hold[cur].Sub(amt)
			a.available[cur] = a.available[cur].Add(amt)
			o.Status, o.OutstandingHoldAmount = "CANCELLED", "0"
			res.Success, res.FailureReason = true, "UNKNOWN_CANCEL_FAILURE_REASON"
		}
		results = append(results, res)
	}
	return fakeReply{status: 200, body: cbCancelResponse{Results: results}}
}
