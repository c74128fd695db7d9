package signal

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// MaxTradingViewBody is the largest webhook body ParseTradingView accepts.
const MaxTradingViewBody = 64 << 10

// TradingViewMeta is what a webhook body carries besides the signal. It is
// returned separately because the passphrase must never reach a Signal
// (signals are stored in workflow histories).
type TradingViewMeta struct {
	// Passphrase as sent; compare it in constant time. Never log it.
	Passphrase string
	// AlertID is the body's "id" (also Signal.ExternalID), empty when absent.
	AlertID string
	// SignalTime is "time" or "timestamp" in UTC, zero when absent; the
	// caller may refuse stale alerts with it.
	SignalTime time.Time
	// Interval is TradingView's {{interval}} ("1", "60", "1D"), informative.
	Interval string
}

// ParseTradingView parses a TradingView alert body (sent as application/json
// or text/plain; the bytes are the same). It accepts the seed format
//
//	{"ticker":"TSLA","action":"buy","quantity":50,"type":"limit","price":250.00}
//
// and the TradersPost webhook vocabulary, so alerts written for TradersPost
// work unchanged:
//
//   - ticker (required): see NormalizeSymbol; "BINANCE:BTCUSDT" works.
//   - action (required): buy, sell, exit, cancel, add.
//   - sentiment: bullish|long, bearish|short, flat (close only, never open
//     the opposite side). For add it picks the side.
//   - quantity + quantityType (fixed_quantity default, dollar_amount,
//     percent_of_equity, percent_of_position). No quantity: risk sizing
//     decides (QtyDefault).
//   - orderType (or "type"): market, limit, stop, stop_limit, trailing_stop.
//     When absent it follows from the prices sent (limitPrice → limit,
//     stopPrice → stop, both → stop_limit, trailPercent → trailing_stop),
//     else market.
//   - limitPrice, stopPrice, trailPercent; "price" is the limit price of a
//     limit/stop_limit order and the signal price otherwise; signalPrice.
//   - stopLoss: a price, or {"type":"stop","percent":2} / {"stopPrice":95}.
//     takeProfit: a price, or {"percent":5} / {"limitPrice":110}.
//   - id → Signal.ExternalID; passphrase, time/timestamp, interval → meta.
//
// Numbers may be JSON numbers or numeric strings and are read exactly.
// Enumerated values are case-insensitive. Properties not listed here are
// ignored, as TradersPost does, so alerts can carry notes — except
// timeInForce (day, gtc, ioc, fok, opg, cls) and extendedHours, executed
// where the trader's broker supports them and refused (400, field named)
// where it does not. Refused: bodies
// over 64 KiB, invalid JSON, a key given twice, unfilled placeholders like
// "{{close}}", and TradersPost features this system does not execute
// (trailAmount, risk_* quantity types, stopLoss.amount, takeProfit.amount,
// stop-limit or trailing stop-losses), each with a *ParseError naming the
// field. On error the meta holds what could be read (the passphrase when it
// is a string) so the caller can authenticate before showing the reason.
func ParseTradingView(body []byte) (Signal, TradingViewMeta, error) {
	s, meta, pe := parseTradingView(body)
	if pe != nil {
		return Signal{}, meta, pe
	}
	return s, meta, nil
}

// tradingViewFields maps Validate's field names to the webhook's.
var tradingViewFields = map[string]string{
	"symbol":            "ticker",
	"stopLossPrice":     "stopLoss",
	"stopLossPercent":   "stopLoss.percent",
	"takeProfitPrice":   "takeProfit",
	"takeProfitPercent": "takeProfit.percent",
	"externalId":        "id",
}

// enumFields are lower-cased and trimmed before validation.
var enumFields = []string{"action", "sentiment", "quantityType", "orderType", "type", "timeInForce"}

func parseTradingView(body []byte) (Signal, TradingViewMeta, *ParseError) {
	var meta TradingViewMeta
	if len(body) > MaxTradingViewBody {
		return Signal{}, meta, errBodyTooLarge(MaxTradingViewBody)
	}
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return Signal{}, meta, errBodyEmpty()
	}
	v, pe := decodeJSONDoc(body)
	if pe != nil {
		if pe.Field == "" && bytes.Contains(body, []byte("{{")) {
			// An unquoted placeholder TradingView did not fill in.
			return Signal{}, meta, errBodyPlaceholder()
		}
		return Signal{}, meta, pe
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return Signal{}, meta, errBodyNotObject()
	}
	if p, ok := doc["passphrase"].(string); ok {
		meta.Passphrase = p
	}
	if pe := checkPlaceholders(doc); pe != nil {
		return Signal{}, meta, pe
	}
	normalizeEnums(doc)
	if pe := validateSchema(doc); pe != nil {
		return Signal{}, meta, pe
	}
	tv := tvDoc(doc)
	s, pe := tv.signal(&meta)
	if pe != nil {
		return Signal{}, meta, pe
	}
	s.Text = summarize(s)
	if pe := s.validate(); pe != nil {
		return Signal{}, meta, renameField(pe, tradingViewFields)
	}
	return s, meta, nil
}

// checkPlaceholders refuses a known field still holding a TradingView
// placeholder such as "{{close}}" (the alert was created from a chart where
// the variable does not exist, or it is misspelt).
func checkPlaceholders(doc map[string]any) *ParseError {
	for _, key := range sortedKeys(tradingViewSchemaProps) {
		v, present := doc[key]
		if !present {
			continue
		}
		if pe := placeholderIn(key, v); pe != nil {
			return pe
		}
		if nested, ok := v.(map[string]any); ok && (key == "stopLoss" || key == "takeProfit") {
			for _, nk := range sortedKeys(nested) {
				if pe := placeholderIn(key+"."+nk, nested[nk]); pe != nil {
					return pe
				}
			}
		}
	}
	return nil
}

func placeholderIn(field string, v any) *ParseError {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	i := strings.Index(s, "{{")
	if i < 0 {
		return nil
	}
	if field == "passphrase" {
		return errPlaceholderSecret(field)
	}
	ph := s[i:]
	if j := strings.Index(ph, "}}"); j >= 0 {
		ph = ph[:j+2]
	}
	return errPlaceholder(field, ph)
}

func normalizeEnums(doc map[string]any) {
	lower := func(m map[string]any, k string) {
		if s, ok := m[k].(string); ok {
			m[k] = strings.ToLower(strings.TrimSpace(s))
		}
	}
	for _, k := range enumFields {
		lower(doc, k)
	}
	if sl, ok := doc["stopLoss"].(map[string]any); ok {
		lower(sl, "type")
	}
}

// tvDoc is a schema-valid webhook body.
type tvDoc map[string]any

func (d tvDoc) has(k string) bool { _, ok := d[k]; return ok }

func (d tvDoc) str(k string) string {
	switch v := d[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// num reads a decimal property; present is false when it is absent.
func (d tvDoc) num(k, field string) (v decimal.Decimal, present bool, pe *ParseError) {
	raw, ok := d[k]
	if !ok {
		return v, false, nil
	}
	v, ok = parseJSONNumber(display(raw))
	if !ok {
		return v, true, errNotNumber(field, display(raw))
	}
	if pe := checkBounds(field, v); pe != nil {
		return v, true, pe
	}
	return v, true, nil
}

func (d tvDoc) signal(meta *TradingViewMeta) (Signal, *ParseError) {
	s := Signal{Source: SourceTradingView}
	steps := []func(*Signal) *ParseError{
		d.symbol,
		d.direction,
		d.quantity,
		d.order,
		d.stopLoss,
		d.takeProfit,
		d.session,
		func(s *Signal) *ParseError { return d.meta(s, meta) },
	}
	for _, step := range steps {
		if pe := step(&s); pe != nil {
			return Signal{}, pe
		}
	}
	return s, nil
}

// session reads timeInForce (day, gtc, ioc, fok, opg, cls) and
// extendedHours; whether the trader's broker executes them is checked when
// the signal is routed, and a broker that cannot is refused, not ignored.
func (d tvDoc) session(s *Signal) *ParseError {
	s.TimeInForce = TimeInForce(d.str("timeInForce"))
	if s.TimeInForce == TIFDay {
		s.TimeInForce = TIFDefault // the default, said explicitly
	}
	s.ExtendedHours, _ = d["extendedHours"].(bool)
	return nil
}

func (d tvDoc) symbol(s *Signal) *ParseError {
	sym, class, pe := normalizeSymbol(d.str("ticker"))
	if pe != nil {
		return renameField(pe, tradingViewFields)
	}
	s.Symbol, s.AssetClass = sym, class
	return nil
}

func (d tvDoc) direction(s *Signal) *ParseError {
	s.Action = Action(d.str("action"))
	switch d.str("sentiment") {
	case "bullish", "long":
		s.Sentiment = SentimentBullish
	case "bearish", "short":
		s.Sentiment = SentimentBearish
	case "flat":
		s.Sentiment = SentimentFlat
	}
	switch s.Action {
	case ActionBuy:
		s.Side = SideBuy
	case ActionSell:
		s.Side = SideSell
	case ActionAdd:
		switch s.Sentiment {
		case SentimentBullish:
			s.Side = SideBuy
		case SentimentBearish:
			s.Side = SideSell
		case SentimentFlat:
			return errValueNotWithAction("sentiment", SentimentFlat, ActionAdd)
		}
	}
	return nil
}

func (d tvDoc) quantity(s *Signal) *ParseError {
	q, hasQty, pe := d.num("quantity", "quantity")
	if pe != nil {
		return pe
	}
	hasType := d.has("quantityType")
	if s.Action == ActionCancel {
		switch {
		case hasQty:
			return errNotWithAction("quantity", ActionCancel)
		case hasType:
			return errNotWithAction("quantityType", ActionCancel)
		}
		s.QuantityType = QtyDefault
		return nil
	}
	if !hasQty {
		if hasType {
			return errRequiredWith("quantity", "quantityType")
		}
		s.QuantityType = QtyDefault
		return nil
	}
	if pe := checkPositive("quantity", q); pe != nil {
		return pe
	}
	s.Quantity = q
	s.QuantityType = QtyFixed
	if hasType {
		s.QuantityType = QuantityType(d.str("quantityType"))
	}
	switch s.QuantityType {
	case QtyPercentOfEquity, QtyPercentOfPosition:
		if q.Cmp(hundred) > 0 {
			return errPercentAtMost100("quantity")
		}
	}
	if s.QuantityType == QtyPercentOfPosition && s.Action == ActionAdd {
		return errValueNotWithAction("quantityType", string(QtyPercentOfPosition), ActionAdd)
	}
	return nil
}

func (d tvDoc) order(s *Signal) *ParseError {
	if d.has("trailAmount") {
		return errNotSupported("trailAmount", "use trailPercent")
	}
	limit, hasLimit, pe := d.num("limitPrice", "limitPrice")
	if pe != nil {
		return pe
	}
	stop, hasStop, pe := d.num("stopPrice", "stopPrice")
	if pe != nil {
		return pe
	}
	trail, hasTrail, pe := d.num("trailPercent", "trailPercent")
	if pe != nil {
		return pe
	}
	price, hasPrice, pe := d.num("price", "price")
	if pe != nil {
		return pe
	}
	signalPrice, hasSignal, pe := d.num("signalPrice", "signalPrice")
	if pe != nil {
		return pe
	}
	for _, p := range []struct {
		name    string
		v       decimal.Decimal
		present bool
	}{{"limitPrice", limit, hasLimit}, {"stopPrice", stop, hasStop}, {"price", price, hasPrice}, {"signalPrice", signalPrice, hasSignal}} {
		if p.present {
			if pe := checkPositive(p.name, p.v); pe != nil {
				return pe
			}
		}
	}
	if hasTrail {
		if pe := checkPercent("trailPercent", trail); pe != nil {
			return pe
		}
	}

	ot, pe := d.orderType()
	if pe != nil {
		return pe
	}
	if s.Action == ActionCancel {
		switch {
		case ot != "":
			return errNotWithAction("orderType", ActionCancel)
		case hasLimit:
			return errNotWithAction("limitPrice", ActionCancel)
		case hasStop:
			return errNotWithAction("stopPrice", ActionCancel)
		case hasTrail:
			return errNotWithAction("trailPercent", ActionCancel)
		}
	} else if ot == "" {
		ot = inferOrderType(hasLimit, hasStop, hasTrail)
	}
	s.OrderType = ot

	usesLimit := ot == OrderLimit || ot == OrderStopLimit
	if hasPrice && usesLimit {
		// "price" is the seed format's limit price.
		if hasLimit && !price.Equal(limit) {
			return errConflicts("price", "limitPrice")
		}
		limit, hasLimit = price, true
	} else if hasPrice {
		if hasSignal && !price.Equal(signalPrice) {
			return errConflicts("price", "signalPrice")
		}
		signalPrice = price
	}
	if usesLimit && !hasLimit {
		return errRequiredForOrderType("limitPrice", ot)
	}
	if (ot == OrderStop || ot == OrderStopLimit) && !hasStop {
		return errRequiredForOrderType("stopPrice", ot)
	}
	if ot == OrderTrailingStop && !hasTrail {
		return errRequiredForOrderType("trailPercent", ot)
	}
	s.LimitPrice, s.StopPrice, s.TrailPercent, s.SignalPrice = limit, stop, trail, signalPrice
	return nil
}

// orderType reads orderType / type (synonyms; they must agree).
func (d tvDoc) orderType() (OrderType, *ParseError) {
	ot, t := d.str("orderType"), d.str("type")
	switch {
	case ot != "" && t != "" && ot != t:
		return "", errConflicts("type", "orderType")
	case ot != "":
		return OrderType(ot), nil
	default:
		return OrderType(t), nil
	}
}

func inferOrderType(hasLimit, hasStop, hasTrail bool) OrderType {
	switch {
	case hasTrail:
		return OrderTrailingStop
	case hasLimit && hasStop:
		return OrderStopLimit
	case hasLimit:
		return OrderLimit
	case hasStop:
		return OrderStop
	default:
		return OrderMarket
	}
}

func (d tvDoc) stopLoss(s *Signal) *ParseError {
	raw, ok := d["stopLoss"]
	if !ok {
		return nil
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		p, _, pe := d.num("stopLoss", "stopLoss")
		if pe != nil {
			return pe
		}
		s.StopLossPrice = p
		return checkPositive("stopLoss", p)
	}
	o := tvDoc(obj)
	if t := o.str("type"); t != "" && t != "stop" {
		return errNotSupported("stopLoss.type", `only "stop" stop-losses are placed; remove type or use "stop"`)
	}
	for _, k := range []string{"amount", "limitPrice", "trailPercent", "trailAmount"} {
		if o.has(k) {
			return errNotSupported("stopLoss."+k, "use stopLoss.percent or stopLoss.stopPrice")
		}
	}
	pct, hasPct, pe := o.num("percent", "stopLoss.percent")
	if pe != nil {
		return pe
	}
	price, hasPrice, pe := o.num("stopPrice", "stopLoss.stopPrice")
	if pe != nil {
		return pe
	}
	switch {
	case hasPct && hasPrice:
		return errEitherOr("stopLoss", "percent", "stopPrice")
	case hasPct:
		s.StopLossPercent = pct
		return checkPercent("stopLoss.percent", pct)
	case hasPrice:
		s.StopLossPrice = price
		return checkPositive("stopLoss.stopPrice", price)
	default:
		return errNeedOneOf("stopLoss", "percent", "stopPrice")
	}
}

func (d tvDoc) takeProfit(s *Signal) *ParseError {
	raw, ok := d["takeProfit"]
	if !ok {
		return nil
	}
	obj, isObj := raw.(map[string]any)
	if !isObj {
		p, _, pe := d.num("takeProfit", "takeProfit")
		if pe != nil {
			return pe
		}
		s.TakeProfitPrice = p
		return checkPositive("takeProfit", p)
	}
	o := tvDoc(obj)
	for _, k := range []string{"amount", "pnlAmount"} {
		if o.has(k) {
			return errNotSupported("takeProfit."+k, "use takeProfit.percent or takeProfit.limitPrice")
		}
	}
	pct, hasPct, pe := o.num("percent", "takeProfit.percent")
	if pe != nil {
		return pe
	}
	price, hasPrice, pe := o.num("limitPrice", "takeProfit.limitPrice")
	if pe != nil {
		return pe
	}
	switch {
	case hasPct && hasPrice:
		return errEitherOr("takeProfit", "percent", "limitPrice")
	case hasPct:
		s.TakeProfitPercent = pct
		return checkPositive("takeProfit.percent", pct)
	case hasPrice:
		s.TakeProfitPrice = price
		return checkPositive("takeProfit.limitPrice", price)
	default:
		return errNeedOneOf("takeProfit", "percent", "limitPrice")
	}
}

// MaxAlertIDLength bounds an alert id ("id"), string or number: with the
// trader's id in front it must fit signals.external_id (200 characters).
const MaxAlertIDLength = 128

func (d tvDoc) meta(s *Signal, meta *TradingViewMeta) *ParseError {
	if d.has("id") {
		id := strings.TrimSpace(d.str("id"))
		if id == "" {
			return errMustBeNonEmpty("id")
		}
		// The schema's maxLength bounds strings only; a numeric id of 200
		// digits would overflow the stored key (signals.external_id).
		if utf8.RuneCountInString(id) > MaxAlertIDLength {
			return errTooLong("id", MaxAlertIDLength)
		}
		s.ExternalID, meta.AlertID = id, id
	}
	var t time.Time
	for _, k := range []string{"time", "timestamp"} {
		if !d.has(k) {
			continue
		}
		tk, ok := parseAlertTime(d.str(k))
		if !ok {
			return errInvalidTime(k)
		}
		if !t.IsZero() && !t.Equal(tk) {
			return errConflicts("timestamp", "time")
		}
		t = tk
	}
	meta.SignalTime = t
	meta.Interval = strings.TrimSpace(d.str("interval"))
	return nil
}

// Alert times outside this range are typos, not signals.
var (
	minAlertTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxAlertTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseAlertTime reads TradingView's {{time}}/{{timenow}} (RFC 3339, e.g.
// 2024-03-15T14:23:11Z) or a Unix timestamp in seconds or milliseconds.
func parseAlertTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	var t time.Time
	if n, ok := parsePlain(v); ok {
		if !n.IsInteger() || n.Cmp(decimal.New(1, 14)) >= 0 {
			return time.Time{}, false
		}
		if n.Cmp(decimal.New(1, 11)) >= 0 { // milliseconds
			t = time.UnixMilli(n.IntPart())
		} else {
			t = time.Unix(n.IntPart(), 0)
		}
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return time.Time{}, false
		}
	}
	t = t.UTC()
	if t.Before(minAlertTime) || !t.Before(maxAlertTime) {
		return time.Time{}, false
	}
	return t, true
}
