package trade

import (
	"fmt"
	"strings"
)

// This file words what a cancel does to a trader's orders (a cancel signal,
// a cancel from the dashboard). Like messages.go it is the one place these
// sentences are written.

// CancelOrdersMessage reports what a cancel signal did, e.g. "Cancelled 2
// open AAPL orders.", "No open AAPL orders to cancel." or "Cancelled 1 open
// AAPL order; 1 filled before it could be cancelled."
func CancelOrdersMessage(symbol string, t CancelTally) string {
	n := t.Cancelled + t.Partial
	var first string
	switch {
	case n > 0:
		first = fmt.Sprintf("Cancelled %d open %s %s", n, symbol, plural(n, "order", "orders"))
		if t.Partial > 0 {
			first += fmt.Sprintf(" (%d after %s)", t.Partial, plural(t.Partial, "a partial fill", "partial fills"))
		}
	case t.Open > 0:
		first = fmt.Sprintf("No open %s orders cancelled yet", symbol)
	case t.Filled > 0:
		first = fmt.Sprintf("No open %s orders left to cancel", symbol)
	default:
		return fmt.Sprintf("No open %s orders to cancel.", symbol)
	}
	var extra []string
	if t.Filled > 0 {
		extra = append(extra, fmt.Sprintf("%d filled before %s could be cancelled", t.Filled, plural(t.Filled, "it", "they")))
	}
	if t.Open > 0 {
		extra = append(extra, fmt.Sprintf("%d %s still being cancelled; check %s in the trades list", t.Open, plural(t.Open, "is", "are"), plural(t.Open, "it", "them")))
	}
	if len(extra) == 0 {
		return first + "."
	}
	return first + "; " + strings.Join(extra, "; ") + "."
}

// CancelRequestedMessage is the timeline entry of an order working at the
// broker when a cancel reaches it; the outcome (cancelled, or filled
// meanwhile) follows as its own entry.
func CancelRequestedMessage(brokerName string) string {
	return "Cancel requested: cancelling the order at " + BrokerDisplayName(brokerName) + "."
}

// CancelAcceptedMessage answers a cancel from the dashboard or the API
// (POST /api/v1/trades/{id}/cancel, 202) for a trade in status s; the
// outcome follows as the trade's own events.
func CancelAcceptedMessage(s Status) string {
	switch s {
	case StatusSubmitted:
		return "Cancel requested. The order is being cancelled at the broker."
	case StatusPartialFill:
		return "Cancel requested. The rest of the order is being cancelled at the broker; the quantity already filled stays in your position."
	case StatusQueued, StatusHalted, StatusAwaiting:
		return "Cancel requested. The order will not be sent to the broker."
	}
	return "Cancel requested. The order is being cancelled."
}

// NotCancellableMessage refuses a cancel of a trade that has ended (409).
func NotCancellableMessage(s Status) string {
	return "Only open orders can be cancelled; this order is " + strings.ReplaceAll(string(s), "_", " ") + "."
}

// CancelSignalNotCancellableMessage refuses a cancel of a cancel signal's
// own trade (409): it places no order and ends on its own.
const CancelSignalNotCancellableMessage = "This is a cancel signal, not an order; it ends on its own."

// CancelSignalNotExecutedMessage is what a cancel signal said before cancel
// signals cancelled orders; only TradeWorkflows started before that (the
// workflow version "cancel-signal") still end with it.
func CancelSignalNotExecutedMessage(symbol string) string {
	return fmt.Sprintf("Cancel signal for %s recorded; no new order placed.", symbol)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// NotAwaitingApprovalMessage refuses an approval of a trade that is not
// waiting for one (409).
func NotAwaitingApprovalMessage(s Status) string {
	return "This order is not waiting for approval; it is " + strings.ReplaceAll(string(s), "_", " ") + "."
}

// ApprovalAcceptedMessage answers an approval or a rejection.
func ApprovalAcceptedMessage(approve bool) string {
	if approve {
		return "Approved. The risk check runs now and the order is sent if it passes."
	}
	return "Rejected. The order will not be sent."
}
