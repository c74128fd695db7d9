package activities

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// guardStartPage is how many connections StartGuards looks at per query.
const guardStartPage = 200

func (g *Guard) poll() time.Duration {
	if g.Poll > 0 {
		return g.Poll
	}
	return workflows.DefaultGuardPoll
}

func (g *Guard) options(connectionID string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:        workflows.GuardWorkflowID(connectionID),
		TaskQueue: g.TaskQueue,
		// One guard per connection: a running one is used, a finished one
		// (connection disconnected, then connected again) is started anew.
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}
}

// EnsureGuard tells the connection's guard to check the account now: a
// running guard gets the check signal; a guard that is not running is
// started eagerly on this worker (its first workflow task comes back in the
// start response), told that a fill started it. A start that loses a race
// with another EnsureGuard signals the guard that won. The trade path calls
// it after every fill and after a refusal by the loss rules.
func (g *Guard) EnsureGuard(ctx context.Context, in workflows.GuardRef) error {
	id := workflows.GuardWorkflowID(in.ConnectionID)
	err := g.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalGuardCheck, nil)
	var notFound *serviceerror.NotFound
	if !errors.As(err, &notFound) {
		return err
	}
	opts := g.options(in.ConnectionID)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	opts.EnableEagerStart = true
	_, err = g.Temporal.ExecuteWorkflow(ctx, opts, workflows.AccountGuardWorkflowName,
		workflows.GuardInput{ConnectionID: in.ConnectionID, UserID: in.UserID, Poll: g.poll(), AfterFill: true})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return g.Temporal.SignalWorkflow(ctx, id, "", workflows.SignalGuardCheck, nil)
	}
	return err
}

// StartGuards starts the guard (g's task queue and poll) of every active
// connection whose guard has not looked at its account for three poll
// intervals (or ever): at worker start, and then periodically, so a new
// connection, or one whose guard ended, is watched without waiting for its
// first fill. Starting a guard that runs is a no-op. It returns how many
// it started or found running.
func StartGuards(ctx context.Context, g *Guard) (int, error) {
	db := g.Trading.DB.WithContext(ctx)
	stale := g.Trading.now().Add(-3 * g.poll())
	started, after := 0, ""
	for {
		var conns []schema.BrokerConnection
		// "is_active" as written in the partial index of active ids
		// (migration 0040), so both engines read that index.
		if err := db.Select("id", "user_id").Where("is_active AND id > ?", after).Order("id").Limit(guardStartPage).Find(&conns).Error; err != nil {
			return started, err
		}
		if len(conns) == 0 {
			return started, nil
		}
		ids := make([]string, len(conns))
		for i, c := range conns {
			ids[i] = c.ID
		}
		fresh := map[string]bool{}
		var recent []string
		if err := db.Model(&schema.RiskGuard{}).Where("connection_id IN ? AND observed_at > ?", ids, stale).Pluck("connection_id", &recent).Error; err != nil {
			return started, err
		}
		for _, id := range recent {
			fresh[id] = true
		}
		for _, c := range conns {
			if fresh[c.ID] {
				continue
			}
			if _, err := g.Temporal.ExecuteWorkflow(ctx, g.options(c.ID), workflows.AccountGuardWorkflowName,
				workflows.GuardInput{ConnectionID: c.ID, UserID: c.UserID, Poll: g.poll()}); err != nil {
				return started, err
			}
			started++
		}
		after = conns[len(conns)-1].ID
	}
}

// RunGuardStarter calls StartGuards now and then every interval until ctx
// ends; failures are logged and retried at the next interval. (Functions,
// not methods: every exported method of Guard is registered as an
// activity.)
func RunGuardStarter(ctx context.Context, g *Guard, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := StartGuards(ctx, g); err != nil && ctx.Err() == nil {
			g.Trading.log().Warn("account guards: start", zap.Error(err))
		} else if n > 0 {
			g.Trading.log().Info("account guards started", zap.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// GuardAfterFill is the account guard's look at the account after a fill,
// made by the trade itself (a local activity of TradeWorkflow for brokers
// in this process, inProcessSteps) instead of by a check signal to the
// guard's workflow: a signal costs the guard a workflow task and an
// activity per fill, this costs one read of the guard's state. The look is
// GuardCheck's (the trade has synced the portfolio; the stops are
// reconciled). What only the guard's workflow does — closing every
// position of a blocked account, round after round — is handed to it by
// the check signal; a guard that is not running is started (EnsureGuard),
// and its first look is this fill's.
//
// A guard whose watch this process holds is running (the watch is its
// outstanding activity): no DescribeWorkflowExecution is asked, and the
// watch's next look is a poll after this one.
func (g *Guard) GuardAfterFill(ctx context.Context, in workflows.GuardRef) error {
	return g.afterFill(ctx, in, true)
}

// afterFill is GuardAfterFill; reconcile false leaves the stops' upkeep
// to the guard's next poll (PrepareAndSubmit: the fill's own stop was just
// placed, and the upkeep leaves a position filled within stopHandoff to
// its trade anyway, so only the other positions' stops wait, at most a
// poll, as they do between any two looks).
func (g *Guard) afterFill(ctx context.Context, in workflows.GuardRef, reconcile bool) error {
	held := g.watchHeld(in.ConnectionID)
	if !held {
		running, err := g.guardRunning(ctx, in.ConnectionID)
		if err != nil {
			return err
		}
		if !running {
			return g.EnsureGuard(ctx, in)
		}
	}
	res, err := g.GuardCheck(ctx, workflows.GuardRef{ConnectionID: in.ConnectionID, UserID: in.UserID, AfterFill: true, Reconcile: reconcile})
	if err != nil {
		return err
	}
	if res.Flatten {
		return g.EnsureGuard(ctx, in)
	}
	if held {
		g.watchLooked(in.ConnectionID)
	}
	return nil
}

// guardRunning reports whether the connection's guard workflow runs.
func (g *Guard) guardRunning(ctx context.Context, connectionID string) (bool, error) {
	d, err := g.Temporal.DescribeWorkflowExecution(ctx, workflows.GuardWorkflowID(connectionID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
