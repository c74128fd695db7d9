package trade

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/schema"
)

// ExpireUnstarted cancels a trade whose workflow could not be started before
// its deadline (Temporal was unreachable for longer than the signal may
// wait): nothing reached a broker, and the trader is told why. A trade that
// already moved on is left alone.
func ExpireUnstarted(ctx context.Context, db *gorm.DB, tradeID, reason string) error {
	_, err := Record(ctx, db, tradeID, func(_ *gorm.DB, t *schema.Trade) (Change, error) {
		if Status(t.Status) != StatusPending {
			return Change{}, ErrNoChange
		}
		t.Status = string(StatusCancelled)
		t.ErrorMessage = reason
		return Change{Action: audit.ActionOrderCancelled, Failed: true, Message: reason, Event: realtime.EventTradeCancelled,
			Details: map[string]any{"reason": "workflow start expired"}}, nil
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	return err
}
