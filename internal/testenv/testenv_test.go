package testenv

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func TestMain(m *testing.M) { Main(m) }

var symbolKey = temporal.NewSearchAttributeKeyKeyword("Symbol")

func tagSymbol(ctx workflow.Context, symbol string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, symbolKey.ValueSet(symbol)); err != nil {
		return "", err
	}
	return "tagged " + symbol, nil
}

func TestWorkflowRoundTripWithSearchAttributes(t *testing.T) {
	c := Client(t)
	tq := TaskQueue(t)
	w := worker.New(c, tq, worker.Options{})
	w.RegisterWorkflow(tagSymbol)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	symbol := fmt.Sprintf("T%d", time.Now().UnixNano())
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: tq}, tagSymbol, symbol)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil || got != "tagged "+symbol {
		t.Fatalf("result %q, err %v", got, err)
	}
	// Visibility is eventually consistent; the support desk query must find it soon.
	query := fmt.Sprintf("Symbol = %q", symbol)
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("ListWorkflow(%s): %v", query, err)
		}
		if len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == run.GetID() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("workflow not found by %s", query)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestServerIsShared(t *testing.T) {
	a, b := Temporal(t), Temporal(t)
	if a != b {
		t.Fatal("Temporal returned two servers")
	}
	if a.UIURL() != "" {
		t.Fatalf("test server should be headless, UI at %s", a.UIURL())
	}
}

func TestTaskQueue(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range []string{"a b/c", "a b/c", "ünïcode"} {
		t.Run(name, func(t *testing.T) {
			q := TaskQueue(t)
			if seen[q] {
				t.Fatalf("duplicate task queue %q", q)
			}
			seen[q] = true
			if strings.ContainsAny(q, " /ü") || !strings.HasPrefix(q, "test-TestTaskQueue") {
				t.Fatalf("task queue %q", q)
			}
		})
	}
}

// fatalRecorder captures Fatal calls instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

type fatalSentinel struct{}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	panic(fatalSentinel{})
}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(fatalSentinel{})
}

func recordFatal(t *testing.T, fn func(tb testing.TB)) string {
	t.Helper()
	r := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if v := recover(); v != nil {
				if _, ok := v.(fatalSentinel); !ok {
					panic(v)
				}
			}
		}()
		fn(r)
	}()
	return r.msg
}

func TestFailures(t *testing.T) {
	Temporal(t) // make sure the shared server exists; restore it afterwards
	shared.mu.Lock()
	saved := struct {
		inMain, started bool
		err             error
	}{shared.inMain, shared.started, shared.err}
	server := shared.server
	shared.mu.Unlock()
	restore := func() {
		shared.mu.Lock()
		shared.inMain, shared.started, shared.err, shared.server = saved.inMain, saved.started, saved.err, server
		shared.mu.Unlock()
	}
	defer restore()

	t.Run("missing binary", func(t *testing.T) {
		t.Setenv("TEMPORAL_CLI", "/nonexistent/temporal")
		shared.mu.Lock()
		shared.started, shared.server, shared.err = false, nil, nil
		shared.mu.Unlock()
		msg := recordFatal(t, func(tb testing.TB) { Temporal(tb) })
		if !strings.Contains(msg, "make bin/temporal") {
			t.Fatalf("fatal message %q lacks the make hint", msg)
		}
		// The failure is remembered: later tests fail the same way, quickly.
		if msg2 := recordFatal(t, func(tb testing.TB) { Temporal(tb) }); msg2 != msg {
			t.Fatalf("second call: %q", msg2)
		}
	})
	restore()

	t.Run("no TestMain", func(t *testing.T) {
		shared.mu.Lock()
		shared.inMain = false
		shared.mu.Unlock()
		msg := recordFatal(t, func(tb testing.TB) { Temporal(tb) })
		if !strings.Contains(msg, "testenv.Main(m)") {
			t.Fatalf("fatal message %q", msg)
		}
	})
}
