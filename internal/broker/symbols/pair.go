package symbols

import (
	"fmt"
	"strings"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Pair is a canonical crypto pair: Base "BTC", Quote "USD".
type Pair struct {
	Base  string
	Quote string
}

// String is the canonical form "BASE-QUOTE".
func (p Pair) String() string { return p.Base + "-" + p.Quote }

// Parse reads a canonical symbol. It accepts "BTC-USD" and, leniently,
// "btc-usd" and "BTC/USD"; anything else is a KindInvalidSymbol error.
func Parse(brokerName, symbol string) (Pair, error) {
	s := strings.ToUpper(strings.TrimSpace(symbol))
	s = strings.Replace(s, "/", "-", 1)
	base, quote, ok := strings.Cut(s, "-")
	if !ok || !validAsset(base) || !validAsset(quote) {
		return Pair{}, broker.NewError(brokerName, broker.KindInvalidSymbol,
			fmt.Sprintf("%q is not a crypto pair; use BASE-QUOTE, for example BTC-USD", symbol), nil)
	}
	return Pair{Base: base, Quote: quote}, nil
}

func validAsset(a string) bool {
	if len(a) < 2 || len(a) > 12 {
		return false
	}
	for _, c := range a {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
