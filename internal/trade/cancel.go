package trade

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// A cancel signal (TradingView/TradersPost `"action":"cancel"`) cancels the
// trader's open orders in its symbol. This file holds the rule of which
// trades it reaches and how their outcome is counted; the activities only
// read the rows, apply it and record.

// CancelScope is what one cancel signal reaches: one trader, one symbol,
// the broker connection the cancel signal itself routes to, and the orders
// that existed when it arrived.
type CancelScope struct {
	UserID     string
	Symbol     string
	AssetClass string
	// ConnectionID is the connection the cancel signal routes to (its
	// broker override, else the trader's default for the asset class).
	ConnectionID string
	// CancelTradeID is the cancel signal's own trade (never a target).
	CancelTradeID string
	// Before is when the cancel signal's trade was created; orders
	// received later are not cancelled by it.
	Before time.Time
}

// OpenOrder is a trade of the trader as the cancel rule sees it.
type OpenOrder struct {
	TradeID    string
	WorkflowID string
	UserID     string
	Symbol     string
	AssetClass string
	Status     Status
	// Action of the trade's signal; other cancel signals are never targets.
	Action signal.Action
	// ConnectionID is the trade's connection, "" while it has not been
	// routed yet (a queued order is routed again at the open).
	ConnectionID string
	// RoutedConnectionID is where an unrouted trade would go now (its own
	// broker override, else the default); "" when it routes nowhere.
	RoutedConnectionID string
	CreatedAt          time.Time
}

// Cancellable reports whether a trade in status s can still be cancelled:
// it has not reached a final state and has not filled completely. Queued
// and halted orders wait in their workflow; pending, submitted and
// partially filled ones are (or are about to be) working at the broker.
func Cancellable(s Status) bool {
	switch s {
	case StatusPending, StatusAwaiting, StatusQueued, StatusHalted, StatusSubmitted, StatusPartialFill:
		return true
	}
	return false
}

// CancellableStatuses are the statuses Cancellable accepts (for queries).
func CancellableStatuses() []string {
	return []string{string(StatusPending), string(StatusAwaiting), string(StatusQueued), string(StatusHalted), string(StatusSubmitted), string(StatusPartialFill)}
}

// Reaches reports whether the cancel signal of scope cancels order o.
func (s CancelScope) Reaches(o OpenOrder) bool {
	if s.UserID == "" || o.UserID != s.UserID {
		return false // strict per-trader isolation
	}
	if o.TradeID == s.CancelTradeID || o.Action == signal.ActionCancel {
		return false
	}
	if o.Symbol != s.Symbol || o.AssetClass != s.AssetClass {
		return false
	}
	if !Cancellable(o.Status) {
		return false
	}
	if o.CreatedAt.After(s.Before) {
		return false
	}
	conn := o.ConnectionID
	if conn == "" {
		conn = o.RoutedConnectionID
	}
	return s.ConnectionID != "" && conn == s.ConnectionID
}

// CancelTargets returns the orders the cancel signal of scope cancels,
// oldest first (ties by trade id, so the order is stable).
func CancelTargets(s CancelScope, orders []OpenOrder) []OpenOrder {
	var out []OpenOrder
	for _, o := range orders {
		if s.Reaches(o) {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].TradeID < out[j].TradeID
	})
	return out
}

// CancelResult is what happened to one targeted order.
type CancelResult string

const (
	// CancelDone: cancelled with nothing filled.
	CancelDone CancelResult = "cancelled"
	// CancelPartial: part filled before the cancel; the rest was cancelled.
	CancelPartial CancelResult = "partially_filled"
	// CancelTooLate: the order filled completely before it could be cancelled.
	CancelTooLate CancelResult = "filled"
	// CancelNothing: the order ended without reaching the broker for
	// another reason (refused by the risk rules or the broker).
	CancelNothing CancelResult = "rejected"
	// CancelPending: still open when the cancel stopped waiting.
	CancelPending CancelResult = "open"
)

// ResultOf classifies a targeted trade by its state after the cancel.
func ResultOf(status Status, quantity, filled decimal.Decimal) CancelResult {
	switch status {
	case StatusCancelled:
		if filled.IsPositive() {
			return CancelPartial
		}
		return CancelDone
	case StatusFilled:
		if filled.IsPositive() && filled.LessThan(quantity) {
			return CancelPartial
		}
		return CancelTooLate
	case StatusRejected:
		return CancelNothing
	}
	return CancelPending
}

// CancelTally counts the outcomes of one cancel signal.
type CancelTally struct {
	Cancelled int // with nothing filled
	Partial   int // partly filled, the rest cancelled
	Filled    int // filled before they could be cancelled
	Open      int // still being cancelled
}

// Add counts one outcome.
func (t *CancelTally) Add(r CancelResult) {
	switch r {
	case CancelDone:
		t.Cancelled++
	case CancelPartial:
		t.Partial++
	case CancelTooLate:
		t.Filled++
	case CancelPending:
		t.Open++
	}
}
