package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func newGuardEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(AccountGuardWorkflow, workflow.RegisterOptions{Name: AccountGuardWorkflowName})
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActGuardCheck, func(context.Context, GuardRef) (GuardCheckResult, error) { return GuardCheckResult{}, nil })
	reg(ActGuardFlatten, func(context.Context, FlattenInput) (FlattenResult, error) { return FlattenResult{}, nil })
	reg(ActReconcileStops, func(context.Context, GuardRef) (ReconcileStopsResult, error) { return ReconcileStopsResult{}, nil })
	reg(ActGuardWatch, func(context.Context, GuardWatchInput) (GuardCheckResult, error) { return GuardCheckResult{}, nil })
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// newGuardEnvBeforeOneActivity runs the guard as runs started before
// versionGuardOneActivity do (a ReconcileStops activity after each check).
func newGuardEnvBeforeOneActivity(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := newGuardEnv(t)
	env.OnGetVersion(versionGuardOneActivity, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	return env
}

// newGuardEnvBeforeWatch runs the guard as runs started before
// versionGuardWatch do (a timer and a local look every poll).
func newGuardEnvBeforeWatch(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := newGuardEnv(t)
	env.OnGetVersion(versionGuardWatch, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	return env
}

var guardIn = GuardInput{ConnectionID: "c1", UserID: "u1", Poll: time.Minute}

// A healthy account: every poll checks the account and its stops; the
// guard ends when the connection goes away.
func TestAccountGuard_PollsUntilTheConnectionEnds(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	ref := GuardRef{ConnectionID: "c1", UserID: "u1"}
	var checks []time.Time
	env.OnActivity(ActGuardCheck, mock.Anything, ref).Return(func(context.Context, GuardRef) (GuardCheckResult, error) {
		checks = append(checks, env.Now())
		return GuardCheckResult{Level: "ok"}, nil
	}).Times(3)
	env.OnActivity(ActGuardCheck, mock.Anything, ref).Return(GuardCheckResult{Inactive: true}, nil).Once()
	env.OnActivity(ActReconcileStops, mock.Anything, ref).Return(ReconcileStopsResult{Checked: 1}, nil).Times(3)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, checks, 3)
	require.Equal(t, time.Minute, checks[1].Sub(checks[0]))
	require.Equal(t, time.Minute, checks[2].Sub(checks[1]))
}

// A fill signal makes the guard check at once instead of at the next poll.
func TestAccountGuard_CheckSignalWakesIt(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	start := env.Now()
	var checks []time.Duration
	var afterFill []bool
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(_ context.Context, ref GuardRef) (GuardCheckResult, error) {
		checks = append(checks, env.Now().Sub(start))
		afterFill = append(afterFill, ref.AfterFill)
		if len(checks) == 3 {
			return GuardCheckResult{Inactive: true}, nil
		}
		return GuardCheckResult{Level: "ok"}, nil
	})
	env.OnActivity(ActReconcileStops, mock.Anything, mock.Anything).Return(ReconcileStopsResult{}, nil)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalGuardCheck, nil)
	}, 10*time.Second)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, checks, 3)
	require.Equal(t, 10*time.Second, checks[1].Truncate(time.Second))
	require.Equal(t, 70*time.Second, checks[2].Truncate(time.Second))
	require.Equal(t, []bool{false, true, false}, afterFill, "the check a fill asked for is marked")
}

// A blocked account with positions is flattened round after round (one
// round per poll) until nothing is left; stops are not reconciled then.
func TestAccountGuard_FlattensABlockedAccount(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	n := 0
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(context.Context, GuardRef) (GuardCheckResult, error) {
		n++
		switch n {
		case 1:
			return GuardCheckResult{Level: "limit", Blocking: true, Flatten: true, Round: 1}, nil
		case 2:
			return GuardCheckResult{Level: "limit", Blocking: true, Flatten: true, Round: 2}, nil
		case 3:
			return GuardCheckResult{Level: "limit", Blocking: true}, nil
		}
		return GuardCheckResult{Inactive: true}, nil
	})
	var rounds []int64
	env.OnActivity(ActGuardFlatten, mock.Anything, mock.Anything).Return(func(_ context.Context, in FlattenInput) (FlattenResult, error) {
		rounds = append(rounds, in.Round)
		if in.Round == 1 {
			return FlattenResult{}, errors.New("broker unavailable")
		}
		return FlattenResult{Orders: 2, Flat: true}, nil
	})
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.NoError(t, env.GetWorkflowError())
	// Round 1 fails its five attempts, round 2 succeeds.
	require.Equal(t, []int64{1, 1, 1, 1, 1, 2}, rounds)
}

// A failing check does not end the guard.
func TestAccountGuard_SurvivesFailedChecks(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	n := 0
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(context.Context, GuardRef) (GuardCheckResult, error) {
		n++
		if n <= 3 {
			return GuardCheckResult{}, errors.New("database unavailable")
		}
		return GuardCheckResult{Inactive: true}, nil
	})
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 4, n)
}

// The guard continues as new after guardChecksPerRun checks.
func TestAccountGuard_ContinuesAsNew(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(GuardCheckResult{Level: "ok"}, nil).Times(guardChecksPerRun)
	env.OnActivity(ActReconcileStops, mock.Anything, mock.Anything).Return(ReconcileStopsResult{}, nil).Times(guardChecksPerRun)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.True(t, workflow.IsContinueAsNewError(env.GetWorkflowError()), "%v", env.GetWorkflowError())
}

// A guard started eagerly by a fill (GuardInput.AfterFill) makes that its
// first check, marked as the fill's; later checks and the next run are not.
func TestAccountGuard_StartedByAFill(t *testing.T) {
	env := newGuardEnvBeforeOneActivity(t)
	var afterFill []bool
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(_ context.Context, ref GuardRef) (GuardCheckResult, error) {
		afterFill = append(afterFill, ref.AfterFill)
		return GuardCheckResult{Level: "ok"}, nil
	}).Times(guardChecksPerRun)
	env.OnActivity(ActReconcileStops, mock.Anything, mock.Anything).Return(ReconcileStopsResult{}, nil).Times(guardChecksPerRun)
	in := guardIn
	in.AfterFill = true
	env.ExecuteWorkflow(AccountGuardWorkflowName, in)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	require.True(t, afterFill[0])
	require.NotContains(t, afterFill[1:], true)
	var next GuardInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.False(t, next.AfterFill, "the next run does not start with a fill's check")
	require.Equal(t, guardIn, next)
}

// Since versionGuardOneActivity one GuardCheck per look at the account also
// reconciles the stops: no ReconcileStops activity runs, and a blocked
// account is still flattened.
func TestAccountGuard_OneActivityPerCheck(t *testing.T) {
	env := newGuardEnvBeforeWatch(t)
	var refs []GuardRef
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(_ context.Context, ref GuardRef) (GuardCheckResult, error) {
		refs = append(refs, ref)
		switch len(refs) {
		case 1:
			return GuardCheckResult{Level: "ok"}, nil
		case 2:
			return GuardCheckResult{Level: "limit", Blocking: true, Flatten: true, Round: 1}, nil
		}
		return GuardCheckResult{Inactive: true}, nil
	}).Times(3)
	env.OnActivity(ActGuardFlatten, mock.Anything, FlattenInput{ConnectionID: "c1", UserID: "u1", Round: 1}).Return(FlattenResult{}, nil).Once()
	reconciled := false
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == ActReconcileStops {
			reconciled = true
		}
	})
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, refs, 3)
	for _, r := range refs {
		require.True(t, r.Reconcile, "every check reconciles the stops itself")
	}
	require.False(t, reconciled, "no separate ReconcileStops activity")
}

// Since versionGuardLocalCheck every look at the account is a local
// activity (one workflow task per poll); closing positions stays a
// regular activity (long, heartbeating). Runs from before the version
// keep their GuardCheck activity (TestAccountGuard_BeforeLocalCheck).
func TestAccountGuard_LooksInALocalActivity(t *testing.T) {
	env := newGuardEnvBeforeWatch(t)
	n := 0
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(context.Context, GuardRef) (GuardCheckResult, error) {
		n++
		switch n {
		case 1:
			return GuardCheckResult{Level: "ok"}, nil
		case 2:
			return GuardCheckResult{Level: "limit", Blocking: true, Flatten: true, Round: 1}, nil
		}
		return GuardCheckResult{Inactive: true}, nil
	}).Times(3)
	env.OnActivity(ActGuardFlatten, mock.Anything, mock.Anything).Return(FlattenResult{}, nil).Once()
	started := recordStarts(env)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{ActGuardCheck, ActGuardCheck, ActGuardCheck}, started.local)
	require.Equal(t, []string{ActGuardFlatten}, started.remote)
}

func TestAccountGuard_BeforeLocalCheck(t *testing.T) {
	env := newGuardEnv(t)
	env.OnGetVersion(versionGuardLocalCheck, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(GuardCheckResult{Inactive: true}, nil).Once()
	var remote []string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		remote = append(remote, info.ActivityType.Name)
	})
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.Equal(t, []string{ActGuardCheck}, remote)
}

// Since versionGuardWatch the guard looks once itself, then a GuardWatch
// activity watches the account and completes only when there is
// something to do: a quiet span starts the next watch, Flatten runs a
// round of closing while the next watch goes on, Inactive ends the guard.
// No timer: a quiet poll costs the workflow nothing.
func TestAccountGuard_WatchesBetweenLooks(t *testing.T) {
	env := newGuardEnv(t)
	env.OnActivity(ActGuardCheck, mock.Anything, GuardRef{ConnectionID: "c1", UserID: "u1", Reconcile: true}).
		Return(GuardCheckResult{Level: "ok"}, nil).Once()
	var watches []GuardWatchInput
	env.OnActivity(ActGuardWatch, mock.Anything, mock.Anything).Return(func(_ context.Context, in GuardWatchInput) (GuardCheckResult, error) {
		watches = append(watches, in)
		switch len(watches) {
		case 1:
			return GuardCheckResult{Level: "ok"}, nil // the span ended quietly
		case 2:
			return GuardCheckResult{Level: "limit", Blocking: true, Flatten: true, Round: 3}, nil
		case 3:
			return GuardCheckResult{}, temporal.NewNonRetryableApplicationError("watch refused", "BadWatch", nil)
		}
		return GuardCheckResult{Inactive: true}, nil
	}).Times(4)
	env.OnActivity(ActGuardFlatten, mock.Anything, FlattenInput{ConnectionID: "c1", UserID: "u1", Round: 3}).Return(FlattenResult{Orders: 1, Flat: true}, nil).Once()
	var order []string
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		order = append(order, info.ActivityType.Name)
	})
	timers := 0
	env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{ActGuardWatch, ActGuardWatch, ActGuardFlatten, ActGuardWatch, ActGuardWatch}, order)
	want := GuardWatchInput{ConnectionID: "c1", UserID: "u1", Poll: time.Minute, Span: guardWatchSpan, Heartbeat: GuardWatchHeartbeat(time.Minute)}
	for _, w := range watches {
		require.Equal(t, want, w)
	}
	require.Equal(t, 1, timers, "one timer: the pause after the watch that failed")
}

// A check signal during a watch is a local look at once (marked as a
// fill's), and the watch goes on; a look that finds the connection gone
// ends the guard.
func TestAccountGuard_CheckSignalDuringAWatch(t *testing.T) {
	env := newGuardEnv(t)
	start := env.Now()
	var looks []time.Duration
	var afterFill []bool
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(func(_ context.Context, ref GuardRef) (GuardCheckResult, error) {
		looks = append(looks, env.Now().Sub(start))
		afterFill = append(afterFill, ref.AfterFill)
		if len(looks) == 3 {
			return GuardCheckResult{Inactive: true}, nil
		}
		return GuardCheckResult{Level: "ok"}, nil
	}).Times(3)
	env.OnActivity(ActGuardWatch, mock.Anything, mock.Anything).After(time.Hour).Return(GuardCheckResult{Level: "ok"}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalGuardCheck, nil) }, 10*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalGuardCheck, nil)
		env.SignalWorkflow(SignalGuardCheck, nil)
	}, 20*time.Second)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []bool{false, true, true}, afterFill)
	require.Equal(t, 10*time.Second, looks[1].Truncate(time.Second))
	require.Equal(t, 20*time.Second, looks[2].Truncate(time.Second), "two signals at once make one look")
}

// A run continues as new after guardChecksPerRun watches and looks.
func TestAccountGuard_WatchContinuesAsNew(t *testing.T) {
	env := newGuardEnv(t)
	env.OnActivity(ActGuardCheck, mock.Anything, mock.Anything).Return(GuardCheckResult{Level: "ok"}, nil).Once()
	env.OnActivity(ActGuardWatch, mock.Anything, mock.Anything).Return(GuardCheckResult{Level: "ok"}, nil).Times(guardChecksPerRun)
	env.ExecuteWorkflow(AccountGuardWorkflowName, guardIn)
	require.True(t, env.IsWorkflowCompleted())
	require.True(t, workflow.IsContinueAsNewError(env.GetWorkflowError()), "%v", env.GetWorkflowError())
}

func TestGuardWatchHeartbeat(t *testing.T) {
	for _, tt := range []struct{ poll, want time.Duration }{
		{time.Second, 10 * time.Second},
		{10 * time.Second, 40 * time.Second},
		{DefaultGuardPoll, 2 * time.Minute},
		{5 * time.Minute, 2 * time.Minute},
	} {
		require.Equal(t, tt.want, GuardWatchHeartbeat(tt.poll), "poll %s", tt.poll)
	}
}
