package coinbase

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "coinbase"

// cashCurrency is the account currency reported as cash.
const cashCurrency = "USD"

// stopLimitSlippage is how far through the stop the limit of a stop order
// is set: Advanced Trade has no stop-market order, so a stop is sent as a
// stop-limit 1% beyond the stop price.
var stopLimitSlippage = decimal.RequireFromString("0.01")

// rulesFrom reads base_increment, price_increment (quote_increment when
// absent), base_min_size and quote_min_size of a product.
func rulesFrom(p wireProduct) symbols.Rules {
	tick := dec(p.PriceIncrement)
	if tick.Sign() <= 0 {
		tick = dec(p.QuoteIncrement)
	}
	return symbols.Rules{
		Symbol:      p.ProductID,
		BaseStep:    dec(p.BaseIncrement),
		TickSize:    tick,
		MinQty:      dec(p.BaseMinSize),
		MinNotional: dec(p.QuoteMinSize),
	}
}

var orderTypes = map[string]signal.OrderType{
	"MARKET":     signal.OrderMarket,
	"LIMIT":      signal.OrderLimit,
	"STOP":       signal.OrderStop,
	"STOP_LIMIT": signal.OrderStopLimit,
}

// toOrder converts an Advanced Trade order.
func toOrder(w wireOrder) broker.Order {
	o := broker.Order{
		ID:             w.OrderID,
		ClientOrderID:  w.ClientOrderID,
		Symbol:         w.ProductID,
		Side:           signal.Side(strings.ToLower(w.Side)),
		Type:           orderTypes[w.OrderType],
		FilledQuantity: dec(w.FilledSize),
		AvgFillPrice:   dec(w.AverageFilledPrice),
		SubmittedAt:    w.CreatedTime.UTC(),
		UpdatedAt:      w.CreatedTime.UTC(),
	}
	if w.LastFillTime != nil && w.LastFillTime.After(w.CreatedTime) {
		o.UpdatedAt = w.LastFillTime.UTC()
	}
	cfg := w.OrderConfiguration
	switch {
	case cfg.MarketIOC != nil:
		o.Quantity = dec(cfg.MarketIOC.BaseSize)
	case cfg.LimitGTC != nil:
		o.Quantity, o.LimitPrice = dec(cfg.LimitGTC.BaseSize), dec(cfg.LimitGTC.LimitPrice)
	case cfg.SorLimitIOC != nil:
		o.Quantity, o.LimitPrice = dec(cfg.SorLimitIOC.BaseSize), dec(cfg.SorLimitIOC.LimitPrice)
	case cfg.StopLimitGTC != nil:
		o.Quantity, o.LimitPrice, o.StopPrice = dec(cfg.StopLimitGTC.BaseSize), dec(cfg.StopLimitGTC.LimitPrice), dec(cfg.StopLimitGTC.StopPrice)
	case cfg.BracketGTC != nil:
		o.Quantity, o.LimitPrice, o.StopPrice = dec(cfg.BracketGTC.BaseSize), dec(cfg.BracketGTC.LimitPrice), dec(cfg.BracketGTC.StopTriggerPrice)
	}
	if o.Type == "" {
		switch {
		case cfg.MarketIOC != nil:
			o.Type = signal.OrderMarket
		case cfg.StopLimitGTC != nil:
			o.Type = signal.OrderStopLimit
		default:
			o.Type = signal.OrderLimit
		}
	}
	switch w.Status {
	case "FILLED":
		o.Status = broker.StatusFilled
	case "CANCELLED":
		o.Status = broker.StatusCancelled
	case "EXPIRED":
		o.Status = broker.StatusExpired
	case "FAILED":
		o.Status = broker.StatusRejected
		o.RejectReason = "rejected by Coinbase"
	default: // PENDING, OPEN, QUEUED, CANCEL_QUEUED, UNKNOWN_ORDER_STATUS
		o.Status = broker.StatusNew
		if o.FilledQuantity.Sign() > 0 {
			o.Status = broker.StatusPartiallyFilled
		}
	}
	return o
}

// orderConfig builds the order_configuration for a normalised order.
// rules rounds the derived limit of a stop order.
func orderConfig(req broker.OrderRequest, rules symbols.Rules, qty, limit, stop decimal.Decimal) (wireOrderConfig, error) {
	size := qty.String()
	switch req.TimeInForce {
	case "", broker.TIFDay, broker.TIFGTC:
	case broker.TIFIOC:
		if req.Type != signal.OrderMarket && req.Type != signal.OrderLimit {
			return wireOrderConfig{}, broker.NewError(Name, broker.KindInvalidOrder, "Coinbase takes ioc for market and limit orders only", nil)
		}
	default:
		return wireOrderConfig{}, broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("this Coinbase connection does not take time in force %q", req.TimeInForce), nil)
	}
	switch req.Type {
	case signal.OrderMarket:
		return wireOrderConfig{MarketIOC: &wireMarketIOC{BaseSize: size}}, nil
	case signal.OrderLimit:
		if req.TimeInForce == broker.TIFIOC {
			return wireOrderConfig{SorLimitIOC: &wireLimitIOC{BaseSize: size, LimitPrice: limit.String()}}, nil
		}
		return wireOrderConfig{LimitGTC: &wireLimitGTC{BaseSize: size, LimitPrice: limit.String()}}, nil
	case signal.OrderStop, signal.OrderStopLimit:
		dir := "STOP_DIRECTION_STOP_DOWN"
		if req.Side == signal.SideBuy {
			dir = "STOP_DIRECTION_STOP_UP"
		}
		if req.Type == signal.OrderStop {
			if req.Side == signal.SideBuy {
				limit = stop.Mul(decimal.NewFromInt(1).Add(stopLimitSlippage))
			} else {
				limit = stop.Mul(decimal.NewFromInt(1).Sub(stopLimitSlippage))
			}
			limit = rules.NormalizePrice(limit, req.Side)
		}
		return wireOrderConfig{StopLimitGTC: &wireStopLimitGTC{BaseSize: size, LimitPrice: limit.String(), StopPrice: stop.String(), StopDirection: dir}}, nil
	}
	return wireOrderConfig{}, broker.NewError(Name, broker.KindInvalidOrder,
		fmt.Sprintf("%s orders are not supported on Coinbase Advanced Trade", req.Type), nil)
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
	var oe *orderError
	if errors.As(err, &oe) {
		kind, msg := classifyOrder(oe)
		return broker.NewError(Name, kind, msg, err)
	}
	ae, ok := asAPIError(err)
	if !ok {
		return broker.NewError(Name, broker.KindUnavailable, "Coinbase request failed", err)
	}
	var kind broker.Kind
	var msg string
	switch {
	case ae.Status == 429:
		kind, msg = broker.KindRateLimited, "Coinbase rate limit reached; the request will be retried"
	case ae.Status >= 500:
		kind, msg = broker.KindUnavailable, "Coinbase is temporarily unavailable"
	case ae.Status == 401:
		kind, msg = broker.KindAuthFailed, "Coinbase refused the API key; check the key name and its secret (Ed25519 or ECDSA, with Advanced Trade access)"
	case ae.Status == 403:
		kind, msg = broker.KindAuthFailed, "this Coinbase API key lacks the view or trade permission"
	case ae.Status == 404:
		kind, msg = broker.KindNotFound, "Coinbase has no such order"
	default:
		kind, msg = broker.KindInvalidOrder, "Coinbase rejected the request: "+ae.Message
	}
	e := broker.NewError(Name, kind, msg, err)
	e.RetryAfter = ae.RetryAfter
	return e
}

func classifyOrder(oe *orderError) (broker.Kind, string) {
	reasons := strings.Join([]string{oe.Resp.Error, oe.Resp.PreviewFailureReason, oe.Resp.NewOrderFailureReason, oe.FailureReason}, " ")
	has := func(s string) bool { return strings.Contains(reasons, s) }
	switch {
	case has("INSUFFICIENT_FUND"):
		return broker.KindInsufficientFunds, "not enough balance on Coinbase for this order"
	case has("INVALID_PRODUCT_ID"):
		return broker.KindInvalidSymbol, "Coinbase does not list this product"
	case has("ORDER_ENTRY_DISABLED"), has("TRADING_DISABLED"):
		// Order entry is disabled for the product (halted, cancel-only):
		// the order waits until the product trades again.
		return broker.KindHalted, "trading in this product is halted on Coinbase; the order waits until trading resumes"
	case has("INELIGIBLE_PAIR"):
		// The account may not trade the pair: waiting does not help.
		return broker.KindRejected, "this Coinbase account may not trade this product"
	case has("PRECISION"), has("TOO_SMALL"), has("TOO_LARGE"), has("INVALID_LIMIT_PRICE"), has("INVALID_STOP_PRICE"),
		has("UNSUPPORTED_ORDER_CONFIGURATION"), has("INVALID_SIDE"), has("INVALID_ORDER_CONFIG"), has("INVALID_ARGUMENT"):
		msg := oe.Resp.Message
		if msg == "" {
			msg = strings.TrimSpace(reasons)
		}
		return broker.KindInvalidOrder, "Coinbase rejected the order parameters: " + msg
	}
	msg := oe.Resp.Message
	if msg == "" {
		msg = strings.TrimSpace(reasons)
	}
	return broker.KindRejected, "Coinbase rejected the order: " + msg
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
