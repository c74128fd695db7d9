package coinbase

// Fake is a local Coinbase Advanced Trade exchange for tests, modelled on the
// official documentation:
//   https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication
//     (CDP API keys: Authorization: Bearer <JWT>, ES256, header kid = key name + nonce,
//      claims iss "cdp", sub = key name, nbf/exp 2 minutes, uri "METHOD host/path")
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

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Fake is a running fake Coinbase. Create with NewFake, stop with Close.
type Fake struct {
	srv *httptest.Server
	now func() time.Time

	mu            sync.Mutex
	products      map[string]*wireProduct
	accounts      map[string]*fakeAccount // by key name
	lastKey       string
	failNext      int
	dropNext      bool
	rateLimitNext int
}

type fakeAccount struct {
	pub       *ecdsa.PublicKey
	available map[string]decimal.Decimal
	hold      map[string]decimal.Decimal
	orders    []*wireOrder // creation order
}

// NewFake starts a fake listing BTC-USD (base increment 0.00000001, price
// increment 0.01, quote min 1, price 50000) and ETH-USD (price 3000).
func NewFake() *Fake {
	f := &Fake{now: time.Now, products: map[string]*wireProduct{}, accounts: map[string]*fakeAccount{}}
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
	f.products[id] = &wireProduct{
		ProductID: id, Price: price, BaseIncrement: baseIncrement, QuoteIncrement: priceIncrement, PriceIncrement: priceIncrement,
		BaseMinSize: baseMin, BaseMaxSize: "1000", QuoteMinSize: quoteMin, QuoteMaxSize: "10000000",
		BaseCurrencyID: base, QuoteCurrencyID: quote, Status: "online", ProductType: "SPOT",
	}
}

// NewAccount creates an account holding cash USD and a CDP API key for it;
// it returns credentials (api_key = key name, api_secret = EC private key
// PEM, base_url).
func (f *Fake) NewAccount(cash decimal.Decimal) broker.Credentials {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("ecdsa: " + err.Error())
	}
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		panic("x509: " + err.Error())
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	name := "organizations/" + uuid.NewString() + "/apiKeys/" + uuid.NewString()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[name] = &fakeAccount{
		pub:       &priv.PublicKey,
		available: map[string]decimal.Decimal{cashCurrency: cash},
		hold:      map[string]decimal.Decimal{},
	}
	f.lastKey = name
	return broker.Credentials{"api_key": name, "api_secret": pemKey, "base_url": f.srv.URL}
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
	return fakeReply{status: status, body: map[string]string{"error": code, "error_details": msg, "message": msg}}
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
	_ = json.NewEncoder(w).Encode(rep.body)
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
				return fakeReply{status: 200, body: map[string]any{"order": o}}, false
			}
		}
		return grpcErr(404, "NOT_FOUND", "order with this orderID was not found"), false
	case r.Method == http.MethodPost && path == "/orders/batch_cancel":
		return f.batchCancel(acct, body), false
	}
	return grpcErr(404, "NOT_FOUND", "Not Found"), false
}

// authenticate verifies the bearer JWT as Advanced Trade does: ES256 signed
// by the key named in kid, iss "cdp", sub = kid, unexpired, at most two
// minutes long, a nonce in the header, and a uri claim naming this exact
// request's method, host and path.
func (f *Fake) authenticate(r *http.Request) (*fakeAccount, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	var acct *fakeAccount
	tok, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		acct = f.accounts[kid]
		if acct == nil {
			return nil, errors.New("unknown kid")
		}
		if n, _ := t.Header["nonce"].(string); n == "" {
			return nil, errors.New("no nonce")
		}
		return acct.pub, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer("cdp"), jwt.WithExpirationRequired(),
		jwt.WithLeeway(5*time.Second), jwt.WithTimeFunc(f.now))
	if err != nil || !tok.Valid {
		return nil, false
	}
	claims, _ := tok.Claims.(jwt.MapClaims)
	kid, _ := tok.Header["kid"].(string)
	if sub, _ := claims["sub"].(string); sub != kid {
		return nil, false
	}
	nbf, err1 := claims.GetNotBefore()
	exp, err2 := claims.GetExpirationTime()
	if err1 != nil || err2 != nil || nbf == nil || exp.Sub(nbf.Time) > jwtLifetime {
		return nil, false
	}
	if uri, _ := claims["uri"].(string); uri != r.Method+" "+r.Host+r.URL.Path {
		return nil, false
	}
	return acct, true
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
	list := []wireAccount{}
	for c := range currencies {
		list = append(list, wireAccount{
			UUID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(c)).String(), Name: c + " Wallet", Currency: c,
			AvailableBalance: wireMoney{Value: a.available[c].String(), Currency: c},
			Hold:             wireMoney{Value: a.hold[c].String(), Currency: c},
			Active:           true, Type: "ACCOUNT_TYPE_CRYPTO",
		})
	}
	return fakeReply{status: 200, body: wireAccounts{Accounts: list, HasNext: false, Size: len(list)}}
}

func refuse(reason, preview, msg string) fakeReply {
	return fakeReply{status: 200, body: wireCreateOrderResponse{
		Success: false, FailureReason: "UNKNOWN_FAILURE_REASON",
		ErrorResponse: &wireErrorResponse{Error: reason, Message: msg, PreviewFailureReason: preview, NewOrderFailureReason: reason},
	}}
}

func (f *Fake) createOrder(a *fakeAccount, body []byte) fakeReply {
	var req wireCreateOrder
	if err := json.Unmarshal(body, &req); err != nil {
		return grpcErr(400, "INVALID_ARGUMENT", "invalid request body")
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
	cfg := req.OrderConfiguration
	n := 0
	for _, set := range []bool{cfg.MarketIOC != nil, cfg.LimitGTC != nil, cfg.SorLimitIOC != nil, cfg.StopLimitGTC != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return refuse("UNSUPPORTED_ORDER_CONFIGURATION", "PREVIEW_INVALID_ORDER_CONFIG", "exactly one order configuration is required")
	}
	var sizeS, limitS, stopS, otype, tif string
	switch {
	case cfg.MarketIOC != nil:
		sizeS, otype, tif = cfg.MarketIOC.BaseSize, "MARKET", "IMMEDIATE_OR_CANCEL"
	case cfg.LimitGTC != nil:
		sizeS, limitS, otype, tif = cfg.LimitGTC.BaseSize, cfg.LimitGTC.LimitPrice, "LIMIT", "GOOD_UNTIL_CANCELLED"
	case cfg.SorLimitIOC != nil:
		sizeS, limitS, otype, tif = cfg.SorLimitIOC.BaseSize, cfg.SorLimitIOC.LimitPrice, "LIMIT", "IMMEDIATE_OR_CANCEL"
	case cfg.StopLimitGTC != nil:
		sizeS, limitS, stopS, otype, tif = cfg.StopLimitGTC.BaseSize, cfg.StopLimitGTC.LimitPrice, cfg.StopLimitGTC.StopPrice, "STOP_LIMIT", "GOOD_UNTIL_CANCELLED"
	}
	price := decimal.RequireFromString(p.Price)
	size, err := decimal.NewFromString(sizeS)
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
	if otype != "MARKET" {
		if limit, err = decimal.NewFromString(limitS); err != nil || limit.Sign() <= 0 {
			return refuse("INVALID_LIMIT_PRICE", "PREVIEW_INVALID_LIMIT_PRICE", "limit_price is required")
		}
		if !limit.Mod(tick).IsZero() {
			return refuse("INVALID_PRICE_PRECISION", "PREVIEW_INVALID_PRICE_PRECISION", "Too many decimals in order price")
		}
	}
	if otype == "STOP_LIMIT" {
		if stop, err = decimal.NewFromString(stopS); err != nil || stop.Sign() <= 0 || !stop.Mod(tick).IsZero() {
			return refuse("INVALID_STOP_PRICE", "PREVIEW_INVALID_STOP_PRICE", "Invalid stop price")
		}
		dir := cfg.StopLimitGTC.StopDirection
		if (dir == "STOP_DIRECTION_STOP_DOWN" && stop.GreaterThanOrEqual(price)) || (dir == "STOP_DIRECTION_STOP_UP" && stop.LessThanOrEqual(price)) {
			return refuse("INVALID_STOP_PRICE", "PREVIEW_STOP_PRICE_ABOVE_LAST_TRADE_PRICE", "Stop price would trigger immediately")
		}
		if dir != "STOP_DIRECTION_STOP_DOWN" && dir != "STOP_DIRECTION_STOP_UP" {
			return refuse("INVALID_ARGUMENT", "PREVIEW_INVALID_ORDER_CONFIG", "stop_direction is required")
		}
	}
	valuePrice := price
	if otype != "MARKET" {
		valuePrice = limit
	}
	if size.Mul(valuePrice).LessThan(decimal.RequireFromString(p.QuoteMinSize)) {
		return refuse("INVALID_QUOTE_SIZE_TOO_SMALL", "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL", "Order value is too small")
	}
	marketable := otype == "MARKET" || (otype == "LIMIT" && ((req.Side == "BUY" && limit.GreaterThanOrEqual(price)) || (req.Side == "SELL" && limit.LessThanOrEqual(price))))
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
	o := &wireOrder{
		OrderID: uuid.NewString(), ProductID: p.ProductID, UserID: "fake-user", OrderConfiguration: cfg,
		Side: req.Side, ClientOrderID: req.ClientOrderID, Status: "OPEN", TimeInForce: tif, CreatedTime: now,
		FilledSize: "0", AverageFilledPrice: "0", FilledValue: "0", NumberOfFills: "0", TotalFees: "0", OrderType: otype,
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
		o.LastFillTime = &now
	case tif == "IMMEDIATE_OR_CANCEL":
		o.Status = "CANCELLED"
	default:
		a.available[needCur] = a.available[needCur].Sub(need)
		a.hold[needCur] = a.hold[needCur].Add(need)
	}
	a.orders = append(a.orders, o)
	return f.accepted(o)
}

func (f *Fake) accepted(o *wireOrder) fakeReply {
	resp := wireCreateOrderResponse{Success: true, OrderID: o.OrderID, OrderConfiguration: &o.OrderConfiguration}
	resp.SuccessResponse = &struct {
		OrderID       string `json:"order_id"`
		ProductID     string `json:"product_id"`
		Side          string `json:"side"`
		ClientOrderID string `json:"client_order_id"`
	}{o.OrderID, o.ProductID, o.Side, o.ClientOrderID}
	return fakeReply{status: 200, body: resp}
}

func (f *Fake) listOrders(a *fakeAccount, r *http.Request) fakeReply {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	newest := make([]wireOrder, 0, len(a.orders))
	for i := len(a.orders) - 1; i >= 0; i-- {
		newest = append(newest, *a.orders[i])
	}
	if start > len(newest) {
		start = len(newest)
	}
	end := min(start+limit, len(newest))
	out := wireOrders{Orders: newest[start:end], HasNext: end < len(newest)}
	if out.HasNext {
		out.Cursor = strconv.Itoa(end)
	}
	return fakeReply{status: 200, body: out}
}

func (f *Fake) batchCancel(a *fakeAccount, body []byte) fakeReply {
	var req struct {
		OrderIDs []string `json:"order_ids"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.OrderIDs) == 0 {
		return grpcErr(400, "INVALID_ARGUMENT", "order_ids is required")
	}
	results := []wireCancelResult{}
	for _, id := range req.OrderIDs {
		res := wireCancelResult{OrderID: id, FailureReason: "UNKNOWN_CANCEL_ORDER"}
		for _, o := range a.orders {
			if o.OrderID != id {
				continue
			}
			if o.Status != "OPEN" {
				res.FailureReason = "COMMANDER_REJECTED_CANCEL_ORDER"
				break
			}
			p := f.products[o.ProductID]
			size := dec(orderSize(o.OrderConfiguration))
			cur, amt := p.BaseCurrencyID, size
			if o.Side == "BUY" {
				cur, amt = p.QuoteCurrencyID, size.Mul(dec(orderLimit(o.OrderConfiguration)))
			}
			a.hold[cur] = a.hold[cur].Sub(amt)
			a.available[cur] = a.available[cur].Add(amt)
			o.Status = "CANCELLED"
			res.Success, res.FailureReason = true, "UNKNOWN_CANCEL_FAILURE_REASON"
		}
		results = append(results, res)
	}
	return fakeReply{status: 200, body: map[string]any{"results": results}}
}

func orderSize(c wireOrderConfig) string {
	switch {
	case c.LimitGTC != nil:
		return c.LimitGTC.BaseSize
	case c.StopLimitGTC != nil:
		return c.StopLimitGTC.BaseSize
	case c.SorLimitIOC != nil:
		return c.SorLimitIOC.BaseSize
	case c.MarketIOC != nil:
		return c.MarketIOC.BaseSize
	}
	return "0"
}

func orderLimit(c wireOrderConfig) string {
	switch {
	case c.LimitGTC != nil:
		return c.LimitGTC.LimitPrice
	case c.StopLimitGTC != nil:
		return c.StopLimitGTC.LimitPrice
	case c.SorLimitIOC != nil:
		return c.SorLimitIOC.LimitPrice
	}
	return "0"
}
