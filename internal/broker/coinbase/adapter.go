// Package coinbase is the Coinbase Advanced Trade adapter: a thin REST client
// with CDP API key JWT authentication (Ed25519/EdDSA or ECDSA/ES256 keys:
// key.go, client.go), wire ↔ domain conversion (convert.go), the
// broker.Broker implementation (this file) and a local fake exchange for
// tests (fake*.go).
//
// Product ids are canonical already ("BTC-USD"). Cash is the USD account.
package coinbase

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
	// Limiter paces requests per API key; nil: NewLimiter().
	Limiter Limiter
	// PublicLimiter paces the unauthenticated market endpoints (product
	// rules and prices); nil: NewPublicLimiter().
	PublicLimiter Limiter
	// HTTPClient defaults to httpx.NewClient() (10 s timeout).
	HTTPClient *http.Client
	// Now defaults to time.Now (JWT times, Clock).
	Now func() time.Time
}

// NewLimiter is the limiter for Coinbase keys: Advanced Trade allows 30
// private requests per second per user; this uses half (900 per minute,
// burst 15). Share one per process.
func NewLimiter(opts ...ratelimit.Option) *ratelimit.Limiter {
	return ratelimit.New(30*60, append([]ratelimit.Option{ratelimit.WithBurst(15)}, opts...)...)
}

// NewPublicLimiter is the limiter for the public market endpoints: 10
// requests per second per IP published; this uses half.
func NewPublicLimiter(opts ...ratelimit.Option) *ratelimit.Limiter {
	return ratelimit.New(10*60, append([]ratelimit.Option{ratelimit.WithBurst(5)}, opts...)...)
}

// priceTTL is how long a product price used for the minimum order value
// check and position valuation is reused.
const priceTTL = 2 * time.Second

// maxOrderPages bounds the order history searched for a client order id.
const maxOrderPages = 10

type productInfo struct {
	Product wireProduct
	Rules   symbols.Rules
}

type shared struct {
	opts     Options
	products *symbols.Cache[productInfo]
	prices   *symbols.Cache[decimal.Decimal]
}

// Factory returns the broker.Factory for "coinbase". Credentials: api_key
// (the CDP key name, "organizations/{org}/apiKeys/{id}", or the key id),
// api_secret (an Ed25519 secret in base64 or an ECDSA private key in PEM,
// see key.go); optional base_url (the fake). Advanced Trade has no paper
// account, so a paper connection is refused.
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
	if opts.PublicLimiter == nil {
		opts.PublicLimiter = NewPublicLimiter()
	}
	sh := &shared{opts: opts}
	sh.products = symbols.NewCache(symbols.RulesTTL, sh.fetchProduct)
	sh.prices = symbols.NewCache(priceTTL, sh.fetchPrice)
	return func(cfg broker.Config) (broker.Broker, error) {
		if cfg.Paper {
			return nil, broker.NewError(Name, broker.KindAuthFailed, "Coinbase Advanced Trade has no paper-trading account; use the paper broker", nil)
		}
		name := strings.TrimSpace(cfg.Credentials["api_key"])
		if name == "" {
			return nil, broker.NewError(Name, broker.KindAuthFailed, "Coinbase needs the API key name (organizations/…/apiKeys/…) and its secret", nil)
		}
		key, err := parseKey(cfg.Credentials["api_secret"])
		if err != nil {
			// The keyError names the problem, never the secret.
			reason := "it could not be read"
			var ke *keyError
			if errors.As(err, &ke) {
				reason = ke.reason
			}
			return nil, broker.NewError(Name, broker.KindAuthFailed, "the Coinbase API secret is not usable: "+reason+
				"; paste the Ed25519 secret (base64) or the ECDSA private key (PEM) exactly as Coinbase showed it", err)
		}
		base := ProductionURL
		if u := cfg.Credentials["base_url"]; u != "" {
			if !opts.AllowCustomURLs {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "a custom Coinbase address is not accepted on this server", nil)
			}
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				return nil, broker.NewError(Name, broker.KindAuthFailed, "the Coinbase base URL is not a valid http(s) URL", nil)
			}
			base = pu.Scheme + "://" + pu.Host
		}
		pu, _ := url.Parse(base)
		sum := sha256.Sum256([]byte(name))
		c := &client{
			baseURL: base, host: pu.Host, keyName: name, signer: &key,
			http: opts.HTTPClient, lim: opts.Limiter, limKey: Name + ":" + hex.EncodeToString(sum[:8]), now: opts.Now,
		}
		return &Adapter{sh: sh, c: c}, nil
	}
}

func splitKey(key string) (base, id string) {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '|' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

// publicClient calls the unauthenticated market endpoints of base.
func (sh *shared) publicClient(base string) *client {
	pu, _ := url.Parse(base)
	return &client{baseURL: base, host: pu.Host, http: sh.opts.HTTPClient, lim: sh.opts.PublicLimiter, limKey: Name + ":public", now: sh.opts.Now}
}

func (sh *shared) fetchProduct(ctx context.Context, key string) (productInfo, error) {
	base, id := splitKey(key)
	p, err := sh.publicClient(base).publicProduct(ctx, id)
	if err != nil {
		return productInfo{}, err
	}
	return productInfo{Product: p, Rules: rulesFrom(p)}, nil
}

func (sh *shared) fetchPrice(ctx context.Context, key string) (decimal.Decimal, error) {
	base, id := splitKey(key)
	p, err := sh.publicClient(base).publicProduct(ctx, id)
	if err != nil {
		return decimal.Zero, err
	}
	return dec(p.Price), nil
}

// Adapter is one Coinbase Advanced Trade account. Safe for concurrent use.
type Adapter struct {
	sh *shared
	c  *client
}

var _ broker.Broker = (*Adapter)(nil)

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

// productErr maps a product lookup error: an unknown product is INVALID_SYMBOL.
func productErr(err error) error {
	if ae, ok := asAPIError(err); ok && (ae.Status == 404 || (ae.Status == 400 && ae.Code == "INVALID_ARGUMENT")) {
		return broker.NewError(Name, broker.KindInvalidSymbol, "Coinbase does not list this product", err)
	}
	return mapError(err)
}

func (a *Adapter) product(ctx context.Context, symbol string) (productInfo, error) {
	p, err := symbols.Parse(Name, symbol)
	if err != nil {
		return productInfo{}, err
	}
	info, err := a.sh.products.Get(ctx, a.c.baseURL+"|"+p.String())
	if err != nil {
		return productInfo{}, productErr(err)
	}
	return info, nil
}

// Connect implements broker.Broker: the accounts endpoint proves the key.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) {
	return a.GetBalance(ctx)
}

// PlaceOrder implements broker.Broker. Size and prices are normalised to the
// product's base_increment and price_increment and checked against
// base_min_size and quote_min_size before anything is sent. Coinbase
// de-duplicates client_order_id: a retry after a lost response gets the
// existing order back instead of creating a second one.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if req.ClientOrderID == "" {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "an order needs a client order id", nil)
	}
	if req.Side != signal.SideBuy && req.Side != signal.SideSell {
		return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, fmt.Sprintf("side %q is not buy or sell", req.Side), nil)
	}
	info, err := a.product(ctx, req.Symbol)
	if err != nil {
		return broker.Order{}, err
	}
	if productRefuses(info.Product, req.Type) != "" {
		// The cached product may predate a resume: ask again before
		// refusing.
		if p, perr := symbols.Parse(Name, req.Symbol); perr == nil {
			a.sh.products.Invalidate(a.c.baseURL + "|" + p.String())
		}
		if info, err = a.product(ctx, req.Symbol); err != nil {
			return broker.Order{}, err
		}
	}
	if msg := productRefuses(info.Product, req.Type); msg != "" {
		// trading_disabled, cancel_only, limit_only / post_only for a
		// non-limit order, status other than "online" (get-product): the
		// product is halted or re-opening; the order waits (market_halted).
		return broker.Order{}, broker.NewError(Name, broker.KindHalted, msg, nil)
	}
	pr := info.Product
	rules := info.Rules
	qty := rules.NormalizeQty(req.Quantity)
	limit := rules.NormalizePrice(req.LimitPrice, req.Side)
	stop := rules.NormalizePrice(req.StopPrice, req.Side)
	valuePrice := limit
	switch req.Type {
	case signal.OrderMarket:
		if valuePrice, err = a.sh.prices.Get(ctx, a.c.baseURL+"|"+pr.ProductID); err != nil {
			return broker.Order{}, productErr(err)
		}
	case signal.OrderLimit:
		if limit.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a limit order needs a limit price", nil)
		}
	case signal.OrderStop:
		if stop.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a stop order needs a stop price", nil)
		}
		valuePrice = stop
	case signal.OrderStopLimit:
		if stop.Sign() <= 0 || limit.Sign() <= 0 {
			return broker.Order{}, broker.NewError(Name, broker.KindInvalidOrder, "a stop-limit order needs a stop and a limit price", nil)
		}
	}
	cfg, err := orderConfig(req, rules, qty, limit, stop)
	if err != nil {
		return broker.Order{}, err
	}
	if err := rules.Check(Name, qty, valuePrice); err != nil {
		return broker.Order{}, err
	}
	side := "BUY"
	if req.Side == signal.SideSell {
		side = "SELL"
	}
	resp, err := a.c.createOrder(ctx, wireCreateOrder{ClientOrderID: req.ClientOrderID, ProductID: pr.ProductID, Side: side, OrderConfiguration: cfg})
	if err != nil {
		err = mapError(err)
		if broker.KindOf(err) == broker.KindInvalidOrder {
			a.sh.products.Invalidate(a.c.baseURL + "|" + pr.ProductID)
		}
		return broker.Order{}, err
	}
	id := resp.SuccessResponse.OrderID
	w, err := a.c.order(ctx, id)
	if err != nil {
		// The order stands; report what was sent.
		o := toOrder(wireOrder{OrderID: id, ProductID: pr.ProductID, Side: side, ClientOrderID: req.ClientOrderID,
			Status: "PENDING", OrderConfiguration: cfg, CreatedTime: a.c.now().UTC()})
		o.Type = req.Type
		return o, nil
	}
	return toOrder(w), nil
}

// FindOrderByClientID implements broker.Broker: the order history is
// searched newest first (at most maxOrderPages pages of 100).
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	cursor := ""
	for range maxOrderPages {
		page, err := a.c.listOrders(ctx, cursor)
		if err != nil {
			return broker.Order{}, false, mapError(err)
		}
		for _, w := range page.Orders {
			if w.ClientOrderID == clientOrderID {
				return toOrder(w), true, nil
			}
		}
		if !page.HasNext || page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	return broker.Order{}, false, nil
}

// CancelOrder implements broker.Broker. Cancelling an order that is already
// cancelled or expired succeeds; a filled order is an ORDER_REJECTED error.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	results, err := a.c.batchCancel(ctx, brokerOrderID)
	if err != nil {
		return mapError(err)
	}
	for _, r := range results {
		if r.OrderID == brokerOrderID && r.Success {
			return nil
		}
	}
	w, err := a.c.order(ctx, brokerOrderID)
	if err != nil {
		return mapError(err)
	}
	switch toOrder(w).Status {
	case broker.StatusCancelled, broker.StatusExpired, broker.StatusRejected:
		return nil
	case broker.StatusFilled:
		return broker.NewError(Name, broker.KindRejected, "the order is already filled; nothing to cancel", nil)
	}
	reason := "unknown reason"
	if len(results) > 0 {
		reason = results[0].FailureReason
	}
	return broker.NewError(Name, broker.KindRejected, "Coinbase refused to cancel the order: "+reason, nil)
}

// GetOrderStatus implements broker.Broker.
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	w, err := a.c.order(ctx, brokerOrderID)
	if err != nil {
		return broker.Order{}, mapError(err)
	}
	return toOrder(w), nil
}

// GetPositions implements broker.Broker: every non-USD currency held, valued
// at its USD product price. Coinbase keeps no entry price.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	_, pos, err := a.snapshot(ctx)
	return pos, err
}

// GetBalance implements broker.Broker. Cash is the USD account (available +
// hold); buying power is what is available. LastEquity is zero: a 24/7
// market has no session close.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	bal, _, err := a.snapshot(ctx)
	return bal, err
}

func (a *Adapter) snapshot(ctx context.Context) (broker.Balance, []broker.Position, error) {
	var accounts []wireAccount
	cursor := ""
	for {
		page, err := a.c.accounts(ctx, cursor)
		if err != nil {
			return broker.Balance{}, nil, mapError(err)
		}
		accounts = append(accounts, page.Accounts...)
		if !page.HasNext || page.Cursor == "" {
			break
		}
		cursor = page.Cursor
	}
	bal := broker.Balance{Currency: cashCurrency}
	pos := []broker.Position{}
	for _, acct := range accounts {
		avail, hold := dec(acct.AvailableBalance.Value), dec(acct.Hold.Value)
		total := avail.Add(hold)
		if acct.Currency == cashCurrency {
			bal.Cash = bal.Cash.Add(total)
			bal.BuyingPower = bal.BuyingPower.Add(avail)
			continue
		}
		if total.Sign() <= 0 {
			continue
		}
		id := acct.Currency + "-" + cashCurrency
		price, err := a.sh.prices.Get(ctx, a.c.baseURL+"|"+id)
		if err != nil {
			if broker.KindOf(productErr(err)) != broker.KindInvalidSymbol {
				return broker.Balance{}, nil, mapError(err)
			}
			price = decimal.Zero // no USD market for this currency
		}
		p := broker.Position{Symbol: id, Quantity: total, CurrentPrice: price, MarketValue: total.Mul(price)}
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

// LastPrice implements broker.Broker (the product's last trade price).
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	p, err := symbols.Parse(Name, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	pr, err := a.c.product(ctx, p.String())
	if err != nil {
		return decimal.Zero, productErr(err)
	}
	return dec(pr.Price), nil
}

// productRefuses says why Coinbase would not take an order of type typ in
// the product now, or "" when it would.
func productRefuses(pr wireProduct, typ signal.OrderType) string {
	switch {
	case pr.IsDisabled || pr.TradingDisabled || pr.CancelOnly || (pr.Status != "" && pr.Status != "online"):
		return fmt.Sprintf("trading in %s is halted on Coinbase; the order waits until trading resumes", pr.ProductID)
	case (pr.LimitOnly || pr.PostOnly) && typ != signal.OrderLimit:
		return fmt.Sprintf("Coinbase accepts only limit orders in %s right now; the order waits until trading resumes", pr.ProductID)
	}
	return ""
}

// QuantityRules implements broker.QuantityRuler from the product's
// base_increment and base_min_size.
func (a *Adapter) QuantityRules(ctx context.Context, symbol string, _ signal.AssetClass) (broker.QuantityRules, error) {
	p, err := a.product(ctx, symbol)
	if err != nil {
		return broker.QuantityRules{}, err
	}
	return broker.QuantityRules{Step: p.Rules.BaseStep, Min: p.Rules.MinQty}, nil
}
