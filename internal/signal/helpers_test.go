package signal

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// sameSignal compares signals field by field, decimals by value.
func sameSignal(a, b Signal, withText bool) bool {
	if withText && a.Text != b.Text {
		return false
	}
	return a.Source == b.Source && a.ExternalID == b.ExternalID &&
		a.Symbol == b.Symbol && a.AssetClass == b.AssetClass &&
		a.Action == b.Action && a.Side == b.Side && a.Sentiment == b.Sentiment &&
		a.Quantity.Equal(b.Quantity) && a.QuantityType == b.QuantityType &&
		a.OrderType == b.OrderType && a.LimitPrice.Equal(b.LimitPrice) &&
		a.StopPrice.Equal(b.StopPrice) && a.TrailPercent.Equal(b.TrailPercent) &&
		a.SignalPrice.Equal(b.SignalPrice) &&
		a.StopLossPercent.Equal(b.StopLossPercent) && a.StopLossPrice.Equal(b.StopLossPrice) &&
		a.TakeProfitPercent.Equal(b.TakeProfitPercent) && a.TakeProfitPrice.Equal(b.TakeProfitPrice) &&
		a.Broker == b.Broker
}

// checkInvariants asserts what every successfully parsed signal satisfies,
// independently of Validate (and through it).
func checkInvariants(t *testing.T, s Signal) {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatalf("parsed signal fails Validate: %v\n%+v", err, s)
	}
	if !canonicalSymbol(s.Symbol, s.AssetClass) {
		t.Fatalf("symbol %q not canonical for %s", s.Symbol, s.AssetClass)
	}
	if s.QuantityType == QtyDefault {
		if !s.Quantity.IsZero() {
			t.Fatalf("default quantity type with quantity %s", s.Quantity)
		}
	} else if !s.Quantity.IsPositive() {
		t.Fatalf("quantity %s not positive", s.Quantity)
	}
	for _, f := range s.numberFields() {
		if f.d.IsNegative() {
			t.Fatalf("%s negative: %s", f.name, f.d)
		}
	}
	switch s.OrderType {
	case OrderMarket, OrderLimit, OrderStop, OrderStopLimit, OrderTrailingStop:
	case "":
		if s.Action != ActionCancel {
			t.Fatalf("empty order type for %s", s.Action)
		}
	default:
		t.Fatalf("unknown order type %q", s.OrderType)
	}
	if s.Text == "" {
		t.Fatalf("empty Text")
	}
}

// wantParseError asserts err is a *ParseError with exactly msg.
func wantParseError(t *testing.T, err error, msg string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError %q, got %T %v", msg, err, err)
	}
	if pe.Error() != msg {
		t.Fatalf("error\n got: %s\nwant: %s", pe.Error(), msg)
	}
}
