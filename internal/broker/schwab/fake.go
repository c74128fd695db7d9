package schwab

// Fake is a local stand-in for the Charles Schwab Trader API, speaking the
// wire format documented at
//   https://developer.schwab.com/products/trader-api--individual
//   (Accounts and Trading Production v1: accountNumbers/hashValue,
//   accounts/{accountNumber}?fields=positions, orders POST 201 + Location,
//   orders GET with fromEnteredTime/toEnteredTime, orders/{orderId} GET and
//   DELETE, errors {"message": "...", "errors": [...]};
//   Market Data Production v1: quotes with "errors": {"invalidSymbols"},
//   markets?markets=equity&date= with sessionHours; errors
//   {"errors": [{"id","status","title","detail"}]};
//   Authenticate with OAuth: /v1/oauth/authorize, /v1/oauth/token with Basic
//   app key:secret, 30-minute access tokens, 7-day refresh tokens)
// and the refresh failure body Schwab sends for an expired refresh token
// (error "unsupported_token_type" wrapping "refresh_token_authentication_error",
// as reported in tylerebowers/Schwabdev#40).
//
// What it checks, like Schwab: Basic app credentials and a form body at the
// token endpoint, refresh tokens that expire after seven days, a valid
// unexpired Bearer access token on every API call (401 otherwise), the
// account hash belonging to the token's login, JSON order bodies (SINGLE
// strategy — or an OCO of two SINGLE orders, whose fill of one cancels the
// other — one EQUITY leg, BUY/SELL, whole-share quantity, price/stop price
// per order type on the 0.01 tick, known durations and sessions), known
// symbols, cash for buys, both entered-time bounds on order queries. Controls
// simulate 429 with Retry-After, 503 storms on order submission, answers
// dropped after the order was accepted, and revoked or expiring tokens.
// Market orders fill at once at the fake's price; limit and stop orders work
// until SetPrice makes them marketable.
//
// The wire is read and written with the fake's own types (fake_wire.go),
// never with the adapter's; order bodies are decoded strictly, so a field
// the adapter misspells or sends as a string is refused with HTTP 400.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Fake is the fake Trader API server. Safe for concurrent use.
type Fake struct {
	srv *httptest.Server
	app App

	mu            sync.Mutex
	now           func() time.Time
	accessTTL     time.Duration
	access        map[string]fakeToken // access token → grant
	refresh       map[string]fakeToken // refresh token → grant
	codes         map[string]*fakeAccount
	accounts      map[string]*fakeAccount // hash → account
	last          *fakeAccount
	prices        map[string]decimal.Decimal
	holidays      map[string]bool // yyyy-mm-dd
	nextAccount   int
	nextOrderID   int64
	failNext      int
	rateLimitNext int
	retryAfter    string
	dropNext      bool
	failOCO       int // next OCO submissions answered 503
	refreshes     int
	requests      int
	halted        map[string]bool // symbols whose trading is halted
}

type fakeToken struct {
	account *fakeAccount
	expires time.Time
}

type fakeAccount struct {
	number, hash string
	cash         decimal.Decimal
	startEquity  decimal.Decimal
	positions    map[string]*fakePosition
	orders       []*fakeOrder
}

type fakePosition struct{ qty, avg decimal.Decimal }

type fakeOrder struct {
	id          int64
	account     *fakeAccount
	req         schwabOrderRequestJSON
	symbol      string
	instruction string
	qty         decimal.Decimal
	filled      decimal.Decimal
	fillPrice   decimal.Decimal
	price       decimal.Decimal
	stop        decimal.Decimal
	status      string // WORKING | FILLED | CANCELED | PENDING_ACTIVATION
	entered     time.Time
	closed      time.Time
	children    []*fakeOrder // an OCO's two orders (the OCO itself has no legs)
	parent      *fakeOrder   // the OCO an order belongs to
}

func (o *fakeOrder) isOCO() bool { return o.children != nil }

// orderView is an order's JSON: an OCO with its children, or a single order.
func (f *Fake) orderView(o *fakeOrder) any {
	if !o.isOCO() {
		return f.orderJSON(o)
	}
	acct, _ := strconv.ParseInt(o.account.number, 10, 64)
	out := schwabOCOOrderJSON{OrderStrategyType: "OCO", OrderID: o.id, AccountNumber: acct}
	for _, c := range o.children {
		out.ChildOrderStrategies = append(out.ChildOrderStrategies, f.orderJSON(c))
		if fakeWorking(c.status) {
			out.Cancelable, out.Editable = true, true
		}
	}
	return out
}

// NewFake starts a fake Trader API on 127.0.0.1. Close it when done.
func NewFake() *Fake {
	f := &Fake{
		app:         App{ClientID: "fakeAppKey1234567890", ClientSecret: "fakeAppSecret123", RedirectURL: "https://127.0.0.1:8182/callback"},
		now:         time.Now,
		accessTTL:   AccessTokenTTL,
		access:      map[string]fakeToken{},
		refresh:     map[string]fakeToken{},
		codes:       map[string]*fakeAccount{},
		accounts:    map[string]*fakeAccount{},
		holidays:    map[string]bool{},
		halted:      map[string]bool{},
		nextOrderID: 1000000000,
		retryAfter:  "1",
		prices: map[string]decimal.Decimal{
			"AAPL": decimal.RequireFromString("190.00"), "NVDA": decimal.RequireFromString("900.00"),
			"SPY": decimal.RequireFromString("520.00"), "TSLA": decimal.RequireFromString("250.00"),
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// URL is the API host (the base_url credential).
func (f *Fake) URL() string { return f.srv.URL }

// App is the application the fake's token endpoint accepts.
func (f *Fake) App() App { return f.app }

// SetClock replaces the fake's clock (token expiry, order times, market
// hours).
func (f *Fake) SetClock(now func() time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = now
}

// SetAccessTTL sets the lifetime of access tokens issued from now on.
func (f *Fake) SetAccessTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accessTTL = d
}

// SetRetryAfter sets the Retry-After value of 429 answers (default "1").
func (f *Fake) SetRetryAfter(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retryAfter = v
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (f *Fake) newAccountLocked(cash decimal.Decimal) *fakeAccount {
	f.nextAccount++
	number := strconv.Itoa(12345000 + f.nextAccount)
	sum := sha256.Sum256([]byte("schwab-fake:" + number))
	a := &fakeAccount{number: number, hash: strings.ToUpper(hex.EncodeToString(sum[:])), cash: cash, startEquity: cash,
		positions: map[string]*fakePosition{}}
	f.accounts[a.hash] = a
	f.last = a
	return a
}

func (f *Fake) grantLocked(a *fakeAccount, accessExpires, refreshExpires time.Time) Tokens {
	t := Tokens{AccessToken: "I0." + randomToken(24) + "@", RefreshToken: randomToken(32) + "@",
		AccessExpiry: accessExpires.UTC(), RefreshExpiry: refreshExpires.UTC()}
	f.access[t.AccessToken] = fakeToken{a, accessExpires}
	f.refresh[t.RefreshToken] = fakeToken{a, refreshExpires}
	return t
}

func (f *Fake) credentials(a *fakeAccount, t Tokens) broker.Credentials {
	c := t.Credentials()
	c[CredBaseURL] = f.srv.URL
	c[CredAccountNumber] = a.number
	return c
}

// NewAccount opens an account holding cash USD for a login that has just
// authorized the app, and returns the connection's credentials.
func (f *Fake) NewAccount(cash decimal.Decimal) broker.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.newAccountLocked(cash)
	now := f.now()
	return f.credentials(a, f.grantLocked(a, now.Add(f.accessTTL), now.Add(RefreshTokenTTL)))
}

// NewAccountExpiredAuthorization opens an account whose authorization is
// more than seven days old: both tokens have expired (re-consent needed).
func (f *Fake) NewAccountExpiredAuthorization() broker.Credentials {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.newAccountLocked(decimal.NewFromInt(1000))
	issued := f.now().Add(-8 * 24 * time.Hour)
	t := f.grantLocked(a, issued.Add(AccessTokenTTL), issued.Add(RefreshTokenTTL))
	t.RefreshExpiry = time.Time{} // the stored connection does not know it
	return f.credentials(a, t)
}

// IssueAuthCode is the code Schwab appends to the app's callback after the
// trader authorized it; the login holds a new account with cash.
func (f *Fake) IssueAuthCode(cash decimal.Decimal) (code, accountNumber string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.newAccountLocked(cash)
	code = "C0." + randomToken(24) + "@"
	f.codes[code] = a
	return code, a.number
}

// RevokeAccessToken makes an access token invalid before its expiry.
func (f *Fake) RevokeAccessToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.access, token)
}

// Refreshes is the number of successful refresh-token grants.
func (f *Fake) Refreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

// SetPrice sets a symbol's price (listing it when new) and fills working
// orders that became marketable.
func (f *Fake) SetPrice(symbol string, price decimal.Decimal) {
	f.mu.Lock()
	defer f.mu.Unlock()
	symbol = strings.ToUpper(symbol)
	f.prices[symbol] = price
	for _, a := range f.accounts {
		for _, o := range a.orders {
			for _, x := range append([]*fakeOrder{o}, o.children...) {
				if x.symbol == symbol && fakeWorking(x.status) {
					f.match(x)
				}
			}
		}
	}
}

// SetHalted halts (true) or resumes (false) trading in a symbol. While
// halted, an order for it is refused like Schwab's other order rejections:
// HTTP 400 with the Accounts and Trading error body {"message": "...",
// "errors": ["..."]} (the documented shape, as for the other refusals
// here). Schwab documents no halt-specific text; "Trading in AAPL is
// halted. No orders are accepted for this security at this time." is
// assumed. The adapter keys on "halted" (errors.go).
func (f *Fake) SetHalted(symbol string, halted bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if halted {
		f.halted[strings.ToUpper(symbol)] = true
	} else {
		delete(f.halted, strings.ToUpper(symbol))
	}
}

// AddHoliday closes the equity market on a date (yyyy-mm-dd).
func (f *Fake) AddHoliday(date string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.holidays[date] = true
}

// FailNext answers the next n order submissions with 503.
func (f *Fake) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}

// FailNextOCO answers the next n OCO submissions with 503; single orders
// pass.
func (f *Fake) FailNextOCO(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failOCO = n
}

// FakeOrderView is an order as the fake holds it (for tests).
type FakeOrderView struct {
	OrderType, Instruction, Status string
}

// OCOs returns the OCOs of the most recently created account, oldest
// first, each as its orders (a test hook: the fake's own book).
func (f *Fake) OCOs() [][]FakeOrderView {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return nil
	}
	var out [][]FakeOrderView
	for _, o := range f.last.orders {
		if !o.isOCO() {
			continue
		}
		legs := []FakeOrderView{}
		for _, c := range o.children {
			legs = append(legs, FakeOrderView{OrderType: c.req.OrderType, Instruction: c.instruction, Status: c.status})
		}
		out = append(out, legs)
	}
	return out
}

// Singles returns the orders of the most recently created account that
// are not part of an OCO, oldest first (a test hook).
func (f *Fake) Singles() []FakeOrderView {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return nil
	}
	var out []FakeOrderView
	for _, o := range f.last.orders {
		if !o.isOCO() {
			out = append(out, FakeOrderView{OrderType: o.req.OrderType, Instruction: o.instruction, Status: o.status})
		}
	}
	return out
}

// DropNextResponse accepts the next order and closes the connection without
// answering.
func (f *Fake) DropNextResponse() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropNext = true
}

// RateLimitNext answers the next n API requests with 429 and Retry-After.
func (f *Fake) RateLimitNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimitNext = n
}

// OrderCount is the number of orders of the most recently created account.
func (f *Fake) OrderCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return 0
	}
	return len(f.last.orders)
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

// traderError writes the Accounts and Trading error body.
func traderError(w http.ResponseWriter, status int, msg string, errs ...string) {
	if len(errs) == 0 {
		errs = []string{msg}
	}
	writeJSON(w, status, schwabTraderErrorJSON{Message: msg, Errors: errs})
}

// marketDataError writes the Market Data error body.
func marketDataError(w http.ResponseWriter, status int, title, detail string) {
	writeJSON(w, status, schwabMarketDataErrorJSON{Errors: []schwabMarketDataErrorItemJSON{{
		ID: "9f1d6b7e-1f4e-4c6b-9f0e-" + fmt.Sprintf("%012d", status), Status: strconv.Itoa(status),
		Title: title, Detail: detail}}})
}

// oauthError writes an error of the token endpoint.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, schwabOAuthErrorJSON{Error: code, ErrorDescription: desc})
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	if r.URL.Path == tokenPath {
		f.token(w, r)
		f.mu.Unlock()
		return
	}
	trader := strings.HasPrefix(r.URL.Path, "/trader/v1/")
	market := strings.HasPrefix(r.URL.Path, "/marketdata/v1/")
	if !trader && !market {
		f.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	if f.rateLimitNext > 0 {
		f.rateLimitNext--
		w.Header().Set("Retry-After", f.retryAfter)
		f.mu.Unlock()
		traderError(w, http.StatusTooManyRequests, "Too Many Requests", "Request limit exceeded, retry later")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	grant, known := f.access[bearer]
	if !ok || !known || !f.now().Before(grant.expires) {
		f.mu.Unlock()
		if market {
			marketDataError(w, http.StatusUnauthorized, "Unauthorized", "Client not authorized")
		} else {
			traderError(w, http.StatusUnauthorized, "Client not authorized", "The access token is invalid or has expired")
		}
		return
	}
	var drop bool
	if trader {
		drop = f.routeTrader(w, r, grant.account)
	} else {
		f.routeMarket(w, r)
	}
	f.mu.Unlock()
	if drop {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("schwab fake: response writer cannot be hijacked")
		}
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// token serves POST /v1/oauth/token.
func (f *Fake) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != f.app.ClientID || secret != f.app.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized: client credentials are invalid")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.ParseForm() != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "form body required")
		return
	}
	now := f.now()
	var acct *fakeAccount
	refreshToken := ""
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		g, known := f.refresh[rt]
		if !known || !now.Before(g.expires) {
			digest := sha256.Sum256([]byte(rt))
			inner := fmt.Sprintf(`{"error_description":"Exception while authenticating refresh token [tokenDigest=%s], Exception=Failed refresh token authentication [tokenDigest=%s]]","error":"refresh_token_authentication_error"}`,
				base64.StdEncoding.EncodeToString(digest[:]), base64.StdEncoding.EncodeToString(digest[:]))
			oauthError(w, http.StatusBadRequest, "unsupported_token_type", "400 Bad Request: "+strconv.Quote(inner))
			return
		}
		acct, refreshToken = g.account, rt
		f.refreshes++
	case "authorization_code":
		a, known := f.codes[r.PostForm.Get("code")]
		if !known || r.PostForm.Get("redirect_uri") != f.app.RedirectURL {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Bad authorization code: AuthCode not found")
			return
		}
		delete(f.codes, r.PostForm.Get("code"))
		acct = a
		refreshToken = randomToken(32) + "@"
		f.refresh[refreshToken] = fakeToken{a, now.Add(RefreshTokenTTL)}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type")
		return
	}
	access := "I0." + randomToken(24) + "@"
	f.access[access] = fakeToken{acct, now.Add(f.accessTTL)}
	writeJSON(w, http.StatusOK, schwabTokenJSON{ExpiresIn: int(f.accessTTL / time.Second), TokenType: "Bearer",
		Scope: "api", RefreshToken: refreshToken, AccessToken: access, IDToken: "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake.sig"}) // #nosec G101 -- the fake's dummy token
}

func (f *Fake) routeTrader(w http.ResponseWriter, r *http.Request, login *fakeAccount) bool {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/trader/v1/"), "/"), "/")
	if len(parts) < 2 || parts[0] != "accounts" {
		traderError(w, http.StatusNotFound, "Not Found")
		return false
	}
	if parts[1] == "accountNumbers" && len(parts) == 2 && r.Method == http.MethodGet {
		writeJSON(w, 200, []schwabAccountNumberJSON{{AccountNumber: login.number, HashValue: login.hash}})
		return false
	}
	a := f.accounts[parts[1]]
	if a == nil || a != login {
		traderError(w, http.StatusUnauthorized, "Client not authorized", "The account is not linked to this authorization")
		return false
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		writeJSON(w, 200, f.accountJSON(a, strings.Contains(r.URL.Query().Get("fields"), "positions")))
	case len(parts) == 3 && parts[2] == "orders" && r.Method == http.MethodPost:
		return f.placeOrder(w, r, a)
	case len(parts) == 3 && parts[2] == "orders" && r.Method == http.MethodGet:
		f.listOrders(w, r, a)
	case len(parts) == 4 && parts[2] == "orders" && r.Method == http.MethodGet:
		o := a.order(parts[3])
		if o == nil {
			traderError(w, http.StatusNotFound, "Order not found", "No order "+parts[3]+" in this account")
			return false
		}
		writeJSON(w, 200, f.orderView(o))
	case len(parts) == 4 && parts[2] == "orders" && r.Method == http.MethodDelete:
		o := a.order(parts[3])
		switch {
		case o == nil:
			traderError(w, http.StatusNotFound, "Order not found", "No order "+parts[3]+" in this account")
		case o.isOCO():
			// Cancelling the OCO cancels its working orders.
			n := 0
			for _, c := range o.children {
				if fakeWorking(c.status) {
					c.status, c.closed = "CANCELED", f.now().UTC()
					n++
				}
			}
			if n == 0 {
				traderError(w, http.StatusBadRequest, "Order cannot be canceled: no order of the OCO is working")
				return false
			}
			w.WriteHeader(http.StatusOK)
		case !fakeWorking(o.status):
			traderError(w, http.StatusBadRequest, "Order cannot be canceled in status "+o.status)
		default:
			o.status, o.closed = "CANCELED", f.now().UTC()
			w.WriteHeader(http.StatusOK)
		}
	default:
		traderError(w, http.StatusNotFound, "Not Found")
	}
	return false
}

func (a *fakeAccount) order(id string) *fakeOrder {
	for _, o := range a.orders {
		for _, x := range append([]*fakeOrder{o}, o.children...) {
			if strconv.FormatInt(x.id, 10) == id {
				return x
			}
		}
	}
	return nil
}

func (f *Fake) accountJSON(a *fakeAccount, withPositions bool) schwabAccountJSON {
	mv := decimal.Zero
	positions := []schwabPositionJSON{}
	syms := make([]string, 0, len(a.positions))
	for s := range a.positions {
		syms = append(syms, s)
	}
	sort.Strings(syms)
	zero := snum(decimal.Zero)
	for _, s := range syms {
		p := a.positions[s]
		if p.qty.IsZero() {
			continue
		}
		v := p.qty.Mul(f.prices[s])
		mv = mv.Add(v)
		pnl := snum(v.Sub(p.qty.Mul(p.avg)).Round(2))
		positions = append(positions, schwabPositionJSON{
			ShortQuantity: zero, AveragePrice: snum(p.avg), CurrentDayProfitLoss: pnl,
			CurrentDayProfitLossPercentage: zero, LongQuantity: snum(p.qty), SettledLongQuantity: snum(p.qty),
			SettledShortQuantity: zero, Instrument: schwabInstrumentJSON{AssetType: "EQUITY", Cusip: "037833100", Symbol: s, NetChange: zero},
			MarketValue: snum(v.Round(2)), MaintenanceRequirement: zero, AverageLongPrice: snum(p.avg),
			TaxLotAverageLongPrice: snum(p.avg), LongOpenProfitLoss: pnl,
			PreviousSessionLongQuantity: zero, CurrentDayCost: zero,
		})
	}
	liq := a.cash.Add(mv)
	acct := schwabSecuritiesAccountJSON{
		Type: "CASH", AccountNumber: a.number,
		InitialBalances: schwabInitialBalancesJSON{AccruedInterest: zero, CashAvailableForTrading: snum(a.startEquity),
			CashBalance: snum(a.startEquity), LiquidationValue: snum(a.startEquity), LongStockValue: zero, TotalCash: snum(a.startEquity)},
		CurrentBalances: schwabCurrentBalancesJSON{AccruedInterest: zero, CashBalance: snum(a.cash), CashAvailableForTrading: snum(a.cash),
			CashAvailableForWithdrawal: snum(a.cash), LiquidationValue: snum(liq), LongMarketValue: snum(mv), TotalCash: snum(a.cash)},
		ProjectedBalances: schwabProjectedBalancesJSON{CashAvailableForTrading: snum(a.cash), CashAvailableForWithdrawal: snum(a.cash)},
	}
	if withPositions {
		acct.Positions = &positions
	}
	return schwabAccountJSON{SecuritiesAccount: acct,
		AggregatedBalance: schwabAggregatedBalanceJSON{CurrentLiquidationValue: snum(liq), LiquidationValue: snum(liq)}}
}

// orderError validates an order body like Schwab does.
func (f *Fake) orderError(o schwabOrderRequestJSON, a *fakeAccount) (string, bool) {
	if o.OrderStrategyType == "OCO" {
		if len(o.ChildOrderStrategies) != 2 {
			return "An OCO order needs exactly two childOrderStrategies", false
		}
		if o.Session != "" || o.Duration != "" || o.OrderType != "" || o.Price.set() || o.StopPrice.set() || len(o.OrderLegCollection) > 0 {
			return "An OCO order carries its orders in childOrderStrategies only", false
		}
		for _, c := range o.ChildOrderStrategies {
			if c.OrderStrategyType != "SINGLE" {
				return "The orders of an OCO must be SINGLE orders", false
			}
			if msg, ok := f.orderError(c, a); !ok {
				return msg, false
			}
		}
		return "", true
	}
	if o.OrderStrategyType != "SINGLE" || len(o.OrderLegCollection) != 1 || len(o.ChildOrderStrategies) > 0 {
		return "Only SINGLE orders with one leg are supported", false
	}
	switch o.Session {
	case "NORMAL", "AM", "PM", "SEAMLESS":
	default:
		return "Invalid session " + o.Session, false
	}
	switch o.Duration {
	case "DAY", "GOOD_TILL_CANCEL", "FILL_OR_KILL", "IMMEDIATE_OR_CANCEL":
	default:
		return "Invalid duration " + o.Duration, false
	}
	leg := o.OrderLegCollection[0]
	if leg.Instrument.AssetType != "EQUITY" {
		return "Invalid assetType " + leg.Instrument.AssetType, false
	}
	sym := strings.ToUpper(leg.Instrument.Symbol)
	px, listed := f.prices[sym]
	if !listed {
		return "No trades are allowed for " + sym + ": the symbol is not valid.", false
	}
	qty := leg.Quantity.dec()
	if !qty.IsPositive() || !qty.Equal(qty.Truncate(0)) {
		return "Invalid quantity: quantity must be a positive whole number of shares", false
	}
	price := func(n schwabNum) (decimal.Decimal, bool) {
		d := n.dec()
		return d, n.set() && d.IsPositive()
	}
	onTick := func(d decimal.Decimal) bool {
		places := int32(2)
		if d.LessThan(decimal.NewFromInt(1)) {
			places = 4
		}
		return d.Equal(d.Truncate(places))
	}
	subPenny := "Invalid price: sub-penny pricing is not allowed for this security"
	switch o.OrderType {
	case "MARKET":
		if o.Price.set() || o.StopPrice.set() {
			return "A market order takes no price", false
		}
	case "LIMIT":
		p, ok := price(o.Price)
		if !ok {
			return "A limit order requires a price", false
		}
		if !onTick(p) {
			return subPenny, false
		}
	case "STOP":
		p, ok := price(o.StopPrice)
		if !ok {
			return "A stop order requires a stopPrice", false
		}
		if !onTick(p) {
			return subPenny, false
		}
	case "STOP_LIMIT":
		p, ok1 := price(o.Price)
		s, ok2 := price(o.StopPrice)
		if !ok1 || !ok2 {
			return "A stop limit order requires a price and a stopPrice", false
		}
		if !onTick(p) || !onTick(s) {
			return subPenny, false
		}
	case "TRAILING_STOP":
		if _, ok := price(o.StopPriceOffset); !ok || o.StopPriceLinkBasis == "" || o.StopPriceLinkType == "" {
			return "A trailing stop requires stopPriceLinkBasis, stopPriceLinkType and stopPriceOffset", false
		}
	default:
		return "Invalid orderType " + o.OrderType, false
	}
	switch leg.Instruction {
	case "BUY":
		cost := qty.Mul(px)
		if o.OrderType == "LIMIT" {
			cost = qty.Mul(decimal.Min(o.Price.dec(), px))
		}
		if cost.GreaterThan(a.cash) {
			return "You do not have enough available cash/buying power for this order.", false
		}
	case "SELL":
		held := decimal.Zero
		if p := a.positions[sym]; p != nil {
			held = p.qty
		}
		if qty.GreaterThan(held) {
			return "Short selling is not allowed in a cash account.", false
		}
	default:
		return "Invalid instruction " + leg.Instruction, false
	}
	return "", true
}

func (f *Fake) placeOrder(w http.ResponseWriter, r *http.Request, a *fakeAccount) bool {
	if f.failNext > 0 {
		f.failNext--
		traderError(w, http.StatusServiceUnavailable, "Service Unavailable", "The service is temporarily unavailable. Please try again later.")
		return false
	}
	if r.Header.Get("Content-Type") != "application/json" {
		traderError(w, http.StatusBadRequest, "Invalid JSON body", "Content-Type must be application/json")
		return false
	}
	body, err := decodeOrderRequest(r.Body)
	if err != nil {
		traderError(w, http.StatusBadRequest, "Invalid JSON body", err.Error())
		return false
	}
	if body.OrderStrategyType == "OCO" && f.failOCO > 0 {
		f.failOCO--
		traderError(w, http.StatusServiceUnavailable, "Service Unavailable", "The service is temporarily unavailable. Please try again later.")
		return false
	}
	if msg, ok := f.orderError(body, a); !ok {
		traderError(w, http.StatusBadRequest, msg)
		return false
	}
	singles := []schwabOrderRequestJSON{body}
	if body.OrderStrategyType == "OCO" {
		singles = body.ChildOrderStrategies
	}
	for _, s := range singles {
		if sym := strings.ToUpper(s.OrderLegCollection[0].Instrument.Symbol); f.halted[sym] {
			traderError(w, http.StatusBadRequest, "Trading in "+sym+" is halted. No orders are accepted for this security at this time.")
			return false
		}
	}
	now := f.now().UTC()
	var o *fakeOrder
	if body.OrderStrategyType == "OCO" {
		f.nextOrderID++
		o = &fakeOrder{id: f.nextOrderID, account: a, req: body, status: "WORKING", entered: now, children: []*fakeOrder{}}
		for _, c := range body.ChildOrderStrategies {
			child := f.newSingle(a, c, now)
			child.parent = o
			o.children = append(o.children, child)
		}
		o.symbol = o.children[0].symbol
	} else {
		o = f.newSingle(a, body, now)
	}
	a.orders = append(a.orders, o)
	for _, x := range append([]*fakeOrder{o}, o.children...) {
		if x.isOCO() || !fakeWorking(x.status) {
			continue
		}
		f.match(x)
		if x.status == "WORKING" && x.req.Duration == "IMMEDIATE_OR_CANCEL" {
			x.status, x.closed = "CANCELED", now
		}
	}
	if f.dropNext {
		f.dropNext = false
		return true
	}
	w.Header().Set("Location", fmt.Sprintf("%s/trader/v1/accounts/%s/orders/%d", f.srv.URL, a.hash, o.id))
	w.WriteHeader(http.StatusCreated)
	return false
}

// newSingle books a SINGLE order (not yet in the account's list).
func (f *Fake) newSingle(a *fakeAccount, body schwabOrderRequestJSON, now time.Time) *fakeOrder {
	leg := body.OrderLegCollection[0]
	f.nextOrderID++
	o := &fakeOrder{id: f.nextOrderID, account: a, req: body, symbol: strings.ToUpper(leg.Instrument.Symbol),
		instruction: leg.Instruction, qty: leg.Quantity.dec(), status: "WORKING", entered: now,
		price: body.Price.dec(), stop: body.StopPrice.dec()}
	switch body.OrderType {
	case "STOP", "STOP_LIMIT", "TRAILING_STOP":
		o.status = "PENDING_ACTIVATION"
	}
	return o
}

func fakeWorking(status string) bool {
	return status == "WORKING" || status == "PENDING_ACTIVATION" || status == "QUEUED" || status == "ACCEPTED"
}

// match fills a working order when the price allows.
func (f *Fake) match(o *fakeOrder) {
	px := f.prices[o.symbol]
	buy := o.instruction == "BUY"
	fill := false
	switch o.req.OrderType {
	case "MARKET":
		fill = true
	case "LIMIT":
		fill = (buy && px.LessThanOrEqual(o.price)) || (!buy && px.GreaterThanOrEqual(o.price))
	case "STOP":
		fill = (buy && px.GreaterThanOrEqual(o.stop)) || (!buy && px.LessThanOrEqual(o.stop))
	case "STOP_LIMIT":
		if (buy && px.GreaterThanOrEqual(o.stop)) || (!buy && px.LessThanOrEqual(o.stop)) {
			o.status = "WORKING"
			fill = (buy && px.LessThanOrEqual(o.price)) || (!buy && px.GreaterThanOrEqual(o.price))
		}
	}
	if !fill {
		return
	}
	a := o.account
	qty := o.qty.Sub(o.filled)
	p := a.positions[o.symbol]
	if p == nil {
		p = &fakePosition{}
		a.positions[o.symbol] = p
	}
	if buy {
		a.cash = a.cash.Sub(qty.Mul(px))
		total := p.qty.Mul(p.avg).Add(qty.Mul(px))
		p.qty = p.qty.Add(qty)
		p.avg = total.Div(p.qty).Round(4)
	} else {
		a.cash = a.cash.Add(qty.Mul(px))
		p.qty = p.qty.Sub(qty)
	}
	o.filled, o.fillPrice, o.status, o.closed = o.qty, px, "FILLED", f.now().UTC()
	if o.parent != nil {
		// One cancels other: the fill cancels the OCO's other order.
		for _, c := range o.parent.children {
			if c != o && fakeWorking(c.status) {
				c.status, c.closed = "CANCELED", o.closed
			}
		}
	}
}

const schwabTimeLayout = "2006-01-02T15:04:05-0700"

func (f *Fake) orderJSON(o *fakeOrder) schwabOrderJSON {
	acct, _ := strconv.ParseInt(o.account.number, 10, 64)
	out := schwabOrderJSON{
		Session: o.req.Session, Duration: o.req.Duration, OrderType: o.req.OrderType,
		ComplexOrderStrategyType: "NONE", Quantity: snum(o.qty), FilledQuantity: snum(o.filled),
		RemainingQuantity: snum(o.qty.Sub(o.filled)), RequestedDestination: "AUTO", DestinationLinkName: "CDRG",
		OrderLegCollection: []schwabOrderLegJSON{{OrderLegType: "EQUITY", LegID: 1,
			Instrument:  schwabInstrumentJSON{AssetType: "EQUITY", Cusip: "037833100", Symbol: o.symbol, InstrumentID: 1973757747},
			Instruction: o.instruction, PositionEffect: "OPENING", Quantity: snum(o.qty)}},
		OrderStrategyType: "SINGLE", OrderID: o.id, Cancelable: fakeWorking(o.status), Editable: fakeWorking(o.status),
		Status: o.status, EnteredTime: o.entered.Format(schwabTimeLayout), Tag: "API_TRADEEXEC", AccountNumber: acct,
	}
	if o.price.IsPositive() {
		out.Price = snum(o.price)
	}
	if o.stop.IsPositive() {
		out.StopPrice, out.StopType = snum(o.stop), "STANDARD"
	}
	if o.req.OrderType == "TRAILING_STOP" {
		out.StopPriceLinkBasis, out.StopPriceLinkType = o.req.StopPriceLinkBasis, o.req.StopPriceLinkType
		out.StopPriceOffset, out.StopType = o.req.StopPriceOffset, "STANDARD"
	}
	if !o.closed.IsZero() {
		out.CloseTime = o.closed.Format(schwabTimeLayout)
	}
	if o.filled.IsPositive() {
		out.OrderActivityCollection = []schwabOrderActivityJSON{{ActivityType: "EXECUTION", ActivityID: o.id + 7,
			ExecutionType: "FILL", Quantity: snum(o.filled), OrderRemainingQuantity: snum(o.qty.Sub(o.filled)),
			ExecutionLegs: []schwabExecutionLegJSON{{LegID: 1, Quantity: snum(o.filled), MismarkedQuantity: snum(decimal.Zero),
				Price: snum(o.fillPrice), Time: o.closed.Format(schwabTimeLayout), InstrumentID: 1973757747}}}}
	}
	return out
}

func (f *Fake) listOrders(w http.ResponseWriter, r *http.Request, a *fakeAccount) {
	q := r.URL.Query()
	from, err1 := time.Parse(queryTimeLayout, q.Get("fromEnteredTime"))
	to, err2 := time.Parse(queryTimeLayout, q.Get("toEnteredTime"))
	if err1 != nil || err2 != nil {
		traderError(w, http.StatusBadRequest, "Bad Request",
			"fromEnteredTime and toEnteredTime are required in the format yyyy-MM-dd'T'HH:mm:ss.SSSZ")
		return
	}
	limit := 3000
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			traderError(w, http.StatusBadRequest, "Bad Request", "maxResults must be a positive integer")
			return
		}
		limit = n
	}
	out := []any{}
	for i := len(a.orders) - 1; i >= 0 && len(out) < limit; i-- {
		o := a.orders[i]
		if o.entered.Before(from) || o.entered.After(to) {
			continue
		}
		if s := q.Get("status"); s != "" && s != o.status {
			continue
		}
		out = append(out, f.orderView(o))
	}
	writeJSON(w, 200, out)
}

func (f *Fake) routeMarket(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/marketdata/v1/quotes":
		f.quotes(w, r.URL.Query())
	case r.Method == http.MethodGet && r.URL.Path == "/marketdata/v1/markets":
		f.markets(w, r.URL.Query())
	default:
		marketDataError(w, http.StatusNotFound, "Not Found", "No such resource")
	}
}

func (f *Fake) quotes(w http.ResponseWriter, q url.Values) {
	raw := q.Get("symbols")
	if raw == "" {
		marketDataError(w, http.StatusBadRequest, "Bad Request", "symbols is required")
		return
	}
	out := map[string]any{}
	var invalid []string
	now := f.now().UnixMilli()
	for _, s := range strings.Split(raw, ",") {
		s = strings.ToUpper(strings.TrimSpace(s))
		px, ok := f.prices[s]
		if !ok {
			invalid = append(invalid, s)
			continue
		}
		cent := decimal.RequireFromString("0.01")
		out[s] = schwabQuoteEntryJSON{AssetMainType: "EQUITY", AssetSubType: "COE", QuoteType: "NBBO", Realtime: true,
			SSID: 1973757747, Symbol: s,
			Quote: schwabQuoteJSON{AskPrice: snum(px.Add(cent)), BidPrice: snum(px.Sub(cent)), LastPrice: snum(px),
				Mark: snum(px), ClosePrice: snum(px), QuoteTime: now, TradeTime: now, SecurityStatus: "Normal"},
			Reference: schwabReferenceJSON{Cusip: "037833100", Description: s + " Inc", Exchange: "Q", ExchangeName: "NASDAQ"}}
	}
	if len(invalid) > 0 {
		out["errors"] = schwabQuoteErrorsJSON{InvalidSymbols: invalid}
	}
	writeJSON(w, 200, out)
}

func (f *Fake) markets(w http.ResponseWriter, q url.Values) {
	if !strings.Contains(q.Get("markets"), "equity") {
		marketDataError(w, http.StatusBadRequest, "Bad Request", "markets must name equity, option, bond, future or forex")
		return
	}
	today := f.now().In(newYork)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, newYork)
	if v := q.Get("date"); v != "" {
		d, err := time.ParseInLocation("2006-01-02", v, newYork)
		if err != nil || d.Before(day) || d.After(day.AddDate(1, 0, 0)) {
			marketDataError(w, http.StatusBadRequest, "Bad Request", "date must be yyyy-MM-dd between today and one year ahead")
			return
		}
		day = d
	}
	date := day.Format("2006-01-02")
	if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday || f.holidays[date] {
		writeJSON(w, 200, map[string]map[string]schwabHoursJSON{"equity": {"equity": {
			Date: date, MarketType: "EQUITY", Product: "equity", IsOpen: false}}})
		return
	}
	at := func(h, m int) string {
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, newYork).Format(time.RFC3339)
	}
	writeJSON(w, 200, map[string]map[string]schwabHoursJSON{"equity": {"EQ": {
		Date: date, MarketType: "EQUITY", Exchange: "NULL", Category: "NULL", Product: "EQ",
		ProductName: "equity", IsOpen: true, SessionHours: map[string][]schwabSessionJSON{
			"preMarket":     {{Start: at(7, 0), End: at(9, 30)}},
			"regularMarket": {{Start: at(9, 30), End: at(16, 0)}},
			"postMarket":    {{Start: at(16, 0), End: at(20, 0)}},
		}}}})
}
