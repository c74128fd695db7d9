package trade

import (
	"fmt"
	"strings"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// This file is the one place where broker failures become sentences a trader
// reads (dashboard, Discord DM, webhook answers, workflow results).

// BrokerDisplayName is how a broker type is written to traders.
func BrokerDisplayName(name string) string {
	switch name {
	case "paper":
		return "Paper broker"
	case "alpaca":
		return "Alpaca"
	case "ibkr":
		return "Interactive Brokers"
	case "schwab":
		return "Schwab"
	case "coinbase":
		return "Coinbase"
	case "kraken":
		return "Kraken"
	case "binance":
		return "Binance"
	}
	if name == "" {
		return "Broker"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// SubmitFailureMessage words a failed order submission. detail is the
// adapter's own (already safe) message.
func SubmitFailureMessage(brokerName string, kind broker.Kind, detail string) string {
	b := BrokerDisplayName(brokerName)
	switch kind {
	case broker.KindUnavailable:
		return b + " temporarily unavailable. Order not submitted."
	case broker.KindRateLimited:
		return b + " rate limit reached. Order not submitted."
	case broker.KindAuthFailed:
		return b + " rejected the stored credentials. Reconnect " + b + " in Settings → Brokers. Order not submitted."
	case broker.KindInsufficientFunds:
		if detail != "" && strings.HasPrefix(detail, "Insufficient buying power") {
			return detail
		}
		return "Insufficient buying power at " + b + ". Order not submitted."
	case broker.KindInvalidSymbol:
		return withDetail(b+" does not trade this symbol. Order not submitted.", detail)
	case broker.KindMarketClosed:
		return "Market is closed at " + b + ". Order not submitted."
	case broker.KindInvalidOrder:
		return withDetail(b+" refused the order parameters. Order not submitted.", detail)
	case broker.KindRejected:
		return withDetail(b+" rejected the order.", detail)
	}
	return b + " could not take the order. Order not submitted."
}

func withDetail(msg, detail string) string {
	if detail == "" {
		return msg
	}
	return fmt.Sprintf("%s (%s)", msg, detail)
}

// FilledMessage is the confirmation after a fill: "TSLA buy 10 @ $250.00 filled".
func FilledMessage(symbol, side, qty, price string) string {
	return fmt.Sprintf("%s %s %s @ %s filled", symbol, side, qty, price)
}

// SubmittedMessage confirms an accepted order the way US-001 #4 words it:
// "TSLA limit buy 50 shares @ $250.00 submitted".
func SubmittedMessage(symbol, orderType, side, qty, unit, price string) string {
	s := fmt.Sprintf("%s %s %s %s", symbol, orderType, side, qty)
	if unit != "" {
		s += " " + unit
	}
	if price != "" {
		s += " @ " + price
	}
	return s + " submitted"
}
