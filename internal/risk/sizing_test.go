package risk

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

func stockReq(qt signal.QuantityType, qty, price, equity string) SizeRequest {
	return SizeRequest{
		Symbol:       "AAPL",
		AssetClass:   signal.AssetStock,
		Side:         signal.SideBuy,
		QuantityType: qt,
		Quantity:     dec(qty),
		Price:        dec(price),
		Equity:       dec(equity),
		Settings:     DefaultSettings(),
	}
}

func cryptoReq(qt signal.QuantityType, qty, price, equity string) SizeRequest {
	r := stockReq(qt, qty, price, equity)
	r.Symbol, r.AssetClass = "BTC-USD", signal.AssetCrypto
	return r
}

func with(r SizeRequest, f func(*SizeRequest)) SizeRequest { f(&r); return r }

func TestSize(t *testing.T) {
	tests := []struct {
		name     string
		req      SizeRequest
		qty      string
		notional string
		reduced  bool
		note     string
	}{
		{"SPEC US-006 #1: AAPL 100 @ $180 on $10,000 → 5 shares",
			stockReq(signal.QtyFixed, "100", "180", "10000"), "5", "900", true,
			"Position size reduced to 5 shares (10% max rule)"},
		{"within the limit is untouched",
			stockReq(signal.QtyFixed, "5", "180", "10000"), "5", "900", false, ""},
		{"exactly at the limit is allowed",
			stockReq(signal.QtyFixed, "10", "100", "10000"), "10", "1000", false, ""},
		{"one share over is reduced",
			stockReq(signal.QtyFixed, "11", "100", "10000"), "10", "1000", true,
			"Position size reduced to 10 shares (10% max rule)"},
		{"reduced to a single share",
			stockReq(signal.QtyFixed, "3", "600", "10000"), "1", "600", true,
			"Position size reduced to 1 share (10% max rule)"},
		{"custom max position 12.5%",
			with(stockReq(signal.QtyFixed, "100", "100", "10000"), func(r *SizeRequest) { r.Settings.MaxPositionPct = dec("12.5") }),
			"12", "1200", true, "Position size reduced to 12 shares (12.5% max rule)"},
		{"manual order within the limit",
			with(stockReq(signal.QtyFixed, "5", "500", "25000"), func(r *SizeRequest) { r.Manual = true }),
			"5", "2500", false, ""},
		{"fractional fixed stock quantity rounds down",
			stockReq(signal.QtyFixed, "4.7", "100", "10000"), "4", "400", false, ""},
		{"dollar amount",
			stockReq(signal.QtyDollarAmount, "1000", "180", "100000"), "5", "900", false, ""},
		{"dollar amount above the limit is reduced",
			stockReq(signal.QtyDollarAmount, "5000", "180", "10000"), "5", "900", true,
			"Position size reduced to 5 shares (10% max rule)"},
		{"percent of equity",
			stockReq(signal.QtyPercentOfEquity, "5", "180", "100000"), "27", "4860", false, ""},
		{"percent of equity above max position",
			stockReq(signal.QtyPercentOfEquity, "20", "180", "100000"), "55", "9900", true,
			"Position size reduced to 55 shares (10% max rule)"},
		{"percent of position on a sell reduces and is never limited",
			with(stockReq(signal.QtyPercentOfPosition, "50", "180", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("100")
			}), "50", "9000", false, ""},
		{"percent of position rounds down",
			with(stockReq(signal.QtyPercentOfPosition, "50", "180", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("7")
			}), "3", "540", false, ""},
		{"percent of a short position, buying back",
			with(stockReq(signal.QtyPercentOfPosition, "100", "50", "1000"), func(r *SizeRequest) {
				r.CurrentPositionQty = dec("-40")
			}), "40", "2000", false, ""},
		{"adding to a long counts the held position",
			with(stockReq(signal.QtyFixed, "100", "180", "10000"), func(r *SizeRequest) { r.CurrentPositionQty = dec("3") }),
			"2", "360", true, "Position size reduced to 2 shares (10% max rule)"},
		{"adding to a short counts the held position",
			with(stockReq(signal.QtyFixed, "10", "100", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("-5")
			}), "5", "500", true, "Position size reduced to 5 shares (10% max rule)"},
		{"closing a position larger than the limit",
			with(stockReq(signal.QtyFixed, "100", "180", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("100")
			}), "100", "18000", false, ""},
		{"flipping long to short limits only the new side",
			with(stockReq(signal.QtyFixed, "30", "100", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("10")
			}), "20", "2000", true, "Position size reduced to 20 shares (10% max rule)"},
		{"flip within the limit",
			with(stockReq(signal.QtyFixed, "15", "100", "10000"), func(r *SizeRequest) {
				r.Side, r.CurrentPositionQty = signal.SideSell, dec("10")
			}), "15", "1500", false, ""},
		{"default quantity sizes to the max position",
			stockReq(signal.QtyDefault, "0", "180", "10000"), "5", "900", false, ""},
		{"default quantity with a held position",
			with(stockReq(signal.QtyDefault, "0", "100", "10000"), func(r *SizeRequest) { r.CurrentPositionQty = dec("4") }),
			"6", "600", false, ""},
		{"crypto rounds down to 1e-8",
			cryptoReq(signal.QtyFixed, "1", "65000", "10000"), "0.01538461", "999.99965", true,
			"Position size reduced to 0.01538461 BTC (10% max rule)"},
		{"crypto dollar amount",
			cryptoReq(signal.QtyDollarAmount, "100", "65000", "10000"), "0.00153846", "99.9999", false, ""},
		{"crypto fixed quantity beyond 8 decimals rounds down",
			cryptoReq(signal.QtyFixed, "0.0123456789", "65000", "100000"), "0.01234567", "802.46855", false, ""},
		{"crypto with an exchange step",
			with(cryptoReq(signal.QtyFixed, "0.12345", "100", "1000000"), func(r *SizeRequest) { r.Step = dec("0.0001") }),
			"0.1234", "12.34", false, ""},
		{"crypto percent of equity",
			cryptoReq(signal.QtyPercentOfEquity, "1", "3", "1000"), "3.33333333", "9.99999999", false, ""},
		{"percent of position on a buy adds to the long and is limited",
			with(stockReq(signal.QtyPercentOfPosition, "50", "100", "10000"), func(r *SizeRequest) { r.CurrentPositionQty = dec("8") }),
			"2", "200", true, "Position size reduced to 2 shares (10% max rule)"},
		{"crypto pair with a slash",
			with(cryptoReq(signal.QtyFixed, "1", "2000", "10000"), func(r *SizeRequest) { r.Symbol = "ETH/USD" }),
			"0.5", "1000", true, "Position size reduced to 0.5 ETH (10% max rule)"},
		{"crypto symbol without a separator",
			with(cryptoReq(signal.QtyFixed, "1", "2000", "10000"), func(r *SizeRequest) { r.Symbol = "ETHUSDT" }),
			"0.5", "1000", true, "Position size reduced to 0.5 ETHUSDT (10% max rule)"},
		{"decimal precision: 3 × $0.10 is exactly the $0.30 limit",
			stockReq(signal.QtyFixed, "3", "0.1", "3"), "3", "0.3", false, ""},
		{"decimal precision: limit 3333.333 and price 3333.333",
			stockReq(signal.QtyFixed, "1", "3333.333", "33333.33"), "1", "3333.333", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Size(tt.req)
			if err != nil {
				t.Fatalf("Size() error = %v", err)
			}
			if !got.Quantity.Equal(dec(tt.qty)) || !got.Notional.Equal(dec(tt.notional)) ||
				got.Reduced != tt.reduced || got.Note != tt.note {
				t.Errorf("Size() = {qty %s, notional %s, reduced %v, note %q}\n  want {qty %s, notional %s, reduced %v, note %q}",
					got.Quantity, got.Notional, got.Reduced, got.Note, tt.qty, tt.notional, tt.reduced, tt.note)
			}
		})
	}
}

func TestSizeRejections(t *testing.T) {
	tests := []struct {
		name    string
		req     SizeRequest
		code    string
		message string
	}{
		{"SPEC US-006 #4: manual NVDA 200 @ $500 on $25,000",
			SizeRequest{Symbol: "NVDA", AssetClass: signal.AssetStock, Side: signal.SideBuy, QuantityType: signal.QtyFixed,
				Quantity: dec("200"), Price: dec("500"), Equity: dec("25000"), Settings: DefaultSettings(), Manual: true},
			CodePositionLimit, "Manual orders subject to risk limits. Max position: $2,500 (10% of $25,000 equity)"},
		{"manual order is rejected even when some shares would fit",
			with(stockReq(signal.QtyFixed, "6", "180", "10000"), func(r *SizeRequest) { r.Manual = true }),
			CodePositionLimit, "Manual orders subject to risk limits. Max position: $1,000 (10% of $10,000 equity)"},
		{"manual max position with cents",
			with(stockReq(signal.QtyFixed, "100", "180", "12345.5"), func(r *SizeRequest) { r.Manual = true }),
			CodePositionLimit, "Manual orders subject to risk limits. Max position: $1,234.55 (10% of $12,345.50 equity)"},
		{"limit allows nothing",
			stockReq(signal.QtyFixed, "1", "180", "1000"),
			CodePositionLimit, "Position size limit allows 0 shares of AAPL at $180.00 (10% of $1,000 equity)"},
		{"held position already at the limit",
			with(stockReq(signal.QtyFixed, "1", "100", "10000"), func(r *SizeRequest) { r.CurrentPositionQty = dec("10") }),
			CodePositionLimit, "Position size limit allows 0 shares of AAPL at $100.00 (10% of $10,000 equity)"},
		{"default quantity when nothing fits",
			stockReq(signal.QtyDefault, "0", "180", "1000"),
			CodePositionLimit, "Position size limit allows 0 shares of AAPL at $180.00 (10% of $1,000 equity)"},
		{"negative equity allows nothing",
			stockReq(signal.QtyFixed, "1", "180", "-50"),
			CodePositionLimit, "Position size limit allows 0 shares of AAPL at $180.00 (10% of $0 equity)"},
		{"crypto limit allows nothing",
			cryptoReq(signal.QtyFixed, "1", "65000", "0.0001"),
			CodePositionLimit, "Position size limit allows 0 BTC at $65,000.00 (10% of $0 equity)"},
		{"dollar amount below one share",
			stockReq(signal.QtyDollarAmount, "50", "180", "100000"),
			CodeInvalidOrder, "Order size too small: it buys 0 shares of AAPL at $180.00"},
		{"fixed quantity below one share",
			stockReq(signal.QtyFixed, "0.5", "180", "100000"),
			CodeInvalidOrder, "Order size too small: it buys 0 shares of AAPL at $180.00"},
		{"crypto dollar amount below one step",
			cryptoReq(signal.QtyDollarAmount, "0.0001", "65000", "100000"),
			CodeInvalidOrder, "Order size too small: it buys 0 BTC at $65,000.00"},
		{"percent of zero equity",
			stockReq(signal.QtyPercentOfEquity, "5", "180", "0"),
			CodeInvalidOrder, "Order size too small: it buys 0 shares of AAPL at $180.00"},
		{"no price",
			stockReq(signal.QtyFixed, "1", "0", "100000"),
			CodeInvalidOrder, "No price available for AAPL, so the order cannot be sized"},
		{"zero quantity",
			stockReq(signal.QtyFixed, "0", "180", "100000"),
			CodeInvalidOrder, "Quantity must be greater than 0"},
		{"negative dollar amount",
			stockReq(signal.QtyDollarAmount, "-100", "180", "100000"),
			CodeInvalidOrder, "Quantity must be greater than 0"},
		{"percent of equity above 100",
			stockReq(signal.QtyPercentOfEquity, "101", "180", "100000"),
			CodeInvalidOrder, "Percent of equity must be greater than 0% and at most 100%"},
		{"percent of position 0",
			with(stockReq(signal.QtyPercentOfPosition, "0", "180", "100000"), func(r *SizeRequest) { r.CurrentPositionQty = dec("10") }),
			CodeInvalidOrder, "Percent of position must be greater than 0% and at most 100%"},
		{"percent of position without a position",
			stockReq(signal.QtyPercentOfPosition, "50", "180", "100000"),
			CodeInvalidOrder, "No open AAPL position to take a percentage of"},
		{"unknown quantity type",
			stockReq(signal.QuantityType("contracts"), "1", "180", "100000"),
			CodeInvalidOrder, `Unsupported quantity type "contracts"`},
		{"unknown side",
			with(stockReq(signal.QtyFixed, "1", "180", "100000"), func(r *SizeRequest) { r.Side = "hold" }),
			CodeInvalidOrder, `Unsupported order side "hold"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Size(tt.req)
			assertRejection(t, err, tt.code, tt.message)
			if got != (SizeResult{}) {
				t.Errorf("rejected Size() returned %+v", got)
			}
		})
	}
}

// For many equity/price pairs, a reduced quantity is the largest multiple of
// the step whose notional fits the limit.
func TestSizeReducedIsLargestFit(t *testing.T) {
	for _, class := range []signal.AssetClass{signal.AssetStock, signal.AssetCrypto} {
		step := DefaultStep(class)
		for e := int64(1000); e <= 250000; e += 7919 {
			for p := int64(7); p <= 90000; p = p*3 + 11 {
				equity := decimal.New(e, -2).Mul(decimal.NewFromInt(100)).Add(decimal.New(37, -2))
				price := decimal.New(p, -2)
				req := SizeRequest{Symbol: "X-USD", AssetClass: class, Side: signal.SideBuy, QuantityType: signal.QtyFixed,
					Quantity: decimal.NewFromInt(1_000_000), Price: price, Equity: equity, Settings: DefaultSettings()}
				got, err := Size(req)
				if err != nil {
					continue // limit allows nothing at this price
				}
				limit := equity.Mul(dec("0.1"))
				if got.Notional.GreaterThan(limit) {
					t.Fatalf("%s equity %s price %s: notional %s exceeds limit %s", class, equity, price, got.Notional, limit)
				}
				if got.Quantity.Add(step).Mul(price).LessThanOrEqual(limit) {
					t.Fatalf("%s equity %s price %s: %s is not the largest fit", class, equity, price, got.Quantity)
				}
				if !got.Quantity.Mod(step).IsZero() {
					t.Fatalf("%s: quantity %s is not a multiple of %s", class, got.Quantity, step)
				}
			}
		}
	}
}
