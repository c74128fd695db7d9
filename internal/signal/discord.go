package signal

import (
	"errors"
	"strings"

	"github.com/shopspring/decimal"
)

// Discord command grammar (tokens separated by any whitespace; command,
// keywords and symbol are case-insensitive):
//
//	command  = ("/buy" | "/sell") symbol quantity [unit] {option}
//	symbol   = ["$"] ticker                 see NormalizeSymbol: AAPL, $TSLA, BRK.B, BTC, BTC-USD, BINANCE:BTCUSDT
//	quantity = digits ["." digits]          required, > 0: 100, 0.5
//	unit     = "shares" | "share" | "sh"    optional, right after the quantity
//	option   = order | stoploss | takeprofit | broker    each at most once, any order
//	order    = "@market"                    the default when no order is given
//	         | "@limit" price
//	         | "@stop" price
//	         | "@stop_limit" stopprice limitprice
//	stoploss = "sl:" (percent | price)      sl:2% (below entry for a buy) or sl:245.50
//	takeprofit = "tp:" (percent | price)    tp:5% or tp:260
//	broker   = "broker:" name               paper alpaca ibkr schwab coinbase kraken binance
//	price    = ["$"] digits ["." digits]    > 0
//	percent  = digits ["." digits] "%"
//
// Examples: "/buy AAPL 100 shares @market", "/sell BTC 0.5 @limit 42000",
// "/buy SPY 100", "/buy $TSLA 10 @stop_limit 251 250 sl:2% tp:270 broker:ibkr".
// Anything else — an unknown word, a second order type, a missing price —
// refuses the whole message with a *ParseError.

const (
	optSL     = "sl:"
	optTP     = "tp:"
	optBroker = "broker:"
)

// discordFields maps Validate's field names to the words of the grammar.
var discordFields = map[string]string{
	"limitPrice":        "limit price",
	"stopPrice":         "stop price",
	"stopLoss":          "sl",
	"stopLossPrice":     "sl",
	"stopLossPercent":   "sl",
	"takeProfit":        "tp",
	"takeProfitPrice":   "tp",
	"takeProfitPercent": "tp",
	"text":              "message",
}

// ParseDiscord parses a /buy or /sell command. The caller sets ExternalID
// (the Discord message id). Errors are *ParseError.
func ParseDiscord(text string) (Signal, error) {
	s, pe := parseDiscord(text)
	if pe != nil {
		return Signal{}, pe
	}
	return s, nil
}

func parseDiscord(text string) (Signal, *ParseError) {
	if len(text) > maxTextLen {
		return Signal{}, errTooLong("message", maxTextLen)
	}
	tok := strings.Fields(text)
	if len(tok) == 0 {
		return Signal{}, errDiscordEmpty()
	}
	s := Signal{Source: SourceDiscord, Text: text, QuantityType: QtyFixed}
	switch strings.ToLower(tok[0]) {
	case "/buy":
		s.Action, s.Side = ActionBuy, SideBuy
	case "/sell":
		s.Action, s.Side = ActionSell, SideSell
	default:
		return Signal{}, errDiscordNotCommand(tok[0])
	}

	if len(tok) < 2 {
		return Signal{}, errDiscordMissing("symbol")
	}
	sym, class, pe := normalizeSymbol(strings.TrimPrefix(tok[1], "$"))
	if pe != nil {
		return Signal{}, pe
	}
	s.Symbol, s.AssetClass = sym, class

	if len(tok) < 3 {
		return Signal{}, errDiscordMissing("quantity")
	}
	q, ok := parsePlain(tok[2])
	if !ok {
		return Signal{}, errNotPositiveNumber("quantity", tok[2])
	}
	if pe := checkPositive("quantity", q); pe != nil {
		return Signal{}, pe
	}
	s.Quantity = q

	rest := tok[3:]
	if len(rest) > 0 && isUnit(rest[0]) {
		rest = rest[1:]
	}
	if pe := parseDiscordOptions(&s, rest); pe != nil {
		return Signal{}, pe
	}
	if s.OrderType == "" {
		s.OrderType = OrderMarket
	}
	if pe := s.validate(); pe != nil {
		return Signal{}, renameField(pe, discordFields)
	}
	return s, nil
}

func isUnit(t string) bool {
	switch strings.ToLower(t) {
	case "shares", "share", "sh":
		return true
	}
	return false
}

// parseDiscordOptions consumes the options after the quantity.
func parseDiscordOptions(s *Signal, tok []string) *ParseError {
	var orderTok string
	var seenSL, seenTP, seenBroker bool
	for i := 0; i < len(tok); i++ {
		t := tok[i]
		lt := strings.ToLower(t)
		switch {
		case strings.HasPrefix(lt, "@"):
			if orderTok != "" {
				return errDiscordTwoOrderTypes(orderTok, lt)
			}
			orderTok = lt
			n, pe := parseDiscordOrder(s, lt, tok[i+1:])
			if pe != nil {
				return pe
			}
			i += n
		case strings.HasPrefix(lt, optSL):
			if seenSL {
				return discordDuplicateExit("sl", s.StopLossPercent, t)
			}
			seenSL = true
			pct, price, pe := parseExitLevel("sl", t[len(optSL):], true)
			if pe != nil {
				return pe
			}
			s.StopLossPercent, s.StopLossPrice = pct, price
		case strings.HasPrefix(lt, optTP):
			if seenTP {
				return discordDuplicateExit("tp", s.TakeProfitPercent, t)
			}
			seenTP = true
			pct, price, pe := parseExitLevel("tp", t[len(optTP):], false)
			if pe != nil {
				return pe
			}
			s.TakeProfitPercent, s.TakeProfitPrice = pct, price
		case strings.HasPrefix(lt, optBroker):
			if seenBroker {
				return errDuplicate("broker")
			}
			seenBroker = true
			name := lt[len(optBroker):]
			if !contains(brokers, name) {
				return errOneOfGot("broker", t[len(optBroker):], brokers)
			}
			s.Broker = name
		case isUnit(lt):
			return errDiscordUnit(t)
		default:
			if _, ok := parsePlain(strings.TrimPrefix(t, "$")); ok {
				return errDiscordUnexpectedNumber(t)
			}
			return errDiscordUnknownOption(t)
		}
	}
	return nil
}

// parseDiscordOrder applies an "@type" token and its prices; it returns how
// many following tokens it consumed.
func parseDiscordOrder(s *Signal, kw string, next []string) (int, *ParseError) {
	switch kw {
	case "@market":
		s.OrderType = OrderMarket
		return 0, nil
	case "@limit":
		p, pe := discordPrice("limit price", "@limit", "@limit 42000", next, 0)
		s.OrderType, s.LimitPrice = OrderLimit, p
		return 1, pe
	case "@stop":
		p, pe := discordPrice("stop price", "@stop", "@stop 245", next, 0)
		s.OrderType, s.StopPrice = OrderStop, p
		return 1, pe
	case "@stop_limit":
		stop, pe := discordPrice("stop price", "@stop_limit", "@stop_limit 251 250", next, 0)
		if pe != nil {
			return 1, pe
		}
		limit, pe := discordPrice("limit price", "@stop_limit <stop>", "@stop_limit 251 250", next, 1)
		s.OrderType, s.StopPrice, s.LimitPrice = OrderStopLimit, stop, limit
		return 2, pe
	default:
		return 0, errDiscordUnknownOrderType(kw)
	}
}

// discordPrice reads the price at next[i].
func discordPrice(field, after, example string, next []string, i int) (decimal.Decimal, *ParseError) {
	if i >= len(next) || !looksNumeric(next[i]) {
		return decimal.Decimal{}, errDiscordPriceMissing(field, after, example)
	}
	raw := strings.TrimPrefix(next[i], "$")
	p, ok := parsePlain(raw)
	if !ok {
		return decimal.Decimal{}, errNotPositiveNumber(field, next[i])
	}
	return p, checkPositive(field, p)
}

// looksNumeric tells a price attempt ("42000", "$1.5", "-3", "abc1"?) from
// the next option ("sl:2%", "@market"), to word the error right.
func looksNumeric(t string) bool {
	if t == "" || strings.HasPrefix(t, "@") || strings.Contains(t, ":") {
		return false
	}
	c := t[0]
	return c == '$' || c == '-' || c == '+' || c == '.' || c == ',' || (c >= '0' && c <= '9')
}

// parseExitLevel parses the value of sl:/tp: as a percentage ("2%") or a
// price ("245.50", "$245.50"). Exactly one result is non-zero.
func parseExitLevel(field, v string, isStopLoss bool) (pct, price decimal.Decimal, pe *ParseError) {
	if v == "" {
		return pct, price, errDiscordPriceMissing(field, field+":", field+":2% or "+field+":245.50")
	}
	if num, ok := strings.CutSuffix(v, "%"); ok {
		d, ok := parsePlain(num)
		if !ok {
			return pct, price, errNotPositiveNumber(field, v)
		}
		if isStopLoss {
			return d, price, checkPercent(field, d)
		}
		return d, price, checkPositive(field, d)
	}
	d, ok := parsePlain(strings.TrimPrefix(v, "$"))
	if !ok {
		return pct, price, errNotPositiveNumber(field, v)
	}
	return pct, d, checkPositive(field, d)
}

func discordDuplicateExit(field string, firstPct decimal.Decimal, second string) *ParseError {
	secondIsPct := strings.HasSuffix(second, "%")
	if firstPct.IsZero() == secondIsPct {
		return errEitherOr(field, "a percentage", "a price")
	}
	return errDuplicate(field)
}

// RenderDiscord writes s as a Discord command that ParseDiscord reads back
// to the same signal (except Text). Only what the grammar can express is
// accepted: buy/sell, fixed quantity, no sentiment, trailing stop or signal
// price.
func RenderDiscord(s Signal) (string, error) {
	if pe := s.validate(); pe != nil {
		return "", pe
	}
	if s.Action != ActionBuy && s.Action != ActionSell {
		return "", errors.New("signal: only buy and sell can be written as a Discord command")
	}
	if s.QuantityType != QtyFixed || s.Sentiment != "" || s.OrderType == OrderTrailingStop || !s.SignalPrice.IsZero() {
		return "", errors.New("signal: this signal has fields a Discord command cannot express")
	}
	var b strings.Builder
	b.WriteString("/" + string(s.Action) + " " + discordSymbol(s) + " " + s.Quantity.String())
	switch s.OrderType {
	case OrderLimit:
		b.WriteString(" @limit " + s.LimitPrice.String())
	case OrderStop:
		b.WriteString(" @stop " + s.StopPrice.String())
	case OrderStopLimit:
		b.WriteString(" @stop_limit " + s.StopPrice.String() + " " + s.LimitPrice.String())
	}
	switch {
	case !s.StopLossPercent.IsZero():
		b.WriteString(" sl:" + s.StopLossPercent.String() + "%")
	case !s.StopLossPrice.IsZero():
		b.WriteString(" sl:" + s.StopLossPrice.String())
	}
	switch {
	case !s.TakeProfitPercent.IsZero():
		b.WriteString(" tp:" + s.TakeProfitPercent.String() + "%")
	case !s.TakeProfitPrice.IsZero():
		b.WriteString(" tp:" + s.TakeProfitPrice.String())
	}
	if s.Broker != "" {
		b.WriteString(" broker:" + s.Broker)
	}
	return b.String(), nil
}

// discordSymbol writes a stock whose ticker would read as a crypto base
// ("SOL") with the STOCK: prefix so it parses back as the stock.
func discordSymbol(s Signal) string {
	if s.AssetClass == AssetStock {
		if _, class, pe := normalizeSymbol(s.Symbol); pe != nil || class != AssetStock {
			return "STOCK:" + s.Symbol
		}
	}
	return s.Symbol
}
