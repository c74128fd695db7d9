package signal

import (
	"strings"
	"testing"
)

func TestNormalizeSymbol(t *testing.T) {
	tests := []struct {
		raw, sym string
		class    AssetClass
	}{
		{"AAPL", "AAPL", AssetStock},
		{" aapl ", "AAPL", AssetStock},
		{"BRK.B", "BRK.B", AssetStock},
		{"brk-b", "BRK.B", AssetStock},
		{"BRK/B", "BRK.B", AssetStock},
		{"NASDAQ:AAPL", "AAPL", AssetStock},
		{"nyse:brk.b", "BRK.B", AssetStock},
		{"NYSE:SOL", "SOL", AssetStock},
		{"STOCK:LINK", "LINK", AssetStock},
		{"SPY", "SPY", AssetStock},
		{"F", "F", AssetStock},
		{"BTC", "BTC-USD", AssetCrypto},
		{"btc", "BTC-USD", AssetCrypto},
		{"BTCUSD", "BTC-USD", AssetCrypto},
		{"BTC-USD", "BTC-USD", AssetCrypto},
		{"BTC/USD", "BTC-USD", AssetCrypto},
		{"BTCUSDT", "BTC-USDT", AssetCrypto},
		{"BTCUSDC", "BTC-USDC", AssetCrypto},
		{"ETHEUR", "ETH-EUR", AssetCrypto},
		{"BINANCE:BTCUSDT", "BTC-USDT", AssetCrypto},
		{"COINBASE:ETHUSD", "ETH-USD", AssetCrypto},
		{"KRAKEN:DOGEUSD", "DOGE-USD", AssetCrypto},
		{"BINANCE:PEPEUSDT", "PEPE-USDT", AssetCrypto},
		{"COINBASE:SOL", "SOL-USD", AssetCrypto},
		{"LINKUSD", "LINK-USD", AssetCrypto},
		{"MATIC", "MATIC-USD", AssetCrypto},
		{"ABC/USDT", "ABC-USDT", AssetCrypto},
		{"CRYPTO:BTCUSD", "BTC-USD", AssetCrypto},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			sym, class, err := NormalizeSymbol(tt.raw)
			if err != nil {
				t.Fatalf("NormalizeSymbol(%q): %v", tt.raw, err)
			}
			if sym != tt.sym || class != tt.class {
				t.Fatalf("NormalizeSymbol(%q) = %q %s, want %q %s", tt.raw, sym, class, tt.sym, tt.class)
			}
			if !canonicalSymbol(sym, class) {
				t.Fatalf("%q is not canonical", sym)
			}
		})
	}
}

func TestNormalizeSymbolRejects(t *testing.T) {
	tests := []struct{ raw, err string }{
		{"", "symbol: is required"},
		{"   ", "symbol: is required"},
		{"AAPL!", `symbol: may only contain letters, digits and . - / :, got "AAPL!"`},
		{"ES1!", `symbol: may only contain letters, digits and . - / :, got "ES1!"`},
		{"SPY 250624C596", `symbol: may only contain letters, digits and . - / :, got "SPY 250624C596"`},
		{"ÄPFEL", `symbol: may only contain letters, digits and . - / :, got "ÄPFEL"`},
		{"AAPL_X", `symbol: may only contain letters, digits and . - / :, got "AAPL_X"`},
		{strings.Repeat("A", 41), "symbol: is too long (at most 40 characters)"},
		{"TOOLONGX", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "TOOLONGX"`},
		{"1AB", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "1AB"`},
		{"A.B.C", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "A.B.C"`},
		{":AAPL", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got ":AAPL"`},
		{"NASDAQ:", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "NASDAQ:"`},
		{"A:B:C", `symbol: is not a ticker we recognise (e.g. AAPL, BRK.B, BTC-USD), got "A:B:C"`},
		{"FX:EURUSD", `symbol: exchange "FX" is not supported; use a US stock or a crypto exchange, or no prefix`},
		{"CME_MINI:ES", `symbol: exchange "CME_MINI" is not supported; use a US stock or a crypto exchange, or no prefix`},
		{"EURUSD", `symbol: forex and metals are not supported, got "EURUSD"`},
		{"XAUUSD", `symbol: forex and metals are not supported, got "XAUUSD"`},
		{"BINANCE:AAPL", `symbol: is not a crypto pair we recognise (quote must be USD, USDT, USDC or EUR, e.g. BTCUSD), got "BINANCE:AAPL"`},
		{"BTC-GBP", `symbol: is not a crypto pair we recognise (quote must be USD, USDT, USDC or EUR, e.g. BTCUSD), got "BTC-GBP"`},
		{"USD-USDT", `symbol: is not a crypto pair we recognise (quote must be USD, USDT, USDC or EUR, e.g. BTCUSD), got "USD-USDT"`},
		{"BYBIT:BTCUSDT.P", `symbol: futures and perpetual contracts are not supported, only spot pairs like BTC-USD, got "BYBIT:BTCUSDT.P"`},
		{"ETHUSD.P", `symbol: futures and perpetual contracts are not supported, only spot pairs like BTC-USD, got "ETHUSD.P"`},
		{"BTCUSD.PERP", `symbol: futures and perpetual contracts are not supported, only spot pairs like BTC-USD, got "BTCUSD.PERP"`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			sym, class, err := NormalizeSymbol(tt.raw)
			wantParseError(t, err, tt.err)
			if sym != "" || class != "" {
				t.Fatalf("want empty results on error, got %q %q", sym, class)
			}
		})
	}
}

func TestEchoTruncates(t *testing.T) {
	got := echo(strings.Repeat("x", 100) + "\n")
	if len([]rune(got)) > maxEcho+3 || !strings.HasSuffix(got, `…"`) {
		t.Fatalf("echo not truncated: %s", got)
	}
	if echo("a\x00b") != `"a\x00b"` {
		t.Fatalf("echo must escape control characters, got %s", echo("a\x00b"))
	}
}
