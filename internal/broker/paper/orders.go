package paper

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

const maxClientOrderIDLen = 128

var hundred = decimal.NewFromInt(100)

// prepare validates an order request and returns the order it describes,
// normalised (canonical symbol, whole shares or 8-decimal crypto lots,
// prices on the tick grid, default time in force), without id or status.
func prepare(req broker.OrderRequest) (OrderState, error) {
	var o OrderState
	if req.ClientOrderID == "" || len(req.ClientOrderID) > maxClientOrderIDLen {
		return o, brokerErr(broker.KindInvalidOrder, "client order id must be 1 to %d characters", maxClientOrderIDLen)
	}
	class := req.AssetClass
	if class == "" {
		class = classOf(req.Symbol)
	}
	symbol, err := CanonicalSymbol(req.Symbol, class)
	if err != nil {
		return o, err
	}
	if req.Side != signal.SideBuy && req.Side != signal.SideSell {
		return o, brokerErr(broker.KindInvalidOrder, "side must be buy or sell")
	}
	qty, err := normalizeQuantity(req.Quantity, class)
	if err != nil {
		return o, err
	}

	o.ClientOrderID = req.ClientOrderID
	o.Symbol = symbol
	o.AssetClass = class
	o.Side = req.Side
	o.Type = req.Type
	o.Quantity = qty
	o.FilledQuantity = decimal.Zero
	o.AvgFillPrice = decimal.Zero

	limitMode, stopMode := roundDown, roundNearest
	if req.Side == signal.SideSell {
		limitMode = roundUp
	}
	needLimit, needStop := false, false
	switch req.Type {
	case signal.OrderMarket:
	case signal.OrderLimit:
		needLimit = true
	case signal.OrderStop:
		needStop = true
	case signal.OrderStopLimit:
		needLimit, needStop = true, true
	case signal.OrderTrailingStop:
		if !req.TrailPercent.IsPositive() || !req.TrailPercent.LessThan(hundred) {
			return o, brokerErr(broker.KindInvalidOrder, "trail percent must be greater than 0 and less than 100")
		}
		o.TrailPercent = req.TrailPercent
	default:
		return o, brokerErr(broker.KindInvalidOrder, "unsupported order type %q", printable(string(req.Type)))
	}
	if needLimit {
		if !req.LimitPrice.IsPositive() {
			return o, brokerErr(broker.KindInvalidOrder, "a %s order needs a limit price greater than zero", req.Type)
		}
		o.LimitPrice = toTick(req.LimitPrice, class, limitMode)
		if !o.LimitPrice.IsPositive() {
			return o, brokerErr(broker.KindInvalidOrder, "limit price %s is below the minimum price increment", req.LimitPrice)
		}
	}
	if needStop {
		if !req.StopPrice.IsPositive() {
			return o, brokerErr(broker.KindInvalidOrder, "a %s order needs a stop price greater than zero", req.Type)
		}
		o.StopPrice = toTick(req.StopPrice, class, stopMode)
		if !o.StopPrice.IsPositive() {
			return o, brokerErr(broker.KindInvalidOrder, "stop price %s is below the minimum price increment", req.StopPrice)
		}
	}

	tif := req.TimeInForce
	if tif == "" {
		tif = broker.TIFDay
		if class == signal.AssetCrypto {
			tif = broker.TIFGTC
		}
	}
	switch tif {
	case broker.TIFDay, broker.TIFGTC:
	case broker.TIFIOC, broker.TIFFOK:
		if req.Type != signal.OrderMarket && req.Type != signal.OrderLimit {
			return o, brokerErr(broker.KindInvalidOrder, "time in force %s is only valid for market and limit orders", tif)
		}
	default:
		return o, brokerErr(broker.KindInvalidOrder, "unsupported time in force %q", printable(string(tif)))
	}
	o.TimeInForce = tif

	if req.ExtendedHours && class == signal.AssetStock {
		if req.Type != signal.OrderLimit || tif != broker.TIFDay {
			return o, brokerErr(broker.KindInvalidOrder, "extended-hours orders must be limit orders with time in force day")
		}
		o.ExtendedHours = true
	}
	return o, nil
}

// placeOrder admits an order on the account and runs a matching pass, so a
// marketable order comes back filled (or partially filled). A client order
// id already used is answered as dup says; afterCreate (a test's
// Faults.AfterCreate, nil otherwise) runs in the update after that pass.
func (e *Engine) placeOrder(ctx context.Context, accountID string, req broker.OrderRequest, dup DuplicatePolicy, afterCreate func()) (broker.Order, error) {
	tmpl, err := prepare(req)
	if err != nil {
		return broker.Order{}, err
	}
	now := e.now()
	open, nextOpen, nextClose := true, time.Time{}, time.Time{}
	if tmpl.AssetClass == signal.AssetStock {
		open, nextOpen, nextClose = e.calendar.Status(now, signal.AssetStock, tmpl.ExtendedHours)
	}
	q := newQuotes(e.feed)
	halted := e.isHalted(tmpl.Symbol)
	var out broker.Order
	err = e.store.Update(ctx, accountID, func(st *AccountState) error {
		e.rollDay(st, now, q)
		if ex := st.orderByClientID(tmpl.ClientOrderID); ex != nil && dup != DuplicatesAccept {
			if dup == DuplicatesReject {
				return errDuplicateClientID(tmpl.ClientOrderID)
			}
			if e.matchOrders(st, now, q) {
				st.UpdatedAt = now
			}
			out = st.orderByClientID(tmpl.ClientOrderID).Order
			return nil
		}
		price, err := q.price(tmpl.Symbol)
		if err != nil {
			return feedErr(tmpl.Symbol, err)
		}
		if halted {
			return errHalted(tmpl.Symbol)
		}
		if !open {
			return marketClosed(nextOpen)
		}
		o := tmpl
		o.ID = uuid.NewString()
		o.RefPrice = price
		o.Status = broker.StatusNew
		o.SubmittedAt = now
		o.UpdatedAt = now
		if o.TimeInForce == broker.TIFDay && o.AssetClass == signal.AssetStock {
			o.ExpiresAt = nextClose // zero when the calendar has no close
		}
		if o.Type == signal.OrderTrailingStop {
			o.Watermark = decimal.Zero
			trail(&o, price)
		}
		if err := e.admit(st, &o, q); err != nil {
			return err
		}
		st.Orders = append(st.Orders, o)
		st.OrdersCreated++
		e.matchOrders(st, now, q)
		st.UpdatedAt = now
		out = st.orderByID(o.ID).Order
		if afterCreate != nil {
			afterCreate()
		}
		return nil
	})
	if err != nil {
		return broker.Order{}, storeErr(accountID, err)
	}
	return out, nil
}

func marketClosed(nextOpen time.Time) error {
	if nextOpen.IsZero() {
		return brokerErr(broker.KindMarketClosed, "the US stock market is closed")
	}
	return brokerErr(broker.KindMarketClosed, "the US stock market is closed; it next opens at %s",
		nextOpen.UTC().Format("2006-01-02 15:04 UTC"))
}

// admit decides whether the account can carry the order: a sell while long
// (or a buy while short) must fit in the part of the position not already
// being closed by other orders, and an opening order must fit in buying
// power. It marks closing orders reduce-only.
func (e *Engine) admit(st *AccountState, o *OrderState, q *quotes) error {
	held := st.Positions[o.Symbol].Quantity
	switch {
	case o.Side == signal.SideSell && held.IsPositive(),
		o.Side == signal.SideBuy && held.IsNegative():
		reserved := committed(st, o.Symbol, o.Side, "")
		avail := held.Abs().Sub(reserved)
		if o.Quantity.GreaterThan(avail) {
			what := "position"
			if held.IsNegative() {
				what = "short position to cover"
			}
			return brokerErr(broker.KindInsufficientFunds,
				"insufficient %s %s: %s available (%s held, %s reserved by open orders), %s required",
				o.Symbol, what, avail, held.Abs(), reserved, o.Quantity)
		}
		o.ReduceOnly = true
		return nil
	case o.Side == signal.SideSell && o.AssetClass == signal.AssetCrypto:
		return brokerErr(broker.KindInsufficientFunds,
			"insufficient %s position: 0 available, %s required (crypto cannot be sold short)", o.Symbol, o.Quantity)
	}
	required := e.reservation(o, q)
	avail := e.buyingPower(st, q, "")
	if required.GreaterThan(avail) {
		return brokerErr(broker.KindInsufficientFunds, "insufficient buying power: %s available, %s required",
			usd(decimal.Max(avail, decimal.Zero)), usd(required))
	}
	return nil
}
