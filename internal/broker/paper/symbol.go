package paper

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

var (
	// A US listing: ticker of up to six characters, optional share class
	// ("BRK.B").
	stockSymbolRe = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,5}(\.[A-Z]{1,2})?$`)
	// A crypto pair in canonical form: BASE-QUOTE.
	cryptoSymbolRe = regexp.MustCompile(`^[A-Z0-9]{2,10}-[A-Z]{3,5}$`)
	// Quote currencies recognised at the end of a run-together pair
	// ("BTCUSD", "ETHUSDT"); longer suffixes first.
	cryptoQuotes = []string{"USDT", "USDC", "USD", "EUR", "GBP"}
)

// CanonicalSymbol returns the canonical form of symbol for the asset class:
// "AAPL", "BRK.B" for stocks; "BTC-USD" for crypto, which also accepts
// TradingView's "BTCUSD" and "BTC/USD". A malformed symbol yields a
// KindInvalidSymbol error.
func CanonicalSymbol(symbol string, class signal.AssetClass) (string, error) {
	s := strings.ToUpper(strings.TrimSpace(symbol))
	switch class {
	case signal.AssetStock:
		s = strings.NewReplacer("-", ".", "/", ".").Replace(s)
		if stockSymbolRe.MatchString(s) {
			return s, nil
		}
	case signal.AssetCrypto:
		s = strings.ReplaceAll(s, "/", "-")
		if !strings.Contains(s, "-") {
			for _, q := range cryptoQuotes {
				if base, ok := strings.CutSuffix(s, q); ok && len(base) >= 2 {
					s = base + "-" + q
					break
				}
			}
		}
		if cryptoSymbolRe.MatchString(s) {
			return s, nil
		}
	default:
		return "", brokerErr(broker.KindInvalidOrder, "unsupported asset class %q", string(class))
	}
	return "", brokerErr(broker.KindInvalidSymbol, "unknown symbol %s", printable(symbol))
}

// classOf guesses the asset class of a bare symbol: pairs carry a separator.
func classOf(symbol string) signal.AssetClass {
	if strings.ContainsAny(symbol, "-/") {
		return signal.AssetCrypto
	}
	return signal.AssetStock
}

// printable shortens and sanitises untrusted input for an error message.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 24 {
		s = s[:24] + "…"
	}
	if s == "" {
		return `""`
	}
	return s
}

// Price and quantity increments.
const (
	cryptoDecimals     = 8 // price and quantity step 0.00000001
	stockPriceDecimals = 2 // $1 and above: whole cents
	pennyPriceDecimals = 4 // below $1
)

var one = decimal.NewFromInt(1)

// roundMode says which way a price is moved onto the tick grid.
type roundMode int

const (
	roundNearest roundMode = iota
	roundDown
	roundUp
)

// priceDecimals is the number of decimals allowed for a price.
func priceDecimals(p decimal.Decimal, class signal.AssetClass) int32 {
	if class == signal.AssetCrypto {
		return cryptoDecimals
	}
	if p.LessThan(one) {
		return pennyPriceDecimals
	}
	return stockPriceDecimals
}

// toTick moves p onto the price grid of the asset class.
func toTick(p decimal.Decimal, class signal.AssetClass, mode roundMode) decimal.Decimal {
	d := priceDecimals(p, class)
	switch mode {
	case roundDown:
		return p.RoundFloor(d)
	case roundUp:
		return p.RoundCeil(d)
	default:
		return p.Round(d)
	}
}

// normalizeQuantity checks a quantity and moves it onto the lot grid: whole
// shares for stocks (fractional shares are refused), 0.00000001 steps for
// crypto (extra decimals are rounded down).
func normalizeQuantity(q decimal.Decimal, class signal.AssetClass) (decimal.Decimal, error) {
	if !q.IsPositive() {
		return q, brokerErr(broker.KindInvalidOrder, "quantity must be greater than zero")
	}
	if class == signal.AssetStock {
		if !q.Equal(q.Truncate(0)) {
			return q, brokerErr(broker.KindInvalidOrder,
				"fractional share quantity %s is not supported; use whole shares", q.String())
		}
		return q.Truncate(0), nil
	}
	n := q.RoundFloor(cryptoDecimals)
	if !n.IsPositive() {
		return q, brokerErr(broker.KindInvalidOrder,
			"quantity %s is below the minimum of 0.00000001", q.String())
	}
	return n, nil
}
