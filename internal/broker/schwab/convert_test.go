package schwab

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func TestToWireOrder(t *testing.T) {
	base := broker.OrderRequest{ClientOrderID: "tee-1", Symbol: "NVDA", Side: signal.SideBuy, Quantity: dec("25")}
	with := func(f func(*broker.OrderRequest)) broker.OrderRequest {
		r := base
		f(&r)
		return r
	}
	leg := func(instr string) []wireLegRequest {
		return []wireLegRequest{{Instruction: instr, Quantity: "25", Instrument: wireInstrument{Symbol: "NVDA", AssetType: "EQUITY"}}}
	}
	tests := []struct {
		name string
		req  broker.OrderRequest
		want wireOrderRequest
	}{
		{"market", base, wireOrderRequest{Session: "NORMAL", Duration: "DAY", OrderType: "MARKET"}},
		{"limit buy rounds down", with(func(r *broker.OrderRequest) { r.Type, r.LimitPrice = signal.OrderLimit, dec("900.129") }),
			wireOrderRequest{Session: "NORMAL", Duration: "DAY", OrderType: "LIMIT", Price: "900.12"}},
		{"limit sell gtc rounds up", with(func(r *broker.OrderRequest) {
			r.Side, r.Type, r.LimitPrice, r.TimeInForce = signal.SideSell, signal.OrderLimit, dec("900.121"), broker.TIFGTC
		}), wireOrderRequest{Session: "NORMAL", Duration: "GOOD_TILL_CANCEL", OrderType: "LIMIT", Price: "900.13"}},
		{"stop", with(func(r *broker.OrderRequest) { r.Type, r.StopPrice = signal.OrderStop, dec("850") }),
			wireOrderRequest{Session: "NORMAL", Duration: "DAY", OrderType: "STOP", StopPrice: "850"}},
		{"stop limit ioc", with(func(r *broker.OrderRequest) {
			r.Type, r.StopPrice, r.LimitPrice, r.TimeInForce = signal.OrderStopLimit, dec("850"), dec("849.5"), broker.TIFIOC
		}), wireOrderRequest{Session: "NORMAL", Duration: "IMMEDIATE_OR_CANCEL", OrderType: "STOP_LIMIT", Price: "849.5", StopPrice: "850"}},
		{"trailing extended hours", with(func(r *broker.OrderRequest) {
			r.Type, r.TrailPercent, r.ExtendedHours = signal.OrderTrailingStop, dec("2.5"), true
		}), wireOrderRequest{Session: "SEAMLESS", Duration: "DAY", OrderType: "TRAILING_STOP",
			StopPriceLinkBasis: "LAST", StopPriceLinkType: "PERCENT", StopPriceOffset: "2.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toWireOrder(tt.req, dec("25"))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.ComplexOrderStrategyType, tt.want.OrderStrategyType = "NONE", "SINGLE"
			instr := "BUY"
			if tt.req.Side == signal.SideSell {
				instr = "SELL"
			}
			tt.want.OrderLegCollection = leg(instr)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tt.want)
			if string(gb) != string(wb) {
				t.Fatalf("body\n got %s\nwant %s", gb, wb)
			}
		})
	}
	for _, bad := range []broker.OrderRequest{
		with(func(r *broker.OrderRequest) { r.Type = signal.OrderLimit }),
		with(func(r *broker.OrderRequest) { r.Type, r.LimitPrice = signal.OrderStopLimit, dec("1") }),
		with(func(r *broker.OrderRequest) { r.Type = signal.OrderTrailingStop }),
		with(func(r *broker.OrderRequest) { r.Side = "" }),
		with(func(r *broker.OrderRequest) { r.Type = "bracket" }),
	} {
		if _, err := toWireOrder(bad, dec("1")); broker.KindOf(err) != broker.KindInvalidOrder {
			t.Errorf("toWireOrder(%+v) error = %v", bad, err)
		}
	}
}

// orderFixture is an order as GET .../orders/{orderId} returns it.
const orderFixture = `{
  "session": "NORMAL", "duration": "DAY", "orderType": "LIMIT", "complexOrderStrategyType": "NONE",
  "quantity": 10.0, "filledQuantity": 6.0, "remainingQuantity": 4.0, "requestedDestination": "AUTO",
  "price": 900.12, "orderLegCollection": [{"orderLegType": "EQUITY", "legId": 1,
    "instrument": {"assetType": "EQUITY", "cusip": "67066G104", "symbol": "nvda", "instrumentId": 1},
    "instruction": "BUY", "positionEffect": "OPENING", "quantity": 10.0}],
  "orderStrategyType": "SINGLE", "orderId": 1000000123, "cancelable": true, "editable": true, "status": "WORKING",
  "enteredTime": "2024-05-02T14:10:55+0000", "tag": "API_TRADEEXEC", "accountNumber": 12345678,
  "orderActivityCollection": [
    {"activityType": "EXECUTION", "executionType": "FILL", "quantity": 4.0, "orderRemainingQuantity": 6.0,
     "executionLegs": [{"legId": 1, "quantity": 4.0, "price": 900.0, "time": "2024-05-02T14:11:00+0000"}]},
    {"activityType": "EXECUTION", "executionType": "FILL", "quantity": 2.0, "orderRemainingQuantity": 4.0,
     "executionLegs": [{"legId": 1, "quantity": 2.0, "price": 900.12, "time": "2024-05-02T14:12:00+0000"}]}]
}`

func TestOrderFromWire(t *testing.T) {
	var w wireOrder
	if err := json.Unmarshal([]byte(orderFixture), &w); err != nil {
		t.Fatal(err)
	}
	o := orderFromWire(w)
	want := broker.Order{ID: "1000000123", Symbol: "NVDA", Side: signal.SideBuy, Type: signal.OrderLimit,
		Status: broker.StatusPartiallyFilled, Quantity: dec("10"), FilledQuantity: dec("6"), AvgFillPrice: dec("900.04"),
		LimitPrice: dec("900.12"), SubmittedAt: time.Date(2024, 5, 2, 14, 10, 55, 0, time.UTC),
		UpdatedAt: time.Date(2024, 5, 2, 14, 12, 0, 0, time.UTC)}
	if o.ID != want.ID || o.Symbol != want.Symbol || o.Side != want.Side || o.Type != want.Type || o.Status != want.Status ||
		!o.Quantity.Equal(want.Quantity) || !o.FilledQuantity.Equal(want.FilledQuantity) || !o.AvgFillPrice.Equal(want.AvgFillPrice) ||
		!o.LimitPrice.Equal(want.LimitPrice) || !o.SubmittedAt.Equal(want.SubmittedAt) || !o.UpdatedAt.Equal(want.UpdatedAt) {
		t.Fatalf("orderFromWire\n got %+v\nwant %+v", o, want)
	}
	// The order and the body that created it have the same shape.
	body, err := toWireOrder(broker.OrderRequest{Symbol: "NVDA", Side: signal.SideBuy, Type: signal.OrderLimit,
		LimitPrice: dec("900.12"), TimeInForce: broker.TIFDay}, dec("10"))
	if err != nil {
		t.Fatal(err)
	}
	if shapeOfOrder(w) != shapeOfRequest(body) {
		t.Fatalf("shapes differ: %+v vs %+v", shapeOfOrder(w), shapeOfRequest(body))
	}
	body.OrderLegCollection[0].Quantity = "11"
	if shapeOfOrder(w) == shapeOfRequest(body) {
		t.Fatal("different quantities have one shape")
	}
}

func TestMapStatus(t *testing.T) {
	tests := []struct {
		status, filled string
		want           broker.OrderStatus
	}{
		{"WORKING", "0", broker.StatusNew},
		{"QUEUED", "0", broker.StatusNew},
		{"PENDING_ACTIVATION", "0", broker.StatusNew},
		{"AWAITING_MANUAL_REVIEW", "0", broker.StatusNew},
		{"WORKING", "3", broker.StatusPartiallyFilled},
		{"FILLED", "10", broker.StatusFilled},
		{"CANCELED", "0", broker.StatusCancelled},
		{"REPLACED", "0", broker.StatusCancelled},
		{"REJECTED", "0", broker.StatusRejected},
		{"EXPIRED", "0", broker.StatusExpired},
	}
	for _, tt := range tests {
		if got := mapStatus(tt.status, dec(tt.filled)); got != tt.want {
			t.Errorf("mapStatus(%s, %s) = %s, want %s", tt.status, tt.filled, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2024, 5, 2, 14, 10, 55, 0, time.UTC)
	for _, s := range []string{"2024-05-02T14:10:55+0000", "2024-05-02T10:10:55-0400", "2024-05-02T14:10:55Z", "2024-05-02T14:10:55.000+0000"} {
		if got := parseTime(s); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%s) = %s", s, got)
		}
	}
	if !parseTime("yesterday").IsZero() {
		t.Error("parseTime accepted garbage")
	}
}

func TestBalanceFromAccount(t *testing.T) {
	tests := []struct {
		name, body                  string
		cash, equity, bp, lastEquit string
	}{
		{"cash account", `{"securitiesAccount":{"type":"CASH","initialBalances":{"liquidationValue":10000},
			"currentBalances":{"cashBalance":2500.5,"cashAvailableForTrading":2400,"liquidationValue":10250.25}},
			"aggregatedBalance":{"currentLiquidationValue":10250.25}}`, "2500.5", "10250.25", "2400", "10000"},
		{"margin account", `{"securitiesAccount":{"type":"MARGIN","initialBalances":{"liquidationValue":50000},
			"currentBalances":{"cashBalance":1000,"availableFunds":900,"buyingPower":1800,"liquidationValue":51000}}}`,
			"1000", "51000", "1800", "50000"},
		{"aggregated only", `{"securitiesAccount":{"type":"CASH","currentBalances":{"cashBalance":5}},
			"aggregatedBalance":{"liquidationValue":7}}`, "5", "7", "5", "7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a wireAccount
			if err := json.Unmarshal([]byte(tt.body), &a); err != nil {
				t.Fatal(err)
			}
			b, ok := balanceFromAccount(a)
			if !ok || b.Currency != "USD" || !b.Cash.Equal(dec(tt.cash)) || !b.Equity.Equal(dec(tt.equity)) ||
				!b.BuyingPower.Equal(dec(tt.bp)) || !b.LastEquity.Equal(dec(tt.lastEquit)) {
				t.Fatalf("balance %+v %v", b, ok)
			}
		})
	}
	if _, ok := balanceFromAccount(wireAccount{}); ok {
		t.Fatal("empty account accepted")
	}
}

func TestPositionFromWire(t *testing.T) {
	var ps []wirePosition
	if err := json.Unmarshal([]byte(`[
		{"longQuantity":10,"shortQuantity":0,"averagePrice":100,"marketValue":1100,"longOpenProfitLoss":100,"instrument":{"symbol":"aapl","assetType":"EQUITY"}},
		{"longQuantity":0,"shortQuantity":5,"averageShortPrice":50,"marketValue":-240,"shortOpenProfitLoss":10,"instrument":{"symbol":"TSLA","assetType":"EQUITY"}}]`), &ps); err != nil {
		t.Fatal(err)
	}
	long, short := positionFromWire(ps[0]), positionFromWire(ps[1])
	if long.Symbol != "AAPL" || !long.Quantity.Equal(dec("10")) || !long.CurrentPrice.Equal(dec("110")) || !long.UnrealizedPnL.Equal(dec("100")) {
		t.Fatalf("long %+v", long)
	}
	if !short.Quantity.Equal(dec("-5")) || !short.AvgEntryPrice.Equal(dec("50")) || !short.CurrentPrice.Equal(dec("48")) {
		t.Fatalf("short %+v", short)
	}
}

func TestPriceFromQuotes(t *testing.T) {
	tests := []struct {
		body    string
		want    string
		invalid bool
		ok      bool
	}{
		{`{"NVDA":{"symbol":"NVDA","quote":{"lastPrice":900.5,"mark":900.4,"bidPrice":900.3,"askPrice":900.6}}}`, "900.5", false, true},
		{`{"NVDA":{"symbol":"NVDA","quote":{"lastPrice":0,"mark":900.4}}}`, "900.4", false, true},
		{`{"NVDA":{"symbol":"NVDA","quote":{"bidPrice":900,"askPrice":900.03}}}`, "900.015", false, true},
		{`{"errors":{"invalidSymbols":["NVDA"]}}`, "0", true, false},
		{`{}`, "0", false, false},
	}
	for _, tt := range tests {
		var q map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tt.body), &q); err != nil {
			t.Fatal(err)
		}
		p, invalid, ok := priceFromQuotes(q, "NVDA")
		if !p.Equal(dec(tt.want)) || invalid != tt.invalid || ok != tt.ok {
			t.Errorf("priceFromQuotes(%s) = %s %v %v", tt.body, p, invalid, ok)
		}
	}
}

func TestErrorTextAndKind(t *testing.T) {
	tests := []struct {
		body string
		text string
		kind broker.Kind
	}{
		{`{"message":"You do not have enough available cash/buying power for this order.","errors":["You do not have enough available cash/buying power for this order."]}`,
			"You do not have enough available cash/buying power for this order.", broker.KindInsufficientFunds},
		{`{"message":"No trades are allowed for ZZZQX: the symbol is not valid.","errors":[]}`,
			"No trades are allowed for ZZZQX: the symbol is not valid.", broker.KindInvalidSymbol},
		{`{"errors":[{"id":"x","status":"404","title":"Not Found","detail":"Order not found"}]}`, "Order not found", broker.KindNotFound},
		{`{"message":"Trading in AAPL is halted. No orders are accepted for this security at this time.","errors":["Trading in AAPL is halted. No orders are accepted for this security at this time."]}`,
			"Trading in AAPL is halted. No orders are accepted for this security at this time.", broker.KindHalted},
		{`{"message":"Order cannot be canceled in status FILLED"}`, "Order cannot be canceled in status FILLED", ""},
		{`<html>503</html>`, "<html>503</html>", ""},
	}
	for _, tt := range tests {
		got := errorText([]byte(tt.body))
		if got != tt.text {
			t.Errorf("errorText(%s) = %q, want %q", tt.body, got, tt.text)
		}
		if k, _ := errorKind(got); k != tt.kind {
			t.Errorf("errorKind(%q) = %q, want %q", got, k, tt.kind)
		}
	}
}

func TestOrderIDFromLocation(t *testing.T) {
	tests := map[string]string{
		"https://api.schwabapi.com/trader/v1/accounts/ABC/orders/1000000123":  "1000000123",
		"https://api.schwabapi.com/trader/v1/accounts/ABC/orders/1000000123/": "1000000123",
		"/trader/v1/accounts/ABC/orders/x":                                    "",
		"":                                                                    "",
	}
	for in, want := range tests {
		if got := orderIDFromLocation(in); got != want {
			t.Errorf("orderIDFromLocation(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoundPrice(t *testing.T) {
	tests := []struct {
		in   string
		side signal.Side
		want string
	}{
		{"12.345", signal.SideBuy, "12.34"},
		{"12.341", signal.SideSell, "12.35"},
		{"0.56789", signal.SideBuy, "0.5678"},
	}
	for _, tt := range tests {
		if got := roundPrice(dec(tt.in), tt.side); !got.Equal(dec(tt.want)) {
			t.Errorf("roundPrice(%s, %s) = %s, want %s", tt.in, tt.side, got, tt.want)
		}
	}
	if !wholeShares(decimal.RequireFromString("10.99")).Equal(dec("10")) {
		t.Error("wholeShares")
	}
}
