package symbols

import (
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var btc = Rules{Symbol: "BTC-USD", BaseStep: d("0.00001"), TickSize: d("0.01"), MinQty: d("0.0001"), MinNotional: d("5")}

func TestNormalizeQty(t *testing.T) {
	tests := []struct {
		name string
		step string
		in   string
		want string
	}{
		{"rounds down", "0.00001", "0.0123456789", "0.01234"},
		{"exact multiple unchanged", "0.00001", "0.01234", "0.01234"},
		{"below one step is zero", "0.00001", "0.000009", "0"},
		{"whole step", "1", "12.9", "12"},
		{"step 0.5", "0.5", "1.99", "1.5"},
		{"no step", "0", "0.123456789", "0.123456789"},
		{"kraken 8 decimals", "0.00000001", "0.123456789", "0.12345678"},
		{"large exponent step", "1E1", "129", "120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rules{BaseStep: d(tt.step)}
			got := r.NormalizeQty(d(tt.in))
			if !got.Equal(d(tt.want)) {
				t.Fatalf("NormalizeQty(%s) step %s = %s, want %s", tt.in, tt.step, got, tt.want)
			}
		})
	}
}

func TestNormalizePrice(t *testing.T) {
	tests := []struct {
		name string
		tick string
		in   string
		side signal.Side
		want string
	}{
		{"buy rounds down", "0.01", "50000.129", signal.SideBuy, "50000.12"},
		{"sell rounds up", "0.01", "50000.121", signal.SideSell, "50000.13"},
		{"sell exact unchanged", "0.01", "50000.12", signal.SideSell, "50000.12"},
		{"buy exact unchanged", "0.1", "27500.0", signal.SideBuy, "27500"},
		{"zero stays zero", "0.01", "0", signal.SideSell, "0"},
		{"no tick", "0", "1.23456", signal.SideBuy, "1.23456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Rules{TickSize: d(tt.tick)}
			got := r.NormalizePrice(d(tt.in), tt.side)
			if !got.Equal(d(tt.want)) {
				t.Fatalf("NormalizePrice(%s, %s) = %s, want %s", tt.in, tt.side, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name    string
		qty     string
		price   string
		wantMsg string // empty: no error
	}{
		{"ok", "0.01", "50000", ""},
		{"zero qty after rounding", "0", "50000", "smaller than the smallest step 0.00001"},
		{"below min qty", "0.00005", "50000", "quantity 0.00005 is below the exchange minimum 0.0001 for BTC-USD"},
		{"below min notional", "0.0001", "40000", "order value 4.00 is below the exchange minimum 5 for BTC-USD"},
		{"unknown price skips notional", "0.0001", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := btc.Check("binance", d(tt.qty), d(tt.price))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, broker.ErrInvalidOrder) {
				t.Fatalf("want INVALID_ORDER, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("message %q does not contain %q", err.Error(), tt.wantMsg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"BTC-USD", "BTC-USD", false},
		{"eth-usdt", "ETH-USDT", false},
		{"SOL/EUR", "SOL-EUR", false},
		{"BTCUSD", "", true},
		{"-USD", "", true},
		{"BTC-", "", true},
		{"BTC-US$", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := Parse("kraken", tt.in)
			if tt.wantErr {
				if !errors.Is(err, broker.ErrInvalidSymbol) {
					t.Fatalf("want INVALID_SYMBOL, got %v", err)
				}
				return
			}
			if err != nil || p.String() != tt.want {
				t.Fatalf("Parse(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
			}
		})
	}
}

func TestStepFromDecimals(t *testing.T) {
	if got := StepFromDecimals(8); !got.Equal(d("0.00000001")) {
		t.Fatalf("got %s", got)
	}
	if got := StepFromDecimals(0); !got.Equal(d("1")) {
		t.Fatalf("got %s", got)
	}
}
