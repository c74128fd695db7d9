package schwab

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Conversions between the Trader API's wire types and the broker-neutral
// types. Pure functions, table-tested in convert_test.go.

// wholeShares rounds a stock quantity down to whole shares: the Trader API
// takes no fractional quantities.
func wholeShares(q decimal.Decimal) decimal.Decimal { return q.Truncate(0) }

// roundPrice rounds a price to the US equity tick (0.01 at or above 1 USD,
// 0.0001 below): down for buys, up for sells — in the trader's favour for
// limits, towards the market for stops.
func roundPrice(p decimal.Decimal, side signal.Side) decimal.Decimal {
	places := int32(2)
	if p.LessThan(decimal.NewFromInt(1)) {
		places = 4
	}
	if side == signal.SideSell {
		return p.RoundCeil(places)
	}
	return p.RoundFloor(places)
}

// toWireOrder builds the order body. qty is whole shares already.
func toWireOrder(req broker.OrderRequest, qty decimal.Decimal) (wireOrderRequest, error) {
	o := wireOrderRequest{Session: "NORMAL", ComplexOrderStrategyType: "NONE", OrderStrategyType: "SINGLE"}
	if req.ExtendedHours {
		o.Session = "SEAMLESS"
	}
	leg := wireLegRequest{Quantity: json.Number(qty.String()), Instrument: wireInstrument{Symbol: req.Symbol, AssetType: "EQUITY"}}
	switch req.Side {
	case signal.SideBuy:
		leg.Instruction = "BUY"
	case signal.SideSell:
		leg.Instruction = "SELL"
	default:
		return o, invalidOrder("order side must be buy or sell")
	}
	o.OrderLegCollection = []wireLegRequest{leg}
	switch req.TimeInForce {
	case broker.TIFDay, "":
		o.Duration = "DAY"
	case broker.TIFGTC:
		o.Duration = "GOOD_TILL_CANCEL"
	case broker.TIFIOC:
		o.Duration = "IMMEDIATE_OR_CANCEL"
	case broker.TIFFOK:
		o.Duration = "FILL_OR_KILL"
	default:
		return o, invalidOrder("time in force must be day, gtc, ioc or fok")
	}
	num := func(d decimal.Decimal) json.Number { return json.Number(roundPrice(d, req.Side).String()) }
	switch req.Type {
	case signal.OrderMarket, "":
		o.OrderType = "MARKET"
	case signal.OrderLimit:
		if !req.LimitPrice.IsPositive() {
			return o, invalidOrder("a limit order needs a limit price")
		}
		o.OrderType, o.Price = "LIMIT", num(req.LimitPrice)
	case signal.OrderStop:
		if !req.StopPrice.IsPositive() {
			return o, invalidOrder("a stop order needs a stop price")
		}
		o.OrderType, o.StopPrice = "STOP", num(req.StopPrice)
	case signal.OrderStopLimit:
		if !req.StopPrice.IsPositive() || !req.LimitPrice.IsPositive() {
			return o, invalidOrder("a stop-limit order needs a stop and a limit price")
		}
		o.OrderType, o.Price, o.StopPrice = "STOP_LIMIT", num(req.LimitPrice), num(req.StopPrice)
	case signal.OrderTrailingStop:
		if !req.TrailPercent.IsPositive() {
			return o, invalidOrder("a trailing stop needs a trail percentage")
		}
		o.OrderType, o.StopPriceLinkBasis, o.StopPriceLinkType = "TRAILING_STOP", "LAST", "PERCENT"
		o.StopPriceOffset = json.Number(req.TrailPercent.String())
	default:
		return o, invalidOrder("unsupported order type " + string(req.Type))
	}
	return o, nil
}

// shape is what identifies an order without a client order id.
type shape struct {
	symbol, instruction, orderType, duration, session string
	quantity, price, stopPrice, trail                 string
}

func decString(d decimal.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func numString(n json.Number) string {
	if n == "" {
		return ""
	}
	d, err := decimal.NewFromString(string(n))
	if err != nil {
		return string(n)
	}
	return decString(d)
}

// shapeOfRequest is the shape of an order body.
func shapeOfRequest(o wireOrderRequest) shape {
	s := shape{orderType: o.OrderType, duration: o.Duration, session: o.Session,
		price: numString(o.Price), stopPrice: numString(o.StopPrice), trail: numString(o.StopPriceOffset)}
	if len(o.OrderLegCollection) == 1 {
		l := o.OrderLegCollection[0]
		s.symbol, s.instruction, s.quantity = strings.ToUpper(l.Instrument.Symbol), l.Instruction, numString(l.Quantity)
	}
	return s
}

// shapeOfOrder is the shape of an existing order. Prices that do not apply
// to the order type are ignored (Schwab may echo them as 0).
func shapeOfOrder(o wireOrder) shape {
	s := shape{orderType: o.OrderType, duration: o.Duration, session: o.Session}
	switch o.OrderType {
	case "LIMIT":
		s.price = decString(o.Price)
	case "STOP":
		s.stopPrice = decString(o.StopPrice)
	case "STOP_LIMIT":
		s.price, s.stopPrice = decString(o.Price), decString(o.StopPrice)
	case "TRAILING_STOP":
		s.trail = decString(o.StopPriceOffset)
	}
	if len(o.OrderLegCollection) == 1 {
		l := o.OrderLegCollection[0]
		s.symbol, s.instruction, s.quantity = strings.ToUpper(l.Instrument.Symbol), l.Instruction, decString(l.Quantity)
	}
	if s.quantity == "" {
		s.quantity = decString(o.Quantity)
	}
	return s
}

// mapStatus maps a Schwab order status. Working orders with fills are
// partially filled.
func mapStatus(status string, filled decimal.Decimal) broker.OrderStatus {
	switch strings.ToUpper(status) {
	case "FILLED":
		return broker.StatusFilled
	case "CANCELED", "CANCELLED", "REPLACED":
		return broker.StatusCancelled
	case "REJECTED":
		return broker.StatusRejected
	case "EXPIRED":
		return broker.StatusExpired
	}
	if filled.IsPositive() {
		return broker.StatusPartiallyFilled
	}
	return broker.StatusNew
}

func mapOrderType(t string) signal.OrderType {
	switch strings.ToUpper(t) {
	case "LIMIT":
		return signal.OrderLimit
	case "STOP":
		return signal.OrderStop
	case "STOP_LIMIT":
		return signal.OrderStopLimit
	case "TRAILING_STOP", "TRAILING_STOP_LIMIT":
		return signal.OrderTrailingStop
	default:
		return signal.OrderMarket
	}
}

// mapInstruction reads an equity instruction.
func mapInstruction(i string) signal.Side {
	switch strings.ToUpper(i) {
	case "SELL", "SELL_SHORT", "SELL_TO_CLOSE", "SELL_TO_OPEN":
		return signal.SideSell
	default:
		return signal.SideBuy
	}
}

// parseTime reads Schwab's timestamps ("2024-05-02T14:10:55+0000"; RFC 3339
// accepted too).
func parseTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// orderFromWire converts an order. The average fill price is the
// quantity-weighted price of its execution legs.
func orderFromWire(o wireOrder) broker.Order {
	out := broker.Order{
		ID:             o.OrderID.String(),
		Type:           mapOrderType(o.OrderType),
		Status:         mapStatus(o.Status, o.FilledQuantity),
		Quantity:       o.Quantity,
		FilledQuantity: o.FilledQuantity,
		SubmittedAt:    parseTime(o.EnteredTime),
		UpdatedAt:      parseTime(o.CloseTime),
	}
	if len(o.OrderLegCollection) > 0 {
		l := o.OrderLegCollection[0]
		out.Symbol, out.Side = strings.ToUpper(l.Instrument.Symbol), mapInstruction(l.Instruction)
	}
	switch out.Type {
	case signal.OrderLimit:
		out.LimitPrice = o.Price
	case signal.OrderStop:
		out.StopPrice = o.StopPrice
	case signal.OrderStopLimit:
		out.LimitPrice, out.StopPrice = o.Price, o.StopPrice
	}
	qty, notional := decimal.Zero, decimal.Zero
	for _, a := range o.OrderActivityCollection {
		if !strings.EqualFold(a.ActivityType, "EXECUTION") {
			continue
		}
		for _, l := range a.ExecutionLegs {
			qty = qty.Add(l.Quantity)
			notional = notional.Add(l.Quantity.Mul(l.Price))
			if t := parseTime(l.Time); t.After(out.UpdatedAt) {
				out.UpdatedAt = t
			}
		}
	}
	if qty.IsPositive() {
		out.AvgFillPrice = notional.Div(qty).Round(6)
	}
	if out.Status == broker.StatusRejected {
		out.RejectReason = "rejected by Schwab"
		if o.StatusDescription != "" {
			out.RejectReason = clip(o.StatusDescription)
		}
	}
	return out
}

func pick(ds ...*decimal.Decimal) (decimal.Decimal, bool) {
	for _, d := range ds {
		if d != nil {
			return *d, true
		}
	}
	return decimal.Zero, false
}

// balanceFromAccount maps the account's balances. Equity is the liquidation
// value; the start-of-day liquidation value (initialBalances) is the daily
// P&L base; buying power falls back to cash available for trading for cash
// accounts.
func balanceFromAccount(a wireAccount) (broker.Balance, bool) {
	cur, ini := a.SecuritiesAccount.CurrentBalances, a.SecuritiesAccount.InitialBalances
	equity, ok := pick(cur.LiquidationValue, a.AggregatedBalance.CurrentLiquidationValue, a.AggregatedBalance.LiquidationValue)
	if !ok {
		return broker.Balance{}, false
	}
	b := broker.Balance{Currency: "USD", Equity: equity}
	b.Cash, _ = pick(cur.CashBalance, cur.CashAvailableForTrading, cur.AvailableFunds)
	b.BuyingPower, _ = pick(cur.BuyingPower, cur.CashAvailableForTrading, cur.AvailableFunds, cur.CashBalance)
	if v, ok := pick(ini.LiquidationValue); ok {
		b.LastEquity = v
	} else {
		b.LastEquity = equity
	}
	return b, true
}

// positionFromWire maps a position; short quantities are negative.
func positionFromWire(p wirePosition) broker.Position {
	qty := p.LongQuantity.Sub(p.ShortQuantity)
	avg := p.AveragePrice
	if avg.IsZero() {
		if qty.IsNegative() {
			avg = p.AverageShortPrice
		} else {
			avg = p.AverageLongPrice
		}
	}
	pos := broker.Position{
		Symbol:        strings.ToUpper(p.Instrument.Symbol),
		Quantity:      qty,
		AvgEntryPrice: avg,
		MarketValue:   p.MarketValue,
		UnrealizedPnL: p.LongOpenProfitLoss.Add(p.ShortOpenProfitLoss),
	}
	if !qty.IsZero() {
		pos.CurrentPrice = p.MarketValue.Div(qty).Abs().Round(4)
	}
	return pos
}

// priceFromQuotes reads symbol's price from a quote answer: the last trade,
// else the mark, else the bid/ask mid. invalid reports that Schwab listed the
// symbol as unknown.
func priceFromQuotes(q map[string]json.RawMessage, symbol string) (price decimal.Decimal, invalid, ok bool) {
	if raw, has := q["errors"]; has {
		var e wireQuoteErrors
		if json.Unmarshal(raw, &e) == nil {
			for _, s := range e.InvalidSymbols {
				if strings.EqualFold(s, symbol) {
					return decimal.Zero, true, false
				}
			}
		}
	}
	raw, has := q[symbol]
	if !has {
		for k, v := range q {
			if strings.EqualFold(k, symbol) {
				raw, has = v, true
			}
		}
	}
	if !has {
		return decimal.Zero, false, false
	}
	var e wireQuoteEntry
	if json.Unmarshal(raw, &e) != nil {
		return decimal.Zero, false, false
	}
	switch {
	case e.Quote.LastPrice.IsPositive():
		return e.Quote.LastPrice, false, true
	case e.Quote.Mark.IsPositive():
		return e.Quote.Mark, false, true
	case e.Quote.BidPrice.IsPositive() && e.Quote.AskPrice.IsPositive():
		return e.Quote.BidPrice.Add(e.Quote.AskPrice).Div(decimal.NewFromInt(2)).Round(4), false, true
	}
	return decimal.Zero, false, false
}
