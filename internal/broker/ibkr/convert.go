package ibkr

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Conversions between the gateway's wire types and the broker-neutral types.
// Pure functions, table-tested in convert_test.go.

// wholeShares rounds a stock quantity down to whole shares: the Client Portal
// API trades fractional shares only for accounts with that permission, so the
// adapter never sends a fraction.
func wholeShares(q decimal.Decimal) decimal.Decimal {
	return q.Truncate(0)
}

// roundPrice rounds a price to the US equity tick (0.01 at or above 1 USD,
// 0.0001 below) in the trader's favour for limits and towards the market for
// stops: down for buys, up for sells.
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

// toTicket builds the order ticket for a request. qty is already whole
// shares; the caller validated the request.
func toTicket(req broker.OrderRequest, accountID string, conid int64, qty decimal.Decimal) (wireOrderTicket, error) {
	t := wireOrderTicket{
		AcctID:     accountID,
		Conid:      conid,
		SecType:    strconv.FormatInt(conid, 10) + ":STK",
		COID:       req.ClientOrderID,
		Quantity:   json.Number(qty.String()),
		OutsideRTH: req.ExtendedHours,
	}
	switch req.Side {
	case signal.SideBuy:
		t.Side = "BUY"
	case signal.SideSell:
		t.Side = "SELL"
	default:
		return t, invalidOrder("order side must be buy or sell")
	}
	switch req.TimeInForce {
	case broker.TIFDay, "":
		t.TIF = "DAY"
	case broker.TIFGTC:
		t.TIF = "GTC"
	case broker.TIFIOC:
		t.TIF = "IOC"
	case broker.TIFOPG:
		t.TIF = "OPG"
	default:
		return t, invalidOrder("time in force must be day, gtc, ioc or opg")
	}
	num := func(d decimal.Decimal) json.Number { return json.Number(roundPrice(d, req.Side).String()) }
	switch req.Type {
	case signal.OrderMarket, "":
		t.OrderType = "MKT"
	case signal.OrderLimit:
		if !req.LimitPrice.IsPositive() {
			return t, invalidOrder("a limit order needs a limit price")
		}
		t.OrderType, t.Price = "LMT", num(req.LimitPrice)
	case signal.OrderStop:
		if !req.StopPrice.IsPositive() {
			return t, invalidOrder("a stop order needs a stop price")
		}
		t.OrderType, t.Price = "STP", num(req.StopPrice)
	case signal.OrderStopLimit:
		if !req.StopPrice.IsPositive() || !req.LimitPrice.IsPositive() {
			return t, invalidOrder("a stop-limit order needs a stop and a limit price")
		}
		t.OrderType, t.Price, t.AuxPrice = "STOP_LIMIT", num(req.LimitPrice), num(req.StopPrice)
	case signal.OrderTrailingStop:
		// IBKR Campus, "Order Types" → CP API Trailing Stop: the trail
		// offset (trailingAmt, trailingType "%" or "amt") and the stop price
		// in "price" are both required.
		if !req.TrailPercent.IsPositive() {
			return t, invalidOrder("a trailing stop needs a trail percentage")
		}
		if !req.StopPrice.IsPositive() {
			return t, invalidOrder("a trailing stop needs its initial stop price")
		}
		t.OrderType, t.TrailingAmt, t.TrailingTyp = "TRAIL", json.Number(req.TrailPercent.String()), "%"
		t.Price = num(req.StopPrice)
	default:
		return t, invalidOrder("unsupported order type " + string(req.Type))
	}
	return t, nil
}

// trailStop is the initial stop of a trailing stop trailing last by pct
// percent: below the market for a sell, above it for a buy.
func trailStop(last, pct decimal.Decimal, side signal.Side) decimal.Decimal {
	f := pct.Div(decimal.NewFromInt(100))
	if side == signal.SideSell {
		return last.Mul(decimal.NewFromInt(1).Sub(f))
	}
	return last.Mul(decimal.NewFromInt(1).Add(f))
}

// mapStatus maps an IBKR order status to the neutral status. A working order
// with fills is partially filled.
func mapStatus(status string, filled decimal.Decimal) broker.OrderStatus {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "filled":
		return broker.StatusFilled
	case "cancelled", "canceled", "apicancelled", "api_cancelled":
		return broker.StatusCancelled
	case "inactive", "rejected":
		return broker.StatusRejected
	case "expired":
		return broker.StatusExpired
	}
	if filled.IsPositive() {
		return broker.StatusPartiallyFilled
	}
	return broker.StatusNew
}

// mapOrderType reads the gateway's order type names ("LMT", "Limit",
// "STOP_LIMIT", "Stop Limit", ...).
func mapOrderType(s string) signal.OrderType {
	k := strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToUpper(s))
	switch k {
	case "LMT", "LIMIT":
		return signal.OrderLimit
	case "STP", "STOP":
		return signal.OrderStop
	case "STPLMT", "STOPLIMIT":
		return signal.OrderStopLimit
	case "TRAIL", "TRAILINGSTOP", "TRAILLIMIT", "TRAILLMT":
		return signal.OrderTrailingStop
	default:
		return signal.OrderMarket
	}
}

// mapSide reads "BUY"/"B"/"SELL"/"S".
func mapSide(s string) signal.Side {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "SELL", "S", "SLD":
		return signal.SideSell
	default:
		return signal.SideBuy
	}
}

// orderFromLive converts an entry of the live-orders list.
func orderFromLive(o wireLiveOrder) broker.Order {
	typ := mapOrderType(firstNonEmpty(o.OrigOrderType, o.OrderType))
	out := broker.Order{
		ID:             string(o.OrderID),
		ClientOrderID:  o.OrderRef,
		Symbol:         strings.ToUpper(o.Ticker),
		Side:           mapSide(o.Side),
		Type:           typ,
		Status:         mapStatus(o.Status, o.FilledQuantity.Decimal),
		Quantity:       o.TotalSize.Decimal,
		FilledQuantity: o.FilledQuantity.Decimal,
		AvgFillPrice:   o.AvgPrice.Decimal,
	}
	if !out.Quantity.IsPositive() {
		out.Quantity = o.FilledQuantity.Add(o.RemainingQuantity.Decimal)
	}
	switch typ {
	case signal.OrderLimit:
		out.LimitPrice = o.Price.Decimal
	case signal.OrderStop:
		out.StopPrice = o.Price.Decimal
	case signal.OrderStopLimit:
		out.LimitPrice, out.StopPrice = o.Price.Decimal, o.AuxPrice.Decimal
	case signal.OrderTrailingStop:
		out.StopPrice = o.Price.Decimal
	}
	if o.LastExecutionMS > 0 {
		out.UpdatedAt = time.UnixMilli(o.LastExecutionMS).UTC()
	}
	if out.Status == broker.StatusRejected {
		out.RejectReason = "rejected by Interactive Brokers"
	}
	return out
}

// orderFromStatus converts the single-order status answer.
func orderFromStatus(o wireOrderStatus) broker.Order {
	typ := mapOrderType(o.OrderType)
	qty := o.TotalSize.Decimal
	if !qty.IsPositive() {
		qty = o.Size.Decimal
	}
	out := broker.Order{
		ID:             string(o.OrderID),
		Symbol:         strings.ToUpper(o.Symbol),
		Side:           mapSide(o.Side),
		Type:           typ,
		Status:         mapStatus(o.OrderStatus, o.CumFill.Decimal),
		Quantity:       qty,
		FilledQuantity: o.CumFill.Decimal,
		AvgFillPrice:   o.AveragePrice.Decimal,
		LimitPrice:     o.LimitPrice.Decimal,
		StopPrice:      o.StopPrice.Decimal,
	}
	if t, err := time.ParseInLocation("060102150405", o.OrderTime, time.UTC); err == nil {
		out.SubmittedAt = t
	}
	if out.Status == broker.StatusRejected {
		out.RejectReason = "rejected by Interactive Brokers"
	}
	return out
}

// pickConid chooses the stock contract for symbol among search matches: the
// first exact symbol match that lists a STK section.
func pickConid(matches []wireSecdef, symbol string) (int64, bool) {
	for _, m := range matches {
		if !strings.EqualFold(m.Symbol, symbol) {
			continue
		}
		stock := len(m.Sections) == 0
		for _, s := range m.Sections {
			if s.SecType == "STK" {
				stock = true
				break
			}
		}
		if !stock {
			continue
		}
		id, err := strconv.ParseInt(string(m.Conid), 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		return id, true
	}
	return 0, false
}

// summaryAmount reads one field of the account summary.
func summaryAmount(s wireSummary, key string) (wireSummaryValue, bool) {
	raw, ok := s[key]
	if !ok {
		return wireSummaryValue{}, false
	}
	var v wireSummaryValue
	if json.Unmarshal(raw, &v) != nil || v.IsNull || !v.Amount.Valid {
		return wireSummaryValue{}, false
	}
	return v, true
}

// balanceFromSummary maps the account summary. Net liquidation value is the
// equity; the previous day's equity-with-loan value is the daily P&L base.
func balanceFromSummary(s wireSummary, baseCurrency string) (broker.Balance, bool) {
	nl, ok := summaryAmount(s, "netliquidation")
	if !ok {
		return broker.Balance{}, false
	}
	b := broker.Balance{
		Currency: firstNonEmpty(nl.Currency, baseCurrency, "USD"),
		Equity:   nl.Amount.Decimal,
	}
	if v, ok := summaryAmount(s, "totalcashvalue"); ok {
		b.Cash = v.Amount.Decimal
	}
	if v, ok := summaryAmount(s, "buyingpower"); ok {
		b.BuyingPower = v.Amount.Decimal
	} else if v, ok := summaryAmount(s, "availablefunds"); ok {
		b.BuyingPower = v.Amount.Decimal
	}
	b.LastEquity = b.Equity
	if v, ok := summaryAmount(s, "previousdayequitywithloanvalue"); ok {
		b.LastEquity = v.Amount.Decimal
	}
	return b, true
}

// positionFromWire maps one portfolio position (stocks only; other asset
// classes are reported by their contract description).
func positionFromWire(p wirePosition) broker.Position {
	symbol := p.Ticker
	if symbol == "" {
		symbol = p.ContractDesc
	}
	avg := p.AvgPrice.Decimal
	if !p.AvgPrice.Valid {
		avg = p.AvgCost.Decimal
	}
	return broker.Position{
		Symbol:        strings.ToUpper(symbol),
		Quantity:      p.Position.Decimal,
		AvgEntryPrice: avg,
		CurrentPrice:  p.MktPrice.Decimal,
		MarketValue:   p.MktValue.Decimal,
		UnrealizedPnL: p.UnrealizedPnl.Decimal,
	}
}

// priceFromSnapshot reads the last price of a snapshot row, or the bid/ask
// mid when there is no last trade. ok is false when the row carries neither
// (the pre-flight answer).
func priceFromSnapshot(row map[string]json.RawMessage) (decimal.Decimal, bool) {
	read := func(tag string) (decimal.Decimal, bool) {
		raw, ok := row[tag]
		if !ok {
			return decimal.Zero, false
		}
		var d flexDecimal
		if json.Unmarshal(raw, &d) != nil || !d.Valid || !d.IsPositive() {
			return decimal.Zero, false
		}
		return d.Decimal, true
	}
	if p, ok := read(fieldLast); ok {
		return p, true
	}
	bid, okb := read(fieldBid)
	ask, oka := read(fieldAsk)
	if okb && oka {
		return bid.Add(ask).Div(decimal.NewFromInt(2)).Round(4), true
	}
	return decimal.Zero, false
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
