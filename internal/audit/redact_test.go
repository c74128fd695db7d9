package audit

import (
	"reflect"
	"testing"
)

func TestRedact(t *testing.T) {
	in := map[string]any{
		"symbol":        "AAPL",
		"apiKey":        "AKIA123",
		"API_SECRET":    "s",
		"Password":      "p",
		"passphrase":    "pp",
		"accessToken":   "t",
		"credentials":   map[string]any{"x": 1},
		"Authorization": "Bearer x",
		"changedFields": []any{"apiKey", "apiSecret"},
		"nested": map[string]any{
			"refresh_token": "r",
			"broker":        "schwab",
			"list":          []any{map[string]any{"client_secret": "c", "ok": true}},
		},
		"headers": map[string]string{"Cookie": "c", "Accept": "json"},
		"legs":    []map[string]any{{"privateKey": "k", "qty": 1}},
	}
	want := map[string]any{
		"symbol":        "AAPL",
		"changedFields": []any{"apiKey", "apiSecret"},
		"nested": map[string]any{
			"broker": "schwab",
			"list":   []any{map[string]any{"ok": true}},
		},
		"headers": map[string]any{"Accept": "json"},
		"legs":    []any{map[string]any{"qty": 1}},
	}
	got := Redact(in)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Redact =\n%#v\nwant\n%#v", got, want)
	}
	if _, ok := in["apiKey"]; !ok {
		t.Fatal("Redact modified its input")
	}
	if Redact(nil) != nil {
		t.Fatal("Redact(nil) != nil")
	}
}

func TestIsSensitiveKey(t *testing.T) {
	tests := map[string]bool{
		"password": true, "NewPassword": true, "webhook_token": true, "KEY": true,
		"clientSecret": true, "credential_id": true, "symbol": false, "quantity": false,
		"orderId": false, "broker": false,
	}
	for k, want := range tests {
		if got := IsSensitiveKey(k); got != want {
			t.Errorf("IsSensitiveKey(%q) = %v, want %v", k, got, want)
		}
	}
}
