package brokerconn

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/coinbase"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// What a trader types to connect each broker, checked before anything is
// stored so a missing or malformed field is a precise 400, not a broker
// round trip.

// Field is one credential field of a broker.
type Field struct {
	Name     string `json:"name"`  // credential key, e.g. "api_key"
	Label    string `json:"label"` // how the dashboard names it
	Required bool   `json:"required"`
	// Secret fields are never shown again once saved.
	Secret bool `json:"secret"`
	// Endpoint fields point the adapter at another host (fakes, dev);
	// accepted only when the server allows custom URLs.
	Endpoint bool `json:"-"`
	max      int
	check    func(v string) string // problem with v, "" when fine
}

// FieldError is a refused connection request; Message is for the trader.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// maxCredentialBytes bounds one value (a PEM key is about 230 bytes).
const maxCredentialBytes = 4096

// MaxStartingCash bounds a new paper account.
var MaxStartingCash = decimal.NewFromInt(10_000_000)

// DefaultStartingCash is a new paper account's cash.
var DefaultStartingCash = decimal.NewFromInt(100_000)

var brokerFields = map[string][]Field{
	"paper": {
		{Name: CredStartingCash, Label: "Starting cash (USD)", max: 20, check: checkStartingCash},
	},
	"alpaca": {
		{Name: "api_key", Label: "API key ID", Required: true, Secret: true, max: 128, check: noSpaces},
		{Name: "api_secret", Label: "Secret key", Required: true, Secret: true, max: 256, check: noSpaces},
		{Name: "base_url", Label: "Trading API URL", Endpoint: true, max: 300, check: httpURL},
		{Name: "data_url", Label: "Market data URL", Endpoint: true, max: 300, check: httpURL},
	},
	"ibkr": {
		{Name: "account_id", Label: "Account ID", Required: true, Secret: true, max: 32, check: ibkrAccount},
		{Name: "base_url", Label: "IB Gateway address (https://host:port/v1/api)", max: 300, check: httpURL},
		{Name: "tls_sha256", Label: "Gateway certificate SHA-256", max: 95, check: sha256Hex},
	},
	"coinbase": {
		{Name: "api_key", Label: "API key name (organizations/…/apiKeys/…)", Required: true, Secret: true, max: 300, check: noSpaces},
		{Name: "api_secret", Label: "API secret (Ed25519 base64, or ECDSA PEM)", Required: true, Secret: true, max: maxCredentialBytes, check: coinbaseSecret},
		{Name: "base_url", Label: "API URL", Endpoint: true, max: 300, check: httpURL},
	},
	"kraken": {
		{Name: "api_key", Label: "API key", Required: true, Secret: true, max: 256, check: noSpaces},
		{Name: "api_secret", Label: "Private key", Required: true, Secret: true, max: 512, check: noSpaces},
		{Name: "base_url", Label: "API URL", Endpoint: true, max: 300, check: httpURL},
	},
	"binance": {
		{Name: "api_key", Label: "API key", Required: true, Secret: true, max: 256, check: noSpaces},
		{Name: "api_secret", Label: "Secret key", Required: true, Secret: true, max: 256, check: noSpaces},
		{Name: "base_url", Label: "API URL", Endpoint: true, max: 300, check: httpURL},
	},
}

// CredStartingCash is the paper connection's optional starting cash;
// CredAccountID names its paper account (generated, never typed).
const (
	CredStartingCash = "starting_cash"
	CredAccountID    = "account_id"
)

// noPaper lists brokers without a paper or sandbox environment.
var noPaper = map[string]bool{"coinbase": true, "kraken": true, "schwab": true}

// BrokerTypes lists the broker types a trader can connect, sorted.
func BrokerTypes() []string {
	out := []string{"schwab"}
	for name := range brokerFields {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Fields returns the credential fields of a broker type a trader fills in
// (endpoint overrides only when allowCustomURLs).
func Fields(brokerType string, allowCustomURLs bool) []Field {
	var out []Field
	for _, f := range brokerFields[brokerType] {
		if f.Endpoint && !allowCustomURLs {
			continue
		}
		out = append(out, f)
	}
	return out
}

// Request is a trader's connection request as the API received it.
type Request struct {
	Broker      string
	Label       string
	Paper       bool
	Credentials map[string]string
}

// ValidateRequest checks a new connection request and returns the
// credentials to store (trimmed). Schwab is refused: it connects through its
// OAuth consent (BeginSchwab), never with typed secrets.
func ValidateRequest(req Request, allowCustomURLs bool) (broker.Credentials, error) {
	name := strings.ToLower(strings.TrimSpace(req.Broker))
	if name == "" {
		return nil, &FieldError{Field: "broker", Message: "Choose a broker: " + strings.Join(BrokerTypes(), ", ") + "."}
	}
	if name == "schwab" {
		return nil, &FieldError{Field: "broker", Message: "Schwab connects through Schwab's own sign-in: use Connect Schwab (GET /api/v1/brokers/schwab/authorize)."}
	}
	if _, ok := brokerFields[name]; !ok {
		return nil, &FieldError{Field: "broker", Message: fmt.Sprintf("%q is not a supported broker. Choose one of %s.", req.Broker, strings.Join(BrokerTypes(), ", "))}
	}
	if req.Paper && noPaper[name] {
		return nil, &FieldError{Field: "paper", Message: trade.BrokerDisplayName(name) + " has no paper-trading environment. Use the paper broker to practise."}
	}
	if err := ValidateLabel(req.Label); err != nil {
		return nil, err
	}
	return validateCredentials(name, req.Credentials, allowCustomURLs)
}

// ValidateLabel checks a connection's label (optional, at most 100
// characters, printable).
func ValidateLabel(label string) error {
	if len([]rune(label)) > 100 {
		return &FieldError{Field: "label", Message: "The label can have at most 100 characters."}
	}
	if strings.ContainsFunc(label, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return &FieldError{Field: "label", Message: "The label can only hold printable characters."}
	}
	return nil
}

func validateCredentials(name string, in map[string]string, allowCustomURLs bool) (broker.Credentials, error) {
	fields := Fields(name, allowCustomURLs)
	known := map[string]Field{}
	for _, f := range fields {
		known[f.Name] = f
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	display := trade.BrokerDisplayName(name)
	out := broker.Credentials{}
	for _, k := range keys {
		f, ok := known[k]
		if !ok {
			return nil, &FieldError{Field: "credentials." + printableKey(k),
				Message: fmt.Sprintf("%s takes no credential named %q. Expected: %s.", display, printableKey(k), fieldNames(fields))}
		}
		v := in[k]
		if f.Name != "api_secret" || name != "coinbase" {
			v = strings.TrimSpace(v)
		} else {
			v = strings.TrimSpace(strings.ReplaceAll(v, `\n`, "\n")) // a PEM pasted as one line
		}
		if v == "" {
			continue
		}
		if len(v) > f.max {
			return nil, &FieldError{Field: "credentials." + k, Message: fmt.Sprintf("%s is too long (at most %d characters).", f.Label, f.max)}
		}
		if problem := f.check(v); problem != "" {
			return nil, &FieldError{Field: "credentials." + k, Message: f.Label + " " + problem}
		}
		out[k] = v
	}
	for _, f := range fields {
		if f.Required && out[f.Name] == "" {
			return nil, &FieldError{Field: "credentials." + f.Name, Message: fmt.Sprintf("%s needs the %s.", display, f.Label)}
		}
	}
	return out, nil
}

func fieldNames(fields []Field) string {
	names := make([]string, 0, len(fields))
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// printableKey keeps an unknown key's echo short and harmless.
func printableKey(k string) string {
	k = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, k)
	if len(k) > 40 {
		k = k[:40]
	}
	return k
}

func noSpaces(v string) string {
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return "must not contain spaces or line breaks (check the copy and paste)."
	}
	return ""
}

func httpURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "must be an http(s) URL such as https://host:port."
	}
	return ""
}

func sha256Hex(v string) string {
	h := strings.ReplaceAll(v, ":", "")
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "must be 64 hexadecimal digits (colons allowed)."
	}
	return ""
}

func ibkrAccount(v string) string {
	if len(v) < 3 || strings.ContainsFunc(v, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) {
		return "must look like U1234567 (live) or DU1234567 (paper): capital letters and digits."
	}
	return ""
}

// coinbaseSecret accepts both CDP key types (Ed25519, the default, and
// ECDSA), read the way the adapter reads them; the reason never echoes it.
func coinbaseSecret(v string) string {
	if err := coinbase.ValidateSecret(v); err != nil {
		return "must be the API secret Coinbase showed: the Ed25519 key (base64), or the ECDSA private key from -----BEGIN EC PRIVATE KEY----- to its END line."
	}
	return ""
}

func checkStartingCash(v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil || !d.IsPositive() || d.GreaterThan(MaxStartingCash) || !d.Round(2).Equal(d) {
		return "must be a positive amount up to 10,000,000 with at most two decimals."
	}
	return ""
}
