package signal

import (
	"fmt"
	"unicode"

	"github.com/shopspring/decimal"
)

// brokers a signal may name as its routing override.
var brokers = []string{"paper", "alpaca", "ibkr", "schwab", "coinbase", "kraken", "binance"}

// Brokers lists the broker names a signal may use as routing override.
func Brokers() []string { return append([]string(nil), brokers...) }

var (
	sources       = []string{string(SourceDiscord), string(SourceTradingView), string(SourceDashboard), string(SourceCopy)}
	actions       = []string{string(ActionBuy), string(ActionSell), string(ActionExit), string(ActionCancel), string(ActionAdd)}
	orderTypes    = []string{string(OrderMarket), string(OrderLimit), string(OrderStop), string(OrderStopLimit), string(OrderTrailingStop)}
	quantityTypes = []string{string(QtyFixed), string(QtyDollarAmount), string(QtyPercentOfEquity), string(QtyPercentOfPosition), string(QtyDefault)}
	sentiments    = []string{SentimentBullish, SentimentBearish, SentimentFlat}
)

// Sentiment values (TradersPost vocabulary; "long"/"short" are read as
// bullish/bearish by the parsers).
const (
	SentimentBullish = "bullish"
	SentimentBearish = "bearish"
	SentimentFlat    = "flat"
)

// Length limits of free-text fields.
const (
	maxTextLen       = 4096
	maxExternalIDLen = 256 // room for a caller prefix such as "<userID>:"
)

// Validate enforces the invariants every Signal satisfies, whatever its
// entry point (Discord, TradingView, dashboard order form, copy trading).
// The error is a *ParseError whose Field is the Signal's JSON field name.
//
// Invariants:
//   - Source, Action, AssetClass and enums are known values; Symbol is
//     canonical for its AssetClass (see NormalizeSymbol).
//   - Side is buy for buy, sell for sell, buy/sell/empty for add (empty: the
//     open position decides) and empty for exit and cancel.
//   - Quantity is > 0 unless QuantityType is default, where it is zero;
//     percentages are at most 100; cancel carries no quantity.
//   - Every price is ≥ 0, below 10^15, with at most 18 decimals. The order
//     type has exactly the prices it needs: limit → LimitPrice; stop →
//     StopPrice; stop_limit → both; trailing_stop → TrailPercent (0-100);
//     market → none. cancel has no order type and no prices.
//   - At most one of StopLossPercent/StopLossPrice and of
//     TakeProfitPercent/TakeProfitPrice; stop-loss percent in (0,100). No
//     stop-loss/take-profit on exit, cancel or flat (close-only) signals. When
//     the entry price is known (limit/stop price, else SignalPrice) a stop-loss
//     price lies on the losing side and a take-profit price on the winning side.
//   - Broker is empty or one of Brokers().
func (s Signal) Validate() error {
	if pe := s.validate(); pe != nil {
		return pe
	}
	return nil
}

func (s Signal) validate() *ParseError {
	checks := []func() *ParseError{
		s.validateIdentity,
		s.validateDirection,
		s.validateNumbers,
		s.validateQuantity,
		s.validateOrder,
		s.validateSession,
		s.validateExits,
	}
	for _, check := range checks {
		if pe := check(); pe != nil {
			return pe
		}
	}
	return nil
}

func (s Signal) validateIdentity() *ParseError {
	if !contains(sources, string(s.Source)) {
		return errOneOf("source", sources)
	}
	if len(s.ExternalID) > maxExternalIDLen {
		return errTooLong("externalId", maxExternalIDLen)
	}
	if hasControl(s.ExternalID) {
		return errControlChars("externalId")
	}
	if len(s.Text) > maxTextLen {
		return errTooLong("text", maxTextLen)
	}
	if s.Symbol == "" {
		return errRequired("symbol")
	}
	if s.AssetClass != AssetStock && s.AssetClass != AssetCrypto {
		return errOneOf("assetClass", []string{string(AssetStock), string(AssetCrypto)})
	}
	if !canonicalSymbol(s.Symbol, s.AssetClass) {
		return errNotCanonical("symbol", s.Symbol)
	}
	if s.Broker != "" && !contains(brokers, s.Broker) {
		return errOneOfGot("broker", s.Broker, brokers)
	}
	return nil
}

func (s Signal) validateDirection() *ParseError {
	if !contains(actions, string(s.Action)) {
		return errOneOf("action", actions)
	}
	if s.Sentiment != "" && !contains(sentiments, s.Sentiment) {
		return errOneOf("sentiment", sentiments)
	}
	okSide := false
	switch s.Action {
	case ActionBuy:
		okSide = s.Side == SideBuy
	case ActionSell:
		okSide = s.Side == SideSell
	case ActionAdd:
		okSide = s.Side == "" || s.Side == SideBuy || s.Side == SideSell
	case ActionExit, ActionCancel:
		okSide = s.Side == ""
	}
	if !okSide {
		return errSideForAction(s.Action)
	}
	if s.Action == ActionAdd {
		switch {
		case s.Sentiment == SentimentFlat:
			return errValueNotWithAction("sentiment", SentimentFlat, ActionAdd)
		case s.Sentiment == SentimentBullish && s.Side == SideSell,
			s.Sentiment == SentimentBearish && s.Side == SideBuy:
			return errSideSentiment()
		}
	}
	return nil
}

// numberFields lists every decimal field with its JSON name.
func (s Signal) numberFields() []struct {
	name string
	d    decimal.Decimal
} {
	return []struct {
		name string
		d    decimal.Decimal
	}{
		{"quantity", s.Quantity},
		{"limitPrice", s.LimitPrice},
		{"stopPrice", s.StopPrice},
		{"trailPercent", s.TrailPercent},
		{"signalPrice", s.SignalPrice},
		{"stopLossPercent", s.StopLossPercent},
		{"stopLossPrice", s.StopLossPrice},
		{"takeProfitPercent", s.TakeProfitPercent},
		{"takeProfitPrice", s.TakeProfitPrice},
	}
}

func (s Signal) validateNumbers() *ParseError {
	for _, f := range s.numberFields() {
		if f.d.IsNegative() {
			return errNegative(f.name)
		}
		if pe := checkBounds(f.name, f.d); pe != nil {
			return pe
		}
	}
	return nil
}

func (s Signal) validateQuantity() *ParseError {
	if !contains(quantityTypes, string(s.QuantityType)) {
		return errOneOf("quantityType", quantityTypes)
	}
	if s.Action == ActionCancel && (s.QuantityType != QtyDefault || !s.Quantity.IsZero()) {
		return errNotWithAction("quantity", ActionCancel)
	}
	if (s.QuantityType == QtyDefault) != s.Quantity.IsZero() {
		return errQuantityDefault()
	}
	switch s.QuantityType {
	case QtyPercentOfEquity, QtyPercentOfPosition:
		if s.Quantity.Cmp(hundred) > 0 {
			return errPercentAtMost100("quantity")
		}
	}
	if s.QuantityType == QtyPercentOfPosition && s.Action == ActionAdd {
		return errValueNotWithAction("quantityType", string(QtyPercentOfPosition), ActionAdd)
	}
	return nil
}

func (s Signal) validateOrder() *ParseError {
	if s.Action == ActionCancel {
		if s.OrderType != "" {
			return errNotWithAction("orderType", ActionCancel)
		}
		for _, f := range []struct {
			name string
			d    decimal.Decimal
		}{{"limitPrice", s.LimitPrice}, {"stopPrice", s.StopPrice}, {"trailPercent", s.TrailPercent}} {
			if !f.d.IsZero() {
				return errNotWithAction(f.name, ActionCancel)
			}
		}
		return nil
	}
	if !contains(orderTypes, string(s.OrderType)) {
		return errOneOf("orderType", orderTypes)
	}
	needLimit := s.OrderType == OrderLimit || s.OrderType == OrderStopLimit
	needStop := s.OrderType == OrderStop || s.OrderType == OrderStopLimit
	needTrail := s.OrderType == OrderTrailingStop
	for _, f := range []struct {
		name   string
		d      decimal.Decimal
		needed bool
	}{
		{"limitPrice", s.LimitPrice, needLimit},
		{"stopPrice", s.StopPrice, needStop},
		{"trailPercent", s.TrailPercent, needTrail},
	} {
		switch {
		case f.needed && f.d.IsZero():
			return errRequiredForOrderType(f.name, s.OrderType)
		case !f.needed && !f.d.IsZero():
			return errNotWithOrderType(f.name, s.OrderType)
		}
	}
	if needTrail {
		if pe := checkPercent("trailPercent", s.TrailPercent); pe != nil {
			return pe
		}
	}
	return nil
}

func (s Signal) validateExits() *ParseError {
	hasSL := !s.StopLossPercent.IsZero() || !s.StopLossPrice.IsZero()
	hasTP := !s.TakeProfitPercent.IsZero() || !s.TakeProfitPrice.IsZero() || len(s.TakeProfitTargets) > 0
	if len(s.TakeProfitTargets) > 0 {
		if pe := s.validateLadder(); pe != nil {
			return pe
		}
	}
	if !s.StopLossPercent.IsZero() && !s.StopLossPrice.IsZero() {
		return errEitherOr("stopLoss", "a percentage", "a price")
	}
	if !s.TakeProfitPercent.IsZero() && !s.TakeProfitPrice.IsZero() {
		return errEitherOr("takeProfit", "a percentage", "a price")
	}
	if !s.StopLossPercent.IsZero() {
		if pe := checkPercent("stopLossPercent", s.StopLossPercent); pe != nil {
			return pe
		}
	}
	if s.Action == ActionExit || s.Action == ActionCancel {
		if hasSL {
			return errNotWithAction("stopLoss", s.Action)
		}
		if hasTP {
			return errNotWithAction("takeProfit", s.Action)
		}
		return nil
	}
	if s.Sentiment == SentimentFlat {
		if hasSL {
			return errWithFlatSentiment("stopLoss")
		}
		if hasTP {
			return errWithFlatSentiment("takeProfit")
		}
	}
	ref := s.entryReference()
	if ref.IsZero() || s.Side == "" {
		return nil
	}
	long := s.Side == SideBuy
	if sl := s.StopLossPrice; !sl.IsZero() && (long && sl.Cmp(ref) >= 0 || !long && sl.Cmp(ref) <= 0) {
		return errStopLossSide("stopLossPrice", s.Side, formatPrice(ref))
	}
	if tp := s.TakeProfitPrice; !tp.IsZero() && (long && tp.Cmp(ref) <= 0 || !long && tp.Cmp(ref) >= 0) {
		return errTakeProfitSide("takeProfitPrice", s.Side, formatPrice(ref))
	}
	for _, t := range s.TakeProfitTargets {
		if tp := t.Price; !tp.IsZero() && (long && tp.Cmp(ref) <= 0 || !long && tp.Cmp(ref) >= 0) {
			return errTakeProfitSide("takeProfitTargets", s.Side, formatPrice(ref))
		}
	}
	return nil
}

// validateLadder checks a take-profit ladder: 2..maxTargets targets, each
// a price or a percent, shares all given summing to 100 or all left out,
// and no single take-profit next to it.
func (s Signal) validateLadder() *ParseError {
	ts := s.TakeProfitTargets
	field := "takeProfitTargets"
	switch {
	case len(ts) < 2:
		return &ParseError{Field: field, Reason: "a take-profit ladder needs at least two targets (one target is takeProfit)"}
	case len(ts) > maxTargets:
		return errFreeformTooManyTargets(maxTargets)
	case !s.TakeProfitPercent.IsZero() || !s.TakeProfitPrice.IsZero():
		return &ParseError{Field: field, Reason: "give either one take-profit or a ladder of targets, not both"}
	}
	sum, given := decimal.Zero, 0
	for i, t := range ts {
		if t.Price.IsPositive() == t.Percent.IsPositive() || t.Price.IsNegative() || t.Percent.IsNegative() {
			return &ParseError{Field: field, Reason: fmt.Sprintf("target %d needs exactly one of a price or a percentage", i+1)}
		}
		if t.Percent.IsPositive() {
			if pe := checkPercent(field, t.Percent); pe != nil {
				return pe
			}
		}
		if t.Share.IsNegative() {
			return &ParseError{Field: field, Reason: fmt.Sprintf("target %d has a negative share", i+1)}
		}
		if t.Share.IsPositive() {
			given++
			sum = sum.Add(t.Share)
		}
		if i > 0 && t.Price.IsPositive() && ts[i-1].Price.IsPositive() {
			prev := ts[i-1].Price
			if s.Side == SideBuy && t.Price.Cmp(prev) <= 0 || s.Side == SideSell && t.Price.Cmp(prev) >= 0 {
				pe := errFreeformTargetsOrder(formatPrice(prev), formatPrice(t.Price), s.Side)
				pe.Field = field
				return pe
			}
		}
	}
	if given != 0 && (given != len(ts) || !sum.Equal(hundred)) {
		return &ParseError{Field: field, Reason: "the target shares must all be given and sum to 100%, or all be left out (equal shares)"}
	}
	return nil
}

// entryReference is the best known entry price: the limit price, else the
// stop trigger, else the price the sender saw. Zero when unknown.
func (s Signal) entryReference() decimal.Decimal {
	switch {
	case !s.LimitPrice.IsZero():
		return s.LimitPrice
	case !s.StopPrice.IsZero():
		return s.StopPrice
	default:
		return s.SignalPrice
	}
}

func contains(list []string, v string) bool {
	for _, it := range list {
		if it == v {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
