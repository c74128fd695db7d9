// Package starts makes accepting a signal durable by itself (DESIGN §4.2):
// the entry point writes the trade (or the Discord message) and a start
// request in ONE transaction, then tries to start the workflow at once. If
// Temporal does not answer, the request stays in workflow_starts and the
// Relay — running in every api and worker process — starts it as soon as
// Temporal answers again. Starting is idempotent by workflow id (a
// workflow id is used once, ever), so two relays, or a relay and the
// entry point, racing on one request start one workflow.
package starts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Kinds of start requests: what the relay tells when one expires.
const (
	KindTrade   = "trade"   // RefID is the trade id
	KindDiscord = "discord" // RefID is the Discord message id
)

// Grace is how long the relay leaves a fresh request to the entry point
// that wrote it (which starts it at once): the relay picks it up only when
// that start failed or its process died in between.
const Grace = 3 * time.Second

// Request is one workflow to start.
type Request struct {
	WorkflowID   string
	WorkflowType string
	Kind         string
	RefID        string
	TaskQueue    string
	Input        any               // the workflow's single argument (JSON-encoded)
	Memo         map[string]any    // shown in the Temporal UI
	Keywords     map[string]string // keyword search attributes by name
	// EagerStart hands the first workflow task to this process's worker.
	EagerStart bool
	// ExpiresAt, when set, is the last moment the workflow may still be
	// started (a Discord signal past its age limit is never executed).
	ExpiresAt time.Time
	// Relayed: no entry point starts it after the commit; the relay starts
	// it on its next sweep (a follow-up written inside an activity's
	// transaction, such as a reversal's entry).
	Relayed bool
}

// Enqueue writes the request inside the caller's transaction; a request for
// a workflow id already written is left as it is (a redelivery).
func Enqueue(tx *gorm.DB, r Request, now time.Time) error {
	if !store.InTransaction(tx) {
		return errors.New("starts: Enqueue must be called inside a transaction")
	}
	row, err := r.row(now.UTC())
	if err != nil {
		return err
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}

func (r Request) row(now time.Time) (schema.WorkflowStart, error) {
	if r.WorkflowID == "" || r.WorkflowType == "" || r.TaskQueue == "" || r.Kind == "" {
		return schema.WorkflowStart{}, errors.New("starts: workflow id, type, kind and task queue are required")
	}
	in, err := json.Marshal(r.Input)
	if err != nil {
		return schema.WorkflowStart{}, fmt.Errorf("starts: input: %w", err)
	}
	memo, err := json.Marshal(orEmpty(r.Memo))
	if err != nil {
		return schema.WorkflowStart{}, fmt.Errorf("starts: memo: %w", err)
	}
	kw, err := json.Marshal(orEmpty(r.Keywords))
	if err != nil {
		return schema.WorkflowStart{}, err
	}
	row := schema.WorkflowStart{ID: uuid.NewString(), WorkflowID: r.WorkflowID, WorkflowType: r.WorkflowType,
		Kind: r.Kind, RefID: r.RefID, TaskQueue: r.TaskQueue, Input: string(in), Memo: string(memo),
		SearchAttrs: string(kw), CreatedAt: now, NextAt: now.Add(Grace)}
	if r.Relayed {
		row.NextAt = now
	}
	if !r.ExpiresAt.IsZero() {
		e := r.ExpiresAt.UTC()
		row.ExpiresAt = &e
	}
	return row, nil
}

func orEmpty[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

// Options are the start options of a request: a workflow id is used once,
// ever — neither a second run while the first runs nor after it finished.
func (r Request) Options() client.StartWorkflowOptions {
	attrs := make([]temporal.SearchAttributeUpdate, 0, len(r.Keywords))
	for k, v := range r.Keywords {
		attrs = append(attrs, temporal.NewSearchAttributeKeyKeyword(k).ValueSet(v))
	}
	return client.StartWorkflowOptions{
		ID:                                       r.WorkflowID,
		TaskQueue:                                r.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         r.EagerStart,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(attrs...),
		Memo:                                     r.Memo,
	}
}

// Start starts the request's workflow; a workflow already started under its
// id (by another relay, an earlier attempt, a redelivery) is success.
func Start(ctx context.Context, tc client.Client, r Request) error {
	return start(ctx, tc, r, "entry")
}

// start starts r's workflow and observes the call's latency
// (tradeexec_workflow_start_duration_seconds) by type, caller and outcome.
func start(ctx context.Context, tc client.Client, r Request, via string) error {
	begin := time.Now()
	_, err := tc.ExecuteWorkflow(ctx, r.Options(), r.WorkflowType, r.Input)
	outcome := "started"
	switch {
	case err == nil:
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		outcome, err = "already_started", nil
	default:
		outcome = "error"
	}
	metrics.WorkflowStart(r.WorkflowType, via, outcome, time.Since(begin))
	return err
}

// Done forgets the request of a started workflow.
func Done(ctx context.Context, db *gorm.DB, workflowID string) error {
	return db.WithContext(ctx).Where("workflow_id = ?", workflowID).Delete(&schema.WorkflowStart{}).Error
}

// DoneAll forgets the requests of several started workflows at once.
func DoneAll(ctx context.Context, db *gorm.DB, workflowIDs []string) error {
	for chunk := range slices.Chunk(workflowIDs, 500) {
		if err := db.WithContext(ctx).Where("workflow_id IN ?", chunk).Delete(&schema.WorkflowStart{}).Error; err != nil {
			return err
		}
	}
	return nil
}

// Pending counts the requests not started yet (the readiness view, tests).
func Pending(ctx context.Context, db *gorm.DB) (int64, error) {
	var n int64
	err := db.WithContext(ctx).Model(&schema.WorkflowStart{}).Count(&n).Error
	return n, err
}

// request rebuilds a stored request; Input stays raw JSON, which the data
// converter passes through unchanged.
func request(row schema.WorkflowStart) (Request, error) {
	r := Request{WorkflowID: row.WorkflowID, WorkflowType: row.WorkflowType, Kind: row.Kind, RefID: row.RefID,
		TaskQueue: row.TaskQueue, Input: json.RawMessage(row.Input)}
	if err := json.Unmarshal([]byte(row.Memo), &r.Memo); err != nil {
		return r, fmt.Errorf("starts: memo of %s: %w", row.WorkflowID, err)
	}
	if err := json.Unmarshal([]byte(row.SearchAttrs), &r.Keywords); err != nil {
		return r, fmt.Errorf("starts: search attributes of %s: %w", row.WorkflowID, err)
	}
	if row.ExpiresAt != nil {
		r.ExpiresAt = *row.ExpiresAt
	}
	return r, nil
}
