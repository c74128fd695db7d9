// Package binance is the Binance spot adapter: a thin REST client (client.go),
// wire ↔ domain conversion (convert.go), the broker.Broker implementation
// (this file) and a local fake exchange for tests (fake.go).
//
// Canonical "-USD" pairs trade against USDT on Binance (BTC-USD → BTCUSDT)
// and USDT is reported as the account's cash.
package binance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sync"
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
	// Limiter is the in-process token bucket of the request weight, per
	// egress address. Nil: NewLimiter(), half of Binance's published
	// request weight per minute.
	Limiter *ratelimit.Limiter
	// Store holds the budgets shared by every process: the request weight
	// of this server's address and each account's orders, pauses
	// (Retry-After) and IP bans (418). Production passes the database's
	// (dblimit); nil: in this process only.
	Store ratelimit.Store
	// EgressID names the address requests leave from; processes with the
	// same EgressID and Store share one weight budget. Empty: "default"
	// (every process on the database is taken to share one address, the
	// safe assumption).
	EgressID string
	// WeightRule and OrderRule replace Binance's published limits (tests
	// and benchmarks against the fake). Zero: WeightRule, OrderRule.
	WeightRule, OrderRule ratelimit.Rule
	// StopLimitBand is how far beyond the stop the limit of a stop sent as
	// STOP_LOSS_LIMIT is set. Zero: DefaultStopLimitBand.
	StopLimitBand decimal.Decimal
	// HTTPClient defaults to httpx.NewClient() (10 s timeout).
	HTTPClient *http.Client
	// Now defaults to time.Now (request timestamps, Clock).
	Now func() time.Time
}

// NewLimiter is the in-process bucket of the request weight: half the
// published 6000 per minute, burst 300 (the heaviest request used weighs
// 80). The shared budget (Options.Store) holds across processes on top.
func NewLimiter() *ratelimit.Limiter {
	return ratelimit.New(WeightLimitPerMinute, ratelimit.WithBurst(300))
}

// priceTTL is how long a price used for the minimum order value check is
// reused across orders (one signal fans out to many followers).
const priceTTL = 2 * time.Second

// shared is what all adapters of one Factory share: public symbol data
// (rules, prices) and which symbol each client order id was placed on.
type shared struct {
	opts   Options
	pace   *pacer
	rules  *symbols.Cache[symbolInfo]
	prices *symbols.Cache[decimal.Decimal]

	mu       sync.Mutex
	symbolOf map[string]string       // baseURL|wire client id → wire symbol
	clocks   map[string]*serverClock // baseURL → its clock offset
}

type symbolInfo struct {
	Canonical  string
	Status     string
	Rules      symbols.Rules
	OrderTypes []string
	// OCOAllowed is exchangeInfo ocoAllowed (true when not sent).
	OCOAllowed bool
}

// Factory returns the broker.Factory for "binance". Credentials: api_key,
// api_secret; optional base_url (the fake, or another Binance cluster).
// cfg.Paper selects the spot testnet.
func Factory(opts Options) broker.Factory {
	if opts.HTTPClient == nil {
		opts.HTTPClient = httpx.NewClient()
	}
	if opts.Limiter == nil {
		opts.Limiter = NewLimiter()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WeightRule.Limit <= 0 || opts.WeightRule.Window <= 0 {
		opts.WeightRule = WeightRule
	}
	if opts.OrderRule.Limit <= 0 || opts.OrderRule.Window <= 0 {
		opts.OrderRule = OrderRule
	}
	if opts.EgressID == "" {
		opts.EgressID = "default"
	}
	if opts.StopLimitBand.Sign() <= 0 {
		opts.StopLimitBand = DefaultStopLimitBand
	}
	sh := &shared{opts: opts, symbolOf: map[string]string{}, clocks: map[string]*serverClock{}}
	sh.pace = &pacer{
		gate:   ratelimit.NewGate(opts.Store, opts.Limiter),
		weight: opts.WeightRule,
		orders: opts.OrderRule,
		egress: opts.EgressID,
		now:    opts.Now,
	}
	sh.rules = symbols.NewCache(symbols.RulesTTL, sh.fetchSymbol)
	sh.prices = symbols.NewCache(priceTTL, sh.fetchPrice)
	return func(cfg broker.Config) (broker.Broker, error) {
		key, secret := cfg.Credentials["api_key"], cfg.Credentials["api_secret"]
		if key == "" || secret == "" {
			return nil, broker.NewError(Name, broker.KindAuthFailed, "Binance needs an API key and secret", nil)
		}
		base := ProductionURL
		if cfg.Paper {
			base = TestnetURL
		}
		if u := cfg.Credentials["base_url"]; u != "" {
			if !opts.AllowCustomURLs {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "a custom Binance address is not accepted on this server", nil)
			}
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "the Binance base URL is not a valid http(s) URL", nil)
			}
			base = pu.Scheme + "://" + pu.Host
		}
		sum := sha256.Sum256([]byte(key))
		c := sh.publicClient(base)
		c.apiKey, c.secret = key, []byte(secret)
		c.acctKey = Name + ":orders:" + hex.EncodeToString(sum[:8])
		return &Adapter{sh: sh, c: c}, nil
	}
}

// publicClient is a client for base without credentials (market data).
func (sh *shared) publicClient(base string) *client {
	return &client{baseURL: base, http: sh.opts.HTTPClient, pace: sh.pace, ipKey: sh.pace.ipKey(base),
		clock: sh.clock(base), now: sh.opts.Now}
}

func (sh *shared) clock(base string) *serverClock {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.clocks[base]
	if c == nil {
		c = &serverClock{}
		sh.clocks[base] = c
	}
	return c
}

func splitKey(key string) (base, sym string) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '|' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

func (sh *shared) fetchSymbol(ctx context.Context, key string) (symbolInfo, error) {
	base, sym := splitKey(key)
	info, err := sh.publicClient(base).exchangeInfo(ctx, sym)
	if err != nil {
		return symbolInfo{}, err
	}
	for _, s := range info.Symbols {
		if s.Symbol == sym {
			canonical := canonicalSymbol(s.BaseAsset, s.QuoteAsset)
			return symbolInfo{Canonical: canonical, Status: s.Status, Rules: rulesFrom(canonical, s), OrderTypes: s.OrderTypes,
				OCOAllowed: s.OCOAllowed == nil || *s.OCOAllowed}, nil
		}
	}
	return symbolInfo{}, &apiError{Status: 400, Code: -1121, Msg: "Invalid symbol."}
}

func (sh *shared) fetchPrice(ctx context.Context, key string) (decimal.Decimal, error) {
	base, sym := splitKey(key)
	p, err := sh.publicClient(base).tickerPrice(ctx, sym)
	if err != nil {
		return decimal.Zero, err
	}
	return dec(p.Price), nil
}

func (sh *shared) remember(base, cid, sym string) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.symbolOf) > 100_000 {
		clear(sh.symbolOf)
	}
	sh.symbolOf[base+"|"+cid] = sym
}

func (sh *shared) recall(base, cid string) string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.symbolOf[base+"|"+cid]
}

// Adapter is one Binance spot account. Safe for concurrent use.
type Adapter struct {
	sh *shared
	c  *client
}

var _ broker.Broker = (*Adapter)(nil)

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

func (a *Adapter) symbol(ctx context.Context, canonical string) (string, symbolInfo, error) {
	p, err := symbols.Parse(Name, canonical)
	if err != nil {
		return "", symbolInfo{}, err
	}
	wire := toWireSymbol(p)
	info, err := a.sh.rules.Get(ctx, a.c.baseURL+"|"+wire)
	if err != nil {
		return "", symbolInfo{}, mapError(err)
	}
	return wire, info, nil
}

// canonicalOf reports the canonical symbol of a Binance symbol.
func (a *Adapter) canonicalOf(ctx context.Context, wire string) string {
	if info, err := a.sh.rules.Get(ctx, a.c.baseURL+"|"+wire); err == nil {
		return info.Canonical
	}
	return wire
}

// Connect implements broker.Broker: the account endpoint proves the key and
// signature; a key without spot trading permission is refused.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) {
	acct, err := a.c.account(ctx)
	if err != nil {
		return broker.Balance{}, mapError(err)
	}
	if !acct.CanTrade {
		return broker.Balance{}, broker.NewError(Name, broker.KindAuthFailed, "this Binance API key cannot trade; enable spot trading for the key", nil)
	}
	bal, _, err := a.snapshot(ctx, acct)
	return bal, err
}

// PlaceOrder implements broker.Broker. Quantity and prices are normalised to
// the symbol's LOT_SIZE and PRICE_FILTER and checked against the minimums
// before anything is sent. Binance only refuses a repeated newClientOrderId
// while the first order is still open, so the order is looked up by client
// id first: a retry after a lost response returns the existing order.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if req.ClientOrderID == "" {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "an order needs a client order id", nil)
	}
	if req.Side != signal.SideBuy && req.Side != signal.SideSell {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, fmt.Sprintf("side %q is not buy or sell", req.Side), nil)
	}
	wire, info, err := a.symbol(ctx, req.Symbol)
	if err != nil {
		return broker.Order{}, err
	}
	if info.Status != "TRADING" {
		// The cached status may predate a resume: ask exchangeInfo again
		// before refusing.
		a.sh.rules.Invalidate(a.c.baseURL + "|" + wire)
		if wire, info, err = a.symbol(ctx, req.Symbol); err != nil {
			return broker.Order{}, err
		}
	}
	if info.Status != "TRADING" {
		// exchangeInfo symbol status HALT, BREAK, END_OF_DAY, ...: the
		// symbol is not trading now (a halt, not a closed market: crypto
		// trades around the clock), so the order waits for the resume.
		return broker.Order{}, broker.NewError(Name, broker.KindHalted,
			fmt.Sprintf("trading in %s is halted on Binance (symbol status %s); the order waits until trading resumes", info.Canonical, info.Status), nil)
	}
	typ, tif, err := wireOrderSpec(req)
	if err != nil {
		return broker.Order{}, err
	}
	sent, err := chooseType(wire, info.OrderTypes, typ)
	if err != nil {
		return broker.Order{}, err
	}
	rules := info.Rules
	qty := rules.NormalizeQty(req.Quantity)
	limit := rules.NormalizePrice(req.LimitPrice, req.Side)
	stop := rules.NormalizePrice(req.StopPrice, req.Side)
	if sent != typ { // a stop sent as STOP_LOSS_LIMIT
		typ, tif = sent, "GTC"
		limit = stopLimitPrice(rules, req.Side, stop, a.sh.opts.StopLimitBand)
	}
	needLimit := typ == "LIMIT" || typ == "STOP_LOSS_LIMIT"
	needStop := typ == "STOP_LOSS" || typ == "STOP_LOSS_LIMIT"
	if needStop && stop.Sign() <= 0 {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a stop order needs a stop price", nil)
	}
	if needLimit && limit.Sign() <= 0 {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a limit order needs a limit price", nil)
	}
	valuePrice := limit
	switch {
	case typ == "STOP_LOSS":
		valuePrice = stop
	case typ == "MARKET":
		if valuePrice, err = a.sh.prices.Get(ctx, a.c.baseURL+"|"+wire); err != nil {
			return broker.Order{}, mapError(err)
		}
	}
	if err := rules.Check(Name, qty, valuePrice); err != nil {
		return broker.Order{}, err
	}

	cid := wireClientID(req.ClientOrderID)
	a.sh.remember(a.c.baseURL, cid, wire)
	if w, err := a.c.queryOrder(ctx, wire, 0, cid); err == nil {
		return a.withClientID(toOrder(w, info.Canonical), req.ClientOrderID), nil
	} else if !isNotFound(err) {
		return broker.Order{}, mapError(err)
	}
	p := newOrderParams{
		Symbol:           wire,
		Side:             map[signal.Side]string{signal.SideBuy: "BUY", signal.SideSell: "SELL"}[req.Side],
		Type:             typ,
		TimeInForce:      tif,
		Quantity:         qty.String(),
		NewClientOrderID: cid,
	}
	if needLimit {
		p.Price = limit.String()
	}
	if needStop {
		p.StopPrice = stop.String()
	}
	w, err := a.c.newOrder(ctx, p)
	if isDuplicate(err) {
		w, err = a.c.queryOrder(ctx, wire, 0, cid)
	}
	if err != nil {
		err = mapError(err)
		if broker.KindOf(err) == broker.KindInvalidOrder {
			// The exchange's filters may have changed since they were cached.
			a.sh.rules.Invalidate(a.c.baseURL + "|" + wire)
		}
		return broker.Order{}, err
	}
	return a.withClientID(toOrder(w, info.Canonical), req.ClientOrderID), nil
}

func (a *Adapter) withClientID(o broker.Order, cid string) broker.Order {
	o.ClientOrderID = cid
	return o
}

// CancelOrder implements broker.Broker. Cancelling an order that is already
// cancelled or expired succeeds; a filled order is an ORDER_REJECTED error.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	sym, id, err := parseOrderID(brokerOrderID)
	if err != nil {
		return err
	}
	_, cerr := a.c.cancelOrder(ctx, sym, id)
	if cerr == nil {
		return nil
	}
	mapped := mapError(cerr)
	if broker.KindOf(mapped) != broker.KindNotFound {
		return mapped
	}
	w, qerr := a.c.queryOrder(ctx, sym, id, "")
	if qerr != nil {
		return mapError(qerr)
	}
	switch statuses[w.Status] {
	case broker.StatusCancelled, broker.StatusExpired, broker.StatusRejected:
		return nil
	case broker.StatusFilled:
		return broker.NewError(Name, broker.KindRejected, "the order is already filled; nothing to cancel", nil)
	}
	return mapped
}

// GetOrderStatus implements broker.Broker.
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	sym, id, err := parseOrderID(brokerOrderID)
	if err != nil {
		return broker.Order{}, err
	}
	w, err := a.c.queryOrder(ctx, sym, id, "")
	if err != nil {
		return broker.Order{}, mapError(err)
	}
	return toOrder(w, a.canonicalOf(ctx, sym)), nil
}

// FindOrderByClientID implements broker.Broker. Binance looks orders up by
// client id per symbol only, so the symbol is taken from the orders this
// process placed; failing that, all open orders are scanned and then the
// USDT pairs of every asset the account holds.
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	cid := wireClientID(clientOrderID)
	try := func(sym string) (broker.Order, bool, error) {
		w, err := a.c.queryOrder(ctx, sym, 0, cid)
		if err == nil {
			return a.withClientID(toOrder(w, a.canonicalOf(ctx, sym)), clientOrderID), true, nil
		}
		var ae *apiError
		if isNotFound(err) || (asAPIError(err, &ae) && ae.Code == -1121) {
			return broker.Order{}, false, nil
		}
		return broker.Order{}, false, mapError(err)
	}
	if sym := a.sh.recall(a.c.baseURL, cid); sym != "" {
		return try(sym)
	}
	open, err := a.c.openOrders(ctx)
	if err != nil {
		return broker.Order{}, false, mapError(err)
	}
	for _, w := range open {
		if w.ClientOrderID == cid {
			return a.withClientID(toOrder(w, a.canonicalOf(ctx, w.Symbol)), clientOrderID), true, nil
		}
	}
	acct, err := a.c.account(ctx)
	if err != nil {
		return broker.Order{}, false, mapError(err)
	}
	for _, b := range acct.Balances {
		if b.Asset == cashAsset || dec(b.Free).Add(dec(b.Locked)).Sign() <= 0 {
			continue
		}
		if o, found, err := try(b.Asset + cashAsset); found || err != nil {
			return o, found, err
		}
	}
	return broker.Order{}, false, nil
}

// GetPositions implements broker.Broker: every non-cash asset held, valued
// at its USDT price. Binance keeps no entry price, so AvgEntryPrice and
// UnrealizedPnL are zero.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	acct, err := a.c.account(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	_, pos, err := a.snapshot(ctx, acct)
	return pos, err
}

// GetBalance implements broker.Broker. Cash is the USDT balance; buying
// power is the free (not locked by open orders) USDT. LastEquity is zero:
// a 24/7 market has no session close.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	acct, err := a.c.account(ctx)
	if err != nil {
		return broker.Balance{}, mapError(err)
	}
	bal, _, err := a.snapshot(ctx, acct)
	return bal, err
}

func (a *Adapter) snapshot(ctx context.Context, acct wireAccount) (broker.Balance, []broker.Position, error) {
	bal := broker.Balance{Currency: cashAsset}
	pos := []broker.Position{}
	for _, b := range acct.Balances {
		free, total := dec(b.Free), dec(b.Free).Add(dec(b.Locked))
		if b.Asset == cashAsset {
			bal.Cash, bal.BuyingPower = total, free
			continue
		}
		if total.Sign() <= 0 {
			continue
		}
		wire := b.Asset + cashAsset
		price, err := a.sh.prices.Get(ctx, a.c.baseURL+"|"+wire)
		if err != nil {
			if k := broker.KindOf(mapError(err)); k != broker.KindInvalidSymbol {
				return broker.Balance{}, nil, mapError(err)
			}
			price = decimal.Zero // no USDT market for this asset
		}
		p := broker.Position{
			Symbol:       canonicalSymbol(b.Asset, cashAsset),
			Quantity:     total,
			CurrentPrice: price,
			MarketValue:  total.Mul(price),
		}
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

// LastPrice implements broker.Broker (GET /api/v3/ticker/price).
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	p, err := symbols.Parse(Name, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	t, err := a.c.tickerPrice(ctx, toWireSymbol(p))
	if err != nil {
		return decimal.Zero, mapError(err)
	}
	return dec(t.Price), nil
}

// QuantityRules implements broker.QuantityRuler from the pair's LOT_SIZE
// filter (exchangeInfo).
func (a *Adapter) QuantityRules(ctx context.Context, symbol string, _ signal.AssetClass) (broker.QuantityRules, error) {
	_, info, err := a.symbol(ctx, symbol)
	if err != nil {
		return broker.QuantityRules{}, err
	}
	return broker.QuantityRules{Step: info.Rules.BaseStep, Min: info.Rules.MinQty}, nil
}
