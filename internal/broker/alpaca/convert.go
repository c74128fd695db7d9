package alpaca

// Conversions between Alpaca's wire types and the broker-neutral domain, and
// the mapping of Alpaca's error answers to the standard kinds (FR-018).

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// qtyPlaces is Alpaca's quantity precision for fractional shares and crypto.
const qtyPlaces = 9

// cryptoQuotes are Alpaca's crypto quote currencies, longest first, for
// splitting position symbols without a slash ("BTCUSD").
var cryptoQuotes = []string{"USDT", "USDC", "USD", "BTC"}

// isCryptoSymbol reports whether a canonical symbol is a crypto pair
// ("BTC-USD"); canonical stocks never contain '-' ("BRK.B").
func isCryptoSymbol(canonical string) bool {
	return strings.ContainsAny(canonical, "-/")
}

// toWireSymbol: "BTC-USD" → "BTC/USD"; stocks unchanged.
func toWireSymbol(canonical string) string {
	s := strings.ToUpper(strings.TrimSpace(canonical))
	return strings.Replace(s, "-", "/", 1)
}

// fromWireSymbol: "BTC/USD" and (positions) "BTCUSD" → "BTC-USD".
func fromWireSymbol(sym, assetClass string) string {
	if strings.Contains(sym, "/") {
		return strings.Replace(sym, "/", "-", 1)
	}
	if assetClass == "crypto" {
		for _, q := range cryptoQuotes {
			if base, ok := strings.CutSuffix(sym, q); ok && base != "" {
				return base + "-" + q
			}
		}
	}
	return sym
}

// normaliseQty rounds a quantity down to Alpaca's step (1e-9).
func normaliseQty(q decimal.Decimal) decimal.Decimal {
	return q.Truncate(qtyPlaces)
}

// normalisePrice rounds a stock price to Alpaca's sub-penny rule (0.01 at
// or above $1, 0.0001 below) in the trader's favour: buys down, sells up.
// Crypto prices are rounded to the pair's price_increment instead (rules.go).
func normalisePrice(p decimal.Decimal, side signal.Side, crypto bool) decimal.Decimal {
	if crypto || p.IsZero() {
		return p
	}
	places := int32(2)
	if p.LessThan(decimal.NewFromInt(1)) {
		places = 4
	}
	if side == signal.SideSell {
		return p.RoundCeil(places)
	}
	return p.RoundFloor(places)
}

func decimalString(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// isCryptoOrder reports whether an order is for a crypto pair.
func isCryptoOrder(req broker.OrderRequest) bool {
	return req.AssetClass == signal.AssetCrypto || (req.AssetClass == "" && isCryptoSymbol(req.Symbol))
}

// toCreateOrder builds the wire request. Crypto orders at Alpaca accept only
// gtc and ioc: a "day" crypto order is sent as gtc (crypto trades 24/7).
// rules are the pair's asset rules (crypto; nil for stocks): the quantity is
// rounded down to min_trade_increment, prices to price_increment in the
// trader's favour, and a quantity below min_order_size is refused
// (INVALID_ORDER) before anything is sent.
func toCreateOrder(req broker.OrderRequest, rules *symbols.Rules) (createOrderRequest, error) {
	crypto := isCryptoOrder(req)
	qty := normaliseQty(req.Quantity)
	limit := normalisePrice(req.LimitPrice, req.Side, crypto)
	stop := normalisePrice(req.StopPrice, req.Side, crypto)
	if crypto && rules != nil {
		qty = rules.NormalizeQty(req.Quantity)
		limit = rules.NormalizePrice(req.LimitPrice, req.Side)
		stop = rules.NormalizePrice(req.StopPrice, req.Side)
		if err := rules.Check(Name, qty, decimal.Zero); err != nil {
			return createOrderRequest{}, err
		}
	}
	if !qty.IsPositive() {
		return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("quantity %s is below Alpaca's smallest step (0.000000001)", req.Quantity), nil)
	}
	if req.ClientOrderID == "" || len(req.ClientOrderID) > 128 {
		return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, "order has no valid client order id", nil)
	}
	tif := req.TimeInForce
	if tif == "" {
		tif = broker.TIFDay
	}
	if crypto && tif == broker.TIFDay {
		tif = broker.TIFGTC
	}
	switch {
	case crypto && (tif == broker.TIFGTC || tif == broker.TIFIOC):
	case !crypto && slices.Contains([]broker.TimeInForce{broker.TIFDay, broker.TIFGTC, broker.TIFIOC, broker.TIFFOK, broker.TIFOPG, broker.TIFCLS}, tif):
	default:
		return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("Alpaca does not take time in force %q for this order", tif), nil)
	}
	switch req.Side {
	case signal.SideBuy, signal.SideSell:
	default:
		return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, fmt.Sprintf("unknown order side %q", req.Side), nil)
	}
	out := createOrderRequest{
		Symbol:        toWireSymbol(req.Symbol),
		Qty:           qty.String(),
		Side:          string(req.Side),
		TimeInForce:   string(tif),
		ExtendedHours: req.ExtendedHours,
		ClientOrderID: req.ClientOrderID,
	}
	switch req.Type {
	case signal.OrderMarket:
	case signal.OrderLimit:
		if !limit.IsPositive() {
			return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, "limit order needs a limit price", nil)
		}
		out.LimitPrice = limit.String()
	case signal.OrderStop:
		if !stop.IsPositive() {
			return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, "stop order needs a stop price", nil)
		}
		out.StopPrice = stop.String()
	case signal.OrderStopLimit:
		if !limit.IsPositive() || !stop.IsPositive() {
			return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, "stop-limit order needs a stop and a limit price", nil)
		}
		out.LimitPrice, out.StopPrice = limit.String(), stop.String()
	case signal.OrderTrailingStop:
		if !req.TrailPercent.IsPositive() {
			return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, "trailing stop needs a trail percent", nil)
		}
		out.TrailPercent = req.TrailPercent.String()
	default:
		return createOrderRequest{}, broker.NewError(Name, broker.KindInvalidOrder, fmt.Sprintf("order type %q is not supported by Alpaca", req.Type), nil)
	}
	out.Type = string(req.Type)
	return out, nil
}

// toStatus maps Alpaca's order statuses. Working states that can still fill
// are new or partially_filled depending on what has filled.
func toStatus(w *orderWire) broker.OrderStatus {
	filled := w.FilledQty.IsPositive()
	switch w.Status {
	case "filled":
		return broker.StatusFilled
	case "canceled", "replaced":
		return broker.StatusCancelled
	case "expired":
		return broker.StatusExpired
	case "rejected", "suspended":
		return broker.StatusRejected
	case "calculated":
		if w.Qty != nil && w.FilledQty.GreaterThanOrEqual(*w.Qty) {
			return broker.StatusFilled
		}
	}
	// new, accepted, pending_new, accepted_for_bidding, partially_filled,
	// pending_cancel, pending_replace, done_for_day, stopped, held,
	// calculated (partial).
	if filled {
		return broker.StatusPartiallyFilled
	}
	return broker.StatusNew
}

func deref(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func toOrder(w *orderWire) broker.Order {
	submitted := w.SubmittedAt
	if submitted.IsZero() {
		submitted = w.CreatedAt
	}
	o := broker.Order{
		ID:             w.ID,
		ClientOrderID:  w.ClientOrderID,
		Symbol:         fromWireSymbol(w.Symbol, w.AssetClass),
		Side:           signal.Side(w.Side),
		Type:           signal.OrderType(w.Type),
		Status:         toStatus(w),
		Quantity:       deref(w.Qty),
		FilledQuantity: w.FilledQty,
		AvgFillPrice:   deref(w.FilledAvgPrice),
		LimitPrice:     deref(w.LimitPrice),
		StopPrice:      deref(w.StopPrice),
		SubmittedAt:    utc(submitted),
		UpdatedAt:      utc(w.UpdatedAt),
	}
	if o.Status == broker.StatusRejected {
		o.RejectReason = "rejected by Alpaca"
	}
	return o
}

func toPosition(w positionWire) broker.Position {
	qty := w.Qty
	if w.Side == "short" && qty.IsPositive() {
		qty = qty.Neg()
	}
	return broker.Position{
		Symbol:        fromWireSymbol(w.Symbol, w.AssetClass),
		Quantity:      qty,
		AvgEntryPrice: w.AvgEntryPrice,
		CurrentPrice:  deref(w.CurrentPrice),
		MarketValue:   deref(w.MarketValue),
		UnrealizedPnL: deref(w.UnrealizedPL),
	}
}

func toBalance(a *accountWire) broker.Balance {
	cur := a.Currency
	if cur == "" {
		cur = "USD"
	}
	equity := a.Equity
	if equity.IsZero() {
		equity = a.PortfolioValue
	}
	return broker.Balance{
		Currency:    cur,
		Cash:        a.Cash,
		Equity:      equity,
		BuyingPower: a.BuyingPower,
		LastEquity:  a.LastEquity,
	}
}

func toClock(c *clockWire) broker.Clock {
	return broker.Clock{IsOpen: c.IsOpen, Now: utc(c.Timestamp), NextOpen: utc(c.NextOpen), NextClose: utc(c.NextClose)}
}

// errDuplicateClientID is Alpaca's refusal of a reused client_order_id.
func isDuplicateClientID(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity &&
		strings.Contains(strings.ToLower(ae.Message), "client_order_id must be unique")
}

// op names the call an error came from, for messages.
type op string

const (
	opConnect   op = "connect"
	opPlace     op = "place order"
	opCancel    op = "cancel order"
	opGetOrder  op = "get order"
	opPositions op = "get positions"
	opClock     op = "get clock"
	opPrice     op = "get price"
	opAsset     op = "get asset"
)

// mapError turns any error from the client into a *broker.Error. Alpaca's
// code 40310000 is overloaded (buying power, short-sale rules, user
// suspension, forbidden), so 403s are classified by message.
func mapError(o op, err error) error {
	if err == nil {
		return nil
	}
	var be *broker.Error
	if errors.As(err, &be) {
		return be
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		return broker.NewError(Name, broker.KindUnavailable, "Alpaca request failed", err)
	}
	msg := strings.ToLower(ae.Message)
	kind, text := classify(o, ae.Status, msg)
	if text == "" {
		text = "Alpaca refused the request: " + sanitize(ae.Message)
	}
	return broker.NewError(Name, kind, text, ae)
}

func classify(o op, status int, msg string) (broker.Kind, string) {
	has := func(subs ...string) bool {
		for _, s := range subs {
			if !strings.Contains(msg, s) {
				return false
			}
		}
		return true
	}
	switch {
	case status == http.StatusUnauthorized:
		return broker.KindAuthFailed, "Alpaca rejected the API key and secret"
	case o == opPlace && (has("halted") || has("trading halt") || has("trading pause") || has("luld")):
		// Alpaca documents no distinct code for an order in a halted
		// security; it arrives as a 403 40310000 (the code ccxt/ccxt#30103
		// says also carries suspended-trade rejections) or a 422 whose
		// message names the halt, so the message decides. See fake.go.
		return broker.KindHalted, "trading in this symbol is halted at Alpaca; the order waits until trading resumes"
	case has("insufficient buying power"), has("insufficient balance"), has("insufficient qty"), has("insufficient funds"):
		return broker.KindInsufficientFunds, "not enough buying power at Alpaca for this order"
	case has("market", "closed"), has("market hours"):
		return broker.KindMarketClosed, "the market is closed for this order at Alpaca"
	case has("asset", "not found"), has("could not find asset"), has("could not find", "us_equity"), has("is not tradable"), has("asset", "not active"), has("invalid symbol"):
		return broker.KindInvalidSymbol, "Alpaca does not trade this symbol"
	case status == http.StatusForbidden && (msg == "forbidden" || msg == "forbidden." || msg == strings.ToLower(http.StatusText(http.StatusForbidden)) || has("not authorized") || has("unauthorized")):
		return broker.KindAuthFailed, "Alpaca refused the API key (wrong secret, or a live key on the paper endpoint)"
	case status == http.StatusNotFound && o == opPrice:
		return broker.KindInvalidSymbol, "Alpaca has no price for this symbol"
	case o == opAsset && (status == http.StatusNotFound || status == http.StatusUnprocessableEntity):
		return broker.KindInvalidSymbol, "Alpaca does not list this crypto pair"
	case status == http.StatusNotFound:
		return broker.KindNotFound, "Alpaca has no such order"
	case o == opCancel && status == http.StatusUnprocessableEntity:
		return broker.KindRejected, "the order can no longer be cancelled at Alpaca (already filled, cancelled or expired)"
	case status == http.StatusForbidden:
		return broker.KindRejected, ""
	case status == http.StatusUnprocessableEntity, status == http.StatusBadRequest:
		return broker.KindInvalidOrder, ""
	}
	return broker.KindRejected, ""
}

// sanitize bounds a broker message before it reaches a trader.
func sanitize(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// rateLimitWait reads Alpaca's rate-limit answer: HTTP 429 with Retry-After
// when sent, otherwise X-Ratelimit-Reset (unix seconds when the window
// resets), otherwise a default pause.
func rateLimitWait(r *httpx.Response, now time.Time) (time.Duration, bool) {
	if r.Status != http.StatusTooManyRequests {
		return 0, false
	}
	if d, ok := httpx.RetryAfter(r.Header, now); ok {
		return max(d, 0), true
	}
	if v := r.Header.Get("X-Ratelimit-Reset"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			if d := time.Unix(secs, 0).Sub(now); d > 0 && d <= time.Minute {
				return d, true
			}
		}
	}
	return httpx.DefaultRetryAfter, true
}
