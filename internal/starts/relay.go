package starts

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Expirer ends, with the reason told to the trader, what a request that can
// no longer be started was for (the trade is cancelled, the Discord message
// logged as not executed). It must be idempotent.
type Expirer func(ctx context.Context, db *gorm.DB, refID, reason string) error

// Relay starts the requests whose entry point could not (Temporal was
// unreachable, the process died after the commit). Every api and worker
// process runs one; a request is claimed by moving its next_at forward
// (compare-and-set), and starting is idempotent by workflow id anyway.
type Relay struct {
	DB       *gorm.DB
	Temporal client.Client
	Log      *zap.Logger
	// Expire by request kind; a kind without one is started however late.
	Expire map[string]Expirer
	Now    func() time.Time
	// Interval between sweeps (default 1 s).
	Interval time.Duration
	// StartTimeout bounds one start attempt (default 5 s).
	StartTimeout time.Duration
}

// lease is how long a claimed request is left to the relay that claimed it.
const lease = 30 * time.Second

// maxBackoff caps the wait between attempts: a start is retried at least
// this often while Temporal is down, so it runs within seconds of its return.
const maxBackoff = 5 * time.Second

// batch is the number of requests one sweep claims.
const batch = 100

func (r *Relay) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

// Run sweeps until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("start relay sweep", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep starts (or expires) the due requests and returns how many
// workflows it started.
func (r *Relay) Sweep(ctx context.Context) (int, error) {
	now := r.now()
	var due []schema.WorkflowStart
	if err := r.DB.WithContext(ctx).Where("next_at <= ?", now).Order("next_at").Limit(batch).Find(&due).Error; err != nil {
		return 0, err
	}
	started := 0
	for _, row := range due {
		res := r.DB.WithContext(ctx).Model(&schema.WorkflowStart{}).Where("id = ? AND next_at = ?", row.ID, row.NextAt).
			Update("next_at", now.Add(lease))
		if res.Error != nil {
			return started, res.Error
		}
		if res.RowsAffected == 0 {
			continue // another relay has it
		}
		ok, err := r.handle(ctx, row)
		if err != nil {
			if ctx.Err() != nil {
				return started, ctx.Err()
			}
			r.retryLater(ctx, row, err)
			// Temporal is most likely down: the other requests would fail the
			// same way; they are tried again on the next sweep.
			if errors.Is(err, errUnreachable) {
				return started, nil
			}
			continue
		}
		if ok {
			started++
		}
	}
	return started, nil
}

var errUnreachable = errors.New("starts: Temporal did not answer")

// handle starts or expires one claimed request; ok reports a start.
func (r *Relay) handle(ctx context.Context, row schema.WorkflowStart) (bool, error) {
	req, err := request(row)
	if err != nil {
		return false, err
	}
	log := r.Log.With(zap.String("workflow_id", row.WorkflowID), zap.String("kind", row.Kind), zap.Int("attempt", row.Attempts+1))
	if row.ExpiresAt != nil && r.now().After(*row.ExpiresAt) {
		if exp := r.Expire[row.Kind]; exp != nil {
			reason := "Not executed: the trading service was unavailable until after the signal's time limit (" +
				row.ExpiresAt.Sub(row.CreatedAt).Round(time.Second).String() + ")."
			if err := exp(ctx, r.DB, row.RefID, reason); err != nil {
				return false, err
			}
			log.Warn("signal expired before its workflow could be started")
			return false, Done(ctx, r.DB, row.WorkflowID)
		}
	}
	timeout := r.StartTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	err = start(sctx, r.Temporal, req, "relay")
	cancel()
	if err != nil {
		return false, errors.Join(errUnreachable, err)
	}
	log.Info("workflow started by the start relay", zap.Duration("late_by", r.now().Sub(row.CreatedAt)))
	return true, Done(ctx, r.DB, row.WorkflowID)
}

func (r *Relay) retryLater(ctx context.Context, row schema.WorkflowStart, cause error) {
	backoff := min(time.Duration(1<<min(row.Attempts, 6))*250*time.Millisecond, maxBackoff)
	msg := cause.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	r.Log.Warn("workflow not started yet; retrying", zap.String("workflow_id", row.WorkflowID),
		zap.Int("attempt", row.Attempts+1), zap.Duration("retry_in", backoff), zap.Error(cause))
	err := r.DB.WithContext(ctx).Model(&schema.WorkflowStart{}).Where("id = ?", row.ID).
		Updates(map[string]any{"attempts": row.Attempts + 1, "next_at": r.now().Add(backoff), "last_error": msg}).Error
	if err != nil {
		r.Log.Warn("start relay: record attempt", zap.Error(err))
	}
}
