// Package intake records a signal for a trader and starts its TradeWorkflow.
// Every entry point (webhook, dashboard order, Discord, copy trading) goes
// through Submit, so de-duplication and workflow identity are the same for
// all of them (invariant 1).
package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Service submits signals.
type Service struct {
	DB        *gorm.DB
	Temporal  client.Client
	TaskQueue string
	Timeouts  workflows.Timeouts
	Committed func(userID string)
	Now       func() time.Time
	// StartWait bounds the immediate start after the commit (default 1 s);
	// when Temporal does not answer within it, the start relay starts the
	// workflow later and the signal is accepted all the same.
	StartWait time.Duration
	Log       *zap.Logger
}

// StartDeadline is how long an accepted trade may wait for its workflow to
// be started while Temporal is unreachable; after it the trade is cancelled
// with the reason (an order days late is not what the trader asked for).
const StartDeadline = 10 * time.Minute

// Request is one signal for one trader.
type Request struct {
	UserID string
	Signal signal.Signal // ExternalID must be set: the de-duplication key
	Manual bool
	// IP and UserAgent of the sender, for the audit log.
	IPAddress string
	UserAgent string
	// Memo adds entries to the TradeWorkflow's memo (shown in the Temporal
	// UI), e.g. the channel source of a fanned-out signal.
	Memo map[string]any
	// SourceID is the Discord source of a fanned-out signal (its
	// subscription's approval setting applies).
	SourceID string
	// Also, when set, runs inside Record's transaction after the request's
	// signal and trade are recorded (or found recorded): the copy fan-out
	// writes its copy order there, so the two commit together.
	Also func(tx *gorm.DB, res Result) error
}

// Result identifies the signal and trade; Duplicate is true when this
// delivery matched an earlier one (nothing new was created).
type Result struct {
	SignalID   string `json:"signalId"`
	TradeID    string `json:"tradeId"`
	WorkflowID string `json:"workflowId"`
	Duplicate  bool   `json:"duplicate"`
	// Deferred: the signal is accepted (stored with its start request) but
	// Temporal did not answer at once; the start relay starts it.
	Deferred bool `json:"deferred,omitempty"`

	// created: this call wrote the trade (it needs its start request),
	// even when the signal row was there already.
	created bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Submit stores the signal, the trader's trade (once per external id) and
// the request to start its TradeWorkflow in one transaction: once it
// returns without error the signal is accepted for good. It then starts the
// workflow at once (once per workflow id); when Temporal does not answer
// within StartWait the start relay (internal/starts) starts it later, and
// Result.Deferred says so.
func (s *Service) Submit(ctx context.Context, req Request) (res Result, err error) {
	defer func() {
		if err != nil {
			metrics.SignalReceived(string(req.Signal.Source), metrics.OutcomeRefused)
		}
	}()
	payload, err := prepare(req)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	err = store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		var err error
		res, err = record(tx, req, payload, now)
		if err != nil || !res.created {
			return err
		}
		return starts.Enqueue(tx, withDeadline(s.startRequest(req, res), now), now)
	})
	if err != nil {
		return Result{}, err
	}
	if res.created {
		metrics.TradeTransition("pending")
	}
	if s.Committed != nil {
		s.Committed(req.UserID)
	}
	wait := s.StartWait
	if wait <= 0 {
		wait = time.Second
	}
	// The signal is stored: from here on the caller's deadline no longer
	// decides anything, and a start that does not answer in time is left to
	// the relay.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	if err := s.Start(sctx, req, res); err != nil {
		res.Deferred = true
		metrics.SignalReceived(string(req.Signal.Source), metrics.OutcomeDeferred)
		s.logger().Warn("workflow start deferred to the start relay", zap.String("workflow_id", res.WorkflowID), zap.Error(err))
		return res, nil
	}
	metrics.SignalReceived(string(req.Signal.Source), outcomeOf(res))
	if err := starts.Done(sctx, s.DB, res.WorkflowID); err != nil {
		// The workflow runs; the relay finds it started and forgets the request.
		s.logger().Warn("start request not cleared", zap.String("workflow_id", res.WorkflowID), zap.Error(err))
	}
	return res, nil
}

func (s *Service) logger() *zap.Logger {
	if s.Log != nil {
		return s.Log
	}
	return zap.NewNop()
}

// Record stores the signals and trades of several requests in ONE
// transaction, with the same de-duplication as Submit, and starts no
// workflow: the caller starts each TradeWorkflow under the returned
// WorkflowID (the channel fan-out with Start). Results are
// in the order of reqs.
func (s *Service) Record(ctx context.Context, reqs []Request) ([]Result, error) {
	payloads := make([][]byte, len(reqs))
	for i, req := range reqs {
		p, err := prepare(req)
		if err != nil {
			return nil, fmt.Errorf("intake: request %d (user %s): %w", i, req.UserID, err)
		}
		payloads[i] = p
	}
	var out []Result
	err := store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		out = make([]Result, len(reqs))
		now := s.now()
		for i, req := range reqs {
			res, err := record(tx, req, payloads[i], now)
			if err != nil {
				return err
			}
			if req.Also != nil {
				if err := req.Also(tx, res); err != nil {
					return err
				}
			}
			out[i] = res
			if res.created {
				if err := starts.Enqueue(tx, withDeadline(s.startRequest(req, res), now), now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, res := range out {
		// Accepted here; the caller's start failing later is the relay's.
		metrics.SignalReceived(string(reqs[i].Signal.Source), outcomeOf(res))
		if res.created {
			metrics.TradeTransition("pending")
		}
	}
	if s.Committed != nil {
		for _, req := range reqs {
			s.Committed(req.UserID)
		}
	}
	return out, nil
}

// outcomeOf is a stored request's signals_received outcome.
func outcomeOf(res Result) string {
	if res.Duplicate {
		return metrics.OutcomeDuplicate
	}
	return metrics.OutcomeAccepted
}

// RecordFollowUp records, inside the caller's transaction tx, a signal that
// follows from another trade's outcome (a reversal's entry after its exit
// filled) with its trade and its start request; the start relay starts its
// workflow on its next sweep. Idempotent by the signal's external id.
func (s *Service) RecordFollowUp(tx *gorm.DB, req Request) (Result, error) {
	payload, err := prepare(req)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	res, err := record(tx, req, payload, now)
	if err != nil || !res.created {
		return res, err
	}
	r := withDeadline(s.startRequest(req, res), now)
	r.Relayed = true
	return res, starts.Enqueue(tx, r, now)
}

// maxExternalID is the length of signals.external_id.
const maxExternalID = 200

// prepare validates a request and encodes its signal for the signals row.
func prepare(req Request) ([]byte, error) {
	sig := req.Signal
	if sig.ExternalID == "" {
		return nil, errors.New("intake: signal has no external id")
	}
	// The key must fit its column (signals.external_id, 200 characters):
	// an entry point that let a longer one through answers 400, not 500.
	if utf8.RuneCountInString(sig.ExternalID) > maxExternalID {
		return nil, &signal.ParseError{Field: "id", Reason: "is too long"}
	}
	if err := sig.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(sig)
}

// record stores one request's signal row and trade row (each once) with
// their audit entries and outbox event inside tx.
func record(tx *gorm.DB, req Request, payload []byte, now time.Time) (Result, error) {
	sig := req.Signal
	var res Result
	row := schema.Signal{
		ID: uuid.NewString(), Source: string(sig.Source), ExternalID: sig.ExternalID, UserID: req.UserID,
		Symbol: sig.Symbol, Payload: string(payload), Text: sig.Text, ReceivedAt: now,
	}
	ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if ins.Error != nil {
		return res, ins.Error
	}
	if ins.RowsAffected == 0 {
		var existing schema.Signal
		if err := tx.Where("source = ? AND external_id = ?", sig.Source, sig.ExternalID).First(&existing).Error; err != nil {
			return res, err
		}
		row = existing
		res.Duplicate = true
	}
	res.SignalID = row.ID
	res.WorkflowID = trade.WorkflowID(row.ID, req.UserID)

	var t schema.Trade
	err := tx.Where("signal_id = ? AND user_id = ?", row.ID, req.UserID).First(&t).Error
	if err == nil {
		res.TradeID = t.ID
		res.Duplicate = true
		return res, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return res, err
	}
	t = newTrade(row.ID, req.UserID, sig, res.WorkflowID, now)
	if err := tx.Create(&t).Error; err != nil {
		return res, err
	}
	res.TradeID, res.created = t.ID, true
	if _, err := audit.Append(tx, audit.Entry{
		UserID: req.UserID, Action: audit.ActionSignalReceived, ResourceType: "Signal", ResourceID: row.ID,
		IPAddress: req.IPAddress, UserAgent: req.UserAgent, Status: "success", At: now,
		Details: map[string]any{"source": string(sig.Source), "text": sig.Text, "externalId": sig.ExternalID},
	}); err != nil {
		return res, err
	}
	return res, trade.AppendAuditAndEvent(tx, t, trade.Change{
		Action: audit.ActionTradeCreated, Message: "Signal received: " + sig.Text, Event: realtime.EventTradeUpdated,
		Details: map[string]any{"signalId": row.ID, "workflowId": res.WorkflowID},
	})
}

// startRequest is the durable request to start a recorded request's
// TradeWorkflow (res from record).
func (s *Service) startRequest(req Request, res Result) starts.Request {
	sig := req.Signal
	memo := map[string]any{"signal": sig.Text, "tradeId": res.TradeID, "signalId": res.SignalID}
	for k, v := range req.Memo {
		memo[k] = v
	}
	return starts.Request{
		WorkflowID: res.WorkflowID, WorkflowType: workflows.TradeWorkflowName, Kind: starts.KindTrade, RefID: res.TradeID,
		TaskQueue: s.TaskQueue,
		Input: workflows.TradeInput{TradeID: res.TradeID, SignalID: res.SignalID, UserID: req.UserID, Signal: sig,
			Manual: req.Manual, Timeouts: s.Timeouts, SourceID: req.SourceID, Shape: workflows.TradeShape},
		Memo: memo,
		Keywords: map[string]string{
			workflows.SAUserID.GetName():       req.UserID,
			workflows.SASymbol.GetName():       sig.Symbol,
			workflows.SASignalSource.GetName(): string(sig.Source),
			workflows.SATradeStatus.GetName():  string(trade.StatusPending),
		},
		// The API process also runs a worker in dev and single-binary
		// deployments: the first workflow task is handed to it directly.
		EagerStart: true,
	}
}

// withDeadline sets when an accepted trade that could not be started yet
// is cancelled instead (StartDeadline after it was accepted).
func withDeadline(r starts.Request, accepted time.Time) starts.Request {
	r.ExpiresAt = accepted.Add(StartDeadline)
	return r
}

// Start starts the TradeWorkflow of a recorded request (res from Record or
// Submit) under res.WorkflowID, eagerly on the local worker when this
// process runs one. A workflow already started under that id — a
// redelivery, a retried fan-out page, the start relay — is not an error.
// The caller then forgets the start request (starts.Done, starts.DoneAll).
func (s *Service) Start(ctx context.Context, req Request, res Result) error {
	return starts.Start(ctx, s.Temporal, s.startRequest(req, res))
}

func newTrade(signalID, userID string, sig signal.Signal, workflowID string, now time.Time) schema.Trade {
	t := schema.Trade{
		ID: uuid.NewString(), SignalID: signalID, UserID: userID, Source: string(sig.Source),
		Symbol: sig.Symbol, AssetClass: string(sig.AssetClass), Side: string(sig.Side), OrderType: string(sig.OrderType),
		RequestedQuantity: sig.Quantity, Quantity: sig.Quantity, FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero,
		Status: string(trade.StatusPending), WorkflowID: workflowID, CreatedAt: now, UpdatedAt: now,
		ClientOrderID: trade.ClientOrderID(workflowID, "entry"),
	}
	if t.Side == "" {
		t.Side = string(signal.SideBuy)
	}
	if sig.LimitPrice.IsPositive() {
		t.LimitPrice = decimal.NewNullDecimal(sig.LimitPrice)
	}
	if sig.StopPrice.IsPositive() {
		t.StopPrice = decimal.NewNullDecimal(sig.StopPrice)
	}
	return t
}
