package trade

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Change describes one state change of a trade: what the audit log records
// and which real-time event announces it.
type Change struct {
	Action  string         // audit action, e.g. audit.ActionTradeSubmitted
	Failed  bool           // audit status "failure"
	Message string         // trader-facing sentence; stored in the audit details
	Details map[string]any // extra audit details (never a secret)
	Event   string         // outbox event type; "" for none
}

// ErrNoChange, returned by a mutate function, leaves the trade untouched and
// records nothing (the step was already recorded: idempotent retries).
var ErrNoChange = errors.New("trade: no change")

// Now is the clock of the trade ledger (UTC); tests may replace it.
var Now = func() time.Time { return time.Now().UTC() }

// Record applies one state change to a trade in ONE database transaction:
// the trade row is locked and updated, the audit entry is appended to the
// user's hash chain, and the outbox event is written with the user's next
// sequence number (DESIGN §3, invariant 3). It returns the trade as stored.
// mutate may write other rows through tx (same transaction).
// When mutate returns ErrNoChange, nothing is written and the current row is
// returned with a nil error.
func Record(ctx context.Context, db *gorm.DB, tradeID string, mutate func(tx *gorm.DB, t *schema.Trade) (Change, error)) (schema.Trade, error) {
	var out schema.Trade
	changed := false
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		changed = false
		var t schema.Trade
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&t, "id = ?", tradeID).Error; err != nil {
			return err
		}
		before := t.Status
		ch, err := mutate(tx, &t)
		if errors.Is(err, ErrNoChange) {
			out = t
			return nil
		}
		if err != nil {
			return err
		}
		t.UpdatedAt = Now()
		if err := tx.Save(&t).Error; err != nil {
			return err
		}
		if err := AppendAuditAndEvent(tx, t, ch); err != nil {
			return err
		}
		out, changed = t, t.Status != before
		return nil
	})
	if err == nil && changed {
		// Counted once Record succeeds; inside a caller's transaction that
		// later rolls back, the retry counts it again (rare, and a counter).
		metrics.TradeTransition(out.Status)
	}
	return out, err
}

// AppendAuditAndEvent writes the audit entry and outbox event of a change to
// trade t inside the caller's transaction tx.
func AppendAuditAndEvent(tx *gorm.DB, t schema.Trade, ch Change) error {
	details := map[string]any{
		"status": t.Status,
		"symbol": t.Symbol,
		"side":   t.Side,
		"broker": t.Broker,
	}
	if ch.Message != "" {
		details["message"] = ch.Message
	}
	for k, v := range ch.Details {
		details[k] = v
	}
	status := "success"
	errMsg := ""
	if ch.Failed {
		status = "failure"
		errMsg = ch.Message
	}
	if _, err := audit.Append(tx, audit.Entry{
		UserID:       t.UserID,
		Action:       ch.Action,
		ResourceType: "Trade",
		ResourceID:   t.ID,
		Status:       status,
		ErrorMessage: errMsg,
		Details:      details,
		At:           Now(),
	}); err != nil {
		return err
	}
	if ch.Event != "" {
		payload := struct {
			Trade   View   `json:"trade"`
			Message string `json:"message,omitempty"`
		}{ViewOf(t), ch.Message}
		if _, err := realtime.AppendEvent(tx, t.UserID, ch.Event, payload); err != nil {
			return err
		}
	}
	return nil
}
