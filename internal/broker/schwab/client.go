package schwab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker/httpx"
)

// Wire layer of the Charles Schwab Trader API (Accounts and Trading
// Production, Market Data Production): one method per endpoint and the
// request/response types of each. Every call carries the connection's
// OAuth2 Bearer token. Nothing here knows the broker-neutral types;
// convert.go maps between the two.
//
// Reference: https://developer.schwab.com/products/trader-api--individual
// (Accounts and Trading Production v1, Market Data Production v1).

const (
	// DefaultBaseURL is the Trader API host; paths start /trader/v1,
	// /marketdata/v1 and /v1/oauth.
	DefaultBaseURL = "https://api.schwabapi.com"

	// PublishedLimitPerMinute is the per-account request limit FR-016 plans
	// against (the limiter uses half of it: 60 per minute).
	PublishedLimitPerMinute = 120

	// entered-time query format of GET .../orders.
	queryTimeLayout = "2006-01-02T15:04:05.000Z"
)

// apiError is an error answer of the Trader API: the HTTP status and the
// message of a {"message": "...", "errors": [...]} (Accounts and Trading) or
// {"errors": [{"title","detail"}]} (Market Data) body.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("schwab http %d: %s", e.Status, e.Message) }

// client calls the API for one connection.
type client struct {
	base   string
	doer   *httpx.Doer
	tokens *tokenSource
}

// call sends one authorized request. A 401 (the access token was revoked or
// expired early) refreshes the token once and resends. It returns the
// response of a 2xx answer, decoding its JSON body into out when out is not
// nil; 4xx answers are *apiError; 5xx, lasting rate limits and transport
// failures come back from httpx as *broker.Error; token failures as
// *broker.Error of kind AUTH_FAILED or UNAVAILABLE.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body any, read bool, out any) (*httpx.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("schwab: encode %s: %w", path, err)
		}
		payload = b
	}
	for attempt := 0; ; attempt++ {
		token, err := c.tokens.token(ctx)
		if err != nil {
			return nil, err
		}
		req := httpx.Request{Method: method, URL: u, Body: payload, Read: read, Header: http.Header{
			"Accept":                 {"application/json"},
			"Authorization":          {"Bearer " + token},
			"Schwab-Client-Correlid": {correlationID()},
		}}
		resp, err := c.doer.Do(ctx, req)
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusUnauthorized && attempt == 0 {
			c.tokens.invalidate(token)
			continue
		}
		if resp.Status >= 300 {
			return nil, &apiError{Status: resp.Status, Message: errorText(resp.Body)}
		}
		if out != nil && len(bytes.TrimSpace(resp.Body)) > 0 {
			if err := httpx.DecodeJSON(Name, resp.Body, out); err != nil {
				return nil, err
			}
		}
		return resp, nil
	}
}

// correlationID is the Schwab-Client-CorrelId Schwab asks clients to send.
func correlationID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "tradeexec"
	}
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errorText extracts the message of an error body in either of Schwab's two
// formats.
func errorText(body []byte) string {
	var e struct {
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
		Error   string          `json:"error"`
		Desc    string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil {
		parts := []string{}
		if e.Message != "" {
			parts = append(parts, e.Message)
		}
		var list []string
		var objs []struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
		}
		switch {
		case json.Unmarshal(e.Errors, &list) == nil:
			for _, s := range list {
				if s != "" && s != e.Message {
					parts = append(parts, s)
				}
			}
		case json.Unmarshal(e.Errors, &objs) == nil:
			for _, o := range objs {
				if o.Detail != "" {
					parts = append(parts, o.Detail)
				} else if o.Title != "" {
					parts = append(parts, o.Title)
				}
			}
		}
		if len(parts) == 0 && e.Error != "" {
			parts = append(parts, e.Error)
		}
		if len(parts) > 0 {
			return strings.Join(parts, ": ")
		}
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

// --- accounts ---

// wireAccountNumber maps a plain account number to the encrypted value the
// API takes in paths.
type wireAccountNumber struct {
	AccountNumber string `json:"accountNumber"`
	HashValue     string `json:"hashValue"`
}

// accountNumbers is GET /trader/v1/accounts/accountNumbers.
func (c *client) accountNumbers(ctx context.Context) ([]wireAccountNumber, error) {
	var out []wireAccountNumber
	_, err := c.call(ctx, http.MethodGet, "/trader/v1/accounts/accountNumbers", nil, nil, true, &out)
	return out, err
}

// wireBalances is one of an account's balance blocks. Fields absent for the
// account type (buyingPower of a cash account) stay nil.
type wireBalances struct {
	CashBalance             *decimal.Decimal `json:"cashBalance"`
	CashAvailableForTrading *decimal.Decimal `json:"cashAvailableForTrading"`
	AvailableFunds          *decimal.Decimal `json:"availableFunds"`
	BuyingPower             *decimal.Decimal `json:"buyingPower"`
	LiquidationValue        *decimal.Decimal `json:"liquidationValue"`
	Equity                  *decimal.Decimal `json:"equity"`
	LongMarketValue         *decimal.Decimal `json:"longMarketValue"`
}

// wirePosition is one position of an account.
type wirePosition struct {
	ShortQuantity        decimal.Decimal `json:"shortQuantity"`
	LongQuantity         decimal.Decimal `json:"longQuantity"`
	AveragePrice         decimal.Decimal `json:"averagePrice"`
	AverageLongPrice     decimal.Decimal `json:"averageLongPrice"`
	AverageShortPrice    decimal.Decimal `json:"averageShortPrice"`
	MarketValue          decimal.Decimal `json:"marketValue"`
	LongOpenProfitLoss   decimal.Decimal `json:"longOpenProfitLoss"`
	ShortOpenProfitLoss  decimal.Decimal `json:"shortOpenProfitLoss"`
	CurrentDayProfitLoss decimal.Decimal `json:"currentDayProfitLoss"`
	Instrument           wireInstrument  `json:"instrument"`
}

// wireSecuritiesAccount is the account object.
type wireSecuritiesAccount struct {
	Type            string         `json:"type"` // CASH | MARGIN
	AccountNumber   string         `json:"accountNumber"`
	Positions       []wirePosition `json:"positions"`
	InitialBalances wireBalances   `json:"initialBalances"`
	CurrentBalances wireBalances   `json:"currentBalances"`
}

// wireAccount is the answer of GET /trader/v1/accounts/{accountNumber}.
type wireAccount struct {
	SecuritiesAccount wireSecuritiesAccount `json:"securitiesAccount"`
	AggregatedBalance struct {
		CurrentLiquidationValue *decimal.Decimal `json:"currentLiquidationValue"`
		LiquidationValue        *decimal.Decimal `json:"liquidationValue"`
	} `json:"aggregatedBalance"`
}

// account is GET /trader/v1/accounts/{accountNumber}[?fields=positions].
func (c *client) account(ctx context.Context, hash string, positions bool) (wireAccount, error) {
	var out wireAccount
	var q url.Values
	if positions {
		q = url.Values{"fields": {"positions"}}
	}
	_, err := c.call(ctx, http.MethodGet, "/trader/v1/accounts/"+url.PathEscape(hash), q, nil, true, &out)
	return out, err
}

// --- orders ---

// wireInstrument names the security of an order leg or position.
type wireInstrument struct {
	Symbol    string `json:"symbol"`
	AssetType string `json:"assetType"` // EQUITY
	Cusip     string `json:"cusip,omitempty"`
}

// wireLegRequest is one leg of a new order.
type wireLegRequest struct {
	Instruction string         `json:"instruction"` // BUY | SELL
	Quantity    json.Number    `json:"quantity"`
	Instrument  wireInstrument `json:"instrument"`
}

// wireOrderRequest is the body of POST /trader/v1/accounts/{accountNumber}/orders.
type wireOrderRequest struct {
	Session                  string           `json:"session"`  // NORMAL | SEAMLESS
	Duration                 string           `json:"duration"` // DAY | GOOD_TILL_CANCEL | IMMEDIATE_OR_CANCEL
	OrderType                string           `json:"orderType"`
	Price                    json.Number      `json:"price,omitempty"`
	StopPrice                json.Number      `json:"stopPrice,omitempty"`
	StopPriceLinkBasis       string           `json:"stopPriceLinkBasis,omitempty"` // LAST
	StopPriceLinkType        string           `json:"stopPriceLinkType,omitempty"`  // PERCENT
	StopPriceOffset          json.Number      `json:"stopPriceOffset,omitempty"`
	ComplexOrderStrategyType string           `json:"complexOrderStrategyType"` // NONE
	OrderStrategyType        string           `json:"orderStrategyType"`        // SINGLE
	OrderLegCollection       []wireLegRequest `json:"orderLegCollection"`
}

// wireOCORequest is an OCO order body: the strategy type and the two
// orders, nothing else (schwab-py orders.common.one_cancels_other).
type wireOCORequest struct {
	OrderStrategyType    string             `json:"orderStrategyType"` // OCO
	ChildOrderStrategies []wireOrderRequest `json:"childOrderStrategies"`
}

// placeOrder is POST /trader/v1/accounts/{accountNumber}/orders (a
// wireOrderRequest or a wireOCORequest). Schwab answers 201 with an empty
// body and the new order's URL in Location. Never retried here.
func (c *client) placeOrder(ctx context.Context, hash string, req any) (orderID string, err error) {
	resp, err := c.call(ctx, http.MethodPost, "/trader/v1/accounts/"+url.PathEscape(hash)+"/orders", nil, req, false, nil)
	if err != nil {
		return "", err
	}
	return orderIDFromLocation(resp.Header.Get("Location")), nil
}

// orderIDFromLocation takes the order id from .../orders/{orderId}.
func orderIDFromLocation(loc string) string {
	loc = strings.TrimRight(strings.TrimSpace(loc), "/")
	i := strings.LastIndex(loc, "/orders/")
	if i < 0 {
		return ""
	}
	id := loc[i+len("/orders/"):]
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return ""
	}
	return id
}

// wireExecutionLeg is one fill of an order.
type wireExecutionLeg struct {
	LegID    int             `json:"legId"`
	Price    decimal.Decimal `json:"price"`
	Quantity decimal.Decimal `json:"quantity"`
	Time     string          `json:"time"`
}

// wireOrderActivity is one event of an order (executions carry fills).
type wireOrderActivity struct {
	ActivityType           string             `json:"activityType"`
	ExecutionType          string             `json:"executionType"`
	Quantity               decimal.Decimal    `json:"quantity"`
	OrderRemainingQuantity decimal.Decimal    `json:"orderRemainingQuantity"`
	ExecutionLegs          []wireExecutionLeg `json:"executionLegs"`
}

// wireOrderLeg is one leg of an existing order.
type wireOrderLeg struct {
	OrderLegType string          `json:"orderLegType"`
	LegID        int             `json:"legId"`
	Instrument   wireInstrument  `json:"instrument"`
	Instruction  string          `json:"instruction"`
	Quantity     decimal.Decimal `json:"quantity"`
}

// wireOrder is an order as GET .../orders and .../orders/{orderId} return it.
type wireOrder struct {
	Session                 string              `json:"session"`
	Duration                string              `json:"duration"`
	OrderType               string              `json:"orderType"`
	Quantity                decimal.Decimal     `json:"quantity"`
	FilledQuantity          decimal.Decimal     `json:"filledQuantity"`
	RemainingQuantity       decimal.Decimal     `json:"remainingQuantity"`
	Price                   decimal.Decimal     `json:"price"`
	StopPrice               decimal.Decimal     `json:"stopPrice"`
	StopPriceLinkBasis      string              `json:"stopPriceLinkBasis"`
	StopPriceLinkType       string              `json:"stopPriceLinkType"`
	StopPriceOffset         decimal.Decimal     `json:"stopPriceOffset"`
	OrderLegCollection      []wireOrderLeg      `json:"orderLegCollection"`
	OrderStrategyType       string              `json:"orderStrategyType"`
	OrderID                 json.Number         `json:"orderId"`
	Cancelable              bool                `json:"cancelable"`
	Status                  string              `json:"status"`
	StatusDescription       string              `json:"statusDescription"`
	EnteredTime             string              `json:"enteredTime"`
	CloseTime               string              `json:"closeTime"`
	Tag                     string              `json:"tag"`
	AccountNumber           json.Number         `json:"accountNumber"`
	OrderActivityCollection []wireOrderActivity `json:"orderActivityCollection"`
	// ChildOrderStrategies are an OCO's (or a TRIGGER's) orders.
	ChildOrderStrategies wireChildOrders `json:"childOrderStrategies"`
}

// wireChildOrders reads childOrderStrategies: the orders in it; anything
// that is not an object (the documented schema example shows ["string"])
// is skipped rather than failing the whole order.
type wireChildOrders []wireOrder

func (c *wireChildOrders) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil // not an array: no children
	}
	out := make(wireChildOrders, 0, len(raw))
	for _, r := range raw {
		if t := bytes.TrimSpace(r); len(t) == 0 || t[0] != '{' {
			continue
		}
		var o wireOrder
		if err := json.Unmarshal(r, &o); err != nil {
			return err
		}
		out = append(out, o)
	}
	*c = out
	return nil
}

// ordersQuery is the query of GET .../orders (both times are required).
type ordersQuery struct {
	From, To   time.Time
	MaxResults int
}

// orders is GET /trader/v1/accounts/{accountNumber}/orders.
func (c *client) orders(ctx context.Context, hash string, q ordersQuery) ([]wireOrder, error) {
	var out []wireOrder
	v := url.Values{
		"fromEnteredTime": {q.From.UTC().Format(queryTimeLayout)},
		"toEnteredTime":   {q.To.UTC().Format(queryTimeLayout)},
	}
	if q.MaxResults > 0 {
		v.Set("maxResults", strconv.Itoa(q.MaxResults))
	}
	_, err := c.call(ctx, http.MethodGet, "/trader/v1/accounts/"+url.PathEscape(hash)+"/orders", v, nil, true, &out)
	return out, err
}

// order is GET /trader/v1/accounts/{accountNumber}/orders/{orderId}.
func (c *client) order(ctx context.Context, hash, orderID string) (wireOrder, error) {
	var out wireOrder
	path := "/trader/v1/accounts/" + url.PathEscape(hash) + "/orders/" + url.PathEscape(orderID)
	_, err := c.call(ctx, http.MethodGet, path, nil, nil, true, &out)
	return out, err
}

// cancelOrder is DELETE /trader/v1/accounts/{accountNumber}/orders/{orderId}.
func (c *client) cancelOrder(ctx context.Context, hash, orderID string) error {
	path := "/trader/v1/accounts/" + url.PathEscape(hash) + "/orders/" + url.PathEscape(orderID)
	_, err := c.call(ctx, http.MethodDelete, path, nil, nil, false, nil)
	return err
}

// --- market data ---

// wireQuote is the quote block of a quote answer.
type wireQuote struct {
	LastPrice  decimal.Decimal `json:"lastPrice"`
	BidPrice   decimal.Decimal `json:"bidPrice"`
	AskPrice   decimal.Decimal `json:"askPrice"`
	Mark       decimal.Decimal `json:"mark"`
	ClosePrice decimal.Decimal `json:"closePrice"`
}

// wireQuoteEntry is one symbol of GET /marketdata/v1/quotes.
type wireQuoteEntry struct {
	AssetMainType string    `json:"assetMainType"`
	Symbol        string    `json:"symbol"`
	Quote         wireQuote `json:"quote"`
}

// wireQuoteErrors is the "errors" entry of a quote answer naming the
// symbols Schwab does not know.
type wireQuoteErrors struct {
	InvalidSymbols []string `json:"invalidSymbols"`
	InvalidCusips  []string `json:"invalidCusips"`
}

// quotes is GET /marketdata/v1/quotes?symbols=&fields=quote. The answer maps
// each symbol to its entry; unknown symbols are listed under "errors".
func (c *client) quotes(ctx context.Context, symbols []string) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	q := url.Values{"symbols": {strings.Join(symbols, ",")}, "fields": {"quote"}}
	_, err := c.call(ctx, http.MethodGet, "/marketdata/v1/quotes", q, nil, true, &out)
	return out, err
}

// wireSession is a session window; times are ISO-8601 with offset.
type wireSession struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// wireMarketHours is one product's hours on one date.
type wireMarketHours struct {
	Date         string                   `json:"date"`
	MarketType   string                   `json:"marketType"`
	Product      string                   `json:"product"`
	IsOpen       bool                     `json:"isOpen"`
	SessionHours map[string][]wireSession `json:"sessionHours"`
}

// markets is GET /marketdata/v1/markets?markets=equity&date=yyyy-MM-dd: market
// type → product → hours.
func (c *client) markets(ctx context.Context, market string, date time.Time) (map[string]map[string]wireMarketHours, error) {
	var out map[string]map[string]wireMarketHours
	q := url.Values{"markets": {market}, "date": {date.Format("2006-01-02")}}
	_, err := c.call(ctx, http.MethodGet, "/marketdata/v1/markets", q, nil, true, &out)
	return out, err
}

var errNoLocation = errors.New("schwab: order accepted without a Location header")
