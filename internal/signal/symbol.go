package signal

import (
	"regexp"
	"strings"
)

// Symbol rules (NormalizeSymbol):
//
//   - Input is trimmed and upper-cased; only A-Z 0-9 . - / : are allowed, at
//     most maxSymbolLen characters. The parsers strip a Discord cashtag "$".
//   - An optional exchange prefix "EXCHANGE:" (TradingView style) is removed.
//     A US stock exchange prefix (NASDAQ:, NYSE:, ...) or the pseudo-prefix
//     STOCK: forces a stock, e.g. "NYSE:SOL" is the stock SOL, not Solana. A
//     crypto exchange prefix (BINANCE:, COINBASE:, ...) forces a crypto pair.
//     Any other prefix (FX:, OANDA:, CME_MINI:) is refused.
//   - Crypto canonical form is BASE-QUOTE with quote USD, USDT, USDC or EUR:
//     "BTC", "BTCUSD", "BTC-USD", "BTC/USD" → "BTC-USD"; "BTCUSDT" →
//     "BTC-USDT". Without a separator or crypto exchange prefix only the bases
//     in cryptoBases are recognised; with one ("PEPE/USDT", "BINANCE:PEPEUSDT")
//     any base of 2-10 letters/digits is accepted.
//   - Stocks: a root of 1-6 letters/digits starting with a letter and an
//     optional share class after . - or / ("BRK.B", "BRK-B", "BRK/B" →
//     "BRK.B").
//   - Forex pairs and metals (EURUSD, XAUUSD) and crypto derivatives
//     (BTCUSDT.P) are refused.
const maxSymbolLen = 40

// cryptoBases are the bases recognised without a separator or exchange
// prefix. A stock whose ticker collides with one of them (SOL, LINK, ATOM,
// OP) is written with its exchange, "NYSE:SOL", or "STOCK:SOL".
var cryptoBases = setOf(
	"BTC", "ETH", "SOL", "LTC", "XRP", "ADA", "DOGE", "DOT", "AVAX", "LINK",
	"MATIC", "POL", "BCH", "XLM", "UNI", "ATOM", "SHIB", "TRX", "ETC", "NEAR",
	"APT", "ARB", "OP", "FIL", "ALGO", "AAVE", "XTZ", "EOS", "SUI", "HBAR",
	"ICP", "MKR", "COMP", "CRV", "SAND", "MANA", "GRT", "PEPE",
)

// cryptoQuotes in the order suffixes are tried (longest first).
var cryptoQuotes = []string{"USDT", "USDC", "USD", "EUR"}

var stockExchanges = setOf(
	"NASDAQ", "NYSE", "AMEX", "ARCA", "NYSEARCA", "NYSEMKT", "BATS", "CBOE",
	"IEX", "OTC", "STOCK",
)

var cryptoExchanges = setOf(
	"BINANCE", "BINANCEUS", "COINBASE", "KRAKEN", "BITSTAMP", "BITFINEX",
	"GEMINI", "BYBIT", "OKX", "KUCOIN", "BITGET", "MEXC", "GATEIO", "CRYPTO",
)

// fiatAndMetals are ISO codes whose 6-letter pairs (EURUSD) are forex.
var fiatAndMetals = setOf(
	"USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "CNH", "HKD",
	"SGD", "SEK", "NOK", "MXN", "XAU", "XAG",
)

var (
	symbolChars    = regexp.MustCompile(`^[A-Z0-9./:_-]+$`)
	exchangeRe     = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,19}$`)
	cryptoBaseRe   = regexp.MustCompile(`^[A-Z0-9]{2,10}$`)
	stockRe        = regexp.MustCompile(`^([A-Z][A-Z0-9]{0,5})(?:[./-]([A-Z]{1,3}))?$`)
	canonicalStock = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,3})?$`)
	canonicalPair  = regexp.MustCompile(`^[A-Z0-9]{2,10}-(?:USDT|USDC|USD|EUR)$`)
)

// NormalizeSymbol turns a ticker as written on Discord or in a TradingView
// alert into the canonical symbol and its asset class. Errors are
// *ParseError with Field "symbol".
func NormalizeSymbol(raw string) (symbol string, class AssetClass, err error) {
	sym, class, perr := normalizeSymbol(raw)
	if perr != nil {
		return "", "", perr
	}
	return sym, class, nil
}

func normalizeSymbol(raw string) (string, AssetClass, *ParseError) {
	const field = "symbol"
	s := strings.ToUpper(strings.TrimSpace(raw))
	if s == "" {
		return "", "", errRequired(field)
	}
	if len(s) > maxSymbolLen {
		return "", "", errTooLong(field, maxSymbolLen)
	}
	if !symbolChars.MatchString(s) {
		return "", "", errSymbolChars(field, raw)
	}

	exchange := ""
	if i := strings.IndexByte(s, ':'); i >= 0 {
		exchange, s = s[:i], s[i+1:]
		if !exchangeRe.MatchString(exchange) || s == "" || strings.ContainsRune(s, ':') {
			return "", "", errSymbolFormat(field, raw)
		}
	}
	if strings.ContainsRune(s, '_') {
		return "", "", errSymbolChars(field, raw)
	}

	switch {
	case exchange == "":
		if pair, ok := cryptoPair(s, false); ok {
			return pair, AssetCrypto, nil
		}
		return stockSymbol(field, raw, s)
	case stockExchanges[exchange]:
		return stockSymbol(field, raw, s)
	case cryptoExchanges[exchange]:
		if pair, ok := cryptoPair(s, true); ok {
			return pair, AssetCrypto, nil
		}
		if looksLikeDerivative(s) {
			return "", "", errDerivative(field, raw)
		}
		return "", "", errCryptoPair(field, raw)
	default:
		return "", "", errExchange(field, exchange)
	}
}

// cryptoPair recognises s as a crypto pair. anyBase accepts bases outside
// cryptoBases when the pair is unambiguous (crypto exchange prefix).
func cryptoPair(s string, anyBase bool) (string, bool) {
	if i := strings.IndexAny(s, "-/"); i >= 0 {
		base, quote := s[:i], s[i+1:]
		if isQuote(quote) && cryptoBaseRe.MatchString(base) && !isQuote(base) {
			// An explicit BASE-QUOTE / BASE/QUOTE pair is crypto even for
			// bases outside the list: no stock is written that way.
			return base + "-" + quote, true
		}
		return "", false
	}
	if cryptoBases[s] {
		return s + "-USD", true
	}
	for _, q := range cryptoQuotes {
		base, ok := strings.CutSuffix(s, q)
		if !ok || !cryptoBaseRe.MatchString(base) || isQuote(base) {
			continue
		}
		if cryptoBases[base] || anyBase {
			return base + "-" + q, true
		}
	}
	return "", false
}

func isQuote(s string) bool {
	for _, q := range cryptoQuotes {
		if s == q {
			return true
		}
	}
	return false
}

func stockSymbol(field, raw, s string) (string, AssetClass, *ParseError) {
	m := stockRe.FindStringSubmatch(s)
	if m == nil {
		if looksLikeDerivative(s) {
			return "", "", errDerivative(field, raw)
		}
		if i := strings.IndexAny(s, "-/"); i >= 0 && isQuote(s[i+1:]) {
			return "", "", errCryptoPair(field, raw)
		}
		return "", "", errSymbolFormat(field, raw)
	}
	root, class := m[1], m[2]
	if isForex(root) {
		return "", "", errForex(field, raw)
	}
	if class != "" {
		if _, ok := cryptoPair(root, false); ok {
			if class == "P" {
				// "ETHUSD.P": a perpetual contract on a crypto pair.
				return "", "", errDerivative(field, raw)
			}
			// "BTC-GBP": a crypto base with a quote we do not trade.
			return "", "", errCryptoPair(field, raw)
		}
		return root + "." + class, AssetStock, nil
	}
	return root, AssetStock, nil
}

func isForex(s string) bool {
	return len(s) == 6 && fiatAndMetals[s[:3]] && fiatAndMetals[s[3:]]
}

// looksLikeDerivative spots TradingView perpetual/futures notations:
// "BTCUSDT.P", "BTCUSD.PERP", "ES1!" never reach here (the '!' is refused).
func looksLikeDerivative(s string) bool {
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return false
	}
	suffix := s[i+1:]
	if suffix != "P" && suffix != "PERP" {
		return false
	}
	_, ok := cryptoPair(s[:i], true)
	return ok
}

// canonicalSymbol reports whether symbol is in the canonical form of class.
func canonicalSymbol(symbol string, class AssetClass) bool {
	switch class {
	case AssetStock:
		return canonicalStock.MatchString(symbol) && !isForex(symbol)
	case AssetCrypto:
		if !canonicalPair.MatchString(symbol) {
			return false
		}
		base, _, _ := strings.Cut(symbol, "-")
		return !isQuote(base)
	}
	return false
}

func setOf(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}
