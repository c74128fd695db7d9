package signal

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file is the single place for the wording of parse errors. They are
// shown to traders on Discord and returned in webhook 400 bodies, so they name
// the field, say what is wrong in plain words, never echo a secret and never
// echo more than a short excerpt of the input.

// maxEcho is how many characters of a rejected input value are echoed back.
const maxEcho = 32

// echo renders a user-supplied value for an error message: quoted, escaped
// and truncated, so a hostile or huge input cannot flood a Discord reply or
// a webhook response.
func echo(s string) string {
	if utf8.RuneCountInString(s) > maxEcho {
		r := []rune(s)
		s = string(r[:maxEcho]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

func perr(field, reason string) *ParseError { return &ParseError{Field: field, Reason: reason} }

// renameField relabels a Validate error for a parser's vocabulary.
func renameField(pe *ParseError, names map[string]string) *ParseError {
	if n, ok := names[pe.Field]; ok {
		return &ParseError{Field: n, Reason: pe.Reason}
	}
	return pe
}

// --- generic field errors (both parsers and Validate) ---

func errRequired(field string) *ParseError { return perr(field, "is required") }

func errNotNumber(field, got string) *ParseError {
	return perr(field, "must be a number, got "+echo(got))
}

func errNotPositiveNumber(field, got string) *ParseError {
	return perr(field, "must be a positive number, got "+echo(got))
}

func errNotGreaterThanZero(field string) *ParseError {
	return perr(field, "must be greater than 0")
}

func errNegative(field string) *ParseError { return perr(field, "must not be negative") }

func errTooLarge(field string) *ParseError {
	return perr(field, fmt.Sprintf("is too large (must be below %s)", maxMagnitude.String()))
}

func errTooPrecise(field string) *ParseError {
	return perr(field, fmt.Sprintf("has too many decimal places (at most %d)", maxDecimalPlaces))
}

func errPercentRange(field string) *ParseError {
	return perr(field, "must be a percentage greater than 0 and below 100")
}

func errPercentAtMost100(field string) *ParseError {
	return perr(field, "must be a percentage greater than 0 and at most 100")
}

func errOneOf(field string, allowed []string) *ParseError {
	return perr(field, "must be one of "+strings.Join(allowed, ", "))
}

func errOneOfGot(field, got string, allowed []string) *ParseError {
	return perr(field, "must be one of "+strings.Join(allowed, ", ")+", got "+echo(got))
}

func errNotWithAction(field string, action Action) *ParseError {
	return perr(field, fmt.Sprintf("cannot be used with action %s", action))
}

func errValueNotWithAction(field, value string, action Action) *ParseError {
	return perr(field, fmt.Sprintf("%s cannot be used with action %s", value, action))
}

func errRequiredWith(field, other string) *ParseError {
	return perr(field, "is required when "+other+" is set")
}

func errNotWithOrderType(field string, ot OrderType) *ParseError {
	return perr(field, fmt.Sprintf("is not used by a %s order", orderTypeWords(ot)))
}

func errRequiredForOrderType(field string, ot OrderType) *ParseError {
	return perr(field, fmt.Sprintf("is required for a %s order", orderTypeWords(ot)))
}

func errConflicts(field, other string) *ParseError {
	return perr(field, "conflicts with "+other+"; send only one of them or the same value")
}

func errEitherOr(field, a, b string) *ParseError {
	return perr(field, "use either "+a+" or "+b+", not both")
}

func errNeedOneOf(field, a, b string) *ParseError {
	return perr(field, "needs either "+a+" or "+b)
}

func errDuplicate(field string) *ParseError {
	return perr(field, "is given more than once")
}

func errNotSupported(field, instead string) *ParseError {
	if instead == "" {
		return perr(field, "is not supported")
	}
	return perr(field, "is not supported; "+instead)
}

func errTooLong(field string, max int) *ParseError {
	return perr(field, fmt.Sprintf("is too long (at most %d characters)", max))
}

func errControlChars(field string) *ParseError {
	return perr(field, "must not contain control characters")
}

func errStopLossSide(field string, side Side, ref string) *ParseError {
	if side == SideBuy {
		return perr(field, "must be below the entry price ("+ref+") for a buy")
	}
	return perr(field, "must be above the entry price ("+ref+") for a sell")
}

func errTakeProfitSide(field string, side Side, ref string) *ParseError {
	if side == SideBuy {
		return perr(field, "must be above the entry price ("+ref+") for a buy")
	}
	return perr(field, "must be below the entry price ("+ref+") for a sell")
}

func errWithFlatSentiment(field string) *ParseError {
	return perr(field, "cannot be used when sentiment is flat (the signal only closes a position)")
}

func errSideForAction(action Action) *ParseError {
	switch action {
	case ActionBuy:
		return perr("side", "must be buy for action buy")
	case ActionSell:
		return perr("side", "must be sell for action sell")
	case ActionAdd:
		return perr("side", "must be buy, sell or empty for action add")
	default:
		return perr("side", fmt.Sprintf("must be empty for action %s (the open position decides it)", action))
	}
}

func errSideSentiment() *ParseError {
	return perr("sentiment", "disagrees with side (bullish means buy, bearish means sell)")
}

func errQuantityDefault() *ParseError {
	return perr("quantity", "must be empty when quantityType is default, and set otherwise")
}

// --- symbols ---

func errSymbolChars(field, got string) *ParseError {
	return perr(field, "may only contain letters, digits and . - / :, got "+echo(got))
}

func errSymbolFormat(field, got string) *ParseError {
	return perr(field, "is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "+echo(got))
}

func errExchange(field, exchange string) *ParseError {
	return perr(field, "exchange "+echo(exchange)+" is not supported; use a US stock or a crypto exchange, or no prefix")
}

func errForex(field, got string) *ParseError {
	return perr(field, "forex and metals are not supported, got "+echo(got))
}

func errCryptoPair(field, got string) *ParseError {
	return perr(field, "is not a crypto pair we recognise (quote must be USD, USDT, USDC or EUR, e.g. BTCUSD), got "+echo(got))
}

func errDerivative(field, got string) *ParseError {
	return perr(field, "futures and perpetual contracts are not supported, only spot pairs like BTC-USD, got "+echo(got))
}

func errNotCanonical(field, got string) *ParseError {
	return perr(field, "is not in canonical form (AAPL, BRK.B, BTC-USD), got "+echo(got))
}

// --- Discord grammar ---

const discordUsage = `e.g. "/buy AAPL 100 @market" or "/sell BTC 0.5 @limit 42000 sl:2%"`

func errDiscordEmpty() *ParseError {
	return perr("command", "is missing; "+discordUsage)
}

func errDiscordNotCommand(got string) *ParseError {
	return perr("command", "must be /buy or /sell, got "+echo(got)+"; "+discordUsage)
}

func errDiscordMissing(field string) *ParseError {
	return perr(field, "is missing; "+discordUsage)
}

func errDiscordTwoOrderTypes(first, second string) *ParseError {
	return perr("order type", "is given twice ("+first+" and "+second+"); use only one")
}

func errDiscordPriceMissing(field, after, example string) *ParseError {
	return perr(field, "is missing after "+after+", e.g. "+example)
}

func errDiscordUnknownOrderType(got string) *ParseError {
	return perr("order type", "unknown "+echo(got)+"; use @market, @limit <price>, @stop <price> or @stop_limit <stop> <limit>")
}

func errDiscordUnexpectedNumber(got string) *ParseError {
	return perr("option", "unexpected number "+echo(got)+"; to set a limit price write \"@limit "+got+"\"")
}

func errDiscordUnknownOption(got string) *ParseError {
	return perr("option", "unknown "+echo(got)+"; allowed after the quantity: @market, @limit <price>, @stop <price>, "+
		"@stop_limit <stop> <limit>, sl:<price or %>, tp:<price or %>, broker:<name>")
}

func errDiscordUnit(got string) *ParseError {
	return perr("quantity", "unit "+echo(got)+" must come right after the quantity")
}

// --- TradingView webhook ---

func errBodyEmpty() *ParseError {
	return perr("", `the alert message is empty; send JSON like {"ticker":"AAPL","action":"buy","quantity":10}`)
}

func errBodyTooLarge(max int) *ParseError {
	return perr("", fmt.Sprintf("the alert message is too large (at most %d KiB)", max/1024))
}

func errBodyNotJSON(detail string) *ParseError {
	return perr("", "the alert message is not valid JSON ("+detail+"); check the Message box of the TradingView alert")
}

func errBodyNotObject() *ParseError {
	return perr("", `the alert message must be a JSON object like {"ticker":"AAPL","action":"buy"}`)
}

func errBodyTooDeep(max int) *ParseError {
	return perr("", fmt.Sprintf("the alert message nests objects deeper than %d levels", max))
}

func errPlaceholder(field, placeholder string) *ParseError {
	return perr(field, "contains the TradingView placeholder "+echo(placeholder)+
		" that was not filled in; check its spelling or use a value")
}

func errBodyPlaceholder() *ParseError {
	return perr("", "the alert message is not valid JSON: it contains a TradingView placeholder like {{close}} "+
		"that was not filled in; check its spelling, and put text placeholders in quotes")
}

// errPlaceholderSecret is errPlaceholder for a secret field: no echo.
func errPlaceholderSecret(field string) *ParseError {
	return perr(field, "contains a TradingView placeholder that was not filled in")
}

func errMustBeString(field string) *ParseError { return perr(field, "must be a string") }

func errMustBeStringOrNumber(field string) *ParseError {
	return perr(field, "must be a string or a number")
}

func errMustBeNonEmpty(field string) *ParseError { return perr(field, "must not be empty") }

func errPriceOrObject(field, example string) *ParseError {
	return perr(field, "must be a price or an object like "+example)
}

func errInvalidTime(field string) *ParseError {
	return perr(field, "must be a time like 2024-03-15T14:23:11Z or a Unix timestamp")
}

func errInvalidValue(field string) *ParseError { return perr(field, "has an invalid value") }

// orderTypeWords is an order type as a trader says it.
func orderTypeWords(ot OrderType) string {
	switch ot {
	case OrderStopLimit:
		return "stop-limit"
	case OrderTrailingStop:
		return "trailing stop"
	default:
		return string(ot)
	}
}

// --- Discord free-form layout ---

const freeformUsage = `e.g. "BTC/USDT LONG Entry 42000 SL 41000 TP1 43000 TP2 44500"`

func errFreeformEncoding() *ParseError {
	return perr("message", "is not valid text")
}

func errFreeformUnknownWord(got string) *ParseError {
	return perr("message", "unknown word "+echo(got)+"; write the signal as symbol, side, Entry, SL and TP, "+freeformUsage)
}

func errFreeformNumber(got string) *ParseError {
	return perr("message", "is not a number: "+echo(got))
}

func errFreeformLeverage(got string) *ParseError {
	return perr("message", "leverage and margin ("+echo(got)+") are not supported; signals are executed spot only")
}

func errFreeformFutures(got string) *ParseError {
	return perr("message", "futures and perpetual contracts ("+echo(got)+") are not supported; signals are executed spot only")
}

func errFreeformStrayShare(got string) *ParseError {
	return perr("tp", "the share "+echo(got)+" must follow a target price, e.g. TP1 43000 (50%)")
}

func errFreeformStrayNumber(got string) *ParseError {
	return perr("message", "unexpected number "+echo(got)+"; a number follows its label, e.g. Entry 42000, SL 41000, TP1 43000")
}

func errFreeformBothSides(first, second string) *ParseError {
	return perr("side", "is given both as "+echo(first)+" and "+echo(second)+"; a signal is either long or short")
}

func errFreeformTwoSymbols(first, second string) *ParseError {
	return perr("symbol", "two symbols "+echo(first)+" and "+echo(second)+"; a signal names one")
}

func errFreeformValueMissing(field, after, example string) *ParseError {
	return perr(field, "value is missing after "+echo(after)+", e.g. "+example)
}

func errFreeformZoneOrder(lo, hi string) *ParseError {
	return perr("entry", "zone "+lo+"-"+hi+" must go from the lower to the higher price")
}

func errFreeformShareRange(got string) *ParseError {
	return perr("tp", "share "+echo(got)+" must be a percentage greater than 0 and at most 100")
}

func errFreeformTooManyTargets(max int) *ParseError {
	return perr("tp", fmt.Sprintf("at most %d targets", max))
}

func errFreeformMixedTargets() *ParseError {
	return perr("tp", "use either numbered targets (TP1, TP2) or one TP list, not both")
}

func errFreeformTargetNumber(got, want int) *ParseError {
	return perr("tp", fmt.Sprintf("TP%d comes where TP%d is expected; number targets TP1, TP2, ... in order", got, want))
}

func errFreeformNoSymbol() *ParseError {
	return perr("symbol", "is missing; name one, e.g. $TSLA, AAPL or BTC/USDT")
}

func errFreeformNoSide() *ParseError {
	return perr("side", "is missing; say LONG or SHORT (or BUY or SELL)")
}

func errFreeformSharesSum(got string) *ParseError {
	return perr("tp", "target shares must add up to 100%, got "+got)
}

func errFreeformSomeShares() *ParseError {
	return perr("tp", "give a share for every target, e.g. TP1 43000 (50%) TP2 44500 (50%), or for none (equal shares)")
}

func errFreeformNotWithClose(field string) *ParseError {
	return perr(field, "cannot be used with CLOSE")
}

func errFreeformCloseSize() *ParseError {
	return perr("size", "with CLOSE only a quantity is allowed, together with LONG or SHORT, e.g. CLOSE LONG $TSLA Size 5")
}

func errFreeformTargetsOrder(prev, next string, side Side) *ParseError {
	if side == SideBuy {
		return perr("tp", "targets must rise for a long: "+echo(next)+" comes after "+echo(prev))
	}
	return perr("tp", "targets must fall for a short: "+echo(next)+" comes after "+echo(prev))
}

func errFreeformTargetKinds() *ParseError {
	return perr("tp", "targets must all be prices or all be percentages")
}

func errFreeformStopBeyondTarget(sl, target string, side Side) *ParseError {
	if side == SideBuy {
		return perr("sl", sl+" must be below every target for a long (target "+target+")")
	}
	return perr("sl", sl+" must be above every target for a short (target "+target+")")
}
