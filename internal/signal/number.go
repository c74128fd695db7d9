package signal

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// Bounds on every number a signal carries. They keep values inside what the
// database column (numeric 38,18) and every broker accept, and stop hostile
// inputs such as 1e999999 from costing memory or time.
const maxDecimalPlaces = 18

var maxMagnitude = decimal.New(1, 15) // values must be below 1,000,000,000,000,000

// maxNumberLen bounds the length of a number literal before it is parsed.
const maxNumberLen = 48

var (
	// plainNumber is what a trader types on Discord: digits with an optional
	// fraction ("100", "0.5", "42000.25"). No sign, no exponent, no separators.
	plainNumber = regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`)
	// jsonNumber is a JSON number or a numeric string as TradingView fills it
	// in: optional sign, optional fraction, optional short exponent.
	jsonNumber = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?$`)
)

// parsePlain parses a Discord number. ok is false when s is not a plain
// decimal literal.
func parsePlain(s string) (decimal.Decimal, bool) {
	if len(s) > maxNumberLen || !plainNumber.MatchString(s) {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

// parseJSONNumber parses a JSON number literal or numeric string, tolerating
// surrounding spaces. ok is false when s is not a number.
func parseJSONNumber(s string) (decimal.Decimal, bool) {
	s = strings.TrimSpace(s)
	if len(s) > maxNumberLen || !jsonNumber.MatchString(s) {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

// checkBounds reports whether d is within magnitude and precision limits.
func checkBounds(field string, d decimal.Decimal) *ParseError {
	if d.Abs().Cmp(maxMagnitude) >= 0 {
		return errTooLarge(field)
	}
	if !d.Equal(d.Truncate(maxDecimalPlaces)) {
		return errTooPrecise(field)
	}
	return nil
}

// checkPositive reports whether d is > 0 and within bounds.
func checkPositive(field string, d decimal.Decimal) *ParseError {
	if !d.IsPositive() {
		return errNotGreaterThanZero(field)
	}
	return checkBounds(field, d)
}

// checkPercent reports whether 0 < d < 100 (a stop distance: 100% or more
// would put the stop at or below zero).
func checkPercent(field string, d decimal.Decimal) *ParseError {
	if !d.IsPositive() || d.Cmp(hundred) >= 0 {
		return errPercentRange(field)
	}
	return checkBounds(field, d)
}

var hundred = decimal.NewFromInt(100)

// formatPrice renders a price with at least two decimals ("250.00",
// "0.00001234") for messages and memos.
func formatPrice(d decimal.Decimal) string {
	s := d.String()
	dot := strings.IndexByte(s, '.')
	if dot < 0 || len(s)-dot-1 < 2 {
		return d.StringFixed(2)
	}
	return s
}
