package ibkr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Request bodies as the fake gateway reads them, written from IBKR's
// documentation (IBKR Campus, Web API v1.0: "Place Order" request object,
// "Place Order Reply Confirmation", "Search Contract by Symbol"; order types
// in "Order Types" → "CP API"), not from the adapter's types: a field the
// adapter names differently from IBKR is refused as unknown, a number sent
// as a string is refused, so a wrong field cannot pass unseen.

// fakeNumber is a documented JSON number. A quoted number is refused.
type fakeNumber struct {
	json.Number
	set bool
}

func (n *fakeNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = fakeNumber{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		return errors.New("expected a JSON number, got a string")
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return err
	}
	*n = fakeNumber{Number: num, set: true}
	return nil
}

// fakeOrderTicket is one element of "orders" in POST
// /iserver/account/{accountId}/orders, every documented field.
type fakeOrderTicket struct {
	AcctID             string            `json:"acctId"`
	Conid              int64             `json:"conid"`
	Conidex            string            `json:"conidex"`
	SecType            string            `json:"secType"` // "265598:STK"
	COID               string            `json:"cOID"`    // customer order id, unique per account and day
	ParentID           string            `json:"parentId"`
	OrderType          string            `json:"orderType"` // MKT LMT STP STOP_LIMIT MIDPRICE TRAIL TRAILLMT
	ListingExchange    string            `json:"listingExchange"`
	IsSingleGroup      bool              `json:"isSingleGroup"`
	OutsideRTH         bool              `json:"outsideRTH"`
	Price              fakeNumber        `json:"price"`    // limit price; stop price of STP and TRAIL
	AuxPrice           fakeNumber        `json:"auxPrice"` // stop price of STOP_LIMIT
	Side               string            `json:"side"`     // BUY SELL
	Ticker             string            `json:"ticker"`
	TIF                string            `json:"tif"` // GTC OPG DAY IOC PAX
	TrailingAmt        fakeNumber        `json:"trailingAmt"`
	TrailingType       string            `json:"trailingType"` // "amt" or "%"
	Referrer           string            `json:"referrer"`
	Quantity           fakeNumber        `json:"quantity"`
	CashQty            fakeNumber        `json:"cashQty"`
	FxQty              fakeNumber        `json:"fxQty"`
	UseAdaptive        bool              `json:"useAdaptive"`
	IsCcyConv          bool              `json:"isCcyConv"`
	AllocationMethod   string            `json:"allocationMethod"`
	ManualIndicator    bool              `json:"manualIndicator"`
	ExtOperator        string            `json:"extOperator"`
	Strategy           string            `json:"strategy"`
	StrategyParameters map[string]string `json:"strategyParameters"`
}

// fakePlaceOrders is the body of POST /iserver/account/{accountId}/orders.
type fakePlaceOrders struct {
	Orders []fakeOrderTicket `json:"orders"`
}

// fakeReplyBody is the body of POST /iserver/reply/{replyId}.
type fakeReplyBody struct {
	Confirmed *bool `json:"confirmed"`
}

// fakeSecdefSearch is the body of POST /iserver/secdef/search.
type fakeSecdefSearch struct {
	Symbol            string `json:"symbol"`
	SecType           string `json:"secType"`
	Name              bool   `json:"name"`
	More              bool   `json:"more"`
	Fund              bool   `json:"fund"`
	FundFamilyConidEx string `json:"fundFamilyConidEx"`
	Pattern           bool   `json:"pattern"`
	Referrer          string `json:"referrer"`
}

// decodeStrict reads a JSON request body into v, refusing unknown fields,
// trailing data and a content type other than JSON.
func decodeStrict(r *http.Request, v any) error {
	if r.Header.Get("Content-Type") != "application/json" {
		return errors.New("content type must be application/json")
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON body")
	}
	return nil
}
