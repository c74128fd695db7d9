package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The account guard (US-006, FR-006): one long-lived workflow per broker
// connection, id GuardWorkflowID, that watches the account's equity, applies
// the daily loss limit and the circuit breaker, keeps the protective stops
// of its positions and syncs the balance. Activities are methods of
// activities.Guard.
const (
	AccountGuardWorkflowName = "AccountGuardWorkflow"

	// SignalGuardCheck asks the guard to look at the account now (sent
	// after every fill and after a trade refused for a loss limit).
	SignalGuardCheck = "check"

	ActGuardCheck     = "GuardCheck"
	ActGuardFlatten   = "GuardFlatten"
	ActReconcileStops = "ReconcileStops"
	ActEnsureGuard    = "EnsureGuard"
	// ActGuardAfterFill is the guard's look after a fill made by the trade
	// itself (a local activity of TradeWorkflow for in-process brokers).
	ActGuardAfterFill = "GuardAfterFill"

	// DefaultGuardPoll is how often the guard looks at an account between
	// fills.
	DefaultGuardPoll = 30 * time.Second
	// guardChecksPerRun bounds a run's history (about ten events per
	// check); the guard then continues as new.
	guardChecksPerRun = 200
	// versionGuardOneActivity: one GuardCheck activity per look at the
	// account also reconciles the stops (before, a ReconcileStops activity
	// followed each unblocked check) — one activity and one workflow task
	// less per check, for every account every poll.
	versionGuardOneActivity = "guard-one-activity"
	// versionGuardLocalCheck: the look at the account (GuardCheck) is a
	// local activity, run inside the workflow task the poll's timer or a
	// check signal brings — one workflow task per look instead of two and
	// an activity task, for every account every poll.
	versionGuardLocalCheck = "guard-local-check"
)

// GuardWorkflowID is the id of the guard of one broker connection.
func GuardWorkflowID(connectionID string) string { return "guard/" + connectionID }

// GuardInput starts (or continues) the guard of a connection.
type GuardInput struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId"`
	// Poll is the interval between checks; zero means DefaultGuardPoll.
	Poll time.Duration `json:"poll"`
	// AfterFill: started by a fill (EnsureGuard's eager start), so the
	// first check is that fill's — as a check signal sent with the start
	// would say. Not carried across continue-as-new.
	AfterFill bool `json:"afterFill,omitempty"`
}

// GuardRef names the connection a guard activity works on.
type GuardRef struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId"`
	// AfterFill: the check was asked for by a fill, whose trade has just
	// synced the portfolio itself.
	AfterFill bool `json:"afterFill,omitempty"`
	// Reconcile (versionGuardOneActivity): GuardCheck also keeps the
	// position stops working (ReconcileStops) when the account is not
	// blocked, in the same activity.
	Reconcile bool `json:"reconcile,omitempty"`
}

// GuardCheckResult is one look at the account.
type GuardCheckResult struct {
	// Inactive: the connection is gone or disconnected; the guard ends.
	Inactive bool   `json:"inactive"`
	Level    string `json:"level"` // risk.LossLevel of the day
	// Blocking: new trades are refused (loss level of the day, or lock).
	Blocking bool `json:"blocking"`
	Locked   bool `json:"locked"`
	// Flatten: positions or orders remain on a blocked account; close
	// them with round Round.
	Flatten bool  `json:"flatten"`
	Round   int64 `json:"round"`
}

// FlattenInput asks for one round of closing every position.
type FlattenInput struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId"`
	Round        int64  `json:"round"`
}

// FlattenResult says what a round did.
type FlattenResult struct {
	Orders   int    `json:"orders"`   // closing orders sent (or found sent)
	Flat     bool   `json:"flat"`     // no position left
	Deferred bool   `json:"deferred"` // a market was closed: the next round retries
	Message  string `json:"message"`
}

// ReconcileStopsResult counts what a stop reconciliation did.
type ReconcileStopsResult struct {
	Checked   int `json:"checked"`
	Replaced  int `json:"replaced"`  // dropped by the broker, placed again
	Triggered int `json:"triggered"` // executed by the broker
	Closed    int `json:"closed"`    // position gone, stop cancelled
}

// AccountGuardWorkflow checks the account every Poll and whenever
// SignalGuardCheck arrives: GuardCheck records the balance and the day's
// loss level (notifying, auditing and locking in one transaction when it
// rises); on a blocked account GuardFlatten cancels open orders and closes
// every position, round after round until none is left; otherwise
// ReconcileStops keeps each position's stop working. A failed check is
// logged and retried at the next poll; the guard ends when its connection
// is no longer active and continues as new every guardChecksPerRun checks.
func AccountGuardWorkflow(ctx workflow.Context, in GuardInput) error {
	logger := workflow.GetLogger(ctx)
	poll := in.Poll
	if poll <= 0 {
		poll = DefaultGuardPoll
	}
	ref := GuardRef{ConnectionID: in.ConnectionID, UserID: in.UserID}
	checkCh := workflow.GetSignalChannel(ctx, SignalGuardCheck)
	checkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 3,
		},
	})
	flattenCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 3 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 5,
		},
	})

	merged := workflow.GetVersion(ctx, versionGuardOneActivity, workflow.DefaultVersion, 1) >= 1
	if merged {
		checkCtx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 3,
			},
		})
	}

	localCheck := merged && workflow.GetVersion(ctx, versionGuardLocalCheck, workflow.DefaultVersion, 1) >= 1
	localCheckCtx := workflow.WithLocalActivityOptions(ctx, localOptions(time.Minute, &temporal.RetryPolicy{
		InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 3,
	}))

	// Started by a fill (signal-with-start, or an eager start saying so):
	// the first check is that one.
	afterFill := in.AfterFill
	in.AfterFill = false
	for checkCh.ReceiveAsync(nil) {
		afterFill = true
	}
	for i := 0; i < guardChecksPerRun; i++ {
		var res GuardCheckResult
		look := GuardRef{ConnectionID: in.ConnectionID, UserID: in.UserID, AfterFill: afterFill, Reconcile: merged}
		var err error
		if localCheck {
			err = workflow.ExecuteLocalActivity(localCheckCtx, ActGuardCheck, look).Get(ctx, &res)
		} else {
			err = workflow.ExecuteActivity(checkCtx, ActGuardCheck, look).Get(ctx, &res)
		}
		switch {
		case err != nil:
			logger.Warn("guard check failed; retrying at the next poll", "error", err)
		case res.Inactive:
			logger.Info("connection no longer active; guard ends")
			return nil
		case res.Flatten:
			var fr FlattenResult
			if err := workflow.ExecuteActivity(flattenCtx, ActGuardFlatten, FlattenInput{
				ConnectionID: in.ConnectionID, UserID: in.UserID, Round: res.Round,
			}).Get(ctx, &fr); err != nil {
				logger.Error("closing positions failed; retrying at the next poll", "error", err)
			}
		case !res.Blocking && !merged:
			if err := workflow.ExecuteActivity(checkCtx, ActReconcileStops, ref).Get(ctx, nil); err != nil {
				logger.Warn("stop-loss reconciliation failed; retrying at the next poll", "error", err)
			}
		}

		// Sleep until the next poll or a fill, whichever comes first;
		// several fills meanwhile make one check.
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		afterFill = false
		sel.AddFuture(workflow.NewTimer(timerCtx, poll), func(workflow.Future) {})
		sel.AddReceive(checkCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			afterFill = true
		})
		sel.Select(ctx)
		cancelTimer()
		for checkCh.ReceiveAsync(nil) {
			afterFill = true
		}
	}
	// The next run checks at once, so a signal that arrives now is served.
	return workflow.NewContinueAsNewError(ctx, AccountGuardWorkflowName, in)
}
