package kraken

import (
	"context"
	"net/url"
	"testing"
)

// TestFakeRefusesUnknownParameters: every endpoint takes only its documented
// parameters, as Kraken does, so a parameter the adapter misspells is an
// error rather than an ignored field.
func TestFakeRefusesUnknownParameters(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	a, _ := newAccount(t, f, "100000")
	order := func(extra url.Values) url.Values {
		v := url.Values{"pair": {"XBTUSD"}, "type": {"buy"}, "ordertype": {"limit"}, "volume": {"0.01"},
			"price": {"40000"}, "cl_ord_id": {"sig-1"}, "timeinforce": {"GTC"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	tests := []struct {
		name, method string
		params       url.Values
		trading      bool
		want         string // "" = accepted
	}{
		{"documented AddOrder", "AddOrder", order(nil), true, ""},
		{"misspelt client order id", "AddOrder", order(url.Values{"clordid": {"x"}}), true, "EGeneral:Invalid arguments:clordid"},
		{"misspelt order type", "AddOrder", order(url.Values{"order_type": {"limit"}}), true, "EGeneral:Invalid arguments:order_type"},
		{"documented but not modelled", "AddOrder", order(url.Values{"oflags": {"post"}}), true, "EGeneral:Invalid arguments:oflags"},
		{"unknown time in force", "AddOrder", order(url.Values{"timeinforce": {"DAY"}}), true, "EGeneral:Invalid arguments:timeinforce"},
		{"parameter given twice", "AddOrder", order(url.Values{"volume": {"0.01", "0.02"}}), true, "EGeneral:Invalid arguments:volume"},
		{"OpenOrders by client order id", "OpenOrders", url.Values{"cl_ord_id": {"sig-1"}}, false, ""},
		{"OpenOrders misspelt filter", "OpenOrders", url.Values{"clientOrderId": {"sig-1"}}, false, "EGeneral:Invalid arguments:clientOrderId"},
		{"ClosedOrders by client order id", "ClosedOrders", url.Values{"cl_ord_id": {"sig-1"}}, false, ""},
		{"QueryOrders misspelt txid", "QueryOrders", url.Values{"txids": {"OABCDE-FGHIJ-KLMNOP"}}, false, "EGeneral:Invalid arguments:txids"},
		{"BalanceEx takes no asset", "BalanceEx", url.Values{"asset": {"ZUSD"}}, false, "EGeneral:Invalid arguments:asset"},
		{"unknown method", "Balances", url.Values{}, false, "EGeneral:Unknown method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.c.private(context.Background(), tt.method, tt.params, tt.trading, nil)
			switch ae, ok := asAPIError(err); {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (!ok || !ae.has(tt.want)):
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("public endpoint", func(t *testing.T) {
		err := a.c.public(context.Background(), "/0/public/Ticker", url.Values{"pair": {"XBTUSD"}, "pairs": {"XBTUSD"}}, nil)
		if ae, ok := asAPIError(err); !ok || !ae.has("EGeneral:Invalid arguments:pairs") {
			t.Fatalf("got %v", err)
		}
	})
}
