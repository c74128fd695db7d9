package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The engine's own ceiling on this machine, measured in the same run as
// the figures it divides (DESIGN §6 "Ratios"): absolute times do not carry
// between machines, ratios to what the same Temporal server, client codec
// and SQLite file do for an empty workflow do.
//
//	empty        an eagerly started workflow that does nothing: start → result
//	one local    the same with one local activity (what a trade's
//	             PrepareOrder costs at least): the trade path's floor
//	rate         empty workflows started and completed per second, eager
//	             start, 16 in flight: the fan-out's floor is followers ÷ rate
type ceiling struct {
	EmptyP50, LocalP50 time.Duration
	Rate               float64  // empty workflows per second
	LocalCPU           cpuMeter // CPU per one-local-activity workflow
	RateCPU            cpuMeter // CPU per empty workflow in the rate run
}

const ceilingQueue = "bench-ceiling"

func emptyWorkflow(workflow.Context) error { return nil }

func oneLocalActivityWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteLocalActivity(ctx, noopActivity).Get(ctx, nil)
}

func noopActivity(context.Context) error { return nil }

// measureCeiling runs the three floors on their own task queue with the
// same client (codec included) the system under measurement uses.
func measureCeiling(ctx context.Context, c client.Client, n, rateN int) (ceiling, []row) {
	w := sdkworker.New(c, ceilingQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(emptyWorkflow, workflow.RegisterOptions{Name: "BenchEmpty"})
	w.RegisterWorkflowWithOptions(oneLocalActivityWorkflow, workflow.RegisterOptions{Name: "BenchOneLocalActivity"})
	w.RegisterActivity(noopActivity)
	must(w.Start())
	defer w.Stop()

	run := func(name string) (time.Duration, error) { return runEager(ctx, c, ceilingQueue, name) }
	sequential := func(name string) []time.Duration {
		for i := 0; i < 5; i++ { // warm-up
			_, err := run(name)
			must(err)
		}
		d := make([]time.Duration, 0, n)
		for i := 0; i < n; i++ {
			t, err := run(name)
			must(err)
			d = append(d, t)
		}
		return d
	}
	empty := sequential("BenchEmpty")
	cpu0 := readCPU()
	local := sequential("BenchOneLocalActivity")
	localCPU := cpu0.per(len(local) + 5)

	// Throughput: rateN empty workflows, 16 in flight.
	rate, elapsed, failed, rateCPU := rateRun(ctx, c, ceilingQueue, "BenchEmpty", rateN)

	c0 := ceiling{EmptyP50: median(empty), LocalP50: median(local), Rate: rate, LocalCPU: localCPU, RateCPU: rateCPU}
	return c0, []row{
		stats("ceiling: empty workflow, eager start → result", empty, "engine floor (same server, codec, persistence)", "—"),
		stats("ceiling: workflow with one local activity", local, "the trade path's floor; CPU each "+localCPU.String(), "—"),
		{Figure: fmt.Sprintf("ceiling: %d empty workflows, 16 in flight", rateN), Samples: fmt.Sprint(rateN - failed),
			Other: fmt.Sprintf("%.1f workflows/s (%.2f s, %d failed); CPU each %s", rate, elapsed.Seconds(), failed, rateCPU), Target: "—"},
	}
}

// runEager starts one workflow of type name on queue eagerly and waits
// for its result; it returns the time from start to result.
func runEager(ctx context.Context, c client.Client, queue, name string) (time.Duration, error) {
	start := time.Now()
	r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-" + uuid.NewString(), TaskQueue: queue,
		EnableEagerStart: true, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}, name)
	if err != nil {
		return 0, err
	}
	if err := r.Get(ctx, nil); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// rateRun runs n workflows of type name on queue, eagerly started, 16 in
// flight: completed workflows per second, the time it took, how many
// failed, and the CPU per workflow.
func rateRun(ctx context.Context, c client.Client, queue, name string, n int) (float64, time.Duration, int, cpuMeter) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	var failed int
	var mu sync.Mutex
	cpu0 := readCPU()
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := runEager(ctx, c, queue, name); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	return float64(n-failed) / elapsed.Seconds(), elapsed, failed, cpu0.per(n)
}

// times is a ratio printed as "2.4×".
func times(a, b time.Duration) string {
	if b <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", float64(a)/float64(b))
}
