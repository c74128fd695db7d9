package app

import (
	"context"
	"time"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/config"
)

// RiskOptions configure the account guard (one AccountGuardWorkflow per
// broker connection: daily loss limit, circuit breaker, stop-loss upkeep).
type RiskOptions struct {
	// GuardPoll is the guard's interval between looks at an account (it
	// also looks after every fill); 0 means workflows.DefaultGuardPoll.
	GuardPoll time.Duration
	// GuardStartEvery is how often the worker starts the guards of active
	// connections that have none running; 0 means DefaultGuardStartEvery.
	GuardStartEvery time.Duration
}

// RiskOptionsFrom maps the process configuration onto RiskOptions.
func RiskOptionsFrom(cfg config.Config) RiskOptions {
	return RiskOptions{GuardPoll: cfg.GuardPoll}
}

// DefaultGuardStartEvery is how often missing guards are started.
const DefaultGuardStartEvery = 5 * time.Minute

// guardActivities builds the guard's activities on the trade path's
// dependencies.
func (s *Stack) guardActivities(o Options) *activities.Guard {
	s.Guard = &activities.Guard{Trading: s.Trading, Temporal: o.Temporal, TaskQueue: o.TaskQueue, Poll: o.Risk.GuardPoll}
	return s.Guard
}

// startGuards starts the guard of every active connection now and keeps
// doing so for new ones until Stop.
func (s *Stack) startGuards(o Options) {
	every := o.Risk.GuardStartEvery
	if every <= 0 {
		every = DefaultGuardStartEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopGuards = cancel
	go activities.RunGuardStarter(ctx, s.Guard, every)
}
