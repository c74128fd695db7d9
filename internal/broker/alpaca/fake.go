package alpaca

// Fake is a local Alpaca (trading API v2 + market data API) for tests and the
// dev server. It checks what Alpaca checks and answers the way Alpaca does.
//
// Sources for the behaviour and the error bodies:
//   - Orders, buying power, client order ids:
//     https://docs.alpaca.markets/docs/orders-at-alpaca and
//     https://docs.alpaca.markets/docs/working-with-orders
//   - Error answers: https://alpaca.markets/learn/how-to-fix-common-trading-api-errors-at-alpaca
//     (401 {"message":"unauthorized"}-style auth failures, 403 for buying
//     power and account restrictions); observed bodies in alpacahq/alpaca-py#225
//     (403 {"buying_power":..,"code":40310000,"cost_basis":..,"message":"insufficient buying power"}),
//     alpacahq/alpaca-py#260 (422 "client_order_id must be unique"),
//     alpacahq/Alpaca-API#184 and #91 (422 code 40010001 for unknown assets),
//     bennycode/trading-signals#1079 (422 {"code":42210000,"message":"order is already in \"filled\" state"}),
//     ccxt/ccxt#30103 (40310000 is overloaded: classify by message).
//   - Rate limit: 200 requests/minute per account, 429 with
//     X-Ratelimit-Limit / -Remaining / -Reset (unix seconds), d-e-s-o/apca#33.
//     The fake also sends Retry-After: 1 to keep tests fast; the adapter
//     prefers it and falls back to X-Ratelimit-Reset.
//   - Crypto pair rules: https://docs.alpaca.markets/docs/crypto-trading
//     (GET /v2/assets/{symbol}: min_order_size, min_trade_increment,
//     price_increment; BTC/USD below uses that page's example values). The
//     path takes the legacy "BTCUSD" form: a slash in the path is not routed
//     (alpacahq/alpaca-py#537). Orders that break these rules are refused
//     with 422 40010001; the exact messages are not documented, so the
//     fake's are assumed forms.
//   - Market data: https://docs.alpaca.markets/docs/crypto-pricing-data
//     (v1beta3/crypto/us, "BTC/USD" symbols, prices as JSON numbers);
//     positions list crypto symbols without the slash ("BTCUSD").
//
// Answers are encoded from the fake's own wire types (fake_wire.go), never
// the adapter's.
//
// The fake account is a cash account (multiplier 1, no shorting): buying
// power is cash less what open buy orders hold. Market buys are checked at
// the price plus 3% (Alpaca documents a 2.5-4% collar for the check).

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Fake is a running fake Alpaca server. Safe for concurrent use.
type Fake struct {
	srv *httptest.Server
	now func() time.Time

	mu            sync.Mutex
	accounts      map[string]*fakeAccount // by key id
	assets        map[string]*fakeAsset   // by wire symbol
	open          bool
	failNext      int
	dropNext      int
	rateLimitNext int
	failOCO       int             // fake_oco.go
	halted        map[string]bool // wire symbols whose trading is halted
}

type fakeAsset struct {
	id    string
	class string // us_equity | crypto
	price decimal.Decimal
	// Crypto pair rules (zero for equities).
	minOrderSize, minTradeIncrement, priceIncrement decimal.Decimal
}

type fakeAccount struct {
	id         string
	secret     string
	cash       decimal.Decimal
	lastEquity decimal.Decimal
	createdAt  time.Time
	positions  map[string]*fakePosition // by wire symbol
	orders     map[string]*fakeOrder
	byClient   map[string]*fakeOrder
	created    int
}

type fakePosition struct {
	qty  decimal.Decimal
	cost decimal.Decimal // total cost basis
}

type fakeOrder struct {
	w       alpacaOrder
	reserve decimal.Decimal // cash held by an open buy
	// An OCO (fake_oco.go): the parent (the take-profit limit) names its
	// stop leg; the leg names its parent. Alpaca cancels the other when
	// one fills, and cancelling either cancels both.
	leg, parent string
}

var (
	collar     = decimal.RequireFromString("1.03")
	hundred    = decimal.NewFromInt(100)
	nyOffset   = time.FixedZone("EST", -5*60*60)
	fakePrices = map[string]string{
		"AAPL": "190.00", "MSFT": "410.00", "SPY": "510.00", "TSLA": "175.00", "NVDA": "880.00",
		"BTC/USD": "65000.00", "ETH/USD": "3400.00", "SOL/USD": "150.00",
	}
	// fakeCryptoRules: min_order_size, min_trade_increment, price_increment.
	// BTC/USD is the example on https://docs.alpaca.markets/docs/crypto-trading;
	// the others follow the shape of recorded answers (ccxt's
	// ts/src/test/static/response/alpaca.json: 1e-9 steps, cent ticks).
	fakeCryptoRules = map[string][3]string{
		"BTC/USD": {"0.0001", "0.0001", "1"},
		"ETH/USD": {"0.001", "0.000000001", "0.01"},
		"SOL/USD": {"0.01", "0.000000001", "0.01"},
	}
	// defaultCryptoRules apply to a pair listed by SetPrice.
	defaultCryptoRules = [3]string{"0.000000001", "0.000000001", "0.000000001"}
)

// NewFake starts a fake Alpaca on 127.0.0.1 with a few listed assets, the
// market open.
func NewFake() *Fake {
	f := &Fake{
		now:      time.Now,
		accounts: map[string]*fakeAccount{},
		assets:   map[string]*fakeAsset{},
		open:     true,
		halted:   map[string]bool{},
	}
	for sym, p := range fakePrices {
		f.addAsset(sym, decimal.RequireFromString(p))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/account", f.handle(f.getAccount))
	mux.HandleFunc("POST /v2/orders", f.handle(f.createOrder))
	mux.HandleFunc("GET /v2/orders/{id}", f.handle(f.getOrder))
	mux.HandleFunc("DELETE /v2/orders/{id}", f.handle(f.cancelOrder))
	mux.HandleFunc("GET /v2/orders:by_client_order_id", f.handle(f.getOrderByClientID))
	mux.HandleFunc("GET /v2/positions", f.handle(f.listPositions))
	mux.HandleFunc("GET /v2/clock", f.handle(f.getClock))
	mux.HandleFunc("GET /v2/assets/{symbol}", f.handle(f.getAsset))
	mux.HandleFunc("GET /v2/stocks/{symbol}/trades/latest", f.handle(f.latestStockTrade))
	mux.HandleFunc("GET /v1beta3/crypto/us/latest/trades", f.handle(f.latestCryptoTrades))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 40410000, "message": "endpoint not found"})
	})
	f.srv = httptest.NewServer(mux)
	return f
}

// URL is the base URL of both the trading and the data API.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// CreateAccount opens a funded cash account and returns its key pair.
func (f *Fake) CreateAccount(cash decimal.Decimal) (keyID, secret string) {
	keyID = "PK" + randomToken(18)
	secret = randomToken(40)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[keyID] = &fakeAccount{
		id:         uuid.NewString(),
		secret:     secret,
		cash:       cash,
		lastEquity: cash,
		createdAt:  f.now().UTC(),
		positions:  map[string]*fakePosition{},
		orders:     map[string]*fakeOrder{},
		byClient:   map[string]*fakeOrder{},
	}
	return keyID, secret
}

// Credentials are the connection credentials pointing an adapter at the
// fake (the factory needs Options.AllowCustomURLs).
func (f *Fake) Credentials(keyID, secret string) broker.Credentials {
	return broker.Credentials{CredAPIKey: keyID, CredAPISecret: secret, CredBaseURL: f.URL(), CredDataURL: f.URL()}
}

// SetPrice sets the last trade price of a symbol ("AAPL", "BTC-USD" or
// "BTC/USD"), listing it if new, and fills working orders it crosses.
func (f *Fake) SetPrice(symbol string, price decimal.Decimal) {
	sym := toWireSymbol(symbol)
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.assets[sym]; ok {
		a.price = price
	} else {
		f.addAsset(sym, price)
	}
	f.matchAll()
}

// SetMarketOpen opens or closes the stock market (crypto trades always).
// Opening fills queued market orders.
func (f *Fake) SetMarketOpen(open bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.open = open
	f.matchAll()
}

// SetHalted halts (true) or resumes (false) trading in a symbol ("AAPL",
// "BTC-USD"). While halted, new orders for it are refused with
// 403 {"code":40310000,"message":"asset \"AAPL\" is halted"}: Alpaca
// documents no halt-specific answer; its account and trading restrictions
// come as 403 40310000 classified by message (ccxt/ccxt#30103 lists
// suspended-trade rejections there), so this is the assumed form. The
// adapter keys on the word "halted" (convert.go).
func (f *Fake) SetHalted(symbol string, halted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if halted {
		f.halted[toWireSymbol(symbol)] = true
	} else {
		delete(f.halted, toWireSymbol(symbol))
	}
}

// FailNextOrders makes the next n order submissions answer 503.
func (f *Fake) FailNextOrders(n int) { f.mu.Lock(); f.failNext += n; f.mu.Unlock() }

// DropNextOrderResponse makes the next order submission create the order and
// then close the connection without answering.
func (f *Fake) DropNextOrderResponse() { f.mu.Lock(); f.dropNext++; f.mu.Unlock() }

// RateLimitNext makes the next n requests answer 429.
func (f *Fake) RateLimitNext(n int) { f.mu.Lock(); f.rateLimitNext += n; f.mu.Unlock() }

// OrderCount is how many orders the account of keyID has created.
func (f *Fake) OrderCount(keyID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.accounts[keyID]; ok {
		return a.created
	}
	return 0
}

func (f *Fake) addAsset(sym string, price decimal.Decimal) {
	a := &fakeAsset{id: uuid.NewString(), class: "us_equity", price: price}
	if strings.Contains(sym, "/") {
		a.class = "crypto"
		r, ok := fakeCryptoRules[sym]
		if !ok {
			r = defaultCryptoRules
		}
		a.minOrderSize, a.minTradeIncrement, a.priceIncrement = decimal.RequireFromString(r[0]), decimal.RequireFromString(r[1]), decimal.RequireFromString(r[2])
	}
	f.assets[sym] = a
}

// SetCryptoRules sets a crypto pair's min_order_size, min_trade_increment
// and price_increment ("BTC-USD" or "BTC/USD"); the pair must be listed.
func (f *Fake) SetCryptoRules(symbol string, minOrderSize, minTradeIncrement, priceIncrement decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.assets[toWireSymbol(symbol)]; ok && a.class == "crypto" {
		a.minOrderSize, a.minTradeIncrement, a.priceIncrement = minOrderSize, minTradeIncrement, priceIncrement
	}
}

// getAsset answers GET /v2/assets/{symbol_or_asset_id}: "AAPL", "BTCUSD"
// (crypto in the legacy form, as a path cannot carry the slash) or the
// asset id.
func (f *Fake) getAsset(w http.ResponseWriter, r *http.Request, _ *fakeAccount) {
	key := strings.ToUpper(r.PathValue("symbol"))
	for sym, a := range f.assets {
		if strings.ReplaceAll(sym, "/", "") != key && !strings.EqualFold(a.id, key) {
			continue
		}
		out := alpacaAsset{ID: a.id, Class: a.class, Exchange: "NASDAQ", Symbol: sym, Name: sym, Status: "active",
			Tradable: true, Marginable: a.class != "crypto", Shortable: a.class != "crypto", EasyToBorrow: a.class != "crypto",
			Fractionable: true, Attributes: []string{}}
		if a.class == "crypto" {
			out.Exchange, out.Name = "CRYPTO", sym+" pair"
			out.MinOrderSize, out.MinTradeIncrement, out.PriceIncrement = a.minOrderSize.String(), a.minTradeIncrement.String(), a.priceIncrement.String()
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"code": 40410000, "message": "asset not found for " + key})
}

// handle serialises requests, answers armed rate limits, and authenticates.
func (f *Fake) handle(fn func(w http.ResponseWriter, r *http.Request, a *fakeAccount)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.rateLimitNext > 0 {
			f.rateLimitNext--
			h := w.Header()
			h.Set("X-Ratelimit-Limit", strconv.Itoa(PublishedRequestsPerMinute))
			h.Set("X-Ratelimit-Remaining", "0")
			h.Set("X-Ratelimit-Reset", strconv.FormatInt(f.now().Add(time.Second).Unix(), 10))
			h.Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"code": 42910000, "message": "rate limit exceeded"})
			return
		}
		key, secret := r.Header.Get(headerKeyID), r.Header.Get(headerSecret)
		a, ok := f.accounts[key]
		switch {
		case key == "" || secret == "" || !ok:
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 40110000, "message": "request is not authorized"})
			return
		case secret != a.secret:
			writeJSON(w, http.StatusForbidden, map[string]any{"message": "forbidden"})
			return
		}
		fn(w, r, a)
	}
}

func (f *Fake) getAccount(w http.ResponseWriter, _ *http.Request, a *fakeAccount) {
	mv := decimal.Zero
	for sym, p := range a.positions {
		mv = mv.Add(p.qty.Mul(f.assets[sym].price))
	}
	bp := a.cash.Sub(a.held())
	writeJSON(w, http.StatusOK, alpacaAccount{
		ID: a.id, AccountNumber: "PA" + strings.ToUpper(strings.ReplaceAll(a.id, "-", "")[:10]), Status: "ACTIVE", CryptoStatus: "ACTIVE", Currency: "USD",
		Cash: a.cash, BuyingPower: bp, NonMarginBuyingPower: bp, RegTBuyingPower: bp,
		Equity: a.cash.Add(mv), PortfolioValue: a.cash.Add(mv), LastEquity: a.lastEquity,
		LongMarketValue: mv, Multiplier: decimal.NewFromInt(1), CreatedAt: a.createdAt,
	})
}

func (a *fakeAccount) held() decimal.Decimal {
	sum := decimal.Zero
	for _, o := range a.orders {
		if o.working() {
			sum = sum.Add(o.reserve)
		}
	}
	return sum
}

func (o *fakeOrder) working() bool {
	switch o.w.Status {
	case "filled", "canceled", "expired", "rejected", "replaced":
		return false
	}
	return true
}

// fakeOrderRequest accepts quantities and prices as JSON strings or numbers.
type fakeOrderRequest struct {
	Symbol        string           `json:"symbol"`
	Qty           *decimal.Decimal `json:"qty"`
	Notional      *decimal.Decimal `json:"notional"`
	Side          string           `json:"side"`
	Type          string           `json:"type"`
	TimeInForce   string           `json:"time_in_force"`
	LimitPrice    *decimal.Decimal `json:"limit_price"`
	StopPrice     *decimal.Decimal `json:"stop_price"`
	TrailPercent  *decimal.Decimal `json:"trail_percent"`
	ExtendedHours bool             `json:"extended_hours"`
	ClientOrderID string           `json:"client_order_id"`
	// Advanced orders (https://docs.alpaca.markets/docs/orders-at-alpaca):
	// order_class simple|bracket|oco|oto with take_profit / stop_loss.
	OrderClass string `json:"order_class"`
	TakeProfit *struct {
		LimitPrice *decimal.Decimal `json:"limit_price"`
	} `json:"take_profit"`
	StopLoss *struct {
		StopPrice  *decimal.Decimal `json:"stop_price"`
		LimitPrice *decimal.Decimal `json:"limit_price"`
	} `json:"stop_loss"`
}

func (f *Fake) createOrder(w http.ResponseWriter, r *http.Request, a *fakeAccount) {
	if f.failNext > 0 {
		f.failNext--
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"))
		return
	}
	var req fakeOrderRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 40010000, "message": "request body format is invalid"})
		return
	}
	asset, ok := f.assets[req.Symbol]
	if !ok {
		unprocessable(w, 40010001, fmt.Sprintf("asset %q not found", req.Symbol))
		return
	}
	crypto := asset.class == "crypto"
	switch req.OrderClass {
	case "", "simple":
	case "oco":
		f.createOCO(w, &req, a, asset)
		return
	default:
		unprocessable(w, 40010001, fmt.Sprintf("order_class %q is not supported by this fake", req.OrderClass))
		return
	}
	if msg := validateOrder(&req, crypto); msg != "" {
		unprocessable(w, 40010001, msg)
		return
	}
	if msg := checkCryptoRules(&req, asset); msg != "" {
		unprocessable(w, 40010001, msg)
		return
	}
	if f.halted[req.Symbol] {
		writeJSON(w, http.StatusForbidden, map[string]any{"code": 40310000, "message": fmt.Sprintf("asset %q is halted", req.Symbol)})
		return
	}
	if msg := subPenny(req.LimitPrice, "limit_price", crypto) + subPenny(req.StopPrice, "stop_price", crypto); msg != "" {
		unprocessable(w, 42210000, msg)
		return
	}
	if req.ClientOrderID == "" {
		req.ClientOrderID = uuid.NewString()
	}
	if _, dup := a.byClient[req.ClientOrderID]; dup {
		unprocessable(w, 40010001, "client_order_id must be unique")
		return
	}
	qty := *req.Qty
	var reserve decimal.Decimal
	if req.Side == "buy" {
		cost := qty.Mul(f.checkPrice(&req, asset))
		avail := a.cash.Sub(a.held())
		if cost.GreaterThan(avail) {
			if crypto {
				writeJSON(w, http.StatusForbidden, map[string]any{
					"code": 40310000, "balance": avail.String(), "symbol": "USD", "available": avail.String(),
					"message": fmt.Sprintf("insufficient balance for USD (requested: %s, available: %s)", cost.Round(2), avail.Round(2)),
				})
			} else {
				writeJSON(w, http.StatusForbidden, map[string]any{
					"code": 40310000, "buying_power": avail.String(), "cost_basis": cost.Round(2).String(),
					"message": "insufficient buying power",
				})
			}
			return
		}
		reserve = cost
	} else {
		have := decimal.Zero
		if p, ok := a.positions[req.Symbol]; ok {
			have = p.qty
		}
		for _, o := range a.orders {
			if o.working() && o.w.Side == "sell" && o.w.Symbol == req.Symbol && o.parent == "" {
				have = have.Sub(deref(o.w.Qty).Sub(o.w.FilledQty))
			}
		}
		if qty.GreaterThan(have) {
			writeJSON(w, http.StatusForbidden, map[string]any{
				"code": 40310000, "symbol": req.Symbol, "existing_qty": have.String(), "held_for_orders": "0",
				"message": fmt.Sprintf("insufficient qty available for order (requested: %s, available: %s)", qty, have),
			})
			return
		}
	}
	now := f.now().UTC()
	o := &fakeOrder{reserve: reserve, w: alpacaOrder{
		ID: uuid.NewString(), ClientOrderID: req.ClientOrderID,
		CreatedAt: now, UpdatedAt: now, SubmittedAt: now,
		AssetID: asset.id, Symbol: req.Symbol, AssetClass: asset.class,
		Qty: &qty, FilledQty: decimal.Zero, OrderClass: "simple",
		Type: req.Type, OrderType: req.Type, Side: req.Side, TimeInForce: req.TimeInForce,
		LimitPrice: req.LimitPrice, StopPrice: req.StopPrice, TrailPercent: req.TrailPercent,
		Status: "accepted", ExtendedHours: req.ExtendedHours,
	}}
	if crypto || f.open {
		o.w.Status = "new"
	}
	a.orders[o.w.ID] = o
	a.byClient[o.w.ClientOrderID] = o
	a.created++
	f.match(a, o)
	if (req.TimeInForce == "ioc" || req.TimeInForce == "fok") && o.working() {
		o.w.Status = "canceled"
		o.w.CanceledAt = &now
	}
	if f.dropNext > 0 {
		f.dropNext--
		dropConnection(w)
		return
	}
	writeJSON(w, http.StatusOK, o.w)
}

// validateOrder checks the parameters Alpaca validates with 422 / 40010001.
func validateOrder(req *fakeOrderRequest, crypto bool) string {
	switch {
	case req.Notional != nil:
		return "notional orders are not supported by this fake"
	case req.Qty == nil:
		return "qty is required"
	case !req.Qty.IsPositive():
		return "qty must be > 0"
	case !req.Qty.Equal(req.Qty.Truncate(qtyPlaces)):
		return "qty must be in increments of 0.000000001"
	case req.Side != "buy" && req.Side != "sell":
		return fmt.Sprintf("invalid side %q", req.Side)
	case len(req.ClientOrderID) > 128:
		return "client_order_id must be no more than 128 characters"
	}
	switch req.Type {
	case "market":
	case "limit":
		if req.LimitPrice == nil || !req.LimitPrice.IsPositive() {
			return "limit_price is required for limit orders"
		}
	case "stop":
		if req.StopPrice == nil || !req.StopPrice.IsPositive() {
			return "stop_price is required for stop orders"
		}
	case "stop_limit":
		if req.LimitPrice == nil || req.StopPrice == nil || !req.LimitPrice.IsPositive() || !req.StopPrice.IsPositive() {
			return "stop_price and limit_price are required for stop_limit orders"
		}
	case "trailing_stop":
		if req.TrailPercent == nil || !req.TrailPercent.IsPositive() || req.TrailPercent.GreaterThanOrEqual(hundred) {
			return "trail_percent must be > 0 and < 100"
		}
	default:
		return fmt.Sprintf("invalid order type %q", req.Type)
	}
	if crypto {
		if req.TimeInForce != "gtc" && req.TimeInForce != "ioc" {
			return "invalid crypto time_in_force"
		}
		if req.Type == "trailing_stop" || req.Type == "stop" {
			return fmt.Sprintf("invalid order type for crypto order: %s", req.Type)
		}
		return ""
	}
	switch req.TimeInForce {
	case "day", "gtc", "opg", "cls", "ioc", "fok":
	default:
		return fmt.Sprintf("invalid time_in_force %q", req.TimeInForce)
	}
	if !req.Qty.Equal(req.Qty.Truncate(0)) && req.TimeInForce != "day" {
		return "fractional orders must be DAY orders"
	}
	if req.ExtendedHours && (req.Type != "limit" || req.TimeInForce != "day") {
		return "extended hours order must be DAY limit orders"
	}
	return ""
}

// checkCryptoRules enforces a crypto pair's min_order_size,
// min_trade_increment and price_increment (messages are assumed forms).
func checkCryptoRules(req *fakeOrderRequest, a *fakeAsset) string {
	if a.class != "crypto" {
		return ""
	}
	onStep := func(v, step decimal.Decimal) bool { return !step.IsPositive() || v.Mod(step).IsZero() }
	switch {
	case req.Qty.LessThan(a.minOrderSize):
		return fmt.Sprintf("qty must be >= %s", a.minOrderSize)
	case !onStep(*req.Qty, a.minTradeIncrement):
		return fmt.Sprintf("qty must be in increments of %s", a.minTradeIncrement)
	case req.LimitPrice != nil && !onStep(*req.LimitPrice, a.priceIncrement):
		return fmt.Sprintf("limit_price must be in increments of %s", a.priceIncrement)
	case req.StopPrice != nil && !onStep(*req.StopPrice, a.priceIncrement):
		return fmt.Sprintf("stop_price must be in increments of %s", a.priceIncrement)
	}
	return ""
}

// subPenny enforces the stock price increments (0.01 at or above $1).
func subPenny(p *decimal.Decimal, field string, crypto bool) string {
	if p == nil || crypto {
		return ""
	}
	places := int32(2)
	if p.LessThan(decimal.NewFromInt(1)) {
		places = 4
	}
	if !p.Equal(p.Truncate(places)) {
		return fmt.Sprintf("invalid %s %s. sub-penny increment does not fulfill minimum pricing criteria", field, p)
	}
	return ""
}

// checkPrice is the per-unit price of the buying-power check.
func (f *Fake) checkPrice(req *fakeOrderRequest, asset *fakeAsset) decimal.Decimal {
	switch req.Type {
	case "limit", "stop_limit":
		return *req.LimitPrice
	case "stop":
		return decimal.Max(*req.StopPrice, asset.price).Mul(collar)
	}
	return asset.price.Mul(collar)
}

func (f *Fake) matchAll() {
	for _, a := range f.accounts {
		ids := make([]string, 0, len(a.orders))
		for id := range a.orders {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			f.match(a, a.orders[id])
		}
	}
}

// match fills a working order that the current price crosses.
func (f *Fake) match(a *fakeAccount, o *fakeOrder) {
	if !o.working() {
		return
	}
	asset := f.assets[o.w.Symbol]
	if asset.class != "crypto" && !f.open {
		return
	}
	if o.w.Status == "accepted" {
		o.w.Status = "new"
	}
	p := asset.price
	buy := o.w.Side == "buy"
	crossesLimit := func() bool {
		l := deref(o.w.LimitPrice)
		return (buy && p.LessThanOrEqual(l)) || (!buy && p.GreaterThanOrEqual(l))
	}
	stopHit := func() bool {
		s := deref(o.w.StopPrice)
		return (buy && p.GreaterThanOrEqual(s)) || (!buy && p.LessThanOrEqual(s))
	}
	fill := false
	switch o.w.Type {
	case "market":
		fill = true
	case "limit":
		fill = crossesLimit()
	case "stop":
		fill = stopHit()
	case "stop_limit":
		fill = stopHit() && crossesLimit()
	case "trailing_stop":
		pct := deref(o.w.TrailPercent).Div(hundred)
		hwm := deref(o.w.HWM)
		if hwm.IsZero() || (!buy && p.GreaterThan(hwm)) || (buy && p.LessThan(hwm)) {
			hwm = p
		}
		stop := hwm.Mul(decimal.NewFromInt(1).Sub(pct))
		if buy {
			stop = hwm.Mul(decimal.NewFromInt(1).Add(pct))
		}
		stop = stop.Round(2)
		o.w.HWM, o.w.StopPrice = &hwm, &stop
		fill = stopHit()
	}
	if fill {
		f.fill(a, o, p)
	}
}

func (f *Fake) fill(a *fakeAccount, o *fakeOrder, price decimal.Decimal) {
	now := f.now().UTC()
	qty := deref(o.w.Qty).Sub(o.w.FilledQty)
	value := qty.Mul(price)
	pos := a.positions[o.w.Symbol]
	if pos == nil {
		pos = &fakePosition{}
		a.positions[o.w.Symbol] = pos
	}
	if o.w.Side == "buy" {
		a.cash = a.cash.Sub(value)
		pos.qty = pos.qty.Add(qty)
		pos.cost = pos.cost.Add(value)
	} else {
		a.cash = a.cash.Add(value)
		if pos.qty.IsPositive() {
			pos.cost = pos.cost.Sub(pos.cost.Mul(qty).Div(pos.qty))
		}
		pos.qty = pos.qty.Sub(qty)
	}
	if pos.qty.IsZero() {
		delete(a.positions, o.w.Symbol)
	}
	filled := deref(o.w.Qty)
	o.w.FilledQty = filled
	o.w.FilledAvgPrice = &price
	o.w.Status = "filled"
	o.w.FilledAt = &now
	o.w.UpdatedAt = now
	o.reserve = decimal.Zero
	f.ocoFilled(a, o)
}

func (f *Fake) getOrder(w http.ResponseWriter, r *http.Request, a *fakeAccount) {
	o, ok := a.orders[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 40410000, "message": "order not found"})
		return
	}
	writeJSON(w, http.StatusOK, f.view(a, o))
}

func (f *Fake) getOrderByClientID(w http.ResponseWriter, r *http.Request, a *fakeAccount) {
	cid := r.URL.Query().Get("client_order_id")
	if cid == "" {
		unprocessable(w, 40010001, "client_order_id is missing")
		return
	}
	o, ok := a.byClient[cid]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 40410000, "message": "order not found"})
		return
	}
	writeJSON(w, http.StatusOK, f.view(a, o))
}

func (f *Fake) cancelOrder(w http.ResponseWriter, r *http.Request, a *fakeAccount) {
	o, ok := a.orders[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 40410000, "message": "order not found"})
		return
	}
	if !o.working() {
		unprocessable(w, 42210000, fmt.Sprintf("order is already in %q state", o.w.Status))
		return
	}
	now := f.now().UTC()
	o.w.Status = "canceled"
	o.w.CanceledAt = &now
	o.w.UpdatedAt = now
	o.reserve = decimal.Zero
	f.ocoCancelled(a, o)
	w.WriteHeader(http.StatusNoContent)
}

func (f *Fake) listPositions(w http.ResponseWriter, _ *http.Request, a *fakeAccount) {
	syms := make([]string, 0, len(a.positions))
	for s := range a.positions {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	out := make([]alpacaPosition, 0, len(syms))
	for _, s := range syms {
		p, asset := a.positions[s], f.assets[s]
		mv := p.qty.Mul(asset.price)
		pl := mv.Sub(p.cost)
		price := asset.price
		exchange := "NASDAQ"
		if asset.class == "crypto" {
			exchange = "CRYPTO"
		}
		out = append(out, alpacaPosition{
			AssetID: asset.id, Symbol: strings.ReplaceAll(s, "/", ""), Exchange: exchange, AssetClass: asset.class,
			Qty: p.qty, QtyAvailable: p.qty, AvgEntryPrice: p.cost.DivRound(p.qty, 9), Side: "long",
			MarketValue: &mv, CostBasis: p.cost, UnrealizedPL: &pl, CurrentPrice: &price, LastdayPrice: &price,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func (f *Fake) getClock(w http.ResponseWriter, _ *http.Request, _ *fakeAccount) {
	now := f.now().In(nyOffset)
	c := alpacaClock{Timestamp: now, IsOpen: f.open}
	if f.open {
		c.NextClose = now.Add(2 * time.Hour).Truncate(time.Minute)
		c.NextOpen = now.Add(20 * time.Hour).Truncate(time.Minute)
	} else {
		c.NextOpen = now.Add(12 * time.Hour).Truncate(time.Minute)
		c.NextClose = now.Add(18 * time.Hour).Truncate(time.Minute)
	}
	writeJSON(w, http.StatusOK, c)
}

func (f *Fake) latestStockTrade(w http.ResponseWriter, r *http.Request, _ *fakeAccount) {
	sym := r.PathValue("symbol")
	asset, ok := f.assets[sym]
	if !ok || asset.class != "us_equity" {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "not found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"symbol": sym, "trade": f.tradeJSON(asset)})
}

func (f *Fake) latestCryptoTrades(w http.ResponseWriter, r *http.Request, _ *fakeAccount) {
	syms := r.URL.Query().Get("symbols")
	if syms == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "missing symbols"})
		return
	}
	trades := map[string]any{}
	for _, s := range strings.Split(syms, ",") {
		if asset, ok := f.assets[s]; ok && asset.class == "crypto" {
			trades[s] = f.tradeJSON(asset)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trades": trades})
}

// tradeJSON renders a trade with the price as a JSON number, as Alpaca does.
func (f *Fake) tradeJSON(a *fakeAsset) map[string]any {
	return map[string]any{
		"t": f.now().UTC().Format(time.RFC3339Nano), "x": "V", "p": json.Number(a.price.String()),
		"s": json.Number("100"), "i": 52983525029461, "c": []string{"@"}, "z": "C",
	}
}

func unprocessable(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http aborts the response without answering
}

func randomToken(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
