package schwab

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// rawOrder posts body as an order of a new fake account and returns the
// status and the error body.
func rawOrder(t *testing.T, f *Fake, body string) (int, schwabTraderErrorJSON) {
	t.Helper()
	creds := f.NewAccount(decimal.NewFromInt(100000))
	get := func(path string, out any) {
		req, _ := http.NewRequest(http.MethodGet, f.URL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+creds[CredAccessToken])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var nums []schwabAccountNumberJSON
	get("/trader/v1/accounts/accountNumbers", &nums)
	if len(nums) != 1 {
		t.Fatalf("account numbers %+v", nums)
	}
	req, _ := http.NewRequest(http.MethodPost, f.URL()+"/trader/v1/accounts/"+nums[0].HashValue+"/orders", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+creds[CredAccessToken])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e schwabTraderErrorJSON
	if resp.StatusCode != http.StatusCreated {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, e
}

// TestFakeDecodesOrdersStrictly: the fake reads order bodies with its own
// types and refuses what Schwab's OrderRequest schema does not have, so a
// field name the adapter gets wrong fails here instead of passing through
// a shared struct.
func TestFakeDecodesOrdersStrictly(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	// An OCO as schwab-py's one_cancels_other builds it (docs/order-builder.rst);
	// buys, so the fresh account's cash covers it.
	const ocoLimit = `{"session":"NORMAL","duration":"GOOD_TILL_CANCEL","orderType":"LIMIT","price":150.0,"complexOrderStrategyType":"NONE",` +
		`"orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"symbol":"AAPL","assetType":"EQUITY"}}]}`
	const ocoStop = `{"session":"NORMAL","duration":"GOOD_TILL_CANCEL","orderType":"STOP","stopPrice":250.0,"complexOrderStrategyType":"NONE",` +
		`"orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"symbol":"AAPL","assetType":"EQUITY"}}]}`
	const good = `{"session":"NORMAL","duration":"DAY","orderType":"MARKET","complexOrderStrategyType":"NONE",` +
		`"orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":1,` +
		`"instrument":{"symbol":"AAPL","assetType":"EQUITY"}}]}`
	tests := []struct {
		name, body string
		status     int
		detail     string
	}{
		{"documented body", good, http.StatusCreated, ""},
		{"leg collection misspelt", strings.Replace(good, "orderLegCollection", "orderLegs", 1), http.StatusBadRequest, `unknown field "orderLegs"`},
		{"order type misspelt", strings.Replace(good, `"orderType"`, `"ordertype"`, 1), http.StatusBadRequest, `unknown field "ordertype"`},
		{"nested key in another case", strings.Replace(good, `"symbol"`, `"Symbol"`, 1), http.StatusBadRequest, `unknown field "Symbol"`},
		{"instrument field misspelt", strings.Replace(good, `"assetType"`, `"asset_type"`, 1), http.StatusBadRequest, `unknown field "asset_type"`},
		{"quantity as a string", strings.Replace(good, `"quantity":1`, `"quantity":"1"`, 1), http.StatusBadRequest, "a number is expected"},
		{"price as a string", strings.Replace(good, `"orderType":"MARKET"`, `"orderType":"LIMIT","price":"190.00"`, 1), http.StatusBadRequest, "a number is expected"},
		{"unsupported documented field", strings.Replace(good, `"session"`, `"cancelTime":"2030-01-01","session"`, 1), http.StatusBadRequest, `unknown field "cancelTime"`},
		{"children on a SINGLE order (a TRIGGER is not modelled)", strings.Replace(good, `"session"`, `"childOrderStrategies":[`+ocoLimit+`],"session"`, 1), http.StatusBadRequest, ""},
		{"documented OCO", `{"orderStrategyType":"OCO","childOrderStrategies":[` + ocoLimit + `,` + ocoStop + `]}`, http.StatusCreated, ""},
		{"OCO with one order", `{"orderStrategyType":"OCO","childOrderStrategies":[` + ocoLimit + `]}`, http.StatusBadRequest, ""},
		{"OCO with its own leg", `{"orderStrategyType":"OCO","orderType":"LIMIT","childOrderStrategies":[` + ocoLimit + `,` + ocoStop + `]}`, http.StatusBadRequest, ""},
		{"OCO child misspelt", `{"orderStrategyType":"OCO","childOrderStrategies":[` + strings.Replace(ocoLimit, `"price"`, `"limitPrice"`, 1) + `,` + ocoStop + `]}`,
			http.StatusBadRequest, `unknown field "limitPrice"`},
		{"two documents", good + good, http.StatusBadRequest, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, e := rawOrder(t, f, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%+v), want %d", status, e, tt.status)
			}
			if tt.detail != "" && !strings.Contains(strings.Join(e.Errors, " "), tt.detail) {
				t.Fatalf("errors %q do not name %q", e.Errors, tt.detail)
			}
		})
	}
}
