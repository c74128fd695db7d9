// Package alpaca is the broker adapter for Alpaca (Trading API v2, paper and
// live) with its market data API for last prices, and a local fake server
// (fake.go) that the conformance suite runs against.
//
// The adapter is a thin client over net/http rather than the official SDK
// (github.com/alpacahq/alpaca-trade-api-go/v3): the SDK's trading calls take
// no context.Context (no cancellation or deadlines from activities), it
// retries 429s itself with a fixed sleep that ignores the server's reset
// time and our per-credential budget, and it pulls in cloud.google.com/go,
// easyjson, msgpack and a websocket library the adapter does not need.
package alpaca

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

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "alpaca"

// Endpoints.
const (
	PaperBaseURL = "https://paper-api.alpaca.markets"
	LiveBaseURL  = "https://api.alpaca.markets"
	DataURL      = "https://data.alpaca.markets"
)

// PublishedRequestsPerMinute is Alpaca's documented limit per account
// (trading API; the free market-data plan has the same figure). The limiter
// uses half of it (FR-016).
const PublishedRequestsPerMinute = 200

// Credential fields.
const (
	CredAPIKey    = "api_key"
	CredAPISecret = "api_secret"
	CredBaseURL   = "base_url" // only with Options.AllowCustomURLs (fakes, dev)
	CredDataURL   = "data_url" // only with Options.AllowCustomURLs
)

// sharedLimiter is the process-wide bucket set for Alpaca: adapters are built
// per activity call, the bucket must outlive them.
var sharedLimiter = ratelimit.New(PublishedRequestsPerMinute)

// Options configure the factory.
type Options struct {
	// HTTPClient defaults to httpx.NewClient() (10 s timeout).
	HTTPClient *http.Client
	// Limiter defaults to the process-wide Alpaca limiter (100 requests per
	// minute per credential).
	Limiter *ratelimit.Limiter
	// AllowCustomURLs lets credentials carry base_url / data_url (the fake,
	// the dev server). Off in production: a trader-supplied URL would make
	// the server send requests, with the trader's keys, wherever it points.
	AllowCustomURLs bool
	// Now defaults to time.Now.
	Now func() time.Time
}

// Factory returns the registry factory for Alpaca.
func Factory(opts Options) broker.Factory {
	return func(cfg broker.Config) (broker.Broker, error) { return New(cfg, opts) }
}

// Register adds Alpaca to a registry.
func Register(r *broker.Registry, opts Options) { r.Register(Name, Factory(opts)) }

// Adapter implements broker.Broker for one Alpaca account.
type Adapter struct {
	c   *client
	now func() time.Time
}

var _ broker.Broker = (*Adapter)(nil)

// New builds an adapter from a connection's config.
func New(cfg broker.Config, opts Options) (*Adapter, error) {
	key := strings.TrimSpace(cfg.Credentials[CredAPIKey])
	secret := strings.TrimSpace(cfg.Credentials[CredAPISecret])
	if key == "" || secret == "" {
		return nil, broker.NewError(Name, broker.KindAuthFailed, "Alpaca needs an API key id and secret key", nil)
	}
	base, data := LiveBaseURL, DataURL
	if cfg.Paper {
		base = PaperBaseURL
	}
	for field, dst := range map[string]*string{CredBaseURL: &base, CredDataURL: &data} {
		v := strings.TrimSpace(cfg.Credentials[field])
		if v == "" {
			continue
		}
		if !opts.AllowCustomURLs {
			return nil, fmt.Errorf("alpaca: credential field %s is not accepted", field)
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("alpaca: %s is not an http(s) URL", field)
		}
		*dst = strings.TrimRight(v, "/")
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = httpx.NewClient()
	}
	lim := opts.Limiter
	if lim == nil {
		lim = sharedLimiter
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	limKey := credentialKey(key)
	doer := func(bucket string) *httpx.Doer {
		return &httpx.Doer{Broker: Name, Client: hc, Limiter: lim, Key: limKey + bucket, RateLimited: rateLimitWait, Now: now}
	}
	return &Adapter{
		c: &client{
			tradingURL: base, dataURL: data, keyID: key, secret: secret,
			trading: doer(":trading"), data: doer(":data"),
		},
		now: now,
	}, nil
}

// credentialKey is the limiter key: a hash, so key ids do not sit in memory maps.
func credentialKey(keyID string) string {
	sum := sha256.Sum256([]byte("alpaca|" + keyID))
	return hex.EncodeToString(sum[:12])
}

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

// Connect validates the credentials with GET /v2/account.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) {
	acct, err := getAccountRequest{}.do(ctx, a.c)
	if err != nil {
		return broker.Balance{}, mapError(opConnect, err)
	}
	if s := strings.ToUpper(acct.Status); unusableStatus[s] || acct.AccountBlocked {
		if acct.AccountBlocked {
			s = "BLOCKED"
		}
		return broker.Balance{}, broker.NewError(Name, broker.KindAuthFailed,
			fmt.Sprintf("the Alpaca account cannot trade (status %s)", s), nil)
	}
	return toBalance(acct), nil
}

// unusableStatus are account statuses in which Alpaca accepts no orders.
var unusableStatus = map[string]bool{
	"ACCOUNT_CLOSED": true, "DISABLED": true, "INACTIVE": true, "REJECTED": true,
	"SUBMISSION_FAILED": true, "ONBOARDING": true, "SUBMITTED": true, "APPROVAL_PENDING": true,
}

// GetBalance implements broker.Broker.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	acct, err := getAccountRequest{}.do(ctx, a.c)
	if err != nil {
		return broker.Balance{}, mapError(opConnect, err)
	}
	return toBalance(acct), nil
}

// PlaceOrder submits the order once. A crypto order is first fitted to the
// pair's asset rules (rules.go). A reused client order id is refused by
// Alpaca ("client_order_id must be unique"); the adapter then returns the
// existing order. When the submission's outcome is unknown (5xx, timeout,
// dropped connection) it looks the order up by client order id — a read —
// and returns it if Alpaca has it; otherwise the UNAVAILABLE error stands and
// the workflow retries with the same client order id. Submissions are never
// resent here.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	var rules *symbols.Rules
	if isCryptoOrder(req) {
		r, err := a.cryptoRules(ctx, req.Symbol)
		if err != nil {
			return broker.Order{}, err
		}
		rules = &r
	}
	wire, err := toCreateOrder(req, rules)
	if err != nil {
		return broker.Order{}, err
	}
	w, err := wire.do(ctx, a.c)
	if err == nil {
		return toOrder(w), nil
	}
	switch {
	case isDuplicateClientID(err):
		existing, found, ferr := a.FindOrderByClientID(ctx, req.ClientOrderID)
		if ferr != nil {
			return broker.Order{}, ferr
		}
		if !found {
			return broker.Order{}, broker.NewError(Name, broker.KindRejected, "Alpaca reports the client order id as used but has no such order", err)
		}
		return sameOrder(req, existing, err)
	case broker.KindOf(mapError(opPlace, err)) == broker.KindUnavailable:
		existing, found, ferr := a.FindOrderByClientID(ctx, req.ClientOrderID)
		if ferr == nil && found {
			return sameOrder(req, existing, err)
		}
		return broker.Order{}, mapError(opPlace, err)
	}
	mapped := mapError(opPlace, err)
	if rules != nil && broker.KindOf(mapped) == broker.KindInvalidOrder {
		a.forgetRules(req.Symbol)
	}
	return broker.Order{}, mapped
}

// sameOrder guards against returning a different order that happens to
// carry the client order id.
func sameOrder(req broker.OrderRequest, o broker.Order, cause error) (broker.Order, error) {
	if !strings.EqualFold(o.Symbol, req.Symbol) || o.Side != req.Side {
		return broker.Order{}, broker.NewError(Name, broker.KindRejected,
			"the client order id is already used by a different order at Alpaca", cause)
	}
	return o, nil
}

// CancelOrder implements broker.Broker.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	if !validOrderID(brokerOrderID) {
		return notFound(brokerOrderID)
	}
	return mapError(opCancel, cancelOrderRequest{ID: brokerOrderID}.do(ctx, a.c))
}

// GetOrderStatus implements broker.Broker.
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	if !validOrderID(brokerOrderID) {
		return broker.Order{}, notFound(brokerOrderID)
	}
	w, err := getOrderRequest{ID: brokerOrderID}.do(ctx, a.c)
	if err != nil {
		return broker.Order{}, mapError(opGetOrder, err)
	}
	return toOrder(w), nil
}

// FindOrderByClientID implements broker.Broker.
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	w, err := getOrderByClientIDRequest{ClientOrderID: clientOrderID}.do(ctx, a.c)
	if err != nil {
		mapped := mapError(opGetOrder, err)
		if errors.Is(mapped, broker.ErrNotFound) {
			return broker.Order{}, false, nil
		}
		return broker.Order{}, false, mapped
	}
	return toOrder(w), true, nil
}

// GetPositions implements broker.Broker.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	ws, err := listPositionsRequest{}.do(ctx, a.c)
	if err != nil {
		return nil, mapError(opPositions, err)
	}
	out := make([]broker.Position, 0, len(ws))
	for _, w := range ws {
		out = append(out, toPosition(w))
	}
	return out, nil
}

// Clock implements broker.Broker: GET /v2/clock for stocks; crypto trades
// around the clock at Alpaca.
func (a *Adapter) Clock(ctx context.Context, asset signal.AssetClass) (broker.Clock, error) {
	if asset == signal.AssetCrypto {
		return broker.Clock{IsOpen: true, Now: a.now().UTC()}, nil
	}
	c, err := getClockRequest{}.do(ctx, a.c)
	if err != nil {
		return broker.Clock{}, mapError(opClock, err)
	}
	return toClock(c), nil
}

// LastPrice implements broker.Broker with the latest trade from the market
// data API (stocks: v2, crypto: v1beta3 us feed).
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	wireSym := toWireSymbol(symbol)
	var tr *tradeWire
	if isCryptoSymbol(symbol) {
		res, err := latestCryptoTradesRequest{Symbols: wireSym}.do(ctx, a.c)
		if err != nil {
			return decimal.Zero, mapError(opPrice, err)
		}
		if t, ok := res.Trades[wireSym]; ok {
			tr = &t
		}
	} else {
		res, err := latestStockTradeRequest{Symbol: wireSym}.do(ctx, a.c)
		if err != nil {
			return decimal.Zero, mapError(opPrice, err)
		}
		tr = res.Trade
	}
	if tr == nil || !tr.Price.IsPositive() {
		return decimal.Zero, broker.NewError(Name, broker.KindInvalidSymbol,
			fmt.Sprintf("Alpaca has no recent trade for %s", symbol), nil)
	}
	return tr.Price, nil
}

func validOrderID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil
}

func notFound(id string) error {
	return broker.NewError(Name, broker.KindNotFound, "Alpaca has no such order", fmt.Errorf("order id %q is not an Alpaca order id", id))
}
