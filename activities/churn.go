package activities

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/workflows"
)

// Churn are the churn-scoring schedule's activities; the rules are
// internal/analytics/churn's.
type Churn struct {
	DB  *gorm.DB
	Log *zap.Logger
	Now func() time.Time

	mu    sync.Mutex
	model *churn.StoredModel // the last version loaded (immutable per version)
}

func (c *Churn) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Churn) log() *zap.Logger {
	if c.Log == nil {
		return zap.NewNop()
	}
	return c.Log
}

// ChurnPrepare returns the newest model version, training and storing
// version 1 when none is stored.
func (c *Churn) ChurnPrepare(ctx context.Context) (int64, error) {
	sm, err := churn.EnsureModel(ctx, c.DB, c.now())
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.model = sm
	c.mu.Unlock()
	return sm.Row.Version, nil
}

func (c *Churn) version(ctx context.Context, v int64) (*churn.StoredModel, error) {
	c.mu.Lock()
	sm := c.model
	c.mu.Unlock()
	if sm != nil && sm.Row.Version == v {
		return sm, nil
	}
	sm, err := churn.ModelVersion(ctx, c.DB, v)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.model = sm
	c.mu.Unlock()
	return sm, nil
}

// ChurnScorePage scores one page of active traders (idempotent: a retry
// rewrites the same scores and raises no second alert).
func (c *Churn) ChurnScorePage(ctx context.Context, in workflows.ChurnScorePageInput) (workflows.ChurnScorePageResult, error) {
	sm, err := c.version(ctx, in.Plan.ModelVersion)
	if err != nil {
		return workflows.ChurnScorePageResult{}, err
	}
	p, err := churn.ScorePage(ctx, c.DB, sm, in.After, in.Limit, in.Plan.At)
	if err != nil {
		return workflows.ChurnScorePageResult{}, err
	}
	if p.Alerted > 0 {
		c.log().Warn("high churn risk on paying traders", zap.Int("alerted", p.Alerted), zap.Int64("model_version", sm.Row.Version))
	}
	return workflows.ChurnScorePageResult{ChurnCounts: workflows.ChurnCounts{Scored: p.Scored, HighRisk: p.HighRisk, Alerted: p.Alerted,
		Closed: p.Closed}, Last: p.Last, Done: p.Done}, nil
}
