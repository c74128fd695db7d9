package trade

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// NonTerminal are the statuses a trade can still leave.
var NonTerminal = []Status{StatusPending, StatusAwaiting, StatusQueued, StatusHalted, StatusSubmitted, StatusPartialFill}

// CountStuck counts, by status, the trades in a non-terminal status whose
// last change is older than before (one grouped query on the status index;
// the non-terminal rows are few). Queued, awaiting-approval and working
// limit orders wait by design; a pending trade (being risk-checked) that
// old is stuck.
func CountStuck(ctx context.Context, db *gorm.DB, before time.Time) (map[string]int, error) {
	statuses := make([]string, len(NonTerminal))
	for i, s := range NonTerminal {
		statuses[i] = string(s)
	}
	var rows []struct {
		Status string
		N      int
	}
	err := db.WithContext(ctx).Model(&schema.Trade{}).Select("status, COUNT(*) AS n").
		Where("status IN ? AND updated_at < ?", statuses, before.UTC()).Group("status").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
