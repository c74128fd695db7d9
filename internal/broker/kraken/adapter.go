// Package kraken is the Kraken spot adapter: a thin REST client (client.go),
// wire ↔ domain conversion (convert.go), the broker.Broker implementation
// (this file) and a local fake exchange for tests (fake.go).
//
// Pairs are named as Kraken requests them (BTC-USD → XBTUSD) and their rules
// come from AssetPairs. Cash is the ZUSD balance.
package kraken

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Options configure every adapter a Factory builds. The zero value works.
type Options struct {
	// AllowCustomURLs lets credentials carry base_url (the fake, dev); a
	// production factory refuses it itself, whatever the API allowed.
	AllowCustomURLs bool
	// Limiter paces private calls per API key; nil: NewLimiter().
	Limiter Limiter
	// PublicLimiter paces public calls (AssetPairs, Ticker); nil:
	// NewPublicLimiter().
	PublicLimiter Limiter
	// RateLimitBackoff is the pause after "EAPI:Rate limit exceeded", which
	// names no wait. Default 3 s (the Starter tier's counter decays 1 per 3 s).
	RateLimitBackoff time.Duration
	// HTTPClient defaults to httpx.NewClient() (10 s timeout).
	HTTPClient *http.Client
	// Now defaults to time.Now (nonces, Clock).
	Now func() time.Time
}

// NewLimiter is the limiter for private calls: Kraken's Starter tier allows
// a counter of 15 decaying by 0.33/s, at most 35 calls in any minute; this
// uses half of that (17 per minute, burst 7). Share one per process.
func NewLimiter(opts ...ratelimit.Option) *ratelimit.Limiter {
	return ratelimit.New(35, append([]ratelimit.Option{ratelimit.WithBurst(7)}, opts...)...)
}

// NewPublicLimiter is the limiter for public calls: Kraken asks for at most
// one call per second per IP; this uses half of that.
func NewPublicLimiter(opts ...ratelimit.Option) *ratelimit.Limiter {
	return ratelimit.New(60, append([]ratelimit.Option{ratelimit.WithBurst(2)}, opts...)...)
}

// priceTTL is how long a price used for the minimum order value check is
// reused across orders (one signal fans out to many followers).
const priceTTL = 2 * time.Second

type pairInfo struct {
	Name      string // request name, "XBTUSD"
	Canonical string
	Status    string
	Rules     symbols.Rules
}

type shared struct {
	opts   Options
	nonces *nonceSource
	pairs  *symbols.Cache[pairInfo]
	prices *symbols.Cache[decimal.Decimal]
}

// newShared applies the option defaults and builds what every adapter of
// one factory shares (nonces, pair rules, prices).
func newShared(opts Options) *shared {
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpx.NewClient()
	}
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter()
	}
	if opts.PublicLimiter == nil {
		opts.PublicLimiter = NewPublicLimiter()
	}
	if opts.RateLimitBackoff <= 0 {
		opts.RateLimitBackoff = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	sh := &shared{opts: opts, nonces: &nonceSource{keys: map[string]*keyState{}}}
	sh.pairs = symbols.NewCache(symbols.RulesTTL, sh.fetchPair)
	sh.prices = symbols.NewCache(priceTTL, sh.fetchPrice)
	return sh
}

// Factory returns the broker.Factory for "kraken". Credentials: api_key,
// api_secret (base64, as Kraken shows it); optional base_url (the fake).
// Kraken has no spot sandbox, so a paper connection is refused.
func Factory(opts Options) broker.Factory {
	sh := newShared(opts)
	opts = sh.opts
	return func(cfg broker.Config) (broker.Broker, error) {
		if cfg.Paper {
			return nil, broker.NewError(Name, broker.KindAuthFailed, "Kraken has no paper-trading environment; use the paper broker", nil)
		}
		key := cfg.Credentials["api_key"]
		secret, err := decodeSecret(cfg.Credentials["api_secret"])
		if key == "" || err != nil || len(secret) == 0 {
			return nil, broker.NewError(Name, broker.KindAuthFailed, "Kraken needs an API key and its base64 private key", nil)
		}
		base := ProductionURL
		if u := cfg.Credentials["base_url"]; u != "" {
			if !opts.AllowCustomURLs {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "a custom Kraken address is not accepted on this server", nil)
			}
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "the Kraken base URL is not a valid http(s) URL", nil)
			}
			base = pu.Scheme + "://" + pu.Host
		}
		sum := sha256.Sum256([]byte(key))
		return &Adapter{sh: sh, c: sh.client(base, key, secret, Name+":"+hex.EncodeToString(sum[:8]))}, nil
	}
}

func (sh *shared) client(base, key string, secret []byte, limKey string) *client {
	return &client{
		baseURL: base, apiKey: key, secret: secret,
		http: sh.opts.HTTPClient, lim: sh.opts.Limiter, pubLim: sh.opts.PublicLimiter,
		limKey: limKey, nonces: sh.nonces, now: sh.opts.Now, rlBackoff: sh.opts.RateLimitBackoff,
	}
}

func splitKey(key string) (base, name string) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '|' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

func (sh *shared) fetchPair(ctx context.Context, key string) (pairInfo, error) {
	base, name := splitKey(key)
	pairs, err := sh.client(base, "", nil, "").assetPairs(ctx, name)
	if err != nil {
		return pairInfo{}, err
	}
	for _, p := range pairs {
		b, q := canonicalAsset(p.Base), canonicalAsset(p.Quote)
		canonical := b + "-" + q
		return pairInfo{Name: p.Altname, Canonical: canonical, Status: p.Status, Rules: rulesFrom(canonical, p)}, nil
	}
	return pairInfo{}, &apiError{Status: 200, Errors: []string{"EQuery:Unknown asset pair"}}
}

func (sh *shared) fetchPrice(ctx context.Context, key string) (decimal.Decimal, error) {
	base, name := splitKey(key)
	t, err := sh.client(base, "", nil, "").ticker(ctx, name)
	if err != nil {
		return decimal.Zero, err
	}
	for _, v := range t {
		if len(v.Last) > 0 {
			return dec(v.Last[0]), nil
		}
	}
	return decimal.Zero, broker.NewError(Name, broker.KindUnavailable, "Kraken sent no price", nil)
}

// Adapter is one Kraken account. Safe for concurrent use.
type Adapter struct {
	sh *shared
	c  *client
}

var _ broker.Broker = (*Adapter)(nil)

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

func (a *Adapter) pair(ctx context.Context, canonical string) (pairInfo, error) {
	p, err := symbols.Parse(Name, canonical)
	if err != nil {
		return pairInfo{}, err
	}
	info, err := a.sh.pairs.Get(ctx, a.c.baseURL+"|"+pairName(p))
	if err != nil {
		return pairInfo{}, mapError(err)
	}
	return info, nil
}

func (a *Adapter) canonicalOf(ctx context.Context, name string) string {
	if info, err := a.sh.pairs.Get(ctx, a.c.baseURL+"|"+name); err == nil {
		return info.Canonical
	}
	return name
}

func (a *Adapter) order(ctx context.Context, txid string, w wireOrder) broker.Order {
	return toOrder(txid, w, a.canonicalOf(ctx, w.Descr.Pair))
}

// Connect implements broker.Broker: BalanceEx proves the key and signature.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) {
	return a.GetBalance(ctx)
}

// PlaceOrder implements broker.Broker. Volume and prices are normalised to
// the pair's lot_decimals and tick_size and checked against ordermin and
// costmin before anything is sent. Kraken only refuses a repeated cl_ord_id
// while the first order is open, so open and closed orders are searched by
// cl_ord_id first: a retry after a lost response returns the existing order.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if req.ClientOrderID == "" {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "an order needs a client order id", nil)
	}
	if req.Side != signal.SideBuy && req.Side != signal.SideSell {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, fmt.Sprintf("side %q is not buy or sell", req.Side), nil)
	}
	info, err := a.pair(ctx, req.Symbol)
	if err != nil {
		return broker.Order{}, err
	}
	ordertype, tif, err := wireOrderSpec(req)
	if err != nil {
		return broker.Order{}, err
	}
	if !pairAccepts(info.Status, ordertype) {
		// The cached status may predate a resume: ask AssetPairs again
		// before refusing.
		if p, perr := symbols.Parse(Name, req.Symbol); perr == nil {
			a.sh.pairs.Invalidate(a.c.baseURL + "|" + pairName(p))
		}
		if info, err = a.pair(ctx, req.Symbol); err != nil {
			return broker.Order{}, err
		}
	}
	if !pairAccepts(info.Status, ordertype) {
		// cancel_only / post_only / limit_only / reduce_only / maintenance:
		// Kraken's restricted modes during a halt and the staged re-open
		// after it. The order waits (market_halted) for the pair to trade.
		msg := fmt.Sprintf("trading in %s is halted on Kraken (%s); the order waits until trading resumes", info.Canonical, info.Status)
		if info.Status == "limit_only" || info.Status == "post_only" {
			msg = fmt.Sprintf("Kraken accepts only limit orders in %s right now (%s); the order waits until trading resumes", info.Canonical, info.Status)
		}
		return broker.Order{}, broker.NewError(Name, broker.KindHalted, msg, nil)
	}
	rules := info.Rules
	vol := rules.NormalizeQty(req.Quantity)
	limit := rules.NormalizePrice(req.LimitPrice, req.Side)
	stop := rules.NormalizePrice(req.StopPrice, req.Side)
	p := addOrderParams{Pair: info.Name, Type: string(req.Side), OrderType: ordertype, Volume: vol.String(), TimeInForce: tif}
	valuePrice := decimal.Zero
	switch ordertype {
	case "market":
		if valuePrice, err = a.sh.prices.Get(ctx, a.c.baseURL+"|"+info.Name); err != nil {
			return broker.Order{}, mapError(err)
		}
	case "limit":
		if limit.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a limit order needs a limit price", nil)
		}
		p.Price, valuePrice = limit.String(), limit
	case "stop-loss":
		if stop.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a stop order needs a stop price", nil)
		}
		p.Price, valuePrice = stop.String(), stop
	case "stop-loss-limit":
		if stop.Sign() <= 0 || limit.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a stop-limit order needs a stop and a limit price", nil)
		}
		p.Price, p.Price2, valuePrice = stop.String(), limit.String(), limit
	}
	if err := rules.Check(Name, vol, valuePrice); err != nil {
		return broker.Order{}, err
	}

	p.ClOrdID = wireClOrdID(req.ClientOrderID)
	if o, found, err := a.lookup(ctx, p.ClOrdID); err != nil || found {
		o.ClientOrderID = req.ClientOrderID
		return o, err
	}
	added, err := a.c.addOrder(ctx, p)
	if ae, ok := asAPIError(err); ok && ae.has("EOrder:Duplicate") {
		o, found, lerr := a.lookup(ctx, p.ClOrdID)
		if lerr == nil && found {
			o.ClientOrderID = req.ClientOrderID
			return o, nil
		}
	}
	if err != nil {
		err = mapError(err)
		if broker.KindOf(err) == broker.KindInvalidOrder {
			a.sh.pairs.Invalidate(a.c.baseURL + "|" + info.Name)
		}
		return broker.Order{}, err
	}
	if len(added.TxID) == 0 {
		return broker.Order{}, broker.NewError(Name, broker.KindUnavailable, "Kraken accepted the order without an order id", nil)
	}
	txid := added.TxID[0]
	o := broker.Order{
		ID: txid, ClientOrderID: req.ClientOrderID, Symbol: info.Canonical, Side: req.Side, Type: req.Type,
		Status: broker.StatusNew, Quantity: vol, SubmittedAt: a.c.now().UTC(), UpdatedAt: a.c.now().UTC(),
	}
	if req.Type == signal.OrderLimit || req.Type == signal.OrderStopLimit {
		o.LimitPrice = limit
	}
	if req.Type == signal.OrderStop || req.Type == signal.OrderStopLimit {
		o.StopPrice = stop
	}
	// The order stands; its current state is a bonus.
	if got, err := a.c.queryOrders(ctx, txid); err == nil {
		if w, ok := got[txid]; ok {
			o = a.order(ctx, txid, w)
			o.ClientOrderID = req.ClientOrderID
		}
	}
	return o, nil
}

// lookup finds an order by cl_ord_id among open, then closed orders.
func (a *Adapter) lookup(ctx context.Context, clOrdID string) (broker.Order, bool, error) {
	open, err := a.c.openOrders(ctx, clOrdID)
	if err != nil {
		return broker.Order{}, false, mapError(err)
	}
	for txid, w := range open {
		if w.ClOrdID == clOrdID {
			return a.order(ctx, txid, w), true, nil
		}
	}
	closed, err := a.c.closedOrders(ctx, clOrdID)
	if err != nil {
		return broker.Order{}, false, mapError(err)
	}
	for txid, w := range closed {
		if w.ClOrdID == clOrdID {
			return a.order(ctx, txid, w), true, nil
		}
	}
	return broker.Order{}, false, nil
}

// FindOrderByClientID implements broker.Broker.
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	o, found, err := a.lookup(ctx, wireClOrdID(clientOrderID))
	if found {
		o.ClientOrderID = clientOrderID
	}
	return o, found, err
}

// CancelOrder implements broker.Broker. Cancelling an order that is already
// cancelled or expired succeeds; a filled order is an ORDER_REJECTED error.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	cerr := a.c.cancelOrder(ctx, brokerOrderID)
	if cerr == nil {
		return nil
	}
	mapped := mapError(cerr)
	if broker.KindOf(mapped) != broker.KindNotFound {
		return mapped
	}
	got, qerr := a.c.queryOrders(ctx, brokerOrderID)
	if qerr != nil {
		return mapError(qerr)
	}
	w, ok := got[brokerOrderID]
	if !ok {
		return mapped
	}
	switch w.Status {
	case "canceled", "expired":
		return nil
	case "closed":
		return broker.NewError(Name, broker.KindRejected, "the order is already filled; nothing to cancel", nil)
	}
	return mapped
}

// GetOrderStatus implements broker.Broker (QueryOrders).
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	got, err := a.c.queryOrders(ctx, brokerOrderID)
	if err != nil {
		return broker.Order{}, mapError(err)
	}
	w, ok := got[brokerOrderID]
	if !ok {
		return broker.Order{}, broker.NewError(Name, broker.KindNotFound, "Kraken has no order with this id", nil)
	}
	return a.order(ctx, brokerOrderID, w), nil
}

// GetPositions implements broker.Broker: every non-cash asset held, valued at
// its USD price. Kraken spot keeps no entry price.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	_, pos, err := a.snapshot(ctx)
	return pos, err
}

// GetBalance implements broker.Broker. Cash is the ZUSD balance; buying
// power is cash less what open orders hold. LastEquity is zero: a 24/7
// market has no session close.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	bal, _, err := a.snapshot(ctx)
	return bal, err
}

func (a *Adapter) snapshot(ctx context.Context) (broker.Balance, []broker.Position, error) {
	balances, err := a.c.balanceEx(ctx)
	if err != nil {
		return broker.Balance{}, nil, mapError(err)
	}
	bal := broker.Balance{Currency: "USD"}
	pos := []broker.Position{}
	for asset, b := range balances {
		total := dec(b.Balance)
		if asset == cashAsset || asset == "USD" {
			bal.Cash = bal.Cash.Add(total)
			bal.BuyingPower = bal.BuyingPower.Add(total.Sub(dec(b.HoldTrade)))
			continue
		}
		c := canonicalAsset(asset)
		if c == "" || total.Sign() <= 0 {
			continue
		}
		name := krakenAsset(c) + "USD"
		price, err := a.sh.prices.Get(ctx, a.c.baseURL+"|"+name)
		if err != nil {
			if broker.KindOf(mapError(err)) != broker.KindInvalidSymbol {
				return broker.Balance{}, nil, mapError(err)
			}
			price = decimal.Zero // no USD market for this asset
		}
		p := broker.Position{Symbol: c + "-USD", Quantity: total, CurrentPrice: price, MarketValue: total.Mul(price)}
		bal.Equity = bal.Equity.Add(p.MarketValue)
		pos = append(pos, p)
	}
	bal.Equity = bal.Equity.Add(bal.Cash)
	return bal, pos, nil
}

// Clock implements broker.Broker: crypto trades 24/7.
func (a *Adapter) Clock(ctx context.Context, asset signal.AssetClass) (broker.Clock, error) {
	now := a.c.now().UTC()
	return broker.Clock{IsOpen: true, Now: now, NextOpen: now}, nil
}

// LastPrice implements broker.Broker (Ticker, last trade).
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	return lastPrice(ctx, a.c, symbol)
}

// lastPrice is the public ticker's last trade price of a canonical pair
// (an account's adapter and the account-less Quotes read it alike).
func lastPrice(ctx context.Context, c *client, symbol string) (decimal.Decimal, error) {
	p, err := symbols.Parse(Name, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	t, err := c.ticker(ctx, pairName(p))
	if err != nil {
		return decimal.Zero, mapError(err)
	}
	for _, v := range t {
		if len(v.Last) > 0 {
			return dec(v.Last[0]), nil
		}
	}
	return decimal.Zero, broker.NewError(Name, broker.KindUnavailable, "Kraken sent no price", nil)
}

// pairAccepts reports whether a pair in AssetPairs status takes an order of
// ordertype: "online" takes all; "limit_only" and "post_only" take limit
// orders (post_only ones are sent without the post flag and may be
// refused by the exchange, which maps to the same kind); anything else
// (cancel_only, reduce_only, maintenance) takes none.
func pairAccepts(status, ordertype string) bool {
	switch status {
	case "online":
		return true
	case "limit_only", "post_only":
		return ordertype == "limit"
	}
	return false
}

// QuantityRules implements broker.QuantityRuler from the pair's
// lot_decimals and ordermin (AssetPairs).
func (a *Adapter) QuantityRules(ctx context.Context, symbol string, _ signal.AssetClass) (broker.QuantityRules, error) {
	p, err := a.pair(ctx, symbol)
	if err != nil {
		return broker.QuantityRules{}, err
	}
	return broker.QuantityRules{Step: p.Rules.BaseStep, Min: p.Rules.MinQty}, nil
}
