package audit

import "testing"

func TestColumnsOfReadsTopLevelKeysOnly(t *testing.T) {
	for details, want := range map[string]columns{
		`{"avgFillPrice":"175.25","brokerOrderId":"alpaca_1","filledQuantity":"50","symbol":"AAPL"}`: {symbol: "AAPL", quantity: "50", price: "175.25", orderID: "alpaca_1"},
		`{"nested":{"symbol":"MSFT","price":1},"quantity":3,"symbol":"A\"B"}`:                        {symbol: `A"B`, quantity: "3"},
		`{"list":[{"symbol":"X"}],"broker":"kraken","price":null}`:                                   {broker: "kraken", price: "null"},
		`{ "symbol" : "SPY" , "orderId" : "o-1" }`:                                                   {symbol: "SPY", orderID: "o-1"},
		`{"symbol":"AAPL"`:                      {},
		`not json`:                              {},
		`{"symbol":{"a":1}}`:                    {},
		`{"quantity":"1","filledQuantity":"2"}`: {quantity: "1"}, // the first in the text (keys are stored sorted)
	} {
		if got := columnsOf(details); got != want {
			t.Errorf("%s: %+v, want %+v", details, got, want)
		}
	}
	if !mentionsSensitiveKey(`{"ApiKEY":1}`) || mentionsSensitiveKey(`{"symbol":"AAPL","via":"webhook"}`) {
		t.Error("mentionsSensitiveKey")
	}
}
