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
	// versionGuardWatch: between the looks a fill or a signal asks for,
	// the account is watched by one GuardWatch activity that looks every
	// poll inside the worker and completes only when the workflow has
	// something to do (close positions, end) or after guardWatchSpan — a
	// quiet look costs the Temporal server nothing (no timer, no workflow
	// task), its liveness a heartbeat every few polls.
	versionGuardWatch = "guard-watch"

	ActGuardWatch = "GuardWatch"
	// guardWatchSpan is the longest one watch runs before it completes
	// with its last look (a run's history stays short, a watch left by a
	// lost worker ends).
	guardWatchSpan = 30 * time.Minute
)

// GuardWatchHeartbeat is the heartbeat timeout of a watch polling every
// poll: four polls, at least 10 s (a loaded machine's missed beat is not a
// lost worker), at most 2 min (how long a guard stays blind after its
// worker died without a word).
func GuardWatchHeartbeat(poll time.Duration) time.Duration {
	return min(max(4*poll, 10*time.Second), 2*time.Minute)
}

// GuardWatchInput starts one watch of an account (versionGuardWatch).
type GuardWatchInput struct {
	ConnectionID string `json:"connectionId"`
	UserID       string `json:"userId"`
	// Poll is the interval between looks; the first comes one Poll after
	// the watch starts (the workflow has just looked).
	Poll time.Duration `json:"poll"`
	// Span: the watch completes with its last look after this long.
	Span time.Duration `json:"span"`
	// Heartbeat is the activity's heartbeat timeout (GuardWatchHeartbeat).
	Heartbeat time.Duration `json:"heartbeat"`
}

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
	if localCheck && workflow.GetVersion(ctx, versionGuardWatch, workflow.DefaultVersion, 1) >= 1 {
		return watchAccount(ctx, in, poll, afterFill, checkCh, localCheckCtx, flattenCtx)
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
		if actOnLook(ctx, flattenCtx, in, res, err) {
			return nil
		}
		if err == nil && !res.Inactive && !res.Flatten && !res.Blocking && !merged {
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

// actOnLook handles one look at the account: a failure is logged (the
// next look retries), a closed connection ends the guard (true), a blocked
// account with something left gets a round of closing (GuardFlatten).
func actOnLook(ctx, flattenCtx workflow.Context, in GuardInput, res GuardCheckResult, err error) bool {
	logger := workflow.GetLogger(ctx)
	switch {
	case err != nil:
		logger.Warn("guard check failed; retrying at the next poll", "error", err)
	case res.Inactive:
		logger.Info("connection no longer active; guard ends")
		return true
	case res.Flatten:
		var fr FlattenResult
		if err := workflow.ExecuteActivity(flattenCtx, ActGuardFlatten, FlattenInput{
			ConnectionID: in.ConnectionID, UserID: in.UserID, Round: res.Round,
		}).Get(ctx, &fr); err != nil {
			logger.Error("closing positions failed; retrying at the next poll", "error", err)
		}
	}
	return false
}

// watchAccount is the guard's loop since versionGuardWatch: a look now (a
// local activity, as every look a fill or a check signal asks for), then
// one GuardWatch activity at a time looks every poll in the worker and
// completes when its look asks for something — positions to close, the
// connection gone — or after guardWatchSpan. A check signal is served at
// once by a local look while the watch goes on. Each look's outcome is
// handled as the poll loop's was: a failure is logged (the next look
// retries), Inactive ends the guard, Flatten runs a round of closing.
func watchAccount(ctx workflow.Context, in GuardInput, poll time.Duration, afterFill bool, checkCh workflow.ReceiveChannel,
	localCheckCtx, flattenCtx workflow.Context) error {
	watchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: guardWatchSpan + 2*poll + time.Minute,
		HeartbeatTimeout:    GuardWatchHeartbeat(poll),
		// A lost or stopping worker's watch is taken over by another: no
		// attempt limit, never longer than a poll between attempts.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: max(poll, time.Second)},
	})
	handle := func(res GuardCheckResult, err error) bool { return actOnLook(ctx, flattenCtx, in, res, err) }
	look := func(afterFill bool) bool {
		var res GuardCheckResult
		err := workflow.ExecuteLocalActivity(localCheckCtx, ActGuardCheck,
			GuardRef{ConnectionID: in.ConnectionID, UserID: in.UserID, AfterFill: afterFill, Reconcile: true}).Get(ctx, &res)
		return handle(res, err)
	}

	if look(afterFill) {
		return nil
	}
	var watch, pause workflow.Future
	stopWatch := func() {}
	for i := 0; i < guardChecksPerRun; i++ {
		if watch == nil && pause == nil {
			var wctx workflow.Context
			wctx, stopWatch = workflow.WithCancel(watchCtx)
			watch = workflow.ExecuteActivity(wctx, ActGuardWatch, GuardWatchInput{
				ConnectionID: in.ConnectionID, UserID: in.UserID, Poll: poll, Span: guardWatchSpan, Heartbeat: GuardWatchHeartbeat(poll),
			})
		}
		var res GuardCheckResult
		var err error
		watched, signalled := false, false
		sel := workflow.NewSelector(ctx)
		if watch != nil {
			sel.AddFuture(watch, func(f workflow.Future) {
				err = f.Get(ctx, &res)
				watched = true
			})
		} else {
			sel.AddFuture(pause, func(workflow.Future) { pause = nil })
		}
		sel.AddReceive(checkCh, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			signalled = true
		})
		sel.Select(ctx)
		// Several check signals meanwhile make one look.
		for checkCh.ReceiveAsync(nil) {
			signalled = true
		}
		if watched {
			watch = nil
			if err != nil {
				// A watch that failed for good is started again after a
				// poll, never in a loop of workflow tasks.
				pause = workflow.NewTimer(ctx, poll)
			}
			if handle(res, err) {
				return nil
			}
		}
		if signalled && look(true) {
			stopWatch()
			return nil
		}
	}
	stopWatch()
	// The next run looks at once, so a signal that arrives now is served.
	return workflow.NewContinueAsNewError(ctx, AccountGuardWorkflowName, in)
}
