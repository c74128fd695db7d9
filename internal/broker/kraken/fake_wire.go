package kraken

import (
	"net/url"
	"sort"
)

// The fake's own wire types and request parameters, written from Kraken's
// spot REST documentation (docs.kraken.com/api/docs/rest-api/: add-order,
// get-orders-info, get-open-orders, get-closed-orders, cancel-order,
// get-account-balance, get-extended-balance, get-tradable-asset-pairs,
// get-ticker-information) and from recorded answers (testdata/README.md).
// They are deliberately separate from the adapter's types in client.go: the
// fake never encodes an answer with a struct the adapter decodes with, so a
// field the adapter names wrongly reads as empty and a test fails.

// krakenEnvelopeJSON is every answer: an error array (empty on success)
// and the endpoint's result.
type krakenEnvelopeJSON struct {
	Error  []string `json:"error"`
	Result any      `json:"result,omitempty"`
}

// krakenOrderDescrJSON is an order's descr object.
type krakenOrderDescrJSON struct {
	Pair      string `json:"pair"`
	Type      string `json:"type"`
	OrderType string `json:"ordertype"`
	Price     string `json:"price"`
	Price2    string `json:"price2"`
	Leverage  string `json:"leverage"`
	Order     string `json:"order"`
	Close     string `json:"close"`
}

// krakenOrderInfoJSON is one order of QueryOrders, OpenOrders and
// ClosedOrders. refid and reason are null when not set; cl_ord_id is left
// out when the order has none; closetm only appears once the order is
// closed.
type krakenOrderInfoJSON struct {
	RefID      *string              `json:"refid"`
	UserRef    int64                `json:"userref"`
	ClOrdID    string               `json:"cl_ord_id,omitempty"`
	Status     string               `json:"status"`
	Reason     *string              `json:"reason"`
	OpenTm     float64              `json:"opentm"`
	CloseTm    float64              `json:"closetm,omitempty"`
	StartTm    float64              `json:"starttm"`
	ExpireTm   float64              `json:"expiretm"`
	Descr      krakenOrderDescrJSON `json:"descr"`
	Vol        string               `json:"vol"`
	VolExec    string               `json:"vol_exec"`
	Cost       string               `json:"cost"`
	Fee        string               `json:"fee"`
	Price      string               `json:"price"`
	StopPrice  string               `json:"stopprice"`
	LimitPrice string               `json:"limitprice"`
	Misc       string               `json:"misc"`
	OFlags     string               `json:"oflags"`
}

// krakenAddOrderJSON is the result of AddOrder.
type krakenAddOrderJSON struct {
	Descr struct {
		Order string `json:"order"`
	} `json:"descr"`
	TxID []string `json:"txid"`
}

// krakenOpenOrdersJSON is the result of OpenOrders.
type krakenOpenOrdersJSON struct {
	Open map[string]*krakenOrderInfoJSON `json:"open"`
}

// krakenClosedOrdersJSON is the result of ClosedOrders.
type krakenClosedOrdersJSON struct {
	Closed map[string]*krakenOrderInfoJSON `json:"closed"`
	Count  int                             `json:"count"`
}

// krakenCancelOrderJSON is the result of CancelOrder.
type krakenCancelOrderJSON struct {
	Count int `json:"count"`
}

// krakenBalanceExJSON is one asset of BalanceEx.
type krakenBalanceExJSON struct {
	Balance   string `json:"balance"`
	HoldTrade string `json:"hold_trade"`
}

// krakenAssetPairJSON is one pair of AssetPairs (info=info).
type krakenAssetPairJSON struct {
	Altname            string       `json:"altname"`
	Wsname             string       `json:"wsname"`
	AclassBase         string       `json:"aclass_base"`
	Base               string       `json:"base"`
	AclassQuote        string       `json:"aclass_quote"`
	Quote              string       `json:"quote"`
	Lot                string       `json:"lot"`
	CostDecimals       int32        `json:"cost_decimals"`
	PairDecimals       int32        `json:"pair_decimals"`
	LotDecimals        int32        `json:"lot_decimals"`
	LotMultiplier      int          `json:"lot_multiplier"`
	LeverageBuy        []int        `json:"leverage_buy"`
	LeverageSell       []int        `json:"leverage_sell"`
	Fees               [][2]float64 `json:"fees"`
	FeesMaker          [][2]float64 `json:"fees_maker"`
	FeeVolumeCurrency  string       `json:"fee_volume_currency"`
	MarginCall         int          `json:"margin_call"`
	MarginStop         int          `json:"margin_stop"`
	OrderMin           string       `json:"ordermin"`
	CostMin            string       `json:"costmin"`
	TickSize           string       `json:"tick_size"`
	Status             string       `json:"status"`
	LongPositionLimit  int          `json:"long_position_limit"`
	ShortPositionLimit int          `json:"short_position_limit"`
}

// krakenTickerJSON is one pair of Ticker: ask, bid, last trade closed,
// volume, VWAP, trade count, low, high, today's open.
type krakenTickerJSON struct {
	A []string `json:"a"`
	B []string `json:"b"`
	C []string `json:"c"`
	V []string `json:"v"`
	P []string `json:"p"`
	T []int    `json:"t"`
	L []string `json:"l"`
	H []string `json:"h"`
	O string   `json:"o"`
}

// fakeParams are the request parameters each endpoint takes, as far as the
// fake implements it. Kraken refuses a parameter it does not know with
// "EGeneral:Invalid arguments:<name>" (as recorded in DeviaVir/zenbot issue
// #254, "General:Invalid arguments:postonly"); the fake does so too, and
// also for documented parameters it does not model (displayvol, leverage,
// oflags, reduce_only, starttm, expiretm, close[...], deadline, validate,
// ...), so the adapter cannot rely on a parameter the fake would ignore.
var fakeParams = map[string][]string{
	"AssetPairs":   {"pair", "info"},
	"Ticker":       {"pair"},
	"Balance":      {"nonce"},
	"BalanceEx":    {"nonce"},
	"AddOrder":     {"nonce", "pair", "type", "ordertype", "volume", "price", "price2", "cl_ord_id", "userref", "timeinforce"},
	"QueryOrders":  {"nonce", "txid", "trades", "userref", "consolidate_taker"},
	"OpenOrders":   {"nonce", "trades", "userref", "cl_ord_id"},
	"ClosedOrders": {"nonce", "trades", "userref", "cl_ord_id", "start", "end", "ofs", "closetime"},
	"CancelOrder":  {"nonce", "txid", "cl_ord_id"},
}

// unknownParam returns the first parameter (in name order) that method does
// not take or that is given more than once.
func unknownParam(method string, p url.Values) (string, bool) {
	allowed := map[string]bool{}
	for _, k := range fakeParams[method] {
		allowed[k] = true
	}
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !allowed[k] || len(p[k]) != 1 {
			return k, true
		}
	}
	return "", false
}
