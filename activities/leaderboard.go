package activities

import (
	"context"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/leaderboard"
	"github.com/tradeexec/tradeexec/workflows"
)

// Leaderboards is the activity of the leaderboard-refresh schedule.
type Leaderboards struct {
	DB  *gorm.DB
	Log *zap.Logger
}

// RefreshLeaderboards recomputes every leaderboard as of in.AsOf and
// replaces the stored rankings in one transaction (idempotent: a retry
// with the same AsOf writes the same rows).
func (a *Leaderboards) RefreshLeaderboards(ctx context.Context, in workflows.LeaderboardRefreshInput) (workflows.LeaderboardRefreshResult, error) {
	asOf := time.Now().UTC()
	if in.AsOf != nil {
		asOf = in.AsOf.UTC()
	}
	r, err := leaderboard.Refresh(ctx, a.DB, asOf)
	if err != nil {
		return workflows.LeaderboardRefreshResult{}, err
	}
	if a.Log != nil {
		a.Log.Info("leaderboards refreshed", zap.Time("as_of", asOf), zap.Int("leaders", r.Leaders), zap.Int("entries", r.Entries),
			zap.Int("unranked", r.Unranked))
	}
	return workflows.LeaderboardRefreshResult{AsOf: asOf, Leaders: r.Leaders, Entries: r.Entries, Unranked: r.Unranked}, nil
}
