package ibkr

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// The fake reads order tickets into its own types written from IBKR's docs:
// a field IBKR does not document, a number sent as a string and a TRAIL
// without its stop price are refused; the documented ticket is accepted.
func TestFakeRefusesUndocumentedTickets(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	f.SetPacing(Pacing{})
	acct, base := f.NewAccount(dec("100000"))
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("User-Agent", "test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(http.MethodGet, "/iserver/accounts", ""); code != 200 {
		t.Fatalf("accounts: %d", code)
	}
	orders := "/iserver/account/" + acct + "/orders"
	n := 0
	ticket := func(extra string) string {
		n++
		return `{"orders":[{"acctId":"` + acct + `","conid":265598,"secType":"265598:STK","cOID":"c-` + strconv.Itoa(n) +
			`","side":"BUY","tif":"DAY","quantity":1,` + extra + `}]}`
	}
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"undocumented field", ticket(`"orderType":"MKT","trailingTyp":"%"`), false},
		{"quoted number", ticket(`"orderType":"LMT","price":"189.50"`), false},
		{"quoted conid", strings.Replace(ticket(`"orderType":"MKT"`), `265598,`, `"265598",`, 1), false},
		{"TRAIL without price", ticket(`"orderType":"TRAIL","trailingAmt":2,"trailingType":"%"`), false},
		{"TRAIL with price", ticket(`"orderType":"TRAIL","price":186.2,"trailingAmt":2,"trailingType":"%"`), true},
		{"documented market order", ticket(`"orderType":"MKT","outsideRTH":false`), true},
	}
	for _, tt := range tests {
		code, body := do(http.MethodPost, orders, tt.body)
		if (code == 200) != tt.ok {
			t.Errorf("%s: %d %s", tt.name, code, body)
		}
	}
	if code, _ := do(http.MethodPost, "/iserver/reply/x", `{"confirmed":true,"extra":1}`); code != 400 {
		t.Errorf("reply with an undocumented field: %d", code)
	}
}
