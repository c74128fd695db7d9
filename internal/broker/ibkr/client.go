package ibkr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// Wire layer of the Interactive Brokers Client Portal Web API, reached through
// the trader's own Client Portal Gateway: one method per endpoint and the
// request/response types of each. Nothing here knows the broker-neutral
// types; convert.go maps between the two.
//
// Reference: https://www.interactivebrokers.com/campus/ibkr-api-page/cpapi-v1/
// (Web API v1.0 documentation and its Swagger reference).

const (
	// DefaultBaseURL is where a locally running Client Portal Gateway serves
	// the API.
	DefaultBaseURL = "https://localhost:5000/v1/api"

	// PublishedLimitPerMinute is the request limit FR-016 plans against
	// (the limiter uses half of it: 25 per minute per gateway session), well
	// inside IBKR's documented 10 requests a second (Pacing).
	PublishedLimitPerMinute = 50
)

// apiError is an error answer of the gateway: an HTTP status (4xx) and the
// {"error": "..."} body (or the raw text when the body is not JSON).
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("ibkr http %d: %s", e.Status, e.Message)
}

// client calls one gateway. The base URL ends in /v1/api.
//
// Every request waits, in this order, for the gateway's token bucket
// (FR-016: half of the published limit), for the endpoint's documented
// pacing and for the global pacing (Pacing), so that what leaves is spaced
// as IBKR counts it. A 429 means the gateway's IP may be in IBKR's penalty
// box: the whole gateway pauses for the penalty (every request of every
// adapter sharing the limiter waits it out, or fails at once with
// RATE_LIMIT_EXCEEDED when its deadline comes first).
type client struct {
	base    string
	doer    *httpx.Doer // no limiter, 429s come back as responses
	limiter *ratelimit.Limiter
	key     string // limiter and pacer key: the gateway
	pacer   *pacer
	pacing  Pacing
	penalty time.Duration // pause after a 429
}

const (
	readRetries       = 2 // reads resent on UNAVAILABLE
	readBackoff       = 200 * time.Millisecond
	maxRateLimitWaits = 5 // 429s waited out by one request
)

// call sends one request and decodes a 2xx JSON answer into out (when out is
// not nil). A 4xx answer is an *apiError; 5xx, rate limits that do not clear
// and transport failures are *broker.Error.
func (c *client) call(ctx context.Context, method, path string, query url.Values, body any, read bool, out any) error {
	_, err := c.callAt(ctx, method, path, query, body, read, out)
	return err
}

// callAt is call reporting when the (last) request left, after its pacing.
func (c *client) callAt(ctx context.Context, method, path string, query url.Values, body any, read bool, out any) (time.Time, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req := httpx.Request{Method: method, URL: u, Header: http.Header{
		"Accept": {"application/json"},
		// The gateway refuses requests without a User-Agent.
		"User-Agent": {"tradeexec/1 (+ibkr)"},
	}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return time.Time{}, fmt.Errorf("ibkr: encode %s: %w", path, err)
		}
		req.Body = b
	}
	resp, at, err := c.send(ctx, path, req, read)
	if err != nil {
		return at, err
	}
	if resp.Status >= 300 {
		return at, &apiError{Status: resp.Status, Message: errorText(resp.Body)}
	}
	// Some endpoints answer 200 with {"error": "..."}.
	if msg := embeddedError(resp.Body); msg != "" {
		return at, &apiError{Status: http.StatusBadRequest, Message: msg}
	}
	if out == nil || len(bytes.TrimSpace(resp.Body)) == 0 {
		return at, nil
	}
	return at, httpx.DecodeJSON(Name, resp.Body, out)
}

// send paces and sends one request: reads are resent on UNAVAILABLE (paced
// again), order submissions and cancels never; 429s are waited out.
func (c *client) send(ctx context.Context, path string, req httpx.Request, read bool) (*httpx.Response, time.Time, error) {
	retries, waits := 0, 0
	for {
		if err := c.admit(ctx, path); err != nil {
			return nil, time.Time{}, err
		}
		at := time.Now()
		resp, err := c.doer.Do(ctx, req)
		if err != nil {
			if read && retries < readRetries && broker.KindOf(err) == broker.KindUnavailable && ctx.Err() == nil {
				retries++
				if sleep(ctx, readBackoff<<(retries-1)) == nil {
					continue
				}
			}
			return nil, at, err
		}
		if resp.Status != http.StatusTooManyRequests {
			return resp, at, nil
		}
		wait := c.penalty
		if d, ok := httpx.RetryAfter(resp.Header, time.Now()); ok && d > wait {
			wait = d
		}
		c.limiter.Pause(c.key, wait)
		if waits++; waits > maxRateLimitWaits {
			e := newErr(broker.KindRateLimited, msgRateLimited, errors.New("ibkr: still rate limited after waiting"))
			e.RetryAfter = wait
			return nil, at, e
		}
	}
}

// admit waits until a request to path may leave: a token of the gateway's
// bucket (and the end of any penalty pause), then the endpoint's pacing,
// then the global pacing.
func (c *client) admit(ctx context.Context, path string) error {
	for {
		if err := c.limiter.Wait(ctx, c.key); err != nil {
			return queuedError(err)
		}
		if err := c.pacer.wait(ctx, c.key+"|"+path, c.pacing.interval(path)); err != nil {
			return queuedError(err)
		}
		if err := c.pacer.wait(ctx, c.key+"|*", c.pacing.globalInterval()); err != nil {
			return queuedError(err)
		}
		if c.limiter.PausedFor(c.key) == 0 {
			return nil
		}
		// A 429 arrived while this request waited its turn: the gateway is
		// in the penalty box, so this request waits it out too.
	}
}

// queuedError maps a failed wait for a turn: cancelled is UNAVAILABLE, a
// deadline that comes first is RATE_LIMIT_EXCEEDED.
func queuedError(err error) error {
	if errors.Is(err, context.Canceled) {
		return newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	return newErr(broker.KindRateLimited, msgRateLimited, err)
}

// errorText extracts the message of an error body.
func errorText(body []byte) string {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Error != "" {
			return e.Error
		}
		if e.Message != "" {
			return e.Message
		}
	}
	// Not the gateway's JSON error: the address may be any server the
	// trader named, so its body (an HTML page, an internal service's
	// answer) is never passed on.
	return ""
}

// embeddedError returns the message of a 2xx body that is a lone
// {"error": "..."} object.
func embeddedError(body []byte) string {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return ""
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) != nil {
		return ""
	}
	return e.Error
}

// flexString decodes a JSON string or number into its text ("order_id" is a
// string in order acknowledgements and a number elsewhere).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// flexDecimal decodes a JSON number or numeric string ("1,300", "C168.42":
// thousands separators and IBKR's C/H price prefixes are removed). Empty and
// null decode to zero with Valid false.
type flexDecimal struct {
	decimal.Decimal
	Valid bool
}

func (f *flexDecimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = flexDecimal{}
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	s = strings.TrimLeft(s, "CH") // C = previous close, H = halted
	if s == "" {
		*f = flexDecimal{}
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("ibkr: number %q: %w", s, err)
	}
	*f = flexDecimal{Decimal: d, Valid: true}
	return nil
}

// --- session ---

// wireAuthStatus is the answer of POST /iserver/auth/status.
type wireAuthStatus struct {
	Authenticated bool   `json:"authenticated"`
	Connected     bool   `json:"connected"`
	Competing     bool   `json:"competing"`
	Fail          string `json:"fail"`
	Message       string `json:"message"`
}

// authStatus is POST /iserver/auth/status: is the brokerage session logged in.
func (c *client) authStatus(ctx context.Context) (wireAuthStatus, error) {
	var out wireAuthStatus
	err := c.call(ctx, http.MethodPost, "/iserver/auth/status", nil, nil, true, &out)
	return out, err
}

// tickle is POST /tickle: keeps the gateway session from timing out.
func (c *client) tickle(ctx context.Context) error {
	return c.call(ctx, http.MethodPost, pathTickle, nil, nil, true, nil)
}

// --- accounts and portfolio ---

// wireIServerAccounts is the answer of GET /iserver/accounts.
type wireIServerAccounts struct {
	Accounts        []string `json:"accounts"`
	SelectedAccount string   `json:"selectedAccount"`
}

// iserverAccounts is GET /iserver/accounts. The gateway requires it before
// order endpoints are used in a brokerage session.
func (c *client) iserverAccounts(ctx context.Context) (wireIServerAccounts, error) {
	var out wireIServerAccounts
	err := c.call(ctx, http.MethodGet, "/iserver/accounts", nil, nil, true, &out)
	return out, err
}

// wirePortfolioAccount is one element of GET /portfolio/accounts.
type wirePortfolioAccount struct {
	ID        string `json:"id"`
	AccountID string `json:"accountId"`
	Currency  string `json:"currency"`
	Type      string `json:"type"`
}

// portfolioAccounts is GET /portfolio/accounts (required before the other
// /portfolio endpoints).
func (c *client) portfolioAccounts(ctx context.Context) ([]wirePortfolioAccount, error) {
	var out []wirePortfolioAccount
	err := c.call(ctx, http.MethodGet, pathPortfolioAccounts, nil, nil, true, &out)
	return out, err
}

// wireSummaryValue is one entry of the account summary.
type wireSummaryValue struct {
	Amount   flexDecimal `json:"amount"`
	Currency string      `json:"currency"`
	IsNull   bool        `json:"isNull"`
}

// wireSummary is GET /portfolio/{accountId}/summary, keyed by lower-case
// field name ("netliquidation", "totalcashvalue", "buyingpower", ...).
type wireSummary map[string]json.RawMessage

// summary is GET /portfolio/{accountId}/summary.
func (c *client) summary(ctx context.Context, accountID string) (wireSummary, error) {
	var out wireSummary
	err := c.call(ctx, http.MethodGet, "/portfolio/"+url.PathEscape(accountID)+"/summary", nil, nil, true, &out)
	return out, err
}

// wirePosition is one element of GET /portfolio/{accountId}/positions/{page}.
type wirePosition struct {
	AcctID        string      `json:"acctId"`
	Conid         flexString  `json:"conid"`
	ContractDesc  string      `json:"contractDesc"`
	Ticker        string      `json:"ticker"`
	AssetClass    string      `json:"assetClass"`
	Position      flexDecimal `json:"position"`
	MktPrice      flexDecimal `json:"mktPrice"`
	MktValue      flexDecimal `json:"mktValue"`
	AvgCost       flexDecimal `json:"avgCost"`
	AvgPrice      flexDecimal `json:"avgPrice"`
	UnrealizedPnl flexDecimal `json:"unrealizedPnl"`
	Currency      string      `json:"currency"`
}

// positionsPageSize is how many positions the gateway returns per page.
const positionsPageSize = 100

// positions is GET /portfolio/{accountId}/positions/{pageId} (pages from 0).
func (c *client) positions(ctx context.Context, accountID string, page int) ([]wirePosition, error) {
	var out []wirePosition
	path := "/portfolio/" + url.PathEscape(accountID) + "/positions/" + strconv.Itoa(page)
	err := c.call(ctx, http.MethodGet, path, nil, nil, true, &out)
	return out, err
}

// --- contracts ---

// secdefSearchRequest is the body of POST /iserver/secdef/search.
type secdefSearchRequest struct {
	Symbol  string `json:"symbol"`
	Name    bool   `json:"name"`
	SecType string `json:"secType,omitempty"`
}

// wireSecdef is one match of the contract search.
type wireSecdef struct {
	Conid         flexString `json:"conid"`
	Symbol        string     `json:"symbol"`
	CompanyName   string     `json:"companyName"`
	CompanyHeader string     `json:"companyHeader"`
	Description   string     `json:"description"`
	Sections      []struct {
		SecType string `json:"secType"`
	} `json:"sections"`
}

// secdefSearch is POST /iserver/secdef/search: symbol → contract ids.
func (c *client) secdefSearch(ctx context.Context, req secdefSearchRequest) ([]wireSecdef, error) {
	var out []wireSecdef
	err := c.call(ctx, http.MethodPost, "/iserver/secdef/search", nil, req, true, &out)
	return out, err
}

// --- orders ---

// wireOrderTicket is one order of POST /iserver/account/{accountId}/orders.
// Quantities and prices are JSON numbers written from decimals.
type wireOrderTicket struct {
	AcctID      string      `json:"acctId"`
	Conid       int64       `json:"conid"`
	SecType     string      `json:"secType,omitempty"` // "265598:STK"
	COID        string      `json:"cOID"`              // client order id, unique per 24 h
	OrderType   string      `json:"orderType"`         // MKT | LMT | STP | STOP_LIMIT | TRAIL
	Side        string      `json:"side"`              // BUY | SELL
	TIF         string      `json:"tif"`               // DAY | GTC | IOC
	Quantity    json.Number `json:"quantity"`
	Price       json.Number `json:"price,omitempty"`    // limit price; stop price for STP
	AuxPrice    json.Number `json:"auxPrice,omitempty"` // stop price of STOP_LIMIT
	TrailingAmt json.Number `json:"trailingAmt,omitempty"`
	TrailingTyp string      `json:"trailingType,omitempty"` // "%" or "amt"
	OutsideRTH  bool        `json:"outsideRTH"`
	// IsSingleGroup puts the orders of one request in one OCA group
	// (one-cancels-all); set on every order of an exit pair.
	IsSingleGroup bool `json:"isSingleGroup,omitempty"`
}

// placeOrdersRequest is the body of POST /iserver/account/{accountId}/orders.
type placeOrdersRequest struct {
	Orders []wireOrderTicket `json:"orders"`
}

// wireOrderReply is one element of an order submission (or reply) answer:
// either an acknowledgement (OrderID set), a question to confirm (ID and
// Message set) or an error.
type wireOrderReply struct {
	// acknowledgement
	OrderID      flexString `json:"order_id"`
	OrderStatus  string     `json:"order_status"`
	LocalOrderID string     `json:"local_order_id"` // the cOID
	// question
	ID         string   `json:"id"`
	Message    []string `json:"message"`
	MessageIDs []string `json:"messageIds"`
	// error
	Error string `json:"error"`
}

// orderReplies decodes an answer that is either an array of replies or one
// reply object.
type orderReplies []wireOrderReply

func (r *orderReplies) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var one wireOrderReply
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*r = orderReplies{one}
		return nil
	}
	var many []wireOrderReply
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*r = many
	return nil
}

// placeOrders is POST /iserver/account/{accountId}/orders. Never retried here.
func (c *client) placeOrders(ctx context.Context, accountID string, req placeOrdersRequest) (orderReplies, error) {
	var out orderReplies
	err := c.call(ctx, http.MethodPost, "/iserver/account/"+url.PathEscape(accountID)+"/orders", nil, req, false, &out)
	return out, err
}

// replyRequest is the body of POST /iserver/reply/{replyId}.
type replyRequest struct {
	Confirmed bool `json:"confirmed"`
}

// reply is POST /iserver/reply/{replyId}: answers an order question.
func (c *client) reply(ctx context.Context, replyID string, req replyRequest) (orderReplies, error) {
	var out orderReplies
	err := c.call(ctx, http.MethodPost, "/iserver/reply/"+url.PathEscape(replyID), nil, req, false, &out)
	return out, err
}

// wireLiveOrder is one order of GET /iserver/account/orders.
type wireLiveOrder struct {
	Acct              string      `json:"acct"`
	Conid             flexString  `json:"conid"`
	OrderID           flexString  `json:"orderId"`
	Ticker            string      `json:"ticker"`
	Side              string      `json:"side"`
	OrderType         string      `json:"orderType"`
	OrigOrderType     string      `json:"origOrderType"`
	Status            string      `json:"status"`
	TotalSize         flexDecimal `json:"totalSize"`
	FilledQuantity    flexDecimal `json:"filledQuantity"`
	RemainingQuantity flexDecimal `json:"remainingQuantity"`
	AvgPrice          flexDecimal `json:"avgPrice"`
	Price             flexDecimal `json:"price"`
	AuxPrice          flexDecimal `json:"auxPrice"`
	OrderRef          string      `json:"order_ref"` // the cOID
	TimeInForce       string      `json:"timeInForce"`
	LastExecutionMS   int64       `json:"lastExecutionTime_r"`
}

// wireLiveOrders is the answer of GET /iserver/account/orders.
type wireLiveOrders struct {
	Orders   []wireLiveOrder `json:"orders"`
	Snapshot bool            `json:"snapshot"`
}

// liveOrders is GET /iserver/account/orders: the session's orders with
// activity today (working, filled, cancelled). The first request of a
// brokerage session only starts the subscription and answers an empty list
// (pre-flight); force asks the gateway to drop its cached view and fetch a
// fresh one from the backend, and is answered with an empty list too.
func (c *client) liveOrders(ctx context.Context, force bool) (wireLiveOrders, time.Time, error) {
	var out wireLiveOrders
	var q url.Values
	if force {
		q = url.Values{"force": {"true"}}
	}
	at, err := c.callAt(ctx, http.MethodGet, pathLiveOrders, q, nil, true, &out)
	return out, at, err
}

// wireOrderStatus is the answer of GET /iserver/account/order/status/{orderId}.
type wireOrderStatus struct {
	OrderID      flexString  `json:"order_id"`
	Conid        flexString  `json:"conid"`
	Symbol       string      `json:"symbol"`
	Side         string      `json:"side"` // B | S
	OrderType    string      `json:"order_type"`
	OrderStatus  string      `json:"order_status"`
	TotalSize    flexDecimal `json:"total_size"`
	Size         flexDecimal `json:"size"`
	CumFill      flexDecimal `json:"cum_fill"`
	AveragePrice flexDecimal `json:"average_price"`
	LimitPrice   flexDecimal `json:"limit_price"`
	StopPrice    flexDecimal `json:"stop_price"`
	OrderTime    string      `json:"order_time"` // yyMMddHHmmss, UTC
	Account      string      `json:"account"`
	TIF          string      `json:"tif"`
}

// orderStatus is GET /iserver/account/order/status/{orderId}.
func (c *client) orderStatus(ctx context.Context, orderID string) (wireOrderStatus, error) {
	var out wireOrderStatus
	err := c.call(ctx, http.MethodGet, "/iserver/account/order/status/"+url.PathEscape(orderID), nil, nil, true, &out)
	return out, err
}

// wireCancel is the answer of DELETE /iserver/account/{accountId}/order/{orderId}.
type wireCancel struct {
	Msg     string     `json:"msg"`
	OrderID flexString `json:"order_id"`
}

// cancelOrder is DELETE /iserver/account/{accountId}/order/{orderId}.
func (c *client) cancelOrder(ctx context.Context, accountID, orderID string) (wireCancel, error) {
	var out wireCancel
	path := "/iserver/account/" + url.PathEscape(accountID) + "/order/" + url.PathEscape(orderID)
	err := c.call(ctx, http.MethodDelete, path, nil, nil, false, &out)
	return out, err
}

// --- market data and schedules ---

// Snapshot field tags.
const (
	fieldLast = "31"
	fieldBid  = "84"
	fieldAsk  = "86"
)

// snapshot is GET /iserver/marketdata/snapshot?conids=&fields=. The first
// request for a conid only opens its stream ("pre-flight") and carries no
// fields; later requests carry them.
func (c *client) snapshot(ctx context.Context, conids, fields []string) ([]map[string]json.RawMessage, error) {
	var out []map[string]json.RawMessage
	q := url.Values{"conids": {strings.Join(conids, ",")}, "fields": {strings.Join(fields, ",")}}
	err := c.call(ctx, http.MethodGet, pathSnapshot, q, nil, true, &out)
	return out, err
}

// wireTradingTime is one window of a trading schedule day, "HHMM" in the
// exchange's time zone. Prop is "LIQUID" for the liquid (regular) session
// ("NON_LIQUID" for other listed sessions, empty when not given).
type wireTradingTime struct {
	OpeningTime     string `json:"openingTime"`
	ClosingTime     string `json:"closingTime"`
	CancelDayOrders string `json:"cancelDayOrders"`
	Prop            string `json:"prop"`
}

// wireScheduleDay is one day of a trading schedule. TradingScheduleDate
// 20000101..20000107 stand for any Saturday..Friday; other dates for
// themselves. As documented ("Trading Schedule by Symbol", IBKR Campus Web
// API v1.0): TradingTimes is the whole trading day, extended hours included;
// Sessions lists the liquid (regular) hours when they differ from the whole
// day, and is empty when the whole day is liquid (then the trading time
// carries prop "LIQUID").
type wireScheduleDay struct {
	ClearingCycleEndTime string            `json:"clearingCycleEndTime"`
	TradingScheduleDate  string            `json:"tradingScheduleDate"`
	Sessions             []wireTradingTime `json:"sessions"`
	TradingTimes         []wireTradingTime `json:"tradingtimes"`
}

// wireSchedule is one exchange's entry of GET /trsrv/secdef/schedule.
type wireSchedule struct {
	ID           string            `json:"id"`
	TradeVenueID string            `json:"tradeVenueId"`
	Timezone     string            `json:"timezone"`
	Schedules    []wireScheduleDay `json:"schedules"`
}

// schedule is GET /trsrv/secdef/schedule?assetClass=&symbol=.
func (c *client) schedule(ctx context.Context, assetClass, symbol string) ([]wireSchedule, error) {
	var out []wireSchedule
	q := url.Values{"assetClass": {assetClass}, "symbol": {symbol}}
	err := c.call(ctx, http.MethodGet, "/trsrv/secdef/schedule", q, nil, true, &out)
	return out, err
}
