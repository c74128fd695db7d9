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

// Slot counts (the SDK's defaults) and the fan-out's room (see
// workflowSlots; 1,000 followers measured on 2 cores: room 32 57.9 s,
// 64 50.1 s, 128 49.4 s, none 51.4 s — with 64 and 128 every trade's local
// activities end inside one workflow task, p95 3.8 s and 7.0 s of the 8 s
// after which the SDK heartbeats it; 64 keeps the margin).
const (
	workflowTaskSlots  = 1000
	activityTaskSlots  = 1000
	localActivitySlots = 1000
	fanoutRoom         = 64
	fanoutMaxWait      = 2 * time.Second
)

func mustFixed(n int) sdkworker.SlotSupplier {
	s, err := sdkworker.NewFixedSizeSlotSupplier(n)
	if err != nil {
		panic(err)
	}
	return s
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
	slots, err := newWorkflowSlots(workflowTaskSlots, fanoutRoom, fanoutMaxWait)
	if err != nil {
		panic(err) // constant sizes
	}
	activitySlots := o.MaxConcurrentActivities
	if activitySlots <= 0 {
		activitySlots = activityTaskSlots
	}
	tuner, err := sdkworker.NewCompositeTuner(sdkworker.CompositeTunerOptions{
		WorkflowSlotSupplier:        slots,
		ActivitySlotSupplier:        mustFixed(activitySlots),
		LocalActivitySlotSupplier:   mustFixed(localActivitySlots),
		NexusSlotSupplier:           mustFixed(workflowTaskSlots),
		SessionActivitySlotSupplier: mustFixed(activityTaskSlots),
	})
	if err != nil {
		panic(err)
	}
	w := sdkworker.New(c, taskQueue, sdkworker.Options{
		Tuner:             tuner,
		WorkerStopTimeout: stop,
	})
	if o.Signals != nil && o.Signals.Room == nil {
		o.Signals.Room = slots
	}
	workflows.Register(w)
	w.RegisterActivity(trading)
	w.RegisterActivity(&activities.InProcessTrade{Trading: trading, Guard: o.Guard})
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
	if o.Guard != nil {
		return &watchingWorker{Worker: w, guard: o.Guard}
	}
	return w
}

// watchingWorker stops the guard's watches (activities.StopGuardWatches)
// once the worker has stopped polling, so each is retried on another
// worker at once rather than after its heartbeat timeout.
type watchingWorker struct {
	sdkworker.Worker
	guard *activities.Guard
}

func (w *watchingWorker) Stop() {
	w.Worker.Stop()
	activities.StopGuardWatches(w.guard)
}

func (w *watchingWorker) Run(interruptCh <-chan interface{}) error {
	err := w.Worker.Run(interruptCh)
	activities.StopGuardWatches(w.guard)
	return err
}
