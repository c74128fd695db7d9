package coinbase

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
)

// Wire layer of the Coinbase Advanced Trade REST API: one method per
// endpoint, CDP API key JWT authentication and the rate-limit waits.
//
// API reference: https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api
// Authentication: https://docs.cdp.coinbase.com/coinbase-app/authentication-authorization/api-key-authentication

// ProductionURL is the Advanced Trade REST host.
const ProductionURL = "https://api.coinbase.com"

const (
	apiPrefix         = "/api/v3/brokerage"
	jwtLifetime       = 2 * time.Minute
	maxRateLimitWaits = 5
	maxRateLimitWait  = 30 * time.Second
)

// Limiter paces requests per credential key; *ratelimit.Limiter satisfies it.
type Limiter interface {
	WaitN(ctx context.Context, key string, weight int) error
	Pause(key string, d time.Duration)
}

// apiError is a non-200 answer: {"error":"NOT_FOUND","error_details":"...",
// "message":"..."} or a plain-text 401.
type apiError struct {
	Status     int
	Code       string `json:"error"`
	Details    string `json:"error_details"`
	Message    string `json:"message"`
	RetryAfter time.Duration
}

func (e *apiError) Error() string {
	return fmt.Sprintf("coinbase http %d %s: %s", e.Status, e.Code, e.Message)
}

// orderError is a create-order answer with success=false (HTTP 200).
type orderError struct {
	FailureReason string
	Resp          wireErrorResponse
}

func (e *orderError) Error() string {
	return fmt.Sprintf("coinbase order refused: %s %s %s", e.Resp.Error, e.Resp.PreviewFailureReason, e.Resp.Message)
}

type client struct {
	baseURL string
	host    string // host[:port] of baseURL, part of the JWT uri claim
	keyName string
	signer  *signer // nil: public market endpoints, unsigned
	http    *http.Client
	lim     Limiter
	limKey  string
	now     func() time.Time
}

// jwtFor signs the bearer token for one request with the key's algorithm
// (EdDSA for Ed25519 keys, ES256 for ECDSA keys): header kid = key name and a
// random nonce; claims iss "cdp", sub = key name, nbf/exp two minutes apart,
// uri = "METHOD host/path" (coinbase-advanced-py jwt_generator.build_jwt).
func (c *client) jwtFor(method, path string) (string, error) {
	now := c.now()
	claims := jwt.MapClaims{
		"iss": "cdp",
		"sub": c.keyName,
		"nbf": now.Unix(),
		"exp": now.Add(jwtLifetime).Unix(),
		"uri": method + " " + c.host + path,
	}
	tok := jwt.NewWithClaims(c.signer.method, claims)
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	tok.Header["kid"] = c.keyName
	tok.Header["nonce"] = hex.EncodeToString(nonce)
	return tok.SignedString(c.signer.key)
}

// --- wire types ---

type wireMoney struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

type wireAccount struct {
	UUID             string    `json:"uuid"`
	Name             string    `json:"name"`
	Currency         string    `json:"currency"`
	AvailableBalance wireMoney `json:"available_balance"`
	Hold             wireMoney `json:"hold"`
	Active           bool      `json:"active"`
	Type             string    `json:"type"`
}

type wireAccounts struct {
	Accounts []wireAccount `json:"accounts"`
	HasNext  bool          `json:"has_next"`
	Cursor   string        `json:"cursor"`
	Size     int           `json:"size"`
}

type wireProduct struct {
	ProductID       string `json:"product_id"`
	Price           string `json:"price"`
	BaseIncrement   string `json:"base_increment"`
	QuoteIncrement  string `json:"quote_increment"`
	PriceIncrement  string `json:"price_increment"`
	BaseMinSize     string `json:"base_min_size"`
	BaseMaxSize     string `json:"base_max_size"`
	QuoteMinSize    string `json:"quote_min_size"`
	QuoteMaxSize    string `json:"quote_max_size"`
	BaseCurrencyID  string `json:"base_currency_id"`
	QuoteCurrencyID string `json:"quote_currency_id"`
	Status          string `json:"status"`
	IsDisabled      bool   `json:"is_disabled"`
	TradingDisabled bool   `json:"trading_disabled"`
	CancelOnly      bool   `json:"cancel_only"`
	LimitOnly       bool   `json:"limit_only"`
	PostOnly        bool   `json:"post_only"`
	ProductType     string `json:"product_type"`
}

type wireMarketIOC struct {
	BaseSize  string `json:"base_size,omitempty"`
	QuoteSize string `json:"quote_size,omitempty"`
}

type wireLimitGTC struct {
	BaseSize   string `json:"base_size"`
	LimitPrice string `json:"limit_price"`
	PostOnly   bool   `json:"post_only"`
}

type wireLimitIOC struct {
	BaseSize   string `json:"base_size"`
	LimitPrice string `json:"limit_price"`
}

type wireStopLimitGTC struct {
	BaseSize      string `json:"base_size"`
	LimitPrice    string `json:"limit_price"`
	StopPrice     string `json:"stop_price"`
	StopDirection string `json:"stop_direction"`
}

type wireOrderConfig struct {
	MarketIOC    *wireMarketIOC    `json:"market_market_ioc,omitempty"`
	LimitGTC     *wireLimitGTC     `json:"limit_limit_gtc,omitempty"`
	SorLimitIOC  *wireLimitIOC     `json:"sor_limit_ioc,omitempty"`
	StopLimitGTC *wireStopLimitGTC `json:"stop_limit_stop_limit_gtc,omitempty"`
	BracketGTC   *wireBracketGTC   `json:"trigger_bracket_gtc,omitempty"`
}

// wireBracketGTC is trigger_bracket_gtc (exitpair.go).
type wireBracketGTC struct {
	BaseSize         string `json:"base_size"`
	LimitPrice       string `json:"limit_price"`
	StopTriggerPrice string `json:"stop_trigger_price"`
}

type wireCreateOrder struct {
	ClientOrderID      string          `json:"client_order_id"`
	ProductID          string          `json:"product_id"`
	Side               string          `json:"side"`
	OrderConfiguration wireOrderConfig `json:"order_configuration"`
}

type wireErrorResponse struct {
	Error                 string `json:"error"`
	Message               string `json:"message"`
	ErrorDetails          string `json:"error_details"`
	PreviewFailureReason  string `json:"preview_failure_reason"`
	NewOrderFailureReason string `json:"new_order_failure_reason"`
}

type wireCreateOrderResponse struct {
	Success         bool   `json:"success"`
	FailureReason   string `json:"failure_reason"`
	OrderID         string `json:"order_id"`
	SuccessResponse *struct {
		OrderID       string `json:"order_id"`
		ProductID     string `json:"product_id"`
		Side          string `json:"side"`
		ClientOrderID string `json:"client_order_id"`
	} `json:"success_response,omitempty"`
	ErrorResponse      *wireErrorResponse `json:"error_response,omitempty"`
	OrderConfiguration *wireOrderConfig   `json:"order_configuration,omitempty"`
}

type wireOrder struct {
	OrderID            string          `json:"order_id"`
	ProductID          string          `json:"product_id"`
	UserID             string          `json:"user_id"`
	OrderConfiguration wireOrderConfig `json:"order_configuration"`
	Side               string          `json:"side"`
	ClientOrderID      string          `json:"client_order_id"`
	Status             string          `json:"status"`
	TimeInForce        string          `json:"time_in_force"`
	CreatedTime        time.Time       `json:"created_time"`
	LastFillTime       *time.Time      `json:"last_fill_time"`
	FilledSize         string          `json:"filled_size"`
	AverageFilledPrice string          `json:"average_filled_price"`
	FilledValue        string          `json:"filled_value"`
	NumberOfFills      string          `json:"number_of_fills"`
	TotalFees          string          `json:"total_fees"`
	OrderType          string          `json:"order_type"`
	RejectReason       string          `json:"reject_reason"`
	RejectMessage      string          `json:"reject_message"`
	CancelMessage      string          `json:"cancel_message"`
	PendingCancel      bool            `json:"pending_cancel"`
	TriggerStatus      string          `json:"trigger_status"`
}

type wireOrders struct {
	Orders  []wireOrder `json:"orders"`
	HasNext bool        `json:"has_next"`
	Cursor  string      `json:"cursor"`
}

type wireCancelResult struct {
	Success       bool   `json:"success"`
	FailureReason string `json:"failure_reason"`
	OrderID       string `json:"order_id"`
}

// --- endpoints ---

// accounts is GET /accounts, one page.
func (c *client) accounts(ctx context.Context, cursor string) (wireAccounts, error) {
	q := url.Values{"limit": {"250"}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out wireAccounts
	err := c.call(ctx, http.MethodGet, apiPrefix+"/accounts", q, nil, &out)
	return out, err
}

// product is GET /products/{product_id}.
func (c *client) product(ctx context.Context, productID string) (wireProduct, error) {
	var out wireProduct
	err := c.call(ctx, http.MethodGet, apiPrefix+"/products/"+url.PathEscape(productID), nil, nil, &out)
	return out, err
}

// publicProduct is GET /market/products/{product_id} (no authentication).
func (c *client) publicProduct(ctx context.Context, productID string) (wireProduct, error) {
	var out wireProduct
	err := c.call(ctx, http.MethodGet, apiPrefix+"/market/products/"+url.PathEscape(productID), nil, nil, &out)
	return out, err
}

// createOrder is POST /orders. A refusal (success=false) is an *orderError.
func (c *client) createOrder(ctx context.Context, req wireCreateOrder) (wireCreateOrderResponse, error) {
	var out wireCreateOrderResponse
	if err := c.call(ctx, http.MethodPost, apiPrefix+"/orders", nil, req, &out); err != nil {
		return out, err
	}
	if !out.Success || out.SuccessResponse == nil {
		oe := &orderError{FailureReason: out.FailureReason}
		if out.ErrorResponse != nil {
			oe.Resp = *out.ErrorResponse
		}
		return out, oe
	}
	return out, nil
}

// order is GET /orders/historical/{order_id}.
func (c *client) order(ctx context.Context, orderID string) (wireOrder, error) {
	var out struct {
		Order wireOrder `json:"order"`
	}
	err := c.call(ctx, http.MethodGet, apiPrefix+"/orders/historical/"+url.PathEscape(orderID), nil, nil, &out)
	return out.Order, err
}

// listOrders is GET /orders/historical/batch, one page, newest first.
func (c *client) listOrders(ctx context.Context, cursor string) (wireOrders, error) {
	q := url.Values{"limit": {"100"}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var out wireOrders
	err := c.call(ctx, http.MethodGet, apiPrefix+"/orders/historical/batch", q, nil, &out)
	return out, err
}

// batchCancel is POST /orders/batch_cancel.
func (c *client) batchCancel(ctx context.Context, orderIDs ...string) ([]wireCancelResult, error) {
	var out struct {
		Results []wireCancelResult `json:"results"`
	}
	err := c.call(ctx, http.MethodPost, apiPrefix+"/orders/batch_cancel", nil, map[string][]string{"order_ids": orderIDs}, &out)
	return out.Results, err
}

// --- transport ---

// call sends one authenticated request (a fresh JWT per attempt) and decodes
// a 200 answer into out. 429 answers are waited out (Retry-After, else 1 s);
// GETs are retried twice on 5xx or a failed connection; POSTs never (the
// workflow retries order submissions with the same client order id).
func (c *client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("coinbase: encode %s: %w", path, err)
		}
	}
	rateWaits, readRetries := 0, 0
	for {
		if c.lim != nil {
			if err := c.lim.WaitN(ctx, c.limKey, 1); err != nil {
				if errors.Is(err, context.Canceled) {
					return broker.NewError(Name, broker.KindUnavailable, "request was cancelled", err)
				}
				return broker.NewError(Name, broker.KindRateLimited, "request is queued behind the Coinbase rate limit and ran out of time", err)
			}
		}
		status, header, rb, err := c.send(ctx, method, path, q, body)
		if err == nil && status >= 500 {
			ae := &apiError{Status: status}
			_ = json.Unmarshal(rb, ae)
			err = ae
		}
		if err != nil {
			if method == http.MethodGet && readRetries < 2 && ctx.Err() == nil {
				if sleep(ctx, (200*time.Millisecond)<<readRetries) == nil {
					readRetries++
					continue
				}
			}
			return err
		}
		if status == http.StatusOK {
			return httpx.DecodeJSON(Name, rb, out)
		}
		ae := &apiError{Status: status}
		if json.Unmarshal(rb, ae) != nil || (ae.Code == "" && ae.Message == "") {
			ae.Message = strings.TrimSpace(string(rb))
			if ae.Message == "" || len(ae.Message) > 200 {
				ae.Message = http.StatusText(status)
			}
		}
		if status != http.StatusTooManyRequests {
			return ae
		}
		ae.RetryAfter = httpx.DefaultRetryAfter
		if d, ok := httpx.RetryAfter(header, c.now()); ok {
			ae.RetryAfter = d
		}
		if c.lim != nil {
			c.lim.Pause(c.limKey, ae.RetryAfter)
		}
		if rateWaits >= maxRateLimitWaits || ae.RetryAfter > maxRateLimitWait {
			return ae
		}
		rateWaits++
		if c.lim == nil {
			if sleep(ctx, ae.RetryAfter) != nil {
				return ae
			}
		}
	}
}

func (c *client) send(ctx context.Context, method, path string, q url.Values, body []byte) (int, http.Header, []byte, error) {
	u := c.baseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	if c.signer != nil { // public market endpoints go unsigned
		token, err := c.jwtFor(method, path)
		if err != nil {
			return 0, nil, nil, broker.NewError(Name, broker.KindAuthFailed, "could not sign the Coinbase request with this API key", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, httpx.MaxBodyBytes))
	if err != nil {
		return 0, nil, nil, httpx.TransportError(Name, err)
	}
	return resp.StatusCode, resp.Header, b, nil
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
