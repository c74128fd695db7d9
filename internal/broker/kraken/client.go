package kraken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
)

// Wire layer of the Kraken spot REST API: one method per endpoint, API-Sign
// signing with a strictly increasing nonce, and the rate-limit waits.
//
// API reference: https://docs.kraken.com/api/docs/rest-api/ (spot REST),
// https://docs.kraken.com/api/docs/guides/spot-rest-auth (signing),
// https://docs.kraken.com/api/docs/guides/spot-rest-ratelimits (limits).

// ProductionURL is the spot REST endpoint. Kraken has no spot sandbox.
const ProductionURL = "https://api.kraken.com"

const (
	maxRateLimitWaits = 5
	maxRateLimitWait  = 30 * time.Second
	userAgent         = "tradeexec/1 (+Kraken REST)"
)

// Limiter paces requests per credential key; *ratelimit.Limiter satisfies it.
type Limiter interface {
	WaitN(ctx context.Context, key string, weight int) error
	Pause(key string, d time.Duration)
}

// apiError is a Kraken answer with a non-empty error array (HTTP 200 for
// business errors) or a non-200 status.
type apiError struct {
	Status     int
	Errors     []string
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("kraken http %d: %s", e.Status, strings.Join(e.Errors, "; "))
}

func (e *apiError) has(prefix string) bool {
	for _, s := range e.Errors {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// nonceSource hands out strictly increasing nonces per API key and
// serialises the key's private calls: Kraken rejects a nonce lower than one
// it already saw, so two in-flight requests must not overtake each other.
type nonceSource struct {
	mu   sync.Mutex
	keys map[string]*keyState
}

type keyState struct {
	mu   sync.Mutex // held for the whole private call
	last int64
}

func (n *nonceSource) key(apiKey string) *keyState {
	n.mu.Lock()
	defer n.mu.Unlock()
	ks := n.keys[apiKey]
	if ks == nil {
		ks = &keyState{}
		n.keys[apiKey] = ks
	}
	return ks
}

// next is called with ks.mu held: microseconds since the epoch, bumped past
// the last nonce used.
func (ks *keyState) next(now time.Time) int64 {
	n := now.UnixMicro()
	if n <= ks.last {
		n = ks.last + 1
	}
	ks.last = n
	return n
}

type client struct {
	baseURL   string
	apiKey    string
	secret    []byte // base64-decoded
	http      *http.Client
	lim       Limiter // private endpoints, per key
	pubLim    Limiter // public endpoints, per IP
	limKey    string
	nonces    *nonceSource
	now       func() time.Time
	rlBackoff time.Duration
}

// --- wire types ---

type wireEnvelope struct {
	Error  []string        `json:"error"`
	Result json.RawMessage `json:"result"`
}

type wireAssetPair struct {
	Altname      string `json:"altname"`
	Wsname       string `json:"wsname"`
	Base         string `json:"base"`
	Quote        string `json:"quote"`
	PairDecimals int32  `json:"pair_decimals"`
	CostDecimals int32  `json:"cost_decimals"`
	LotDecimals  int32  `json:"lot_decimals"`
	OrderMin     string `json:"ordermin"`
	CostMin      string `json:"costmin"`
	TickSize     string `json:"tick_size"`
	Status       string `json:"status"`
}

type wireTicker struct {
	Ask  []string `json:"a"`
	Bid  []string `json:"b"`
	Last []string `json:"c"`
}

type wireBalanceEx struct {
	Balance   string `json:"balance"`
	HoldTrade string `json:"hold_trade"`
}

type wireDescr struct {
	Pair      string `json:"pair"`
	Type      string `json:"type"`
	OrderType string `json:"ordertype"`
	Price     string `json:"price"`
	Price2    string `json:"price2"`
	Order     string `json:"order"`
}

type wireOrder struct {
	ClOrdID   string    `json:"cl_ord_id,omitempty"`
	UserRef   int64     `json:"userref"`
	Status    string    `json:"status"`
	Reason    *string   `json:"reason"`
	OpenTm    float64   `json:"opentm"`
	CloseTm   float64   `json:"closetm,omitempty"`
	Descr     wireDescr `json:"descr"`
	Vol       string    `json:"vol"`
	VolExec   string    `json:"vol_exec"`
	Cost      string    `json:"cost"`
	Fee       string    `json:"fee"`
	Price     string    `json:"price"`
	StopPrice string    `json:"stopprice"`
	LimitPrc  string    `json:"limitprice"`
	Misc      string    `json:"misc"`
	OFlags    string    `json:"oflags"`
}

type wireAddOrder struct {
	Descr struct {
		Order string `json:"order"`
	} `json:"descr"`
	TxID []string `json:"txid"`
}

// addOrderParams is POST /0/private/AddOrder. Volume and prices are decimal
// strings already normalised to the pair's lot_decimals and tick_size.
type addOrderParams struct {
	Pair        string
	Type        string // buy | sell
	OrderType   string // market | limit | stop-loss | stop-loss-limit
	Volume      string
	Price       string // limit price, or trigger price for stop orders
	Price2      string // limit price of a stop-loss-limit
	TimeInForce string // GTC | IOC
	ClOrdID     string
}

// --- public endpoints ---

// assetPairs is GET /0/public/AssetPairs?pair=.
func (c *client) assetPairs(ctx context.Context, pair string) (map[string]wireAssetPair, error) {
	var out map[string]wireAssetPair
	err := c.public(ctx, "/0/public/AssetPairs", url.Values{"pair": {pair}}, &out)
	return out, err
}

// ticker is GET /0/public/Ticker?pair=.
func (c *client) ticker(ctx context.Context, pair string) (map[string]wireTicker, error) {
	var out map[string]wireTicker
	err := c.public(ctx, "/0/public/Ticker", url.Values{"pair": {pair}}, &out)
	return out, err
}

// --- private endpoints ---

// balanceEx is POST /0/private/BalanceEx: balances with the amount held by
// open orders.
func (c *client) balanceEx(ctx context.Context) (map[string]wireBalanceEx, error) {
	var out map[string]wireBalanceEx
	err := c.private(ctx, "BalanceEx", url.Values{}, false, &out)
	return out, err
}

// addOrder is POST /0/private/AddOrder.
func (c *client) addOrder(ctx context.Context, p addOrderParams) (wireAddOrder, error) {
	q := url.Values{
		"pair":      {p.Pair},
		"type":      {p.Type},
		"ordertype": {p.OrderType},
		"volume":    {p.Volume},
		"cl_ord_id": {p.ClOrdID},
	}
	if p.Price != "" {
		q.Set("price", p.Price)
	}
	if p.Price2 != "" {
		q.Set("price2", p.Price2)
	}
	if p.TimeInForce != "" {
		q.Set("timeinforce", p.TimeInForce)
	}
	var out wireAddOrder
	err := c.private(ctx, "AddOrder", q, true, &out)
	return out, err
}

// queryOrders is POST /0/private/QueryOrders?txid=.
func (c *client) queryOrders(ctx context.Context, txids ...string) (map[string]wireOrder, error) {
	var out map[string]wireOrder
	err := c.private(ctx, "QueryOrders", url.Values{"txid": {strings.Join(txids, ",")}}, false, &out)
	return out, err
}

// openOrders is POST /0/private/OpenOrders filtered by cl_ord_id.
func (c *client) openOrders(ctx context.Context, clOrdID string) (map[string]wireOrder, error) {
	var out struct {
		Open map[string]wireOrder `json:"open"`
	}
	err := c.private(ctx, "OpenOrders", url.Values{"cl_ord_id": {clOrdID}}, false, &out)
	return out.Open, err
}

// closedOrders is POST /0/private/ClosedOrders filtered by cl_ord_id.
func (c *client) closedOrders(ctx context.Context, clOrdID string) (map[string]wireOrder, error) {
	var out struct {
		Closed map[string]wireOrder `json:"closed"`
	}
	err := c.private(ctx, "ClosedOrders", url.Values{"cl_ord_id": {clOrdID}}, false, &out)
	return out.Closed, err
}

// cancelOrder is POST /0/private/CancelOrder.
func (c *client) cancelOrder(ctx context.Context, txid string) error {
	return c.private(ctx, "CancelOrder", url.Values{"txid": {txid}}, true, nil)
}

// --- signing and transport ---

// apiSign is base64(HMAC-SHA512(secret, path + SHA256(nonce + postdata))).
func apiSign(secret []byte, path, nonce, postData string) string {
	sum := sha256.Sum256([]byte(nonce + postData))
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(path))
	m.Write(sum[:])
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func (c *client) public(ctx context.Context, path string, q url.Values, out any) error {
	return c.loop(ctx, c.pubLim, "kraken:public", func() (*apiError, error) {
		return c.send(ctx, http.MethodGet, path+"?"+q.Encode(), nil, nil, out)
	}, true)
}

// private signs and sends one private call. Trading calls (AddOrder,
// CancelOrder) count against Kraken's matching-engine limit, not the REST
// call counter, so they wait on a separate key.
func (c *client) private(ctx context.Context, method string, q url.Values, trading bool, out any) error {
	key := c.limKey
	if trading {
		key += ":trade"
	}
	path := "/0/private/" + method
	ks := c.nonces.key(c.apiKey)
	nonceRetries := 0
	return c.loop(ctx, c.lim, key, func() (*apiError, error) {
		ks.mu.Lock()
		defer ks.mu.Unlock()
		for {
			nonce := strconv.FormatInt(ks.next(c.now()), 10)
			form := "nonce=" + nonce
			if enc := q.Encode(); enc != "" {
				form += "&" + enc
			}
			h := http.Header{
				"API-Key":      {c.apiKey},
				"API-Sign":     {apiSign(c.secret, path, nonce, form)},
				"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"},
			}
			ae, err := c.send(ctx, http.MethodPost, path, []byte(form), h, out)
			// A refused nonce means the request had no effect: sign again.
			if ae != nil && ae.has("EAPI:Invalid nonce") && nonceRetries < 2 {
				nonceRetries++
				continue
			}
			return ae, err
		}
	}, !trading)
}

// loop waits for the limiter, sends, and waits out rate-limit answers.
// Reads are retried twice on 5xx or a failed connection; trading calls never
// (the workflow retries them with the same client order id).
func (c *client) loop(ctx context.Context, lim Limiter, key string, send func() (*apiError, error), read bool) error {
	rateWaits, readRetries := 0, 0
	for {
		if lim != nil {
			if err := lim.WaitN(ctx, key, 1); err != nil {
				if errors.Is(err, context.Canceled) {
					return broker.NewError(Name, broker.KindUnavailable, "request was cancelled", err)
				}
				return broker.NewError(Name, broker.KindRateLimited, "request is queued behind the Kraken rate limit and ran out of time", err)
			}
		}
		ae, err := send()
		if err == nil && ae == nil {
			return nil
		}
		if err == nil && isRateLimited(ae) {
			wait := c.rateLimitWait(ae)
			ae.RetryAfter = wait
			if lim != nil {
				lim.Pause(key, wait)
			}
			if rateWaits >= maxRateLimitWaits || wait > maxRateLimitWait {
				return ae
			}
			rateWaits++
			if lim == nil {
				if sleep(ctx, wait) != nil {
					return ae
				}
			}
			continue
		}
		transient := err != nil || ae.Status >= 500 || isUnavailable(ae)
		if read && transient && readRetries < 2 && ctx.Err() == nil {
			if sleep(ctx, (200*time.Millisecond)<<readRetries) == nil {
				readRetries++
				continue
			}
		}
		if err != nil {
			return err
		}
		return ae
	}
}

// rateLimitWait is how long to back off: Retry-After if sent, the time in
// "EService:Throttled: <unix>", else the configured backoff.
func (c *client) rateLimitWait(ae *apiError) time.Duration {
	if ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	for _, s := range ae.Errors {
		if rest, ok := strings.CutPrefix(s, "EService:Throttled:"); ok {
			if ts, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
				if d := time.Unix(ts, 0).Sub(c.now()); d > 0 {
					return d
				}
			}
		}
	}
	return c.rlBackoff
}

func isRateLimited(ae *apiError) bool {
	return ae.Status == http.StatusTooManyRequests || ae.has("EAPI:Rate limit exceeded") ||
		ae.has("EOrder:Rate limit exceeded") || ae.has("EService:Throttled")
}

func isUnavailable(ae *apiError) bool {
	return ae.has("EService:Unavailable") || ae.has("EService:Busy") || ae.has("EGeneral:Internal error") ||
		ae.has("EService:Deadline elapsed")
}

// send performs one HTTP exchange. It returns a transport error (no usable
// answer), an *apiError (non-200 or a non-empty error array), or decodes the
// result into out.
func (c *client) send(ctx context.Context, method, pathAndQuery string, body []byte, h http.Header, out any) (*apiError, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+pathAndQuery, rd)
	if err != nil {
		return nil, httpx.TransportError(Name, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, httpx.TransportError(Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, httpx.MaxBodyBytes))
	if err != nil {
		return nil, httpx.TransportError(Name, err)
	}
	var env wireEnvelope
	jerr := json.Unmarshal(b, &env)
	if resp.StatusCode != http.StatusOK || len(env.Error) > 0 {
		ae := &apiError{Status: resp.StatusCode, Errors: env.Error}
		if len(ae.Errors) == 0 {
			ae.Errors = []string{http.StatusText(resp.StatusCode)}
		}
		if d, ok := httpx.RetryAfter(resp.Header, c.now()); ok {
			ae.RetryAfter = d
		}
		return ae, nil
	}
	if jerr != nil {
		return nil, broker.NewError(Name, broker.KindUnavailable, "Kraken sent an unreadable response", jerr)
	}
	if out != nil && len(env.Result) > 0 {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return nil, broker.NewError(Name, broker.KindUnavailable, "Kraken sent an unreadable response", err)
		}
	}
	return nil, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	ok := errors.As(err, &ae)
	return ae, ok
}

// decodeSecret reads the API secret as Kraken shows it (base64).
func decodeSecret(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
