package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// Names of the channel-signal fan-out (activities are methods of
// activities.Signals).
const (
	SignalWorkflowName = "SignalWorkflow"

	ActFanoutPage   = "FanoutPage"
	ActFanoutPages  = "FanoutPages"
	ActFinishSignal = "FinishSignal"
)

// versionEagerFanout: one activity (FanoutPages) records and starts all
// pages of a run, each TradeWorkflow with eager workflow start, instead of
// the workflow starting the trades as child workflows a page at a time.
// Measured on the embedded default (bench, 300 followers, 2 cores): the
// child starts are recorded on the one parent one after another and each
// child's first workflow task then queues in matching behind the others
// (about 16 s of the 30 s the fan-out took); with 1,000 followers the
// parent's own workflow task between pages waited ~2 s behind the trades'
// tasks on the shared sticky queue. Eager starts hand each trade's first
// task to the local worker in the start response. Support staff find a
// signal's trades by the SignalSource search attribute and the
// sourceId/messageId/signalId memo instead of parent/child links.
const versionEagerFanout = "eager-fanout"

// Fan-out paging defaults: children started per workflow task, and pages
// per run before the workflow continues as new (bounding its history to a
// few thousand events whatever the number of followers).
const (
	DefaultFanoutPageSize    = 100
	DefaultFanoutPagesPerRun = 10
)

// SignalWorkflowID is the id of the workflow of one source message: the
// same message delivered twice is one signal.
func SignalWorkflowID(source signal.Source, externalID string) string {
	return "signal/" + string(source) + "/" + externalID
}

// SignalInput starts a SignalWorkflow for one message of a signal source.
type SignalInput struct {
	SourceID  string `json:"sourceId"`
	MessageID string `json:"messageId"` // the Discord message id
	ChannelID string `json:"channelId"`
	// Legs are the provider's orders: one, or one per take-profit target.
	Legs []signal.Leg `json:"legs"`
	// PageSize (followers per page) and PagesPerRun; zero uses the defaults.
	PageSize    int `json:"pageSize"`
	PagesPerRun int `json:"pagesPerRun"`
	// Timeouts are passed to every TradeWorkflow.
	Timeouts Timeouts `json:"timeouts"`

	// CopyFillID is set for a copy fan-out (DESIGN §8 Copy trading): the
	// schema.CopyFill row whose leader's followers get the trades; SourceID
	// is then empty.
	CopyFillID string `json:"copyFillId,omitempty"`

	// Progress carried across continue-as-new.
	After     string `json:"after"`
	Followers int    `json:"followers"`
	Skipped   int    `json:"skipped"`
}

// SignalResult counts what the fan-out did.
type SignalResult struct {
	// Followers got at least one TradeWorkflow; Skipped were not traded
	// (no active plan or broker), each with a reason the trader is told.
	Followers int `json:"followers"`
	Skipped   int `json:"skipped"`
}

// FanoutPageInput asks for the next page of a source's followers.
type FanoutPageInput struct {
	SourceID  string       `json:"sourceId"`
	MessageID string       `json:"messageId"`
	Legs      []signal.Leg `json:"legs"`
	After     string       `json:"after"` // cursor: "" for the first page
	Limit     int          `json:"limit"` // followers per page
	// Start asks the activity to start the page's TradeWorkflows itself
	// (eagerly, on its own worker) with Timeouts; FanoutPages sets it.
	Start    bool     `json:"start,omitempty"`
	Timeouts Timeouts `json:"timeouts,omitempty"`
	// CopyFillID: a copy fan-out (SignalInput.CopyFillID).
	CopyFillID string `json:"copyFillId,omitempty"`
}

// FanoutPagesInput asks FanoutPages for up to Pages pages of Limit
// followers after the cursor, each recorded and started.
type FanoutPagesInput struct {
	SourceID  string       `json:"sourceId"`
	MessageID string       `json:"messageId"`
	Legs      []signal.Leg `json:"legs"`
	After     string       `json:"after"`
	Limit     int          `json:"limit"`
	Pages     int          `json:"pages"`
	Timeouts  Timeouts     `json:"timeouts"`
	// CopyFillID: a copy fan-out (SignalInput.CopyFillID).
	CopyFillID string `json:"copyFillId,omitempty"`
}

// FanoutPagesResult counts what FanoutPages did (it is also the progress
// it heartbeats, so a retried attempt resumes after the last page done).
type FanoutPagesResult struct {
	Pages     int    `json:"pages"`     // pages done
	Followers int    `json:"followers"` // followers with at least one trade started
	Skipped   int    `json:"skipped"`
	Next      string `json:"next"` // cursor after the last page done
	Done      bool   `json:"done"` // no followers left
}

// FanoutPageResult is one page: the trades recorded (trade + signal row
// per follower and leg, each once) and the followers skipped.
type FanoutPageResult struct {
	Trades  []FanoutTrade `json:"trades"`
	Skipped []FanoutSkip  `json:"skipped"`
	Next    string        `json:"next"`
	Done    bool          `json:"done"`
	// Started: every trade of the page has its TradeWorkflow started.
	Started bool `json:"started,omitempty"`
}

// FanoutTrade is a recorded trade whose TradeWorkflow the fan-out starts.
type FanoutTrade struct {
	UserID     string        `json:"userId"`
	TradeID    string        `json:"tradeId"`
	SignalID   string        `json:"signalId"`
	WorkflowID string        `json:"workflowId"` // trade.WorkflowID(SignalID, UserID)
	Signal     signal.Signal `json:"signal"`
}

// FanoutSkip is a follower that gets no trade, and why.
type FanoutSkip struct {
	UserID string `json:"userId"`
	Reason string `json:"reason"`
}

// FinishSignalInput records the outcome of a fan-out.
type FinishSignalInput struct {
	SourceID  string `json:"sourceId"`
	MessageID string `json:"messageId"`
	ChannelID string `json:"channelId"`
	Followers int    `json:"followers"`
	Skipped   int    `json:"skipped"`
	// CopyFillID: a copy fan-out (SignalInput.CopyFillID).
	CopyFillID string `json:"copyFillId,omitempty"`
}

// SignalWorkflow fans one channel signal out to every active follower of
// its source, a page at a time: each page's trades are recorded through
// the same intake as every other entry point and one TradeWorkflow is
// started per trade (since versionEagerFanout by the FanoutPages activity,
// eagerly; before, as abandoned children of this workflow), so each trade
// lives on when the fan-out is done. After PagesPerRun pages it continues
// as new. Trade workflow ids are trade.WorkflowID(signalID, userID) and
// are never reused, so a retried page or a redelivered message starts
// nothing twice (invariant 1).
func SignalWorkflow(ctx workflow.Context, in SignalInput) (SignalResult, error) {
	pageSize := in.PageSize
	if pageSize <= 0 {
		pageSize = DefaultFanoutPageSize
	}
	pagesPerRun := in.PagesPerRun
	if pagesPerRun <= 0 {
		pagesPerRun = DefaultFanoutPagesPerRun
	}
	bookCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})

	res := SignalResult{Followers: in.Followers, Skipped: in.Skipped}
	// Since versionEagerFanout one activity records and starts a run's
	// pages itself (see the const); histories recorded before start the
	// trades as children, a page per activity.
	if workflow.GetVersion(ctx, versionEagerFanout, workflow.DefaultVersion, 1) >= 1 {
		return fanoutEager(ctx, in, pageSize, pagesPerRun, res)
	}
	after := in.After
	for page := 0; ; page++ {
		if page == pagesPerRun {
			next := in
			next.After, next.Followers, next.Skipped = after, res.Followers, res.Skipped
			return res, workflow.NewContinueAsNewError(ctx, SignalWorkflowName, next)
		}
		var out FanoutPageResult
		if err := workflow.ExecuteActivity(bookCtx, ActFanoutPage, FanoutPageInput{
			SourceID: in.SourceID, MessageID: in.MessageID, Legs: in.Legs, After: after, Limit: pageSize, CopyFillID: in.CopyFillID,
		}).Get(ctx, &out); err != nil {
			return res, err
		}
		followers, err := startTrades(ctx, in, out.Trades)
		if err != nil {
			return res, err
		}
		res.Followers += followers
		res.Skipped += len(out.Skipped)
		after = out.Next
		if out.Done {
			break
		}
	}
	return finishSignal(ctx, bookCtx, in, res)
}

// fanoutEager is the fan-out since versionEagerFanout: FanoutPages records
// and starts up to pagesPerRun pages in one activity (heartbeating its
// progress), then the run continues as new or finishes.
func fanoutEager(ctx workflow.Context, in SignalInput, pageSize, pagesPerRun int, res SignalResult) (SignalResult, error) {
	pagesCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	var out FanoutPagesResult
	if err := workflow.ExecuteActivity(pagesCtx, ActFanoutPages, FanoutPagesInput{
		SourceID: in.SourceID, MessageID: in.MessageID, Legs: in.Legs, After: in.After, Limit: pageSize, Pages: pagesPerRun,
		Timeouts: in.Timeouts, CopyFillID: in.CopyFillID,
	}).Get(ctx, &out); err != nil {
		return res, err
	}
	res.Followers += out.Followers
	res.Skipped += out.Skipped
	if !out.Done {
		next := in
		next.After, next.Followers, next.Skipped = out.Next, res.Followers, res.Skipped
		return res, workflow.NewContinueAsNewError(ctx, SignalWorkflowName, next)
	}
	bookCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    500 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	return finishSignal(ctx, bookCtx, in, res)
}

// finishSignal records the outcome and queues the channel summary.
func finishSignal(ctx, bookCtx workflow.Context, in SignalInput, res SignalResult) (SignalResult, error) {
	workflow.GetLogger(ctx).Info("signal fanned out", "followers", res.Followers, "skipped", res.Skipped)
	err := workflow.ExecuteActivity(bookCtx, ActFinishSignal, FinishSignalInput{
		SourceID: in.SourceID, MessageID: in.MessageID, ChannelID: in.ChannelID, Followers: res.Followers, Skipped: res.Skipped,
		CopyFillID: in.CopyFillID,
	}).Get(ctx, nil)
	return res, err
}

// startTrades starts one abandoned child TradeWorkflow per trade, all in
// one workflow task, and waits until each start is recorded (a child whose
// start is not yet acknowledged would be lost when the parent continues as
// new). It returns how many distinct followers the trades belong to.
func startTrades(ctx workflow.Context, in SignalInput, trades []FanoutTrade) (int, error) {
	futures := make([]workflow.ChildWorkflowFuture, len(trades))
	for i, t := range trades {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            t.WorkflowID,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				SAUserID.ValueSet(t.UserID),
				SASymbol.ValueSet(t.Signal.Symbol),
				SASignalSource.ValueSet(string(t.Signal.Source)),
				SATradeStatus.ValueSet(string(trade.StatusPending)),
			),
			Memo: map[string]any{"signal": t.Signal.Text, "tradeId": t.TradeID, "signalId": t.SignalID, "sourceId": in.SourceID},
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, TradeWorkflowName, TradeInput{
			TradeID: t.TradeID, SignalID: t.SignalID, UserID: t.UserID, Signal: t.Signal, Timeouts: in.Timeouts,
		})
	}
	seen := make(map[string]bool, len(trades))
	followers := 0
	for i, f := range futures {
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return followers, err
		}
		// Already started: an earlier run of this page started it.
		if u := trades[i].UserID; !seen[u] {
			seen[u] = true
			followers++
		}
	}
	return followers, nil
}
