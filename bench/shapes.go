package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Workflow shapes (-only shapes): what each piece of a trade's workflow
// costs the engine, measured as the rate of n workflows of that shape,
// eager start, 16 in flight — the ceiling's rate run with one piece added
// at a time. It explains the fan-out's ratio: a follower's trade is one of
// these shapes plus tradeexec's own work.
const shapesQueue = "bench-shapes"

var saShape = temporal.NewSearchAttributeKeyKeyword("TradeStatus")

func shapeUpserts(ctx workflow.Context, n int) error {
	for i := 0; i < n; i++ {
		if err := workflow.UpsertTypedSearchAttributes(ctx, saShape.ValueSet(fmt.Sprint("s", i))); err != nil {
			return err
		}
	}
	return nil
}

func shapeLocal(ctx workflow.Context, n int) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := 0; i < n; i++ {
		if err := workflow.ExecuteLocalActivity(ctx, noopActivity).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func shapeRemote(ctx workflow.Context, n int) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := 0; i < n; i++ {
		if err := workflow.ExecuteActivity(ctx, "ShapeNoop").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// shape is one workflow shape: name and body.
type shape struct {
	name string
	fn   func(workflow.Context) error
}

var shapes = []shape{
	{"empty", func(workflow.Context) error { return nil }},
	{"1 upsert", func(ctx workflow.Context) error { return shapeUpserts(ctx, 1) }},
	{"4 upserts", func(ctx workflow.Context) error { return shapeUpserts(ctx, 4) }},
	{"2 versions", func(ctx workflow.Context) error {
		workflow.GetVersion(ctx, "a", workflow.DefaultVersion, 1)
		workflow.GetVersion(ctx, "b", workflow.DefaultVersion, 1)
		return nil
	}},
	{"1 local", func(ctx workflow.Context) error { return shapeLocal(ctx, 1) }},
	{"4 local", func(ctx workflow.Context) error { return shapeLocal(ctx, 4) }},
	{"1 activity", func(ctx workflow.Context) error { return shapeRemote(ctx, 1) }},
	{"1 local + 3 activities (a trade before inProcessSteps, or a broker elsewhere)", func(ctx workflow.Context) error {
		if err := shapeLocal(ctx, 1); err != nil {
			return err
		}
		return shapeRemote(ctx, 3)
	}},
	{"4 local + 2 versions + 2 upserts", func(ctx workflow.Context) error {
		workflow.GetVersion(ctx, "a", workflow.DefaultVersion, 1)
		workflow.GetVersion(ctx, "b", workflow.DefaultVersion, 1)
		if err := shapeLocal(ctx, 4); err != nil {
			return err
		}
		return shapeUpserts(ctx, 2)
	}},
}

func shapeRows(ctx context.Context, c client.Client, n int) []row {
	w := sdkworker.New(c, shapesQueue, sdkworker.Options{})
	for _, s := range shapes {
		w.RegisterWorkflowWithOptions(s.fn, workflow.RegisterOptions{Name: "Shape " + s.name})
	}
	w.RegisterActivity(noopActivity)
	w.RegisterActivityWithOptions(noopActivity, activity.RegisterOptions{Name: "ShapeNoop"})
	must(w.Start())
	defer w.Stop()
	var rows []row
	var base float64
	for _, s := range shapes {
		rate, _, failed, cpu := rateRun(ctx, c, shapesQueue, "Shape "+s.name, n)
		if base == 0 {
			base = rate
		}
		rows = append(rows, row{Figure: "shape: " + s.name, Samples: fmt.Sprint(n - failed),
			Other: fmt.Sprintf("%.1f/s = %.2f× the empty one's time; CPU each %s", rate, base/rate, cpu), Target: "—"})
	}
	return rows
}
