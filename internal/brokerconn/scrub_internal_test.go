package brokerconn

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
)

func TestScrub(t *testing.T) {
	creds := broker.Credentials{
		"api_key":       "PKABCDEF123456",
		"api_secret":    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGvbVV2TFbLJoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----",
		"account_id":    "U12345",
		"short":         "abc",
		"base_url":      "https://api.example.com",
		"starting_cash": "100000",
	}
	secrets := credentialValues(creds)
	cases := []struct{ in, want string }{
		{"key PKABCDEF123456 refused", "key [redacted] refused"},
		{"account U12345 unknown", "account [redacted] unknown"},
		{"line MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGvbVV2TFbLJoAoGCCqGSM49 leaked", "line [redacted] leaked"},
		{"abc is too short to scrub", "abc is too short to scrub"},
		{"https://api.example.com is no secret", "https://api.example.com is no secret"},
		{"balance 100000", "balance 100000"},
	}
	for _, c := range cases {
		if got := scrub(c.in, secrets); got != c.want {
			t.Errorf("scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
