package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Audit are the activities of the audit schedules (AuditVerifyWorkflow,
// AuditArchiveWorkflow); the rules are internal/audit's.
type Audit struct {
	DB    *gorm.DB
	Store objstore.Store
	Keys  *audit.SigningKeys
	Log   *zap.Logger
	// HotWindow: entries older than this leave the database (default 90 days).
	HotWindow time.Duration
	// Retention: how long the store keeps checkpoints and segments.
	Retention time.Duration
	// DiscordWebhookURL, if set, receives every new alert.
	DiscordWebhookURL string
	HTTP              *http.Client
	Now               func() time.Time

	mu sync.Mutex
	cp *audit.Checkpoint // the last checkpoint read (immutable per key)
}

func (a *Audit) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Audit) log() *zap.Logger {
	if a.Log == nil {
		return zap.NewNop()
	}
	return a.Log
}

func (a *Audit) checkpoint(ctx context.Context, key string) (*audit.Checkpoint, error) {
	if key == "" {
		return nil, nil
	}
	a.mu.Lock()
	cp := a.cp
	a.mu.Unlock()
	if cp != nil && cp.Key == key {
		return cp, nil
	}
	cp, err := audit.ReadCheckpoint(ctx, a.Store, a.Keys, key)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.cp = cp
	a.mu.Unlock()
	return cp, nil
}

// AuditLatestCheckpoint names the newest checkpoint; one that does not
// verify is reported (Invalid), not an activity failure.
func (a *Audit) AuditLatestCheckpoint(ctx context.Context) (workflows.AuditCheckpointRef, error) {
	cp, err := audit.LatestCheckpoint(ctx, a.Store, a.Keys)
	switch {
	case errors.Is(err, audit.ErrBadSignature) || errors.Is(err, audit.ErrMalformed):
		a.log().Error("newest audit checkpoint does not verify", zap.Bool("security_alert", true), zap.Error(err))
		return workflows.AuditCheckpointRef{Invalid: err.Error()}, nil
	case err != nil:
		return workflows.AuditCheckpointRef{}, err
	case cp == nil:
		return workflows.AuditCheckpointRef{}, nil
	}
	a.mu.Lock()
	a.cp = cp
	a.mu.Unlock()
	return workflows.AuditCheckpointRef{Key: cp.Key}, nil
}

// AuditVerifyPage verifies one page of chains against the checkpoint.
func (a *Audit) AuditVerifyPage(ctx context.Context, in workflows.AuditVerifyPageInput) (workflows.AuditVerifyPageResult, error) {
	cp, err := a.checkpoint(ctx, in.CheckpointKey)
	if err != nil {
		return workflows.AuditVerifyPageResult{}, err
	}
	p, err := audit.VerifyPage(ctx, a.DB, a.Store, a.Keys, cp, in.After, in.Limit, func(c string) { activity.RecordHeartbeat(ctx, c) })
	if err != nil {
		return workflows.AuditVerifyPageResult{}, err
	}
	out := workflows.AuditVerifyPageResult{AuditVerifyCounts: workflows.AuditVerifyCounts{Chains: p.Checked, Valid: p.Valid,
		Failed: p.Failed, Unanchored: p.Unanchored, NoCheckpoint: p.NoCheckpoint}, Last: p.Last, Done: p.Done}
	for _, r := range p.Problems {
		out.Problems = append(out.Problems, workflows.AuditProblem{Chain: r.UserID, Status: string(r.Status), Seq: r.BrokenSeq,
			Reason: string(r.Reason), Detail: r.Detail})
		if r.Status == audit.ChainTampered {
			a.log().Error("audit chain failed verification", zap.Bool("security_alert", true), zap.String("chain", r.UserID),
				zap.Int64("seq", r.BrokenSeq), zap.String("reason", string(r.Reason)), zap.String("detail", r.Detail))
		}
	}
	return out, nil
}

// AlertID is the alert id of a verification run (stable across retries).
func AlertID(runID string) string {
	sum := sha256.Sum256([]byte(runID))
	return "audit-" + hex.EncodeToString(sum[:16])
}

// AuditRaiseAlert raises the SECURITY_ALERT of a failed verification once.
func (a *Audit) AuditRaiseAlert(ctx context.Context, in workflows.AuditAlertInput) (workflows.AuditAlertResult, error) {
	chains := make([]audit.AlertChain, 0, len(in.Problems))
	for _, p := range in.Problems {
		chains = append(chains, audit.AlertChain{Chain: p.Chain, Seq: p.Seq, Reason: audit.Reason(p.Reason), Detail: p.Detail})
	}
	id, raised, err := audit.RaiseTamperAlert(ctx, a.DB, AlertID(in.RunID), in.Failed, chains, a.now())
	if err != nil {
		return workflows.AuditAlertResult{}, err
	}
	if raised {
		// Once per new alert (a retried activity finds it raised), one
		// count per broken chain: the audit-verify alert rule fires on it.
		for range chains {
			metrics.AuditVerifyFailed()
		}
	}
	return workflows.AuditAlertResult{AlertID: id, Raised: raised,
		Summary: fmt.Sprintf("%d audit chain(s) failed verification against the object store", in.Failed)}, nil
}

// AuditNotifyDiscord posts a new alert to the operators' Discord channel
// when AUDIT_ALERT_DISCORD_WEBHOOK_URL is set.
func (a *Audit) AuditNotifyDiscord(ctx context.Context, in workflows.AuditAlertResult) error {
	if a.DiscordWebhookURL == "" {
		return nil
	}
	err := audit.PostDiscordAlert(ctx, a.HTTP, a.DiscordWebhookURL,
		fmt.Sprintf("**SECURITY ALERT** (%s): %s. See the admin dashboard's audit alerts.", in.AlertID, in.Summary))
	if err != nil {
		return temporal.NewApplicationError(err.Error(), "discord")
	}
	return nil
}

// AuditWriteCheckpoint writes the next checkpoint and returns its key.
func (a *Audit) AuditWriteCheckpoint(ctx context.Context, in workflows.AuditWriteCheckpointInput) (string, error) {
	prev, err := a.checkpoint(ctx, in.Previous)
	if err != nil {
		return "", err
	}
	key, n, err := audit.WriteCheckpoint(ctx, a.DB, a.Store, a.Keys, audit.CheckpointOptions{Previous: prev, Hold: in.Hold,
		Retention: a.retention(), Now: a.now()})
	if err != nil {
		return "", err
	}
	a.log().Info("audit checkpoint written", zap.String("key", key), zap.Int("chains", n), zap.Int("held", len(in.Hold)))
	return key, nil
}

// AuditRecordVerification records a finished verification for admins.
func (a *Audit) AuditRecordVerification(ctx context.Context, in workflows.AuditRecordInput) error {
	r := in.Result
	return audit.RecordVerification(ctx, a.DB, schema.AuditVerification{ID: in.RunID, StartedAt: in.StartedAt.UTC(), FinishedAt: a.now(),
		FromCheckpoint: r.CheckpointKey, NewCheckpoint: r.NewCheckpoint, Chains: int64(r.Chains), Valid: int64(r.Valid),
		Failed: int64(r.Failed), Unanchored: int64(r.Unanchored), AlertID: r.AlertID})
}

// DefaultHotWindow and DefaultRetention apply when Audit leaves them zero.
const (
	DefaultHotWindow = 90 * 24 * time.Hour
	DefaultRetention = 7 * 365 * 24 * time.Hour
)

func (a *Audit) retention() time.Duration {
	if a.Retention <= 0 {
		return DefaultRetention
	}
	return a.Retention
}

// AuditArchivePlan fixes a run's cutoff (now minus the hot window) and the
// checkpoint its chains must verify against.
func (a *Audit) AuditArchivePlan(ctx context.Context) (workflows.AuditArchivePlan, error) {
	ref, err := a.AuditLatestCheckpoint(ctx)
	if err != nil {
		return workflows.AuditArchivePlan{}, err
	}
	hot := a.HotWindow
	if hot <= 0 {
		hot = DefaultHotWindow
	}
	return workflows.AuditArchivePlan{Cutoff: a.now().Add(-hot), CheckpointKey: ref.Key}, nil
}

// AuditArchivePage archives one page of chains.
func (a *Audit) AuditArchivePage(ctx context.Context, in workflows.AuditArchivePageInput) (workflows.AuditArchivePageResult, error) {
	cp, err := a.checkpoint(ctx, in.Plan.CheckpointKey)
	if err != nil {
		return workflows.AuditArchivePageResult{}, err
	}
	p, err := audit.ArchivePage(ctx, a.DB, a.Store, a.Keys, audit.ArchiveOptions{Cutoff: in.Plan.Cutoff, Retention: a.retention(), Checkpoint: cp, Now: a.now()},
		in.After, in.Limit, func(c string) { activity.RecordHeartbeat(ctx, c) })
	if err != nil {
		return workflows.AuditArchivePageResult{}, err
	}
	for _, r := range p.Refused {
		a.log().Warn("audit chain not archived: it does not verify", zap.String("chain", r.UserID), zap.String("reason", string(r.Reason)))
	}
	return workflows.AuditArchivePageResult{AuditArchiveCounts: workflows.AuditArchiveCounts{Chains: p.Chains, Segments: p.Segments,
		Entries: p.Entries, Refused: len(p.Refused)}, Last: p.Last, Done: p.Done}, nil
}
