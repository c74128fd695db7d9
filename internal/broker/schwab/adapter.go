// Package schwab is the Charles Schwab adapter: the Trader API (Accounts and
// Trading, Market Data) with OAuth2 — the authorization-code flow grants a
// 30-minute access token and a 7-day refresh token; the adapter refreshes
// the access token when less than five minutes remain, hands refreshed
// tokens to a TokenStore, and reports an expired refresh token as
// AUTH_FAILED asking the trader to reconnect (re-consent).
//
// Schwab orders have no client order id. Idempotency rests on claims (which
// Schwab order belongs to which client order id) and, after a lost answer,
// on recognising the order among the account's recent orders by its shape;
// see PlaceOrder and claims.go.
package schwab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "schwab"

const (
	// DefaultRecoveryWindow is how far back a lost order is looked for: the
	// workflow's retries (1 s, 2 s, 4 s plus request timeouts) end well
	// within it.
	DefaultRecoveryWindow = 10 * time.Minute

	recoveryMaxResults = 200
	hoursCacheTTL      = time.Hour
)

var defaultHTTPClient = httpx.NewClient()

// Option configures the factory.
type Option func(*options)

type options struct {
	baseURL        string
	customURLs     bool
	app            App
	httpClient     *http.Client
	limiter        *ratelimit.Limiter
	store          TokenStore
	claims         ClaimStore
	recoveryWindow time.Duration
	now            func() time.Time
}

// WithApp sets the registered application (app key, secret, callback) used
// to refresh tokens; a connection's client_id/client_secret credentials
// override it.
func WithApp(app App) Option { return func(o *options) { o.app = app } }

// WithBaseURL sets the API host of every connection (default
// DefaultBaseURL; the dev server points it at a fake).
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithCustomURLs lets a connection's base_url credential choose the API host
// (tests, the dev server). Off in production: the server would send the
// trader's tokens and the app secret wherever a credential points.
func WithCustomURLs(allow bool) Option { return func(o *options) { o.customURLs = allow } }

// WithHTTPClient replaces the HTTP client (default: 10 s timeout).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithLimiter replaces the shared limiter (default:
// ratelimit.New(PublishedLimitPerMinute), 60 requests a minute per
// connection).
func WithLimiter(l *ratelimit.Limiter) Option { return func(o *options) { o.limiter = l } }

// WithTokenStore receives every refreshed token pair, to persist it.
func WithTokenStore(s TokenStore) Option { return func(o *options) { o.store = s } }

// WithClaimStore replaces the in-memory claim store (a database-backed store
// makes idempotency hold across worker processes).
func WithClaimStore(c ClaimStore) Option { return func(o *options) { o.claims = c } }

// WithRecoveryWindow sets how far back a lost order is looked for.
func WithRecoveryWindow(d time.Duration) Option { return func(o *options) { o.recoveryWindow = d } }

// WithClock replaces the wall clock of market-clock computations.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// shared is what every adapter of one factory shares: the limiter, the
// claims, token sources (one refresh at a time per connection), account
// hashes, market hours and per-account submission locks.
type shared struct {
	o       options
	limiter *ratelimit.Limiter
	claims  ClaimStore

	mu      sync.Mutex
	sources map[string]*tokenSource
	hashes  map[string]string
	hours   map[string]hoursEntry
	submit  map[string]*sync.Mutex
}

type hoursEntry struct {
	windows []window
	fetched time.Time
}

// Factory returns the broker.Factory for Schwab connections. Credentials:
// refresh_token (required), access_token, access_token_expires_at,
// refresh_token_expires_at, account_number, client_id, client_secret,
// base_url.
func Factory(opts ...Option) broker.Factory {
	o := options{recoveryWindow: DefaultRecoveryWindow, now: time.Now}
	for _, fn := range opts {
		fn(&o)
	}
	sh := &shared{o: o, limiter: o.limiter, claims: o.claims,
		sources: map[string]*tokenSource{}, hashes: map[string]string{},
		hours: map[string]hoursEntry{}, submit: map[string]*sync.Mutex{}}
	if sh.limiter == nil {
		sh.limiter = ratelimit.New(PublishedLimitPerMinute)
	}
	if sh.claims == nil {
		sh.claims = NewMemoryClaims(0)
	}
	return func(cfg broker.Config) (broker.Broker, error) { return sh.open(cfg) }
}

// Register adds Schwab to a registry.
func Register(r *broker.Registry, opts ...Option) { r.Register(Name, Factory(opts...)) }

// Adapter is one trader's Schwab account. Safe for concurrent use.
type Adapter struct {
	sh            *shared
	key           string // connection key: limiter, token source, caches
	accountNumber string
	c             *client
}

var _ broker.Broker = (*Adapter)(nil)

func (sh *shared) open(cfg broker.Config) (*Adapter, error) {
	tokens, err := tokensFromCredentials(cfg.ConnectionID, cfg.Credentials)
	if err != nil {
		return nil, newErr(broker.KindAuthFailed, "Schwab is not connected. Connect Schwab in Settings → Brokers.", err)
	}
	app := sh.o.app
	if id := strings.TrimSpace(cfg.Credentials[CredClientID]); id != "" {
		app.ClientID, app.ClientSecret = id, cfg.Credentials[CredClientSecret]
	}
	if app.ClientID == "" || app.ClientSecret == "" {
		return nil, newErr(broker.KindAuthFailed, "Schwab connections are not configured on this server. Contact support.", nil)
	}
	rawBase := sh.o.baseURL
	if custom := strings.TrimSpace(cfg.Credentials[CredBaseURL]); custom != "" {
		if !sh.o.customURLs {
			return nil, newErr(broker.KindAuthFailed, "This Schwab connection names an API address this server does not use. Reconnect Schwab in Settings → Brokers.", nil)
		}
		rawBase = custom
	}
	base, err := normaliseBaseURL(rawBase)
	if err != nil {
		return nil, newErr(broker.KindAuthFailed, "The Schwab API address is not valid.", err)
	}
	key := cfg.ConnectionID
	if key == "" {
		sum := sha256.Sum256([]byte(tokens.RefreshToken))
		key = "rt-" + hex.EncodeToString(sum[:12])
	}
	hc := sh.o.httpClient
	if hc == nil {
		hc = defaultHTTPClient
	}
	src := sh.source(key, tokens, oauthConfig(app, base), hc)
	sum := sha256.Sum256([]byte(key))
	doer := &httpx.Doer{Broker: Name, Client: hc, Limiter: sh.limiter, Key: "schwab:" + hex.EncodeToString(sum[:12])}
	return &Adapter{
		sh:            sh,
		key:           key,
		accountNumber: strings.TrimSpace(cfg.Credentials[CredAccountNumber]),
		c:             &client{base: base, doer: doer, tokens: src},
	}, nil
}

// source returns the connection's token source, shared by its adapters.
func (sh *shared) source(key string, t Tokens, conf *oauth2.Config, hc *http.Client) *tokenSource {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s, ok := sh.sources[key]; ok {
		s.adopt(t)
		return s
	}
	s := &tokenSource{conf: conf, http: hc, store: sh.o.store, tok: t}
	sh.sources[key] = s
	return s
}

func normaliseBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("schwab: base_url must be an absolute URL")
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return "", errors.New("schwab: base_url must use https")
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/"), nil
}

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

// accountHash returns the encrypted account number the API takes in paths.
func (a *Adapter) accountHash(ctx context.Context) (string, error) {
	cacheKey := a.key + "|" + a.accountNumber
	a.sh.mu.Lock()
	h, ok := a.sh.hashes[cacheKey]
	a.sh.mu.Unlock()
	if ok {
		return h, nil
	}
	nums, err := a.c.accountNumbers(ctx)
	if err != nil {
		return "", mapError(err, "account list")
	}
	switch {
	case a.accountNumber != "":
		for _, n := range nums {
			if n.AccountNumber == a.accountNumber {
				h = n.HashValue
			}
		}
		if h == "" {
			return "", newErr(broker.KindAuthFailed, "The Schwab account in this connection is not linked to the authorization. Reconnect Schwab in Settings → Brokers.", nil)
		}
	case len(nums) == 1:
		h = nums[0].HashValue
	case len(nums) == 0:
		return "", newErr(broker.KindAuthFailed, "The Schwab authorization covers no account. Reconnect Schwab in Settings → Brokers.", nil)
	default:
		return "", newErr(broker.KindAuthFailed, "Several Schwab accounts are linked. Choose the account to trade in Settings → Brokers.", nil)
	}
	a.sh.mu.Lock()
	a.sh.hashes[cacheKey] = h
	a.sh.mu.Unlock()
	return h, nil
}

// Connect validates the authorization with the account endpoint and returns
// the balance.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) { return a.GetBalance(ctx) }

// GetBalance implements broker.Broker.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.Balance{}, err
	}
	acct, err := a.c.account(ctx, hash, false)
	if err != nil {
		return broker.Balance{}, mapError(err, "account")
	}
	b, ok := balanceFromAccount(acct)
	if !ok {
		return broker.Balance{}, newErr(broker.KindUnavailable, msgUnavailable, errors.New("schwab: account has no liquidation value"))
	}
	return b, nil
}

// GetPositions implements broker.Broker.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return nil, err
	}
	acct, err := a.c.account(ctx, hash, true)
	if err != nil {
		return nil, mapError(err, "positions")
	}
	var out []broker.Position
	for _, p := range acct.SecuritiesAccount.Positions {
		pos := positionFromWire(p)
		if pos.Symbol != "" && !pos.Quantity.IsZero() {
			out = append(out, pos)
		}
	}
	return out, nil
}

// LastPrice implements broker.Broker from a quote (last trade, else mark,
// else the bid/ask mid).
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	symbol = canonical(symbol)
	q, err := a.c.quotes(ctx, []string{symbol})
	if err != nil {
		return decimal.Zero, mapError(err, "quote")
	}
	p, invalid, ok := priceFromQuotes(q, symbol)
	switch {
	case invalid:
		return decimal.Zero, invalidSymbol(symbol)
	case !ok:
		return decimal.Zero, newErr(broker.KindUnavailable, "Schwab sent no quote for "+symbol+".", nil)
	}
	return p, nil
}

// Clock implements broker.Broker from the equity market hours of today and
// the following days, until the next open is known.
func (a *Adapter) Clock(ctx context.Context, asset signal.AssetClass) (broker.Clock, error) {
	if asset == signal.AssetCrypto {
		return broker.Clock{}, invalidOrder("Schwab does not trade crypto.")
	}
	now := a.sh.o.now()
	day := now.In(newYork)
	var ws []window
	for i := 0; i <= hoursHorizon; i++ {
		d := time.Date(day.Year(), day.Month(), day.Day()+i, 12, 0, 0, 0, newYork)
		w, err := a.hoursOn(ctx, d, now)
		if err != nil {
			return broker.Clock{}, err
		}
		ws = append(ws, w...)
		if c, complete := clockFromWindows(ws, now); complete {
			return c, nil
		}
	}
	return broker.Clock{}, newErr(broker.KindUnavailable, msgUnavailable, errors.New("schwab: no equity session in the next ten days"))
}

// hoursOn returns the regular sessions of a New York date, cached an hour.
func (a *Adapter) hoursOn(ctx context.Context, date, now time.Time) ([]window, error) {
	key := date.Format("2006-01-02")
	a.sh.mu.Lock()
	e, ok := a.sh.hours[key]
	a.sh.mu.Unlock()
	if ok && now.Sub(e.fetched) < hoursCacheTTL && now.Sub(e.fetched) >= 0 {
		return e.windows, nil
	}
	m, err := a.c.markets(ctx, "equity", date)
	if err != nil {
		return nil, mapError(err, "market hours")
	}
	ws := regularWindows(m)
	a.sh.mu.Lock()
	if len(a.sh.hours) > 400 {
		a.sh.hours = map[string]hoursEntry{}
	}
	a.sh.hours[key] = hoursEntry{windows: ws, fetched: now}
	a.sh.mu.Unlock()
	return ws, nil
}

// submitLock serialises order submission per account in this process, so
// that recognising a lost order and claiming a new one cannot interleave
// with another submission of the same shape.
func (a *Adapter) submitLock(hash string) *sync.Mutex {
	a.sh.mu.Lock()
	defer a.sh.mu.Unlock()
	m, ok := a.sh.submit[hash]
	if !ok {
		m = &sync.Mutex{}
		a.sh.submit[hash] = m
	}
	return m
}

// PlaceOrder implements broker.Broker. Schwab has no client order id, so:
//
//  1. an order already claimed by this client order id is returned;
//  2. otherwise an unclaimed order of the same shape entered within the
//     recovery window — an earlier attempt whose answer was lost — is
//     claimed and returned;
//  3. otherwise the order is submitted and claimed; when the answer is lost
//     (timeout, dropped connection, 5xx), step 2 runs at once.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if strings.TrimSpace(req.ClientOrderID) == "" {
		return broker.Order{}, invalidOrder("the order has no client order id")
	}
	if req.AssetClass == signal.AssetCrypto {
		return broker.Order{}, invalidOrder("Schwab does not trade crypto.")
	}
	req.Symbol = canonical(req.Symbol)
	qty := wholeShares(req.Quantity)
	if !qty.IsPositive() {
		return broker.Order{}, invalidOrder("Schwab orders are in whole shares; the quantity rounds down to zero.")
	}
	body, err := toWireOrder(req, qty)
	if err != nil {
		return broker.Order{}, err
	}
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.Order{}, err
	}
	lock := a.submitLock(hash)
	lock.Lock()
	defer lock.Unlock()

	if o, found, err := a.FindOrderByClientID(ctx, req.ClientOrderID); err != nil || found {
		return o, err
	}
	want := shapeOfRequest(body)
	if o, found, err := a.recoverOrder(ctx, hash, req.ClientOrderID, want); err != nil || found {
		return o, err
	}
	id, err := a.c.placeOrder(ctx, hash, body)
	if err == nil && id == "" {
		err = newErr(broker.KindUnavailable, msgUnavailable, errNoLocation)
	}
	if err != nil {
		mapped := mapError(err, "order")
		if broker.KindOf(mapped) == broker.KindUnavailable {
			// The order may have been accepted before the answer was lost.
			if o, found, rerr := a.recoverOrder(ctx, hash, req.ClientOrderID, want); rerr == nil && found {
				return o, nil
			}
		}
		return broker.Order{}, mapped
	}
	// The order exists; a failing claim store must not turn that into an
	// error (the caller records the returned id itself).
	_, _ = a.sh.claims.Claim(ctx, hash, id, req.ClientOrderID)
	o := broker.Order{
		ID: id, ClientOrderID: req.ClientOrderID, Symbol: req.Symbol, Side: req.Side, Type: req.Type,
		Status: broker.StatusNew, Quantity: qty, SubmittedAt: time.Now().UTC(),
	}
	if req.LimitPrice.IsPositive() {
		o.LimitPrice = roundPrice(req.LimitPrice, req.Side)
	}
	if req.StopPrice.IsPositive() {
		o.StopPrice = roundPrice(req.StopPrice, req.Side)
	}
	if w, err := a.c.order(ctx, hash, id); err == nil {
		full := orderFromWire(w)
		full.ClientOrderID = req.ClientOrderID
		o = full
	}
	if o.Type == "" {
		o.Type = signal.OrderMarket
	}
	return o, nil
}

// recoverOrder looks among the account's orders entered within the recovery
// window for an unclaimed one of the wanted shape, newest first, and claims
// it for clientOrderID.
func (a *Adapter) recoverOrder(ctx context.Context, hash, clientOrderID string, want shape) (broker.Order, bool, error) {
	now := time.Now()
	from := now.Add(-a.sh.o.recoveryWindow)
	orders, err := a.c.orders(ctx, hash, ordersQuery{From: from, To: now.Add(5 * time.Minute), MaxResults: recoveryMaxResults})
	if err != nil {
		return broker.Order{}, false, mapError(err, "order list")
	}
	sort.SliceStable(orders, func(i, j int) bool {
		return parseTime(orders[i].EnteredTime).After(parseTime(orders[j].EnteredTime))
	})
	for _, o := range orders {
		if shapeOfOrder(o) != want {
			continue
		}
		if t := parseTime(o.EnteredTime); !t.IsZero() && t.Before(from) {
			continue
		}
		ok, err := a.sh.claims.Claim(ctx, hash, o.OrderID.String(), clientOrderID)
		if err != nil {
			return broker.Order{}, false, newErr(broker.KindUnavailable, msgUnavailable, err)
		}
		if ok {
			out := orderFromWire(o)
			out.ClientOrderID = clientOrderID
			return out, true, nil
		}
	}
	return broker.Order{}, false, nil
}

// FindOrderByClientID implements broker.Broker from the claim store: Schwab
// itself knows no client order ids.
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.Order{}, false, err
	}
	id, found, err := a.sh.claims.Lookup(ctx, hash, clientOrderID)
	if err != nil {
		return broker.Order{}, false, newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	if !found {
		return broker.Order{}, false, nil
	}
	w, err := a.c.order(ctx, hash, id)
	if err != nil {
		mapped := mapError(err, "order")
		if broker.KindOf(mapped) == broker.KindNotFound {
			return broker.Order{}, false, nil
		}
		return broker.Order{}, false, mapped
	}
	o := orderFromWire(w)
	o.ClientOrderID = clientOrderID
	return o, true, nil
}

// GetOrderStatus implements broker.Broker. ClientOrderID stays empty: Schwab
// orders carry none.
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return broker.Order{}, err
	}
	w, err := a.c.order(ctx, hash, brokerOrderID)
	if err != nil {
		return broker.Order{}, mapError(err, "order")
	}
	return orderFromWire(w), nil
}

// CancelOrder implements broker.Broker.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	hash, err := a.accountHash(ctx)
	if err != nil {
		return err
	}
	return mapError(a.c.cancelOrder(ctx, hash, brokerOrderID), "cancel")
}

// canonical upper-cases and trims a stock symbol.
func canonical(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
