package paper

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestCanonicalSymbol(t *testing.T) {
	tests := []struct {
		in    string
		class signal.AssetClass
		want  string
		kind  broker.Kind
	}{
		{"aapl", signal.AssetStock, "AAPL", ""},
		{" BRK.B ", signal.AssetStock, "BRK.B", ""},
		{"BRK-B", signal.AssetStock, "BRK.B", ""},
		{"BTCUSD", signal.AssetCrypto, "BTC-USD", ""},
		{"BTC/USD", signal.AssetCrypto, "BTC-USD", ""},
		{"btc-usd", signal.AssetCrypto, "BTC-USD", ""},
		{"ETHUSDT", signal.AssetCrypto, "ETH-USDT", ""},
		{"SOLUSDC", signal.AssetCrypto, "SOL-USDC", ""},
		{"DOGEEUR", signal.AssetCrypto, "DOGE-EUR", ""},
		{"AA PL", signal.AssetStock, "", broker.KindInvalidSymbol},
		{"TOOLONGX", signal.AssetStock, "", broker.KindInvalidSymbol},
		{"", signal.AssetStock, "", broker.KindInvalidSymbol},
		{"BTC", signal.AssetCrypto, "", broker.KindInvalidSymbol},
		{"USD", signal.AssetCrypto, "", broker.KindInvalidSymbol},
		{"AAPL", signal.AssetClass("forex"), "", broker.KindInvalidOrder},
	}
	for _, tt := range tests {
		got, err := CanonicalSymbol(tt.in, tt.class)
		if tt.kind != "" {
			if broker.KindOf(err) != tt.kind || err == nil {
				t.Errorf("CanonicalSymbol(%q, %s) = %q, %v; want kind %s", tt.in, tt.class, got, err, tt.kind)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CanonicalSymbol(%q, %s) = %q, %v; want %q", tt.in, tt.class, got, err, tt.want)
		}
	}
}

func TestNormalizeQuantity(t *testing.T) {
	tests := []struct {
		q     string
		class signal.AssetClass
		want  string
		bad   bool
	}{
		{"10", signal.AssetStock, "10", false},
		{"10.000", signal.AssetStock, "10", false},
		{"10.5", signal.AssetStock, "", true},
		{"0", signal.AssetStock, "", true},
		{"-1", signal.AssetCrypto, "", true},
		{"0.123456789", signal.AssetCrypto, "0.12345678", false},
		{"0.000000009", signal.AssetCrypto, "", true},
	}
	for _, tt := range tests {
		got, err := normalizeQuantity(d(tt.q), tt.class)
		if tt.bad {
			if broker.KindOf(err) != broker.KindInvalidOrder || err == nil {
				t.Errorf("normalizeQuantity(%s, %s) error = %v, want INVALID_ORDER", tt.q, tt.class, err)
			}
			continue
		}
		if err != nil || !got.Equal(d(tt.want)) {
			t.Errorf("normalizeQuantity(%s, %s) = %s, %v; want %s", tt.q, tt.class, got, err, tt.want)
		}
	}
}

func TestToTick(t *testing.T) {
	tests := []struct {
		p     string
		class signal.AssetClass
		mode  roundMode
		want  string
	}{
		{"10.005", signal.AssetStock, roundDown, "10"},
		{"10.005", signal.AssetStock, roundUp, "10.01"},
		{"242.354", signal.AssetStock, roundNearest, "242.35"},
		{"0.12345", signal.AssetStock, roundDown, "0.1234"},
		{"65000.123456789", signal.AssetCrypto, roundNearest, "65000.12345679"},
	}
	for _, tt := range tests {
		if got := toTick(d(tt.p), tt.class, tt.mode); !got.Equal(d(tt.want)) {
			t.Errorf("toTick(%s) = %s, want %s", tt.p, got, tt.want)
		}
	}
}

func TestUSD(t *testing.T) {
	for in, want := range map[string]string{
		"20000":      "$20,000.00",
		"50000":      "$50,000.00",
		"0":          "$0.00",
		"999.995":    "$1,000.00",
		"1234567.8":  "$1,234,567.80",
		"-1234.5":    "-$1,234.50",
		"12.3456789": "$12.35",
	} {
		if got := usd(d(in)); got != want {
			t.Errorf("usd(%s) = %q, want %q", in, got, want)
		}
	}
}
