package brokerconn_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/brokerconn"
)

// testPEM and testEd25519 are freshly made CDP-style secrets of both key
// types (ECDSA P-256 PEM, Ed25519 base64 of 64 bytes).
var testPEM, testEd25519 = func() (string, string) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), base64.StdEncoding.EncodeToString(ed)
}()

func TestValidateRequest(t *testing.T) {
	cases := []struct {
		name   string
		req    brokerconn.Request
		custom bool
		field  string // "" when valid
		msg    string // substring of the message
	}{
		{"alpaca ok", brokerconn.Request{Broker: "alpaca", Credentials: map[string]string{"api_key": " PK123 ", "api_secret": "abc"}}, false, "", ""},
		{"broker missing", brokerconn.Request{}, false, "broker", "Choose a broker"},
		{"unknown broker", brokerconn.Request{Broker: "robinhood"}, false, "broker", "not a supported broker"},
		{"broker case", brokerconn.Request{Broker: "ALPACA", Credentials: map[string]string{"api_key": "PK", "api_secret": "s"}}, false, "", ""},
		{"schwab by keys", brokerconn.Request{Broker: "schwab"}, false, "broker", "Schwab's own sign-in"},
		{"missing secret", brokerconn.Request{Broker: "alpaca", Credentials: map[string]string{"api_key": "PK"}}, false, "credentials.api_secret", "Alpaca needs the Secret key."},
		{"blank secret", brokerconn.Request{Broker: "binance", Credentials: map[string]string{"api_key": "k", "api_secret": "  "}}, false, "credentials.api_secret", "Binance needs"},
		{"unknown field", brokerconn.Request{Broker: "alpaca", Credentials: map[string]string{"api_key": "PK", "api_secret": "s", "password": "x"}}, false, "credentials.password", "takes no credential"},
		{"endpoint in production", brokerconn.Request{Broker: "kraken", Credentials: map[string]string{"api_key": "k", "api_secret": "s", "base_url": "http://127.0.0.1:1"}}, false, "credentials.base_url", ""},
		{"endpoint with fakes", brokerconn.Request{Broker: "kraken", Credentials: map[string]string{"api_key": "k", "api_secret": "s", "base_url": "http://127.0.0.1:1"}}, true, "", ""},
		{"bad endpoint", brokerconn.Request{Broker: "kraken", Credentials: map[string]string{"api_key": "k", "api_secret": "s", "base_url": "ftp://x"}}, true, "credentials.base_url", "http(s) URL"},
		{"space in key", brokerconn.Request{Broker: "alpaca", Credentials: map[string]string{"api_key": "PK 1", "api_secret": "s"}}, false, "credentials.api_key", "spaces"},
		{"paper kraken", brokerconn.Request{Broker: "kraken", Paper: true, Credentials: map[string]string{"api_key": "k", "api_secret": "s"}}, false, "paper", "no paper-trading"},
		{"paper alpaca", brokerconn.Request{Broker: "alpaca", Paper: true, Credentials: map[string]string{"api_key": "k", "api_secret": "s"}}, false, "", ""},
		{"coinbase pem", brokerconn.Request{Broker: "coinbase", Credentials: map[string]string{"api_key": "organizations/o/apiKeys/k", "api_secret": testPEM}}, false, "", ""},
		{"coinbase pem on one line", brokerconn.Request{Broker: "coinbase", Credentials: map[string]string{"api_key": "organizations/o/apiKeys/k", "api_secret": strings.ReplaceAll(testPEM, "\n", `\n`)}}, false, "", ""},
		{"coinbase ed25519", brokerconn.Request{Broker: "coinbase", Credentials: map[string]string{"api_key": "organizations/o/apiKeys/k", "api_secret": testEd25519}}, false, "", ""},
		{"coinbase not pem", brokerconn.Request{Broker: "coinbase", Credentials: map[string]string{"api_key": "k", "api_secret": "abc"}}, false, "credentials.api_secret", "Ed25519 key (base64), or the ECDSA private key"},
		{"ibkr ok", brokerconn.Request{Broker: "ibkr", Credentials: map[string]string{"account_id": "DU1234567", "base_url": "https://203.0.113.7:5000/v1/api"}}, false, "", ""},
		{"ibkr account", brokerconn.Request{Broker: "ibkr", Credentials: map[string]string{"account_id": "du-123"}}, false, "credentials.account_id", "U1234567"},
		{"ibkr pin", brokerconn.Request{Broker: "ibkr", Credentials: map[string]string{"account_id": "U1", "tls_sha256": "zz"}}, false, "credentials.account_id", ""},
		{"ibkr pin hex", brokerconn.Request{Broker: "ibkr", Credentials: map[string]string{"account_id": "U123", "tls_sha256": "zz"}}, false, "credentials.tls_sha256", "64 hexadecimal"},
		{"paper ok", brokerconn.Request{Broker: "paper"}, false, "", ""},
		{"paper cash", brokerconn.Request{Broker: "paper", Credentials: map[string]string{"starting_cash": "25000.50"}}, false, "", ""},
		{"paper cash too much", brokerconn.Request{Broker: "paper", Credentials: map[string]string{"starting_cash": "20000000"}}, false, "credentials.starting_cash", "10,000,000"},
		{"paper cash cents", brokerconn.Request{Broker: "paper", Credentials: map[string]string{"starting_cash": "1.001"}}, false, "credentials.starting_cash", ""},
		{"paper account id typed", brokerconn.Request{Broker: "paper", Credentials: map[string]string{"account_id": "someone-elses"}}, false, "credentials.account_id", "takes no credential"},
		{"long label", brokerconn.Request{Broker: "paper", Label: strings.Repeat("x", 101)}, false, "label", "100"},
		{"control in label", brokerconn.Request{Broker: "paper", Label: "a\x00b"}, false, "label", "printable"},
		{"too long", brokerconn.Request{Broker: "binance", Credentials: map[string]string{"api_key": strings.Repeat("k", 300), "api_secret": "s"}}, false, "credentials.api_key", "too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds, err := brokerconn.ValidateRequest(c.req, c.custom)
			if c.field == "" {
				require.NoError(t, err)
				for k, v := range creds {
					require.Equal(t, strings.TrimSpace(v), v, k)
				}
				return
			}
			var fe *brokerconn.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, c.field, fe.Field)
			require.Contains(t, fe.Message, c.msg)
			for _, v := range c.req.Credentials {
				if len(v) > 3 {
					require.NotContains(t, fe.Message, v, "a refusal never echoes a value")
				}
			}
		})
	}
}

func TestFieldsHideEndpointsInProduction(t *testing.T) {
	for _, name := range brokerconn.BrokerTypes() {
		for _, f := range brokerconn.Fields(name, false) {
			require.NotEqual(t, "data_url", f.Name, name)
			if name != "ibkr" {
				require.NotEqual(t, "base_url", f.Name, name)
			}
		}
	}
	require.Equal(t, []string{"alpaca", "binance", "coinbase", "ibkr", "kraken", "paper", "schwab"}, brokerconn.BrokerTypes())
}
