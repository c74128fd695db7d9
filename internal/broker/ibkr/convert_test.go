package ibkr

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestRoundPrice(t *testing.T) {
	tests := []struct {
		in   string
		side signal.Side
		want string
	}{
		{"190.005", signal.SideBuy, "190"},
		{"190.005", signal.SideSell, "190.01"},
		{"190.01", signal.SideBuy, "190.01"},
		{"0.12345", signal.SideBuy, "0.1234"},
		{"0.12345", signal.SideSell, "0.1235"},
		{"1", signal.SideSell, "1"},
	}
	for _, tt := range tests {
		if got := roundPrice(dec(tt.in), tt.side); !got.Equal(dec(tt.want)) {
			t.Errorf("roundPrice(%s, %s) = %s, want %s", tt.in, tt.side, got, tt.want)
		}
	}
}

func TestToTicket(t *testing.T) {
	base := broker.OrderRequest{ClientOrderID: "tee-1", Symbol: "AAPL", Side: signal.SideBuy, Quantity: dec("3")}
	with := func(f func(*broker.OrderRequest)) broker.OrderRequest {
		r := base
		f(&r)
		return r
	}
	tests := []struct {
		name    string
		req     broker.OrderRequest
		want    wireOrderTicket
		wantErr bool
	}{
		{"market day", base, wireOrderTicket{OrderType: "MKT", Side: "BUY", TIF: "DAY"}, false},
		{"limit gtc sell", with(func(r *broker.OrderRequest) {
			r.Type, r.Side, r.LimitPrice, r.TimeInForce = signal.OrderLimit, signal.SideSell, dec("10.001"), broker.TIFGTC
		}), wireOrderTicket{OrderType: "LMT", Side: "SELL", TIF: "GTC", Price: "10.01"}, false},
		{"stop", with(func(r *broker.OrderRequest) { r.Type, r.StopPrice = signal.OrderStop, dec("180") }),
			wireOrderTicket{OrderType: "STP", Side: "BUY", TIF: "DAY", Price: "180"}, false},
		{"stop limit", with(func(r *broker.OrderRequest) {
			r.Type, r.StopPrice, r.LimitPrice = signal.OrderStopLimit, dec("181"), dec("182")
		}), wireOrderTicket{OrderType: "STOP_LIMIT", Side: "BUY", TIF: "DAY", Price: "182", AuxPrice: "181"}, false},
		{"trailing", with(func(r *broker.OrderRequest) {
			r.Type, r.TrailPercent, r.StopPrice, r.TimeInForce = signal.OrderTrailingStop, dec("2.5"), dec("194.7501"), broker.TIFIOC
		}), wireOrderTicket{OrderType: "TRAIL", Side: "BUY", TIF: "IOC", TrailingAmt: "2.5", TrailingTyp: "%", Price: "194.75"}, false},
		{"trailing without its stop price", with(func(r *broker.OrderRequest) {
			r.Type, r.TrailPercent = signal.OrderTrailingStop, dec("2.5")
		}), wireOrderTicket{}, true},
		{"extended hours", with(func(r *broker.OrderRequest) { r.ExtendedHours = true }),
			wireOrderTicket{OrderType: "MKT", Side: "BUY", TIF: "DAY", OutsideRTH: true}, false},
		{"limit without price", with(func(r *broker.OrderRequest) { r.Type = signal.OrderLimit }), wireOrderTicket{}, true},
		{"stop limit without stop", with(func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice = signal.OrderStopLimit, dec("1")
		}), wireOrderTicket{}, true},
		{"bad side", with(func(r *broker.OrderRequest) { r.Side = "hold" }), wireOrderTicket{}, true},
		{"bad tif", with(func(r *broker.OrderRequest) { r.TimeInForce = "fok" }), wireOrderTicket{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := toTicket(tt.req, "DU1", 265598, dec("3"))
			if tt.wantErr {
				if broker.KindOf(err) != broker.KindInvalidOrder {
					t.Fatalf("error = %v, want INVALID_ORDER", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.AcctID, tt.want.Conid, tt.want.SecType, tt.want.COID, tt.want.Quantity = "DU1", 265598, "265598:STK", "tee-1", "3"
			if got != tt.want {
				t.Fatalf("ticket\n got %+v\nwant %+v", got, tt.want)
			}
			if _, err := json.Marshal(placeOrdersRequest{Orders: []wireOrderTicket{got}}); err != nil {
				t.Fatalf("ticket does not encode: %v", err)
			}
		})
	}
}

func TestMapStatus(t *testing.T) {
	tests := []struct {
		status string
		filled string
		want   broker.OrderStatus
	}{
		{"Submitted", "0", broker.StatusNew},
		{"PreSubmitted", "0", broker.StatusNew},
		{"PendingSubmit", "0", broker.StatusNew},
		{"Submitted", "5", broker.StatusPartiallyFilled},
		{"PendingCancel", "1", broker.StatusPartiallyFilled},
		{"Filled", "10", broker.StatusFilled},
		{"Cancelled", "0", broker.StatusCancelled},
		{"ApiCancelled", "0", broker.StatusCancelled},
		{"Inactive", "0", broker.StatusRejected},
		{"", "0", broker.StatusNew},
	}
	for _, tt := range tests {
		if got := mapStatus(tt.status, dec(tt.filled)); got != tt.want {
			t.Errorf("mapStatus(%q, %s) = %s, want %s", tt.status, tt.filled, got, tt.want)
		}
	}
}

func TestMapOrderType(t *testing.T) {
	tests := map[string]signal.OrderType{
		"MKT": signal.OrderMarket, "Market": signal.OrderMarket, "MARKET": signal.OrderMarket,
		"LMT": signal.OrderLimit, "Limit": signal.OrderLimit,
		"STP": signal.OrderStop, "Stop": signal.OrderStop,
		"STOP_LIMIT": signal.OrderStopLimit, "Stop Limit": signal.OrderStopLimit, "STP LMT": signal.OrderStopLimit,
		"TRAIL": signal.OrderTrailingStop, "Trailing Stop": signal.OrderTrailingStop,
	}
	for in, want := range tests {
		if got := mapOrderType(in); got != want {
			t.Errorf("mapOrderType(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFlexDecimal(t *testing.T) {
	tests := []struct {
		in    string
		want  string
		valid bool
	}{
		{`168.42`, "168.42", true},
		{`"168.42"`, "168.42", true},
		{`"C168.42"`, "168.42", true},
		{`"H12.5"`, "12.5", true},
		{`"1,300"`, "1300", true},
		{`""`, "0", false},
		{`null`, "0", false},
	}
	for _, tt := range tests {
		var d flexDecimal
		if err := json.Unmarshal([]byte(tt.in), &d); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if d.Valid != tt.valid || !d.Equal(dec(tt.want)) {
			t.Errorf("flexDecimal(%s) = %s valid %v, want %s %v", tt.in, d.Decimal, d.Valid, tt.want, tt.valid)
		}
	}
	var bad flexDecimal
	if err := json.Unmarshal([]byte(`"abc"`), &bad); err == nil {
		t.Error("flexDecimal accepted abc")
	}
}

func TestOrderRepliesDecode(t *testing.T) {
	tests := []struct {
		name string
		body string
		want wireOrderReply
	}{
		{"ack array", `[{"order_id":"987654","order_status":"Submitted","encrypt_message":"1"}]`,
			wireOrderReply{OrderID: "987654", OrderStatus: "Submitted"}},
		{"ack object", `{"order_id":"987654","order_status":"Submitted","encrypt_message":"1"}`,
			wireOrderReply{OrderID: "987654", OrderStatus: "Submitted"}},
		{"numeric id", `[{"order_id":987654,"order_status":"Filled"}]`,
			wireOrderReply{OrderID: "987654", OrderStatus: "Filled"}},
		{"question", `[{"id":"07a13a5a","message":["Are you sure?"],"isSuppressed":false,"messageIds":["o163"]}]`,
			wireOrderReply{ID: "07a13a5a", Message: []string{"Are you sure?"}, MessageIDs: []string{"o163"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r orderReplies
			if err := json.Unmarshal([]byte(tt.body), &r); err != nil {
				t.Fatal(err)
			}
			if len(r) != 1 {
				t.Fatalf("%d replies", len(r))
			}
			got := r[0]
			if got.OrderID != tt.want.OrderID || got.OrderStatus != tt.want.OrderStatus || got.ID != tt.want.ID ||
				len(got.Message) != len(tt.want.Message) || len(got.MessageIDs) != len(tt.want.MessageIDs) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOrderFromLiveAndStatus(t *testing.T) {
	var live wireLiveOrder
	if err := json.Unmarshal([]byte(`{"acct":"DU1","conid":265598,"orderId":1001,"ticker":"aapl","side":"SELL",
		"orderType":"Stop Limit","origOrderType":"STOP_LIMIT","status":"Submitted","totalSize":10.0,"filledQuantity":4.0,
		"remainingQuantity":6.0,"avgPrice":"190.5","price":"189","auxPrice":"189.5","order_ref":"tee-9",
		"lastExecutionTime_r":1702317649000}`), &live); err != nil {
		t.Fatal(err)
	}
	o := orderFromLive(live)
	want := broker.Order{ID: "1001", ClientOrderID: "tee-9", Symbol: "AAPL", Side: signal.SideSell, Type: signal.OrderStopLimit,
		Status: broker.StatusPartiallyFilled, Quantity: dec("10"), FilledQuantity: dec("4"), AvgFillPrice: dec("190.5"),
		LimitPrice: dec("189"), StopPrice: dec("189.5"), UpdatedAt: time.UnixMilli(1702317649000).UTC()}
	if !sameOrder(o, want) {
		t.Fatalf("orderFromLive\n got %+v\nwant %+v", o, want)
	}

	var st wireOrderStatus
	if err := json.Unmarshal([]byte(`{"order_id":1002,"conid":265598,"symbol":"AAPL","side":"B","order_type":"LIMIT",
		"order_status":"Filled","size":"0.0","total_size":"5.0","cum_fill":"5.0","average_price":"189.99",
		"limit_price":"190","order_time":"231211180049"}`), &st); err != nil {
		t.Fatal(err)
	}
	o = orderFromStatus(st)
	want = broker.Order{ID: "1002", Symbol: "AAPL", Side: signal.SideBuy, Type: signal.OrderLimit, Status: broker.StatusFilled,
		Quantity: dec("5"), FilledQuantity: dec("5"), AvgFillPrice: dec("189.99"), LimitPrice: dec("190"),
		SubmittedAt: time.Date(2023, 12, 11, 18, 0, 49, 0, time.UTC)}
	if !sameOrder(o, want) {
		t.Fatalf("orderFromStatus\n got %+v\nwant %+v", o, want)
	}
}

func sameOrder(a, b broker.Order) bool {
	return a.ID == b.ID && a.ClientOrderID == b.ClientOrderID && a.Symbol == b.Symbol && a.Side == b.Side &&
		a.Type == b.Type && a.Status == b.Status && a.Quantity.Equal(b.Quantity) &&
		a.FilledQuantity.Equal(b.FilledQuantity) && a.AvgFillPrice.Equal(b.AvgFillPrice) &&
		a.LimitPrice.Equal(b.LimitPrice) && a.StopPrice.Equal(b.StopPrice) &&
		a.SubmittedAt.Equal(b.SubmittedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestPickConid(t *testing.T) {
	var matches []wireSecdef
	if err := json.Unmarshal([]byte(`[
		{"conid":"1","symbol":"AAPLX","sections":[{"secType":"STK"}]},
		{"conid":"2","symbol":"AAPL","sections":[{"secType":"OPT"}]},
		{"conid":"265598","symbol":"AAPL","sections":[{"secType":"STK"},{"secType":"OPT"}]}]`), &matches); err != nil {
		t.Fatal(err)
	}
	if id, ok := pickConid(matches, "aapl"); !ok || id != 265598 {
		t.Fatalf("pickConid = %d, %v", id, ok)
	}
	if _, ok := pickConid(matches, "MSFT"); ok {
		t.Fatal("pickConid found MSFT")
	}
}

func TestBalanceFromSummary(t *testing.T) {
	var s wireSummary
	if err := json.Unmarshal([]byte(`{
		"netliquidation":{"amount":10500.25,"currency":"USD","isNull":false},
		"totalcashvalue":{"amount":500.25,"currency":"USD","isNull":false},
		"buyingpower":{"amount":2000.5,"currency":"USD","isNull":false},
		"previousdayequitywithloanvalue":{"amount":10000,"currency":"USD","isNull":false},
		"accountcode":{"value":"DU1","isNull":false}}`), &s); err != nil {
		t.Fatal(err)
	}
	b, ok := balanceFromSummary(s, "")
	if !ok {
		t.Fatal("not ok")
	}
	if b.Currency != "USD" || !b.Equity.Equal(dec("10500.25")) || !b.Cash.Equal(dec("500.25")) ||
		!b.BuyingPower.Equal(dec("2000.5")) || !b.LastEquity.Equal(dec("10000")) {
		t.Fatalf("balance %+v", b)
	}
	if _, ok := balanceFromSummary(wireSummary{}, "USD"); ok {
		t.Fatal("empty summary accepted")
	}
}

func TestPriceFromSnapshot(t *testing.T) {
	tests := []struct {
		row  string
		want string
		ok   bool
	}{
		{`{"conid":265598,"conidEx":"265598"}`, "0", false},
		{`{"conid":265598,"31":"168.42","84":"168.41","86":"168.43"}`, "168.42", true},
		{`{"conid":265598,"31":"C168.40"}`, "168.40", true},
		{`{"conid":265598,"84":"10.00","86":"10.03"}`, "10.015", true},
		{`{"conid":265598,"84":"10.00"}`, "0", false},
	}
	for _, tt := range tests {
		var row map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tt.row), &row); err != nil {
			t.Fatal(err)
		}
		got, ok := priceFromSnapshot(row)
		if ok != tt.ok || !got.Equal(dec(tt.want)) {
			t.Errorf("priceFromSnapshot(%s) = %s %v, want %s %v", tt.row, got, ok, tt.want, tt.ok)
		}
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		text string
		want broker.Kind
	}{
		{"Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [1.00 USD] MUST EXCEED THE INITIAL MARGIN [2.00 USD]", broker.KindInsufficientFunds},
		{"No symbol found", broker.KindInvalidSymbol},
		{"not authenticated", broker.KindAuthFailed},
		{"OrderID 1 doesn't exist", broker.KindNotFound},
		{"The market is closed", broker.KindMarketClosed},
		{"Order rejected - reason:Trading in AAPL is halted.", broker.KindHalted},
		{"Order rejected - reason:LULD trading pause; the exchange is not open for trading in this contract", broker.KindHalted},
		{"The price does not conform to the minimum price variation for this contract.", ""},
	}
	for _, tt := range tests {
		got, _ := errorKind(tt.text)
		if got != tt.want {
			t.Errorf("errorKind(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
	if !isDuplicateCOID("Order couldn't be submitted: Local order ID=tee-1 is already registered.") {
		t.Error("duplicate cOID not recognised")
	}
}
