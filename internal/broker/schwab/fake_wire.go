package schwab

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/shopspring/decimal"
)

// The fake's own wire types, written from the Trader API documentation
// (developer.schwab.com → Trader API – Individual → Accounts and Trading
// Production v1 and Market Data Production v1: the Order, OrderRequest,
// OrderLeg, OrderActivity, ExecutionLeg, Account, SecuritiesAccount,
// Position, AccountNumberHash, QuoteResponse and Hours schemas) and from
// recorded answers (testdata/README.md). They are deliberately separate from
// the adapter's types in client.go: the fake decodes what the adapter sends
// with these, so a field the adapter misspells is an unknown field here and
// is refused, instead of being read back by the same struct that wrote it.
//
// Numbers are JSON numbers on Schwab's wire (quantities and prices are
// "number($double)" in the schemas), never strings; schwabNum enforces that
// on requests and writes them unquoted on answers.

// schwabNum is a JSON number. Unmarshalling refuses strings ("100"), as a
// typed number field of the Trader API would not take them from a
// well-behaved client; marshalling writes the digits unquoted.
type schwabNum string

func (n *schwabNum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = ""
		return nil
	}
	if len(b) == 0 || b[0] == '"' {
		return fmt.Errorf("a number is expected, not %s", b)
	}
	if _, err := decimal.NewFromString(string(b)); err != nil {
		return fmt.Errorf("a number is expected, not %s", b)
	}
	*n = schwabNum(b)
	return nil
}

func (n schwabNum) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("0"), nil
	}
	return []byte(n), nil
}

// dec reads the number; an absent one is zero.
func (n schwabNum) dec() decimal.Decimal {
	if n == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(string(n))
	if err != nil {
		return decimal.Zero
	}
	return d
}

// set reports whether the number was sent.
func (n schwabNum) set() bool { return n != "" }

// snum writes a decimal as a Schwab number.
func snum(d decimal.Decimal) schwabNum { return schwabNum(d.String()) }

// --- requests ---

// schwabInstrumentRequestJSON is an order leg's instrument in an
// OrderRequest (the fake accepts equities only).
type schwabInstrumentRequestJSON struct {
	Symbol    string `json:"symbol"`
	AssetType string `json:"assetType"`
	Cusip     string `json:"cusip,omitempty"`
}

// schwabOrderLegRequestJSON is one entry of orderLegCollection in an
// OrderRequest.
type schwabOrderLegRequestJSON struct {
	Instruction    string                      `json:"instruction"`
	Quantity       schwabNum                   `json:"quantity"`
	Instrument     schwabInstrumentRequestJSON `json:"instrument"`
	OrderLegType   string                      `json:"orderLegType,omitempty"`
	PositionEffect string                      `json:"positionEffect,omitempty"`
}

// schwabOrderRequestJSON is the body of POST .../accounts/{accountNumber}/orders
// as far as this fake implements it: a SINGLE equity order, or an OCO whose
// two childOrderStrategies are SINGLE equity orders (schwab-py
// docs/order-builder.rst and orders.common.one_cancels_other: an
// orderStrategyType "OCO" object carrying only childOrderStrategies).
// Documented request fields the fake does not model (cancelTime,
// releaseTime, activationPrice, specialInstruction, taxLotMethod,
// priceLinkBasis, priceLinkType, stopType, ...) are refused as unknown, as
// is anything undocumented.
type schwabOrderRequestJSON struct {
	Session                  string                      `json:"session"`
	Duration                 string                      `json:"duration"`
	OrderType                string                      `json:"orderType"`
	Price                    schwabNum                   `json:"price"`
	StopPrice                schwabNum                   `json:"stopPrice"`
	StopPriceLinkBasis       string                      `json:"stopPriceLinkBasis"`
	StopPriceLinkType        string                      `json:"stopPriceLinkType"`
	StopPriceOffset          schwabNum                   `json:"stopPriceOffset"`
	ComplexOrderStrategyType string                      `json:"complexOrderStrategyType"`
	OrderStrategyType        string                      `json:"orderStrategyType"`
	OrderLegCollection       []schwabOrderLegRequestJSON `json:"orderLegCollection"`
	ChildOrderStrategies     []schwabOrderRequestJSON    `json:"childOrderStrategies"`
}

// decodeOrderRequest reads an order body strictly: unknown fields, keys
// that differ from the schema's only in case, strings where numbers belong,
// and trailing data are errors.
func decodeOrderRequest(r io.Reader) (schwabOrderRequestJSON, error) {
	var o schwabOrderRequestJSON
	var raw json.RawMessage
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return o, err
	}
	if dec.More() {
		return o, errors.New("trailing data after the order")
	}
	if err := exactKeys(raw, reflect.TypeOf(o)); err != nil {
		return o, err
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	return o, strict.Decode(&o)
}

// exactKeys checks every object key of raw against the json names of t's
// fields, case included: encoding/json would match "ordertype" to a field
// tagged "orderType", the Trader API (Jackson) would not.
func exactKeys(raw json.RawMessage, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil // not an object: the decoder reports the type error
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		for k, v := range obj {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("json: unknown field %q", k)
			}
			if err := exactKeys(v, ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil
		}
		for _, it := range items {
			if err := exactKeys(it, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// --- answers: orders ---

// schwabInstrumentJSON is an instrument in an order leg or position.
type schwabInstrumentJSON struct {
	AssetType    string    `json:"assetType"`
	Cusip        string    `json:"cusip,omitempty"`
	Symbol       string    `json:"symbol"`
	Description  string    `json:"description,omitempty"`
	InstrumentID int64     `json:"instrumentId,omitempty"`
	NetChange    schwabNum `json:"netChange,omitempty"`
}

// schwabOrderLegJSON is one entry of an order's orderLegCollection.
type schwabOrderLegJSON struct {
	OrderLegType   string               `json:"orderLegType"`
	LegID          int                  `json:"legId"`
	Instrument     schwabInstrumentJSON `json:"instrument"`
	Instruction    string               `json:"instruction"`
	PositionEffect string               `json:"positionEffect"`
	Quantity       schwabNum            `json:"quantity"`
}

// schwabExecutionLegJSON is one fill.
type schwabExecutionLegJSON struct {
	LegID             int       `json:"legId"`
	Quantity          schwabNum `json:"quantity"`
	MismarkedQuantity schwabNum `json:"mismarkedQuantity"`
	Price             schwabNum `json:"price"`
	Time              string    `json:"time"`
	InstrumentID      int64     `json:"instrumentId,omitempty"`
}

// schwabOrderActivityJSON is one entry of orderActivityCollection.
type schwabOrderActivityJSON struct {
	ActivityType           string                   `json:"activityType"`
	ActivityID             int64                    `json:"activityId"`
	ExecutionType          string                   `json:"executionType"`
	Quantity               schwabNum                `json:"quantity"`
	OrderRemainingQuantity schwabNum                `json:"orderRemainingQuantity"`
	ExecutionLegs          []schwabExecutionLegJSON `json:"executionLegs"`
}

// schwabOrderJSON is an order as GET .../orders and .../orders/{orderId}
// return it. Optional fields are left out when not set, as Schwab does.
type schwabOrderJSON struct {
	Session                  string                    `json:"session"`
	Duration                 string                    `json:"duration"`
	OrderType                string                    `json:"orderType"`
	ComplexOrderStrategyType string                    `json:"complexOrderStrategyType"`
	Quantity                 schwabNum                 `json:"quantity"`
	FilledQuantity           schwabNum                 `json:"filledQuantity"`
	RemainingQuantity        schwabNum                 `json:"remainingQuantity"`
	RequestedDestination     string                    `json:"requestedDestination"`
	DestinationLinkName      string                    `json:"destinationLinkName"`
	Price                    schwabNum                 `json:"price,omitempty"`
	StopPrice                schwabNum                 `json:"stopPrice,omitempty"`
	StopPriceLinkBasis       string                    `json:"stopPriceLinkBasis,omitempty"`
	StopPriceLinkType        string                    `json:"stopPriceLinkType,omitempty"`
	StopPriceOffset          schwabNum                 `json:"stopPriceOffset,omitempty"`
	StopType                 string                    `json:"stopType,omitempty"`
	OrderLegCollection       []schwabOrderLegJSON      `json:"orderLegCollection"`
	OrderStrategyType        string                    `json:"orderStrategyType"`
	OrderID                  int64                     `json:"orderId"`
	Cancelable               bool                      `json:"cancelable"`
	Editable                 bool                      `json:"editable"`
	Status                   string                    `json:"status"`
	StatusDescription        string                    `json:"statusDescription,omitempty"`
	EnteredTime              string                    `json:"enteredTime"`
	CloseTime                string                    `json:"closeTime,omitempty"`
	Tag                      string                    `json:"tag"`
	AccountNumber            int64                     `json:"accountNumber"`
	OrderActivityCollection  []schwabOrderActivityJSON `json:"orderActivityCollection,omitempty"`
}

// schwabOCOOrderJSON is an OCO order as GET .../orders and
// .../orders/{orderId} return it: as recorded in schwab-py
// tests/contrib/orders_test.py (test_oco_inside_oto), the OCO object
// carries its strategy type, id, cancelable/editable and account, and each
// of its two orders, with its own orderId and status, in
// childOrderStrategies; it has no status, legs or prices of its own.
type schwabOCOOrderJSON struct {
	OrderStrategyType    string            `json:"orderStrategyType"`
	OrderID              int64             `json:"orderId"`
	Cancelable           bool              `json:"cancelable"`
	Editable             bool              `json:"editable"`
	AccountNumber        int64             `json:"accountNumber"`
	ChildOrderStrategies []schwabOrderJSON `json:"childOrderStrategies"`
}

// --- answers: accounts ---

// schwabAccountNumberJSON is one entry of GET .../accounts/accountNumbers.
type schwabAccountNumberJSON struct {
	AccountNumber string `json:"accountNumber"`
	HashValue     string `json:"hashValue"`
}

// schwabInitialBalancesJSON is the start-of-day balance block of a cash
// account.
type schwabInitialBalancesJSON struct {
	AccruedInterest         schwabNum `json:"accruedInterest"`
	CashAvailableForTrading schwabNum `json:"cashAvailableForTrading"`
	CashBalance             schwabNum `json:"cashBalance"`
	LiquidationValue        schwabNum `json:"liquidationValue"`
	LongStockValue          schwabNum `json:"longStockValue"`
	TotalCash               schwabNum `json:"totalCash"`
	IsInCall                bool      `json:"isInCall"`
}

// schwabCurrentBalancesJSON is the current balance block of a cash account.
type schwabCurrentBalancesJSON struct {
	AccruedInterest            schwabNum `json:"accruedInterest"`
	CashBalance                schwabNum `json:"cashBalance"`
	CashAvailableForTrading    schwabNum `json:"cashAvailableForTrading"`
	CashAvailableForWithdrawal schwabNum `json:"cashAvailableForWithdrawal"`
	LiquidationValue           schwabNum `json:"liquidationValue"`
	LongMarketValue            schwabNum `json:"longMarketValue"`
	TotalCash                  schwabNum `json:"totalCash"`
}

// schwabProjectedBalancesJSON is the projected balance block of a cash
// account.
type schwabProjectedBalancesJSON struct {
	CashAvailableForTrading    schwabNum `json:"cashAvailableForTrading"`
	CashAvailableForWithdrawal schwabNum `json:"cashAvailableForWithdrawal"`
}

// schwabPositionJSON is one position of an account.
type schwabPositionJSON struct {
	ShortQuantity                  schwabNum            `json:"shortQuantity"`
	AveragePrice                   schwabNum            `json:"averagePrice"`
	CurrentDayProfitLoss           schwabNum            `json:"currentDayProfitLoss"`
	CurrentDayProfitLossPercentage schwabNum            `json:"currentDayProfitLossPercentage"`
	LongQuantity                   schwabNum            `json:"longQuantity"`
	SettledLongQuantity            schwabNum            `json:"settledLongQuantity"`
	SettledShortQuantity           schwabNum            `json:"settledShortQuantity"`
	Instrument                     schwabInstrumentJSON `json:"instrument"`
	MarketValue                    schwabNum            `json:"marketValue"`
	MaintenanceRequirement         schwabNum            `json:"maintenanceRequirement"`
	AverageLongPrice               schwabNum            `json:"averageLongPrice"`
	TaxLotAverageLongPrice         schwabNum            `json:"taxLotAverageLongPrice"`
	LongOpenProfitLoss             schwabNum            `json:"longOpenProfitLoss"`
	PreviousSessionLongQuantity    schwabNum            `json:"previousSessionLongQuantity"`
	CurrentDayCost                 schwabNum            `json:"currentDayCost"`
}

// schwabSecuritiesAccountJSON is the securitiesAccount object (CASH).
type schwabSecuritiesAccountJSON struct {
	Type                    string                      `json:"type"`
	AccountNumber           string                      `json:"accountNumber"`
	RoundTrips              int                         `json:"roundTrips"`
	IsDayTrader             bool                        `json:"isDayTrader"`
	IsClosingOnlyRestricted bool                        `json:"isClosingOnlyRestricted"`
	PfcbFlag                bool                        `json:"pfcbFlag"`
	Positions               *[]schwabPositionJSON       `json:"positions,omitempty"`
	InitialBalances         schwabInitialBalancesJSON   `json:"initialBalances"`
	CurrentBalances         schwabCurrentBalancesJSON   `json:"currentBalances"`
	ProjectedBalances       schwabProjectedBalancesJSON `json:"projectedBalances"`
}

// schwabAggregatedBalanceJSON is the aggregatedBalance object.
type schwabAggregatedBalanceJSON struct {
	CurrentLiquidationValue schwabNum `json:"currentLiquidationValue"`
	LiquidationValue        schwabNum `json:"liquidationValue"`
}

// schwabAccountJSON is the answer of GET .../accounts/{accountNumber}.
type schwabAccountJSON struct {
	SecuritiesAccount schwabSecuritiesAccountJSON `json:"securitiesAccount"`
	AggregatedBalance schwabAggregatedBalanceJSON `json:"aggregatedBalance"`
}

// --- answers: market data ---

// schwabQuoteJSON is the quote block of an equity QuoteResponse entry.
type schwabQuoteJSON struct {
	AskPrice       schwabNum `json:"askPrice"`
	BidPrice       schwabNum `json:"bidPrice"`
	ClosePrice     schwabNum `json:"closePrice"`
	LastPrice      schwabNum `json:"lastPrice"`
	Mark           schwabNum `json:"mark"`
	QuoteTime      int64     `json:"quoteTime"`
	TradeTime      int64     `json:"tradeTime"`
	SecurityStatus string    `json:"securityStatus"`
}

// schwabReferenceJSON is the reference block of an equity entry.
type schwabReferenceJSON struct {
	Cusip        string `json:"cusip"`
	Description  string `json:"description"`
	Exchange     string `json:"exchange"`
	ExchangeName string `json:"exchangeName"`
}

// schwabQuoteEntryJSON is one symbol of GET /marketdata/v1/quotes.
type schwabQuoteEntryJSON struct {
	AssetMainType string              `json:"assetMainType"`
	AssetSubType  string              `json:"assetSubType"`
	QuoteType     string              `json:"quoteType"`
	Realtime      bool                `json:"realtime"`
	SSID          int64               `json:"ssid"`
	Symbol        string              `json:"symbol"`
	Quote         schwabQuoteJSON     `json:"quote"`
	Reference     schwabReferenceJSON `json:"reference"`
}

// schwabQuoteErrorsJSON is the "errors" entry of a quote answer.
type schwabQuoteErrorsJSON struct {
	InvalidSymbols []string `json:"invalidSymbols"`
}

// schwabSessionJSON is one session window (ISO-8601 with offset).
type schwabSessionJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// schwabHoursJSON is one product's hours on a date.
type schwabHoursJSON struct {
	Date         string                         `json:"date"`
	MarketType   string                         `json:"marketType"`
	Exchange     string                         `json:"exchange,omitempty"`
	Category     string                         `json:"category,omitempty"`
	Product      string                         `json:"product"`
	ProductName  string                         `json:"productName,omitempty"`
	IsOpen       bool                           `json:"isOpen"`
	SessionHours map[string][]schwabSessionJSON `json:"sessionHours,omitempty"`
}

// --- errors and OAuth ---

// schwabTraderErrorJSON is the Accounts and Trading error body.
type schwabTraderErrorJSON struct {
	Message string   `json:"message"`
	Errors  []string `json:"errors"`
}

// schwabMarketDataErrorItemJSON is one error of a Market Data error body.
type schwabMarketDataErrorItemJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

// schwabMarketDataErrorJSON is the Market Data error body.
type schwabMarketDataErrorJSON struct {
	Errors []schwabMarketDataErrorItemJSON `json:"errors"`
}

// schwabOAuthErrorJSON is an error of the token endpoint.
type schwabOAuthErrorJSON struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// schwabTokenJSON is a successful answer of POST /v1/oauth/token.
type schwabTokenJSON struct {
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
}
