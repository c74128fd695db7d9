package binance

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "binance"

// Binance spot has no USD order books; a canonical "-USD" pair trades against
// USDT, and USDT is the account's cash currency.
const (
	cashAsset = "USDT"
	usdQuote  = "USD"
)

// wireSymbol maps a canonical pair to Binance's symbol: BTC-USD → BTCUSDT,
// ETH-BTC → ETHBTC.
func toWireSymbol(p symbols.Pair) string {
	q := p.Quote
	if q == usdQuote {
		q = cashAsset
	}
	return p.Base + q
}

// canonicalSymbol maps Binance base/quote assets back: (BTC, USDT) → BTC-USD.
func canonicalSymbol(base, quote string) string {
	if quote == cashAsset {
		quote = usdQuote
	}
	return base + "-" + quote
}

// rulesFrom reads the PRICE_FILTER, LOT_SIZE and NOTIONAL / MIN_NOTIONAL
// filters of one exchangeInfo symbol.
func rulesFrom(canonical string, s wireSymbol) symbols.Rules {
	r := symbols.Rules{Symbol: canonical}
	for _, f := range s.Filters {
		switch f.FilterType {
		case "PRICE_FILTER":
			r.TickSize = dec(f.TickSize)
		case "LOT_SIZE":
			r.BaseStep = dec(f.StepSize)
			r.MinQty = dec(f.MinQty)
		case "NOTIONAL", "MIN_NOTIONAL":
			r.MinNotional = dec(f.MinNotional)
		}
	}
	return r
}

// clientIDPattern is Binance's rule for newClientOrderId.
var clientIDPattern = regexp.MustCompile(`^[.A-Z:/a-z0-9_-]{1,36}$`)

// wireClientID maps the workflow's client order id to one Binance accepts:
// unchanged when it fits, otherwise "tx" + 32 hex digits of its SHA-256 —
// deterministic, so a retry from any worker maps to the same id.
func wireClientID(id string) string {
	if clientIDPattern.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "tx" + hex.EncodeToString(sum[:16])
}

// orderID is the broker order id the adapter hands out: "<SYMBOL>:<orderId>",
// because every Binance order endpoint needs the symbol as well.
func orderID(symbol string, id int64) string {
	return symbol + ":" + strconv.FormatInt(id, 10)
}

func parseOrderID(s string) (string, int64, error) {
	sym, id, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || sym == "" || err != nil {
		return "", 0, broker.NewError(Name, broker.KindNotFound, fmt.Sprintf("%q is not a Binance order id", s), nil)
	}
	return sym, n, nil
}

var statuses = map[string]broker.OrderStatus{
	"NEW":              broker.StatusNew,
	"PENDING_NEW":      broker.StatusNew,
	"PARTIALLY_FILLED": broker.StatusPartiallyFilled,
	"FILLED":           broker.StatusFilled,
	"CANCELED":         broker.StatusCancelled,
	"PENDING_CANCEL":   broker.StatusNew,
	"REJECTED":         broker.StatusRejected,
	"EXPIRED":          broker.StatusExpired,
	"EXPIRED_IN_MATCH": broker.StatusExpired,
}

var orderTypes = map[string]signal.OrderType{
	"MARKET":          signal.OrderMarket,
	"LIMIT":           signal.OrderLimit,
	"LIMIT_MAKER":     signal.OrderLimit,
	"STOP_LOSS":       signal.OrderStop,
	"STOP_LOSS_LIMIT": signal.OrderStopLimit,
}

// toOrder converts a Binance order. canonical is the symbol to report.
func toOrder(w wireOrder, canonical string) broker.Order {
	o := broker.Order{
		ID:             orderID(w.Symbol, w.OrderID),
		ClientOrderID:  w.ClientOrderID,
		Symbol:         canonical,
		Side:           signal.Side(strings.ToLower(w.Side)),
		Type:           orderTypes[w.Type],
		Status:         statuses[w.Status],
		Quantity:       dec(w.OrigQty),
		FilledQuantity: dec(w.ExecutedQty),
		LimitPrice:     dec(w.Price),
		StopPrice:      dec(w.StopPrice),
	}
	if o.Status == "" {
		o.Status = broker.StatusNew
	}
	if o.FilledQuantity.Sign() > 0 {
		o.AvgFillPrice = dec(w.CummulativeQuoteQty).Div(o.FilledQuantity).Round(8)
	}
	if o.Type != signal.OrderLimit && o.Type != signal.OrderStopLimit {
		o.LimitPrice = decimal.Zero
	}
	created := w.Time
	if created == 0 {
		created = w.TransactTime
	}
	o.SubmittedAt = millis(created)
	o.UpdatedAt = millis(max(w.UpdateTime, w.TransactTime, created))
	if o.Status == broker.StatusRejected {
		o.RejectReason = "rejected by Binance"
	}
	return o
}

// wireOrderSpec is the Binance type/price fields for a broker-neutral order.
func wireOrderSpec(req broker.OrderRequest) (typ, tif string, err error) {
	switch req.TimeInForce {
	case "", broker.TIFDay, broker.TIFGTC:
		tif = "GTC"
	case broker.TIFIOC:
		tif = "IOC"
	case broker.TIFFOK:
		tif = "FOK"
	default:
		return "", "", broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("Binance does not take time in force %q", req.TimeInForce), nil)
	}
	switch req.Type {
	case signal.OrderMarket:
		if tif != "GTC" {
			return "", "", broker.NewError(Name, broker.KindInvalidOrder, "Binance market orders take no time in force", nil)
		}
		return "MARKET", "", nil
	case signal.OrderLimit:
		return "LIMIT", tif, nil
	case signal.OrderStop:
		return "STOP_LOSS", "", nil
	case signal.OrderStopLimit:
		return "STOP_LOSS_LIMIT", tif, nil
	}
	return "", "", broker.NewError(Name, broker.KindInvalidOrder,
		fmt.Sprintf("%s orders are not supported on Binance spot", req.Type), nil)
}

// mapError turns a wire error into the broker error kinds. Messages are safe
// to show to the trader.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var be *broker.Error
	if errors.As(err, &be) {
		return err
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		return broker.NewError(Name, broker.KindUnavailable, "Binance request failed", err)
	}
	kind, msg := classify(ae)
	e := broker.NewError(Name, kind, msg, err)
	e.RetryAfter = ae.RetryAfter
	return e
}

func classify(ae *apiError) (broker.Kind, string) {
	switch {
	case ae.Status == 429 || ae.Status == 418 || ae.Code == -1003 || ae.Code == -1015:
		return broker.KindRateLimited, "Binance rate limit reached; the request will be retried"
	case ae.Status >= 500 || ae.Code == -1001 || ae.Code == -1006 || ae.Code == -1007 || ae.Code == -1008:
		return broker.KindUnavailable, "Binance is temporarily unavailable"
	case ae.Code == -2014 || ae.Code == -2015 || ae.Code == -1022 || ae.Code == -1002 || ae.Status == 401:
		return broker.KindAuthFailed, "Binance refused the API key or signature; check the key, its trading permission and IP whitelist"
	case ae.Code == -1021:
		return broker.KindUnavailable, "Binance rejected the request time; the server clock is out of sync"
	case ae.Code == -1121:
		return broker.KindInvalidSymbol, "Binance does not list this symbol"
	case ae.Code == -2013 || ae.Code == -2011 || ae.Code == -2018:
		return broker.KindNotFound, "Binance has no open order with this id"
	case strings.Contains(ae.Msg, "Market is closed"):
		// -2010 NEW_ORDER_REJECTED "Market is closed.": "The symbol is not
		// trading" (errors.md, messages for -1010/-2010/-2011), i.e. its
		// exchangeInfo status is HALT or BREAK.
		return broker.KindHalted, "trading in this symbol is halted on Binance; the order waits until trading resumes"
	case strings.Contains(ae.Msg, "relationship of the prices"), strings.Contains(ae.Msg, "Unsupported order combination"),
		strings.Contains(ae.Msg, "would immediately match"):
		// -2010 answers to an OCO whose prices or legs the engine refuses
		// (errors.md): the caller emulates the pair instead.
		return broker.KindInvalidOrder, "Binance refused the one-cancels-other pair: " + ae.Msg
	case strings.Contains(ae.Msg, "not supported for this symbol"):
		// -2010 "Stop loss orders are not supported for this symbol." and
		// friends (errors.md): the symbol's orderTypes changed since cached.
		return broker.KindInvalidOrder, "Binance rejected the order type: " + ae.Msg
	case ae.Code == -2010 && strings.Contains(ae.Msg, "insufficient balance"):
		return broker.KindInsufficientFunds, "not enough balance on Binance for this order"
	case ae.Code == -1013 || (ae.Code <= -1100 && ae.Code >= -1199):
		return broker.KindInvalidOrder, "Binance rejected the order parameters: " + ae.Msg
	}
	return broker.KindRejected, "Binance rejected the request: " + ae.Msg
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
