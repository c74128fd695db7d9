// Package testenv gives integration tests a real Temporal server: one
// dev server per test binary (its state a SQLite file in a temporary
// directory), started on first use and stopped by
// Main. Tests isolate themselves with a unique task queue (TaskQueue) rather
// than a namespace per test.
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
//	func TestTrade(t *testing.T) {
//		c := testenv.Client(t)
//		tq := testenv.TaskQueue(t)
//		w := worker.New(c, tq, worker.Options{})
//		...
//	}
//
// When the temporal CLI is missing the test fails (never skips) with the
// hint to run `make bin/temporal`.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/tradeexec/tradeexec/internal/devserver"
)

// VerboseEnv, set to 1, streams the dev server's log to stderr.
const VerboseEnv = "TESTENV_TEMPORAL_LOG"

var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	dir     string // the server's state; removed by Main
	server  *devserver.Server
	err     error
}

// Main runs the package's tests and then stops the shared dev server, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func stop() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var err error
	if shared.server != nil {
		err = shared.server.Stop()
		shared.server = nil
	}
	if shared.dir != "" {
		err = errors.Join(err, os.RemoveAll(shared.dir))
		shared.dir = ""
	}
	return err
}

// Temporal returns the shared dev server, starting it on first use. It
// fails the test if the server cannot start (the error quotes the server's
// stderr, or tells how to install the CLI), if it has died since, or if the
// package's TestMain does not call Main.
func Temporal(t testing.TB) *devserver.Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		t.Fatal("testenv: add `func TestMain(m *testing.M) { testenv.Main(m) }` to this package so the shared Temporal server is stopped")
	}
	if !shared.started {
		shared.started = true
		shared.dir, shared.err = os.MkdirTemp("", "testenv-temporal-")
		if shared.err == nil {
			shared.server, shared.err = devserver.Start(context.Background(), serverOptions(shared.dir))
		}
	}
	if shared.err != nil {
		t.Fatalf("testenv: start Temporal dev server: %v", shared.err)
	}
	if err := shared.server.Err(); err != nil {
		t.Fatalf("testenv: shared Temporal dev server: %v", err)
	}
	return shared.server
}

// serverOptions keeps the shared server's state in a SQLite file (WAL,
// synchronous=normal) under dir, as `make run` and the benchmarks do. The
// CLI's in-memory database is not used: with it, a CI run's e2e binary saw
// every call fail a few minutes in (the server still running, the SDK's
// DescribeNamespace failing until its deadline). The likely cause, reported
// for the dev server, is the in-memory database going with its pooled
// connections (temporalio/temporal#8017).
func serverOptions(dir string) devserver.Options {
	opts := devserver.Options{Headless: true, DBFile: filepath.Join(dir, "temporal.db")}
	if os.Getenv(VerboseEnv) == "1" {
		opts.Stderr = os.Stderr
	}
	return opts
}

// Client returns an SDK client connected to the shared server's default
// namespace, encrypting payloads with Codec, closed when the test ends. The SDK's own log goes to the test
// log at warn level and above.
func Client(t testing.TB) client.Client {
	t.Helper()
	s := Temporal(t)
	c, err := client.Dial(Encrypted(client.Options{
		HostPort:  s.Address(),
		Namespace: s.Namespace(),
		Logger:    Logger(t),
	}))
	if err != nil {
		t.Fatalf("testenv: dial %s: %v", s.Address(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// Logger returns a Temporal SDK logger that writes warnings and errors to
// t.Log while the test runs, and drops them afterwards (workers may log
// during shutdown, after the test has completed).
func Logger(t testing.TB) sdklog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

type testWriter struct {
	mu     sync.Mutex
	t      testing.TB
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

var _ io.Writer = (*testWriter)(nil)

var (
	queueSeq    atomic.Uint64
	unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// TaskQueue returns a task queue name unique within the test binary and
// across test binaries sharing nothing but the name space, derived from the
// test's name so it is recognisable in the Temporal UI.
func TaskQueue(t testing.TB) string {
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	return fmt.Sprintf("test-%s-%d-%d", name, os.Getpid(), queueSeq.Add(1))
}
