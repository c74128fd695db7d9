package risk

import (
	"strings"

	"github.com/shopspring/decimal"
)

// FormatUSD formats an amount of money for traders: rounded to the cent (half
// away from zero), thousands separators, cents only when non-zero, a leading
// minus for negative amounts: $20,000  $1,234.50  -$485.
func FormatUSD(amount decimal.Decimal) string {
	rounded := amount.Round(2)
	s := rounded.Abs().StringFixed(2)
	intPart, frac, _ := strings.Cut(s, ".")
	out := "$" + groupThousands(intPart)
	if frac != "00" {
		out += "." + frac
	}
	if rounded.IsNegative() {
		return "-" + out
	}
	return out
}

// FormatPrice formats a unit price: at least two decimals and every
// significant decimal beyond (crypto prices can be sub-cent), with thousands
// separators: $180.00  $65,000.50  $0.00001234.
func FormatPrice(price decimal.Decimal) string {
	places := 2
	// String drops trailing zeros, so its fraction holds the significant decimals.
	if _, frac, _ := strings.Cut(price.Abs().String(), "."); len(frac) > places {
		places = len(frac)
	}
	s := price.Abs().StringFixed(int32(places))
	intPart, frac, _ := strings.Cut(s, ".")
	out := "$" + groupThousands(intPart) + "." + frac
	if price.IsNegative() {
		return "-" + out
	}
	return out
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// formatPercent renders a percentage without trailing zeros: 10, 12.5.
func formatPercent(pct decimal.Decimal) string {
	return pct.String()
}
