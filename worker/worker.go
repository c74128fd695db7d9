// Package worker builds the Temporal worker of the trade path: it registers
// every workflow and activity on the task queue.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/workflows"
)

// Options tune the worker.
type Options struct {
	// MaxConcurrentActivities bounds parallel activity executions (0: SDK default).
	MaxConcurrentActivities int
	// Connections are the broker connection activities (connect check,
	// health sweep); nil leaves them unregistered.
	Connections *activities.Connections
	// Signals are the channel-signal fan-out activities (SignalWorkflow);
	// nil leaves them unregistered.
	Signals *activities.Signals
	// Guard are the account guard activities (AccountGuardWorkflow);
	// nil leaves them unregistered.
	Guard *activities.Guard
	// Cancels are the cancel signal's activities (they signal other
	// TradeWorkflows); nil leaves them unregistered.
	Cancels *activities.Cancels
	// Billing are the billing workflows' activities (provider events,
	// dunning, mail); nil leaves them unregistered.
	Billing *activities.Billing
	// Keys are the key-rotation workflow's activities; nil leaves them
	// unregistered.
	Keys *activities.Keys
	// Audit are the audit schedules' activities (verify, archive); nil
	// leaves them unregistered.
	Audit *activities.Audit
	// StopTimeout is how long a stopping worker lets the tasks it holds
	// finish (SHUTDOWN_TIMEOUT; 0: 10 s). An activity cut off is retried
	// elsewhere and is idempotent.
	StopTimeout time.Duration
	// Churn are the churn-scoring schedule's activities; nil leaves them
	// unregistered.
	Churn *activities.Churn
}

// New returns a worker (not yet started) serving taskQueue.
func New(c client.Client, taskQueue string, trading *activities.Trading, o Options) sdkworker.Worker {
	if taskQueue == "" {
		taskQueue = workflows.DefaultTaskQueue
	}
	stop := o.StopTimeout
	if stop <= 0 {
		stop = 10 * time.Second
	}
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		MaxConcurrentActivityExecutionSize: o.MaxConcurrentActivities,
		WorkerStopTimeout:                  stop,
	})
	workflows.Register(w)
	w.RegisterActivity(trading)
	w.RegisterActivity(&activities.Compliance{DB: trading.DB, Log: trading.Log})
	w.RegisterActivity(&activities.Leaderboards{DB: trading.DB, Log: trading.Log})
	w.RegisterActivity(&activities.Analytics{DB: trading.DB, Log: trading.Log})
	if o.Connections != nil {
		w.RegisterActivity(o.Connections)
	}
	if o.Signals != nil {
		w.RegisterActivity(o.Signals)
	}
	if o.Guard != nil {
		w.RegisterActivity(o.Guard)
	}
	if o.Cancels != nil {
		w.RegisterActivity(o.Cancels)
	}
	if o.Billing != nil {
		w.RegisterActivity(o.Billing)
	}
	if o.Keys != nil {
		w.RegisterActivity(o.Keys)
	}
	if o.Audit != nil {
		w.RegisterActivity(o.Audit)
	}
	if o.Churn != nil {
		w.RegisterActivity(o.Churn)
	}
	return w
}
