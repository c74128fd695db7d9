// Package workflows holds the Temporal workflow definitions. Workflow code is
// deterministic: it imports only the SDK's workflow/temporal packages, the
// pure domain types, and the activity input/output types declared here.
package workflows

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/signal"
)

// DefaultTaskQueue is the task queue of the trade path.
const DefaultTaskQueue = "tradeexec"

// Names of workflows, signals, queries and activities (activities are methods
// of activities.Trading and registered under their method names).
const (
	TradeWorkflowName = "TradeWorkflow"

	SignalCancel = "cancel"
	QueryStatus  = "status"

	ActPrepareOrder    = "PrepareOrder"
	ActMarkQueued      = "MarkQueued"
	ActCancelQueued    = "CancelQueued"
	ActSubmitOrder     = "SubmitOrder"
	ActAwaitFill       = "AwaitFill"
	ActCancelRemainder = "CancelRemainder"
	ActPlaceStopLoss   = "PlaceStopLoss"
	ActRecordFailure   = "RecordFailure"
	ActMarkHalted      = "MarkHalted"
	ActConfirmSubmit   = "ConfirmSubmission"
	ActRecordApproval  = "RecordApproval"
	ActArmTakeProfit   = "ArmTakeProfit"
	ActWatchTakeProfit = "WatchTakeProfit"
	// Take-profit ladder (versionTakeProfitLadder).
	ActArmTakeProfitLadder   = "ArmTakeProfitLadder"
	ActWatchTakeProfitLadder = "WatchTakeProfitLadder"
	ActPlaceExitPair         = "PlaceExitPair"
	ActFollowExitPair        = "FollowExitPair"
	// ActPrepareAndSubmit is PrepareOrder and, for an order the broker in
	// this process may take now, the rest of the trade (TradeShape 2): a
	// method of activities.InProcessTrade.
	ActPrepareAndSubmit = "PrepareAndSubmit"
)

// LadderInput arms a trade's take-profit ladder: SourceID is the channel
// source of a fanned-out signal, whose subscription may override the
// trader's stop move.
type LadderInput struct {
	TradeID  string `json:"tradeId"`
	SourceID string `json:"sourceId,omitempty"`
}

// TradeInput starts a TradeWorkflow. It carries no secret: credentials are
// loaded and decrypted inside activities only (invariant 4).
type TradeInput struct {
	TradeID  string        `json:"tradeId"`
	SignalID string        `json:"signalId"`
	UserID   string        `json:"userId"`
	Signal   signal.Signal `json:"signal"`
	// Manual is true for dashboard orders: oversize is refused, not reduced.
	Manual bool `json:"manual"`
	// SourceID is the Discord source a fanned-out signal came from: its
	// subscription may override the trader's approval setting.
	SourceID string `json:"sourceId,omitempty"`
	// Timeouts overrides activity timeouts (tests); zero values use defaults.
	Timeouts Timeouts `json:"timeouts"`
	// Shape is the trade path this start was made for (TradeShape);
	// zero for starts made before it existed, durable start requests
	// stored then included, whose path version markers decide as before.
	Shape int `json:"shape,omitempty"`
}

// TradeShape is the shape new trades start with. Shape 1: the
// in-process steps of fill-at-submit (inProcessSteps) without recording
// that version's marker and its TemporalChangeVersion search attribute,
// and the broker search attribute upserted with the next status instead
// of on its own — one marker and two search-attribute upserts (each a
// visibility write) less per trade. Shape 2: the first round's check is
// PrepareAndSubmit, which for an order the broker in this process may take
// at once also submits it, places its stop and has the guard look — one
// local-activity marker where shape 1 recorded four (prepare, submit,
// stop, the guard's look); a later step that did not succeed in it runs
// as its own local activity after it, as in shape 1. The input is part of
// the history, so the choice replays as a marker would.
const TradeShape = 2

// PrepareSubmitInput is PrepareAndSubmit's input: PrepareOrder's, and the
// submission and guard look to make when the order may go now.
type PrepareSubmitInput struct {
	Prepare PrepareInput `json:"prepare"`
	Submit  SubmitInput  `json:"submit"`
	// UserID is the trader whose account guard looks after the fill.
	UserID string `json:"userId"`
}

// PrepareSubmitResult is what PrepareAndSubmit did. Prepare is always
// PrepareOrder's decision. Submit is set when the order was submitted to
// the broker in this process (nil: it was not, and the workflow goes on
// from Prepare as after PrepareOrder). StopPlaced and Guarded say that
// PlaceStopLoss and the guard's look after the fill ran and succeeded; a
// step that did not is left to the workflow, which runs it as its own
// local activity with its own retries.
type PrepareSubmitResult struct {
	Prepare    PrepareResult `json:"prepare"`
	Submit     *SubmitResult `json:"submit,omitempty"`
	StopPlaced bool          `json:"stopPlaced,omitempty"`
	Guarded    bool          `json:"guarded,omitempty"`
}

// Timeouts of the trade path's activities.
type Timeouts struct {
	// Submit is the start-to-close timeout of one SubmitOrder attempt.
	Submit time.Duration `json:"submit"`
	// FillWindow is how long a partially filled order may work before the
	// remainder is cancelled (DESIGN §3: 5 minutes).
	FillWindow time.Duration `json:"fillWindow"`
	// HaltRetry is how long an order refused for a trading halt waits
	// before it is tried again (30 s). Only tests set it: no production
	// configuration reaches Timeouts.
	HaltRetry time.Duration `json:"haltRetry,omitempty"`
	// Approval replaces the trader's approval timeout (tests only).
	Approval time.Duration `json:"approval,omitempty"`
}

// TradeResult is what the workflow returns (and the status query answers).
type TradeResult struct {
	TradeID        string          `json:"tradeId"`
	Status         string          `json:"status"`
	Message        string          `json:"message,omitempty"`
	BrokerOrderID  string          `json:"brokerOrderId,omitempty"`
	FilledQuantity decimal.Decimal `json:"filledQuantity"`
	FillPrice      decimal.Decimal `json:"fillPrice"`
}

// TradeRef names the trade an activity works on.
type TradeRef struct {
	TradeID string `json:"tradeId"`
}

// PrepareInput is PrepareOrder's input.
type PrepareInput struct {
	TradeID string `json:"tradeId"`
	Manual  bool   `json:"manual"`
	// Recheck is true when the order wakes up after waiting for the market.
	Recheck bool `json:"recheck"`
	// SourceID: see TradeInput.SourceID.
	SourceID string `json:"sourceId,omitempty"`
}

// PrepareResult is PrepareOrder's decision.
type PrepareResult struct {
	Rejected bool   `json:"rejected"`
	Message  string `json:"message,omitempty"` // why rejected, or the sizing note
	// Code is the risk rejection code (risk.Code*) when Rejected by a rule.
	Code          string            `json:"code,omitempty"`
	ConnectionID  string            `json:"connectionId"`
	Broker        string            `json:"broker"`
	AssetClass    signal.AssetClass `json:"assetClass"`
	Quantity      decimal.Decimal   `json:"quantity"`
	ExtendedHours bool              `json:"extendedHours"`
	// Noop is true when there is nothing to do (exit with no position).
	Noop bool `json:"noop"`
	// MarketOpen is the broker clock's answer for the trade's asset class
	// (FR-008); when false, nothing was sized or reserved and NextOpen says
	// when to try again.
	MarketOpen bool      `json:"marketOpen"`
	NextOpen   time.Time `json:"nextOpen"`
	// AwaitApproval: nothing was routed or sized; the trader must approve
	// the signal first (approval mode), within ApprovalTimeout.
	AwaitApproval   bool          `json:"awaitApproval,omitempty"`
	ApprovalTimeout time.Duration `json:"approvalTimeout,omitempty"`
	// InProcess: the broker runs in the worker's process (the paper
	// broker), so its steps run as local activities (inProcessSteps).
	InProcess bool `json:"inProcess,omitempty"`
}

// TakeProfitResult is what became of a trade's take-profit: none, armed,
// triggered (ExitTradeID closes the trade's quantity), filled or cancelled.
type TakeProfitResult struct {
	Outcome     string          `json:"outcome"`
	Target      decimal.Decimal `json:"target"`
	ExitTradeID string          `json:"exitTradeId,omitempty"`
	Message     string          `json:"message,omitempty"`
}

// ExitPairResult says whether a trade's take-profit and stop-loss were
// placed as the broker's native one-cancels-other pair (Native), or why
// not (Reason: the take-profit is emulated next to a plain stop).
type ExitPairResult struct {
	Native  bool   `json:"native"`
	PairID  string `json:"pairId,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// SignalApproval carries the trader's ApprovalDecision to a TradeWorkflow
// awaiting approval.
const SignalApproval = "approval"

// ApprovalDecision is the trader's answer to a signal awaiting approval.
type ApprovalDecision struct {
	Approve bool   `json:"approve"`
	Via     string `json:"via"` // dashboard | discord
}

// ApprovalInput records the outcome of an approval wait.
type ApprovalInput struct {
	TradeID string `json:"tradeId"`
	// Outcome: awaiting | approved | rejected | expired; Via says where the
	// trader answered.
	Outcome string        `json:"outcome"`
	Via     string        `json:"via,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// QueueInput records that the trade waits for the market.
type QueueInput struct {
	TradeID  string    `json:"tradeId"`
	NextOpen time.Time `json:"nextOpen"`
}

// QueueResult carries the trader-facing queue message.
type QueueResult struct {
	Message string `json:"message"`
}

// SubmitInput is SubmitOrder's input.
type SubmitInput struct {
	TradeID       string `json:"tradeId"`
	ClientOrderID string `json:"clientOrderId"`
	// RecordFill (versionFillAtSubmit): when the broker's answer is already
	// final (a market order filled at once), record the fill and return it
	// in SubmitResult.Fill, so the workflow skips AwaitFill.
	RecordFill bool `json:"recordFill,omitempty"`
}

// SubmitResult is the broker's acknowledgement.
type SubmitResult struct {
	BrokerOrderID string `json:"brokerOrderId"`
	Status        string `json:"status"`
	// Fill is the recorded final state when the order was final at
	// submission (RecordFill); nil otherwise.
	Fill *FillResult `json:"fill,omitempty"`
}

// AwaitInput is AwaitFill's input.
type AwaitInput struct {
	TradeID string `json:"tradeId"`
	// Deadline is when an order that is still working gets its remainder
	// cancelled (computed with workflow.Now, so replay-safe).
	Deadline time.Time `json:"deadline"`
}

// FillResult is the order's state when AwaitFill returns.
type FillResult struct {
	Status         string          `json:"status"` // broker.OrderStatus
	FilledQuantity decimal.Decimal `json:"filledQuantity"`
	AvgFillPrice   decimal.Decimal `json:"avgFillPrice"`
	// TimedOut is true when the deadline passed with the order still working.
	TimedOut bool `json:"timedOut"`
}

// FailureInput records a failed trade.
type FailureInput struct {
	TradeID string `json:"tradeId"`
	Kind    string `json:"kind"` // broker error kind or risk code
	Message string `json:"message"`
}

// StopLossResult is PlaceStopLoss's result.
type StopLossResult struct {
	Placed      bool            `json:"placed"`
	StopPrice   decimal.Decimal `json:"stopPrice"`
	BrokerOrder string          `json:"brokerOrderId,omitempty"`
	Message     string          `json:"message,omitempty"`
}

// HaltInput records that the trade waits for a trading halt to end.
type HaltInput struct {
	TradeID string `json:"tradeId"`
	// Message is the broker's trader-facing reason.
	Message string `json:"message"`
}

// ConfirmResult says whether an unacknowledged entry order is at the broker.
type ConfirmResult struct {
	Found  bool         `json:"found"`
	Submit SubmitResult `json:"submit"`
}
