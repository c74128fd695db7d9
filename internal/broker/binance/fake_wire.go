package binance

import (
	"github.com/shopspring/decimal"
)

// The fake's answers, written from the response examples of the Binance
// spot REST documentation (binance/binance-spot-api-docs rest-api.md:
// "Exchange information", "New order" RESULT, "Query order", "Current open
// orders", "Cancel order", "Account information", "Symbol price ticker",
// "Check server time"), independently of the adapter's wire structs in
// client.go. Field names are the documented ones; amounts are 8-decimal
// strings as Binance sends them.

// jsonObject is one JSON object of an answer.
type jsonObject = map[string]any

// fakeOrder is an order as the fake's matching engine keeps it.
type fakeOrder struct {
	symbol   string
	id       int64
	clientID string
	side     string // BUY | SELL
	typ      string // MARKET | LIMIT | STOP_LOSS | STOP_LOSS_LIMIT
	tif      string
	status   string // NEW | FILLED | CANCELED ...
	price    decimal.Decimal
	stop     decimal.Decimal
	qty      decimal.Decimal
	executed decimal.Decimal
	quoteQty decimal.Decimal // cummulativeQuoteQty
	created  int64           // unix ms
	updated  int64
	list     *fakeOrderList // nil unless the order is a leg of an order list
}

func (o *fakeOrder) listID() int64 {
	if o.list == nil {
		return -1
	}
	return o.list.id
}

func (o *fakeOrder) open() bool { return o.status == "NEW" || o.status == "PARTIALLY_FILLED" }

func (o *fakeOrder) isStop() bool { return o.typ == "STOP_LOSS" || o.typ == "STOP_LOSS_LIMIT" }

func amount(d decimal.Decimal) string { return d.StringFixed(8) }

// newOrderJSON is the answer to POST /api/v3/order: RESULT (the adapter's
// choice) or ACK. stopPrice is a conditional field (stop types only).
func (o *fakeOrder) newOrderJSON(respType string, transact int64) jsonObject {
	ack := jsonObject{
		"symbol":        o.symbol,
		"orderId":       o.id,
		"orderListId":   o.listID(),
		"clientOrderId": o.clientID,
		"transactTime":  transact,
	}
	if respType == "ACK" || (respType == "" && o.typ != "MARKET" && o.typ != "LIMIT") {
		return ack
	}
	ack["price"] = amount(o.price)
	ack["origQty"] = amount(o.qty)
	ack["executedQty"] = amount(o.executed)
	ack["origQuoteOrderQty"] = "0.000000"
	ack["cummulativeQuoteQty"] = amount(o.quoteQty)
	ack["status"] = o.status
	ack["timeInForce"] = o.tif
	ack["type"] = o.typ
	ack["side"] = o.side
	ack["workingTime"] = o.created
	ack["selfTradePreventionMode"] = "NONE"
	if o.isStop() {
		ack["stopPrice"] = amount(o.stop)
	}
	return ack
}

// queryJSON is one order of GET /api/v3/order and GET /api/v3/openOrders.
func (o *fakeOrder) queryJSON() jsonObject {
	return jsonObject{
		"symbol":                  o.symbol,
		"orderId":                 o.id,
		"orderListId":             o.listID(),
		"clientOrderId":           o.clientID,
		"price":                   amount(o.price),
		"origQty":                 amount(o.qty),
		"executedQty":             amount(o.executed),
		"cummulativeQuoteQty":     amount(o.quoteQty),
		"status":                  o.status,
		"timeInForce":             o.tif,
		"type":                    o.typ,
		"side":                    o.side,
		"stopPrice":               amount(o.stop),
		"icebergQty":              "0.00000000",
		"time":                    o.created,
		"updateTime":              o.updated,
		"isWorking":               !o.isStop(),
		"workingTime":             o.created,
		"origQuoteOrderQty":       "0.000000",
		"selfTradePreventionMode": "NONE",
	}
}

// cancelJSON is the answer to DELETE /api/v3/order: clientOrderId is the
// cancel's own id, the order's is origClientOrderId.
func (o *fakeOrder) cancelJSON(cancelID string, transact int64) jsonObject {
	out := jsonObject{
		"symbol":                  o.symbol,
		"origClientOrderId":       o.clientID,
		"orderId":                 o.id,
		"orderListId":             o.listID(),
		"clientOrderId":           cancelID,
		"transactTime":            transact,
		"price":                   amount(o.price),
		"origQty":                 amount(o.qty),
		"executedQty":             amount(o.executed),
		"origQuoteOrderQty":       "0.000000",
		"cummulativeQuoteQty":     amount(o.quoteQty),
		"status":                  o.status,
		"timeInForce":             o.tif,
		"type":                    o.typ,
		"side":                    o.side,
		"selfTradePreventionMode": "NONE",
	}
	if o.isStop() {
		out["stopPrice"] = amount(o.stop)
	}
	return out
}

// exchangeInfoJSON is one entry of exchangeInfo "symbols".
func (s *fakeSymbol) exchangeInfoJSON() jsonObject {
	return jsonObject{
		"symbol":                     s.wire,
		"status":                     s.status,
		"baseAsset":                  s.base,
		"baseAssetPrecision":         8,
		"quoteAsset":                 s.quote,
		"quotePrecision":             8,
		"quoteAssetPrecision":        8,
		"baseCommissionPrecision":    8,
		"quoteCommissionPrecision":   8,
		"orderTypes":                 s.orderTypes,
		"icebergAllowed":             true,
		"ocoAllowed":                 s.ocoAllowed,
		"otoAllowed":                 true,
		"quoteOrderQtyMarketAllowed": true,
		"allowTrailingStop":          true,
		"cancelReplaceAllowed":       true,
		"isSpotTradingAllowed":       true,
		"isMarginTradingAllowed":     false,
		"filters": []jsonObject{
			{"filterType": "PRICE_FILTER", "minPrice": amount(s.tick), "maxPrice": "1000000.00000000", "tickSize": amount(s.tick)},
			{"filterType": "LOT_SIZE", "minQty": amount(s.minQty), "maxQty": "9000.00000000", "stepSize": amount(s.step)},
			{"filterType": "NOTIONAL", "minNotional": amount(s.minNotional), "applyMinToMarket": true,
				"maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
		},
		"permissions":                     []string{},
		"permissionSets":                  [][]string{{"SPOT"}},
		"defaultSelfTradePreventionMode":  "EXPIRE_MAKER",
		"allowedSelfTradePreventionModes": []string{"EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"},
	}
}

// accountJSON is the answer to GET /api/v3/account.
func accountJSON(updateTime int64, balances []jsonObject) jsonObject {
	return jsonObject{
		"makerCommission":  10,
		"takerCommission":  10,
		"buyerCommission":  0,
		"sellerCommission": 0,
		"commissionRates": jsonObject{
			"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000", "seller": "0.00000000",
		},
		"canTrade":                   true,
		"canWithdraw":                true,
		"canDeposit":                 true,
		"brokered":                   false,
		"requireSelfTradePrevention": false,
		"preventSor":                 false,
		"updateTime":                 updateTime,
		"accountType":                "SPOT",
		"balances":                   balances,
		"permissions":                []string{"SPOT"},
		"uid":                        354937868,
	}
}
