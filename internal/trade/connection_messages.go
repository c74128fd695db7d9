package trade

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/risk"
)

// This file words what happens to a broker connection: connecting,
// credentials refused, health checks. Like messages.go it is the one place
// these sentences are written; they never carry a credential.

// cryptoExchange reports whether a broker is a crypto exchange, whose
// account value is reported as a balance in its quote currency.
func cryptoExchange(name string) bool {
	switch name {
	case "coinbase", "kraken", "binance":
		return true
	}
	return false
}

// AccountValueText formats an account value with cents, always: $12,450.00.
func AccountValueText(value decimal.Decimal) string {
	return risk.FormatPrice(value.Round(2))
}

// ConnectedMessage confirms a new connection (US-002 #1, US-010 #1):
// "Alpaca connected successfully", "Binance connected: $12,450.00 USDT
// balance". Stock brokers show the account value beside the sentence.
func ConnectedMessage(brokerName string, value decimal.Decimal, currency string) string {
	b := BrokerDisplayName(brokerName)
	if cryptoExchange(brokerName) {
		if currency == "" {
			currency = "USD"
		}
		return b + " connected: " + AccountValueText(value) + " " + currency + " balance"
	}
	return b + " connected successfully"
}

// CredentialsUpdatedMessage confirms a re-connection with new credentials.
func CredentialsUpdatedMessage(brokerName string) string {
	return BrokerDisplayName(brokerName) + " credentials updated; the connection is active."
}

// ConnectFailureMessage says why a broker refused to connect. detail is the
// adapter's own (safe) message, used where it is the actionable part.
func ConnectFailureMessage(brokerName string, kind broker.Kind, detail string) string {
	b := BrokerDisplayName(brokerName)
	switch kind {
	case broker.KindAuthFailed:
		switch brokerName {
		case "alpaca", "binance":
			return b + " rejected these API keys. Check the key and secret and try again."
		case "kraken":
			return b + " rejected this API key. Check the key, its private key and its permissions (query funds, query and create orders) and try again."
		case "coinbase":
			return b + " rejected this API key. Check the key name and its private key (ECDSA) and try again."
		case "ibkr":
			return withSentence(b+" did not accept the connection.", detail, "Log in to IB Gateway, check the account id and try again.")
		case "schwab":
			return withSentence(b+" did not accept the authorization.", detail, "Connect Schwab again.")
		case "paper":
			return "The paper account could not be opened. Try again."
		}
		return b + " rejected these credentials. Check them and try again."
	case broker.KindUnavailable:
		return b + " is not reachable right now. Nothing was saved; try again in a few minutes."
	case broker.KindRateLimited:
		return b + " is limiting requests right now. Nothing was saved; try again in a minute."
	}
	return withSentence(b+" could not confirm the account.", detail, "Try again.")
}

// ConnectPendingMessage answers when the broker has not confirmed within the
// request's wait; the outcome arrives as an event.
func ConnectPendingMessage(brokerName string) string {
	b := BrokerDisplayName(brokerName)
	return "Still checking the account with " + b + ". Settings → Brokers shows the result in a moment."
}

// ConnectAbandonedMessage is the outcome of an attempt that was no longer
// pending when its check ran (disconnected meanwhile, or expired).
func ConnectAbandonedMessage(brokerName string) string {
	return "This " + BrokerDisplayName(brokerName) + " connection attempt is no longer pending. Start it again from Settings → Brokers."
}

// DisconnectedMessage confirms a disconnect.
func DisconnectedMessage(brokerName string) string {
	return BrokerDisplayName(brokerName) + " disconnected. Its credentials were deleted."
}

// UnhealthyMessage says why a health check failed (FR-019).
func UnhealthyMessage(brokerName string, kind broker.Kind, detail string) string {
	b := BrokerDisplayName(brokerName)
	switch kind {
	case broker.KindAuthFailed:
		if (brokerName == "ibkr" || brokerName == "schwab") && detail != "" {
			return ensureSentence(detail)
		}
		return b + " rejected the stored credentials. Reconnect " + b + " in Settings → Brokers."
	case broker.KindRateLimited:
		return b + " is limiting requests; the connection is checked again in 5 minutes."
	}
	return b + " is not responding. Orders sent there may fail until it recovers; the connection is checked again in 5 minutes."
}

// RecoveredMessage announces a connection that answers again.
func RecoveredMessage(brokerName string) string {
	return BrokerDisplayName(brokerName) + " connection restored."
}

// withSentence appends detail (or the fallback when detail is empty) as a
// sentence of its own.
func withSentence(head, detail, fallback string) string {
	if d := strings.TrimSpace(detail); d != "" {
		return head + " " + ensureSentence(d)
	}
	return head + " " + fallback
}

func ensureSentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}
