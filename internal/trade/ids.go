package trade

import (
	"crypto/sha256"
	"encoding/hex"
)

// WorkflowID is the TradeWorkflow id for one signal and one trader. Starting
// a second workflow with the same id is refused by Temporal, which is the
// first line of invariant 1 (one order per signal per trader).
func WorkflowID(signalID, userID string) string {
	return "trade/" + signalID + "/" + userID
}

// ClientOrderID derives the broker client order id from the workflow id and a
// purpose ("entry", "stop"). It is deterministic, so every retry of
// SubmitOrder — in any worker, after any crash — sends the same id, and the
// broker (or our lookup by client id) refuses a second order. 32 characters
// of [a-z0-9-]: within every supported broker's limits (Binance: 36).
func ClientOrderID(workflowID, purpose string) string {
	sum := sha256.Sum256([]byte(workflowID + "|" + purpose))
	p := "e"
	if purpose != "entry" {
		p = string(purpose[0])
	}
	return "te" + p + "-" + hex.EncodeToString(sum[:])[:28]
}
