//go:build unix

package devserver

import (
	"context"
	"sort"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Server defaults of the keys DefaultDynamicConfig changes (Temporal 1.29).
var serverDefaults = map[string]string{
	"history.transferProcessorMaxPollRPS":   "20",
	"history.timerProcessorMaxPollRPS":      "20",
	"history.visibilityProcessorMaxPollRPS": "20",
	"matching.numTaskqueueReadPartitions":   "4",
	"matching.numTaskqueueWritePartitions":  "4",
	"system.enableActivityEagerExecution":   "false",
}

func noopActivity(context.Context) error { return nil }

func fiveActivities(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for range 5 {
		if err := workflow.ExecuteActivity(ctx, noopActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkColdStart: Start (in-memory, headless) until ready, then Stop.
//
//	go test -run '^$' -bench ColdStart -benchtime 5x ./internal/devserver/
func BenchmarkColdStart(b *testing.B) {
	bin, err := FindBinary()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Start(context.Background(), Options{Binary: bin, Headless: true})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkFiveActivities: one workflow of five sequential no-op activities,
// start to result, against a server with tradeexec's dynamic config and one
// with the server defaults. Reports p50/p99 besides ns/op.
//
//	go test -run '^$' -bench FiveActivities -benchtime 200x ./internal/devserver/
func BenchmarkFiveActivities(b *testing.B) {
	noEager := map[string]string{"system.enableActivityEagerExecution": "false"}
	for _, bc := range []struct {
		name string
		dc   map[string]string
	}{
		{"tuned", nil},
		{"tuned-no-eager", noEager},
		{"server-defaults", serverDefaults},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchWorkflow(b, bc.dc)
		})
	}
}

func benchWorkflow(b *testing.B, dc map[string]string) {
	bin, err := FindBinary()
	if err != nil {
		b.Fatal(err)
	}
	s, err := Start(context.Background(), Options{Binary: bin, Headless: true, DynamicConfig: dc})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Stop() }()
	c, err := client.Dial(client.Options{HostPort: s.Address(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const tq = "bench"
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(fiveActivities)
	w.RegisterActivity(noopActivity)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()

	run := func() time.Duration {
		begin := time.Now()
		run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{TaskQueue: tq}, fiveActivities)
		if err != nil {
			b.Fatal(err)
		}
		if err := run.Get(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(begin)
	}
	for range 5 { // warm up caches and pollers
		run()
	}
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		lat = append(lat, run())
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
