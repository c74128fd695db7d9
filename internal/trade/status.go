// Package trade holds the trade lifecycle: statuses, identifiers derived from
// the workflow id, the one transaction that records every state change
// (trade row + audit entry + outbox event), and the wording shown to traders.
package trade

// Status of a trade (schema.Trade.Status and the TradeStatus search attribute).
type Status string

const (
	StatusPending     Status = "pending"          // received, being risk-checked
	StatusAwaiting    Status = "pending_approval" // approval mode: waits for the trader's yes or no
	StatusQueued      Status = "queued"           // market closed; waiting for the next open
	StatusHalted      Status = "market_halted"    // trading in the symbol halted; resent when it resumes
	StatusSubmitted   Status = "submitted"        // accepted by the broker
	StatusPartialFill Status = "partial_fill"     // some quantity filled, rest working
	StatusFilled      Status = "filled"           // done (possibly partially, remainder cancelled)
	StatusRejected    Status = "rejected"         // refused by risk rules or the broker
	StatusCancelled   Status = "cancelled"        // cancelled before any fill
)

// Terminal reports whether the trade can change no more.
func (s Status) Terminal() bool {
	switch s {
	case StatusFilled, StatusRejected, StatusCancelled:
		return true
	}
	return false
}
