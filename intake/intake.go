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
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
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
}

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
}

// Result identifies the signal and trade; Duplicate is true when this
// delivery matched an earlier one (nothing new was created).
type Result struct {
	SignalID   string `json:"signalId"`
	TradeID    string `json:"tradeId"`
	WorkflowID string `json:"workflowId"`
	Duplicate  bool   `json:"duplicate"`
}

// ErrStart wraps a failure to start the workflow; the signal is stored and a
// redelivery starts it.
var ErrStart = errors.New("intake: workflow not started")

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Submit stores the signal and the trader's trade (once per external id),
// then starts the TradeWorkflow (once per workflow id) and returns when
// Temporal has durably recorded the start.
func (s *Service) Submit(ctx context.Context, req Request) (Result, error) {
	payload, err := prepare(req)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		res, err = record(tx, req, payload, s.now())
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if s.Committed != nil {
		s.Committed(req.UserID)
	}
	if err := s.Start(ctx, req, res); err != nil {
		return res, fmt.Errorf("%w: %v", ErrStart, err)
	}
	return res, nil
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
			out[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.Committed != nil {
		for _, req := range reqs {
			s.Committed(req.UserID)
		}
	}
	return out, nil
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
	res.TradeID = t.ID
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

// Start starts the TradeWorkflow of a recorded request (res from Record or
// Submit) under res.WorkflowID, eagerly on the local worker when this
// process runs one. A workflow already started under that id — a
// redelivery, a retried fan-out page — is not an error.
func (s *Service) Start(ctx context.Context, req Request, res Result) error {
	sig := req.Signal
	memo := map[string]any{"signal": sig.Text, "tradeId": res.TradeID, "signalId": res.SignalID}
	for k, v := range req.Memo {
		memo[k] = v
	}
	opts := client.StartWorkflowOptions{
		ID:        res.WorkflowID,
		TaskQueue: s.TaskQueue,
		// A workflow id is used once, ever: a redelivered signal can neither
		// start a second run while the first runs nor after it finished.
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		// The API process also runs a worker in dev and single-binary
		// deployments: the first workflow task is handed to it directly.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAUserID.ValueSet(req.UserID),
			workflows.SASymbol.ValueSet(sig.Symbol),
			workflows.SASignalSource.ValueSet(string(sig.Source)),
			workflows.SATradeStatus.ValueSet(string(trade.StatusPending)),
		),
		Memo: memo,
	}
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflows.TradeWorkflowName, workflows.TradeInput{
		TradeID: res.TradeID, SignalID: res.SignalID, UserID: req.UserID, Signal: sig, Manual: req.Manual, Timeouts: s.Timeouts,
	})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil
	}
	return err
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
