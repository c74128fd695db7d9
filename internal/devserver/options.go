// Package devserver runs the pinned Temporal CLI development server
// (`temporal server start-dev`) as a child process for `tradeexec dev` and for
// integration tests.
//
// The child is started in its own process group and, on Linux, with a parent
// death signal, so it never outlives the process that started it. Start
// returns only once the frontend answers its gRPC health check and the
// tradeexec search attributes are registered in the namespace.
package devserver

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"
)

// DefaultLogLevel is the dev server's log level unless Options.LogLevel says otherwise.
const DefaultLogLevel = "warn"

// DefaultNamespace is the namespace the dev server always creates.
const DefaultNamespace = "default"

const (
	defaultStartTimeout = 60 * time.Second
	defaultStopTimeout  = 10 * time.Second
)

// Options configures Start. The zero value starts an in-memory server with
// the web UI on free ports of 127.0.0.1.
type Options struct {
	// Binary is the temporal CLI executable; empty means FindBinary().
	Binary string
	// DBFile persists the server state in this SQLite file; empty = in-memory.
	// Its parent directory is created (0700) when missing.
	DBFile string
	// Port is the frontend gRPC port, UIPort the web UI port; 0 picks a free port.
	Port, UIPort int
	// Headless disables the web UI (UIURL then returns "").
	Headless bool
	// Namespace is created at launch (in addition to "default") and is where
	// the search attributes are verified; empty = "default".
	Namespace string
	// LogLevel of the server: debug, info, warn, error or never; empty = "warn".
	LogLevel string
	// Stdout and Stderr receive the server's output; nil discards it. The last
	// lines of stderr are always kept for error messages.
	Stdout, Stderr io.Writer

	// UICodecEndpoint points the web UI at a codec server (tradeexec's
	// api.TemporalCodecPath) that decrypts payloads for staff; empty = none.
	UICodecEndpoint string

	// DynamicConfig adds to or overrides DefaultDynamicConfig. Values are JSON
	// (e.g. "10000", "true", `"text"`).
	DynamicConfig map[string]string
	// StartTimeout bounds the wait for readiness; 0 = 60s.
	StartTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; 0 = 10s.
	StopTimeout time.Duration
}

// SearchAttribute is a custom search attribute every tradeexec namespace carries.
type SearchAttribute struct {
	Name string
	Type string // Temporal indexed value type name as the CLI spells it, e.g. "Keyword"
}

// SearchAttributes are registered on every dev server (DESIGN §3: the Temporal
// UI is the support desk). docker-compose.yml registers the same list.
var SearchAttributes = []SearchAttribute{
	{Name: "UserId", Type: "Keyword"},
	{Name: "Symbol", Type: "Keyword"},
	{Name: "Broker", Type: "Keyword"},
	{Name: "SignalSource", Type: "Keyword"},
	{Name: "TradeStatus", Type: "Keyword"},
}

// DefaultDynamicConfig returns the dynamic config tradeexec starts the dev
// server with (DESIGN §1). The defaults of the history task queue processors
// (20 polls/s per shard) and four task queue partitions add tens of
// milliseconds to every workflow step on the single-shard dev server.
func DefaultDynamicConfig() map[string]string {
	return map[string]string{
		// Every workflow/activity task and timer goes through these queues.
		"history.transferProcessorMaxPollRPS": "10000",
		"history.timerProcessorMaxPollRPS":    "10000",
		// Visibility (search attributes, list queries in the UI and tests).
		"history.visibilityProcessorMaxPollRPS": "10000",
		// One partition: a task is always matched with the poller waiting on it.
		"matching.numTaskqueueReadPartitions":  "1",
		"matching.numTaskqueueWritePartitions": "1",
		// Newly registered search attributes are usable immediately. The CLI
		// sets this too; it is explicit here because Start relies on it.
		"system.forceSearchAttributesCacheRefreshOnRead": "true",
		// Workflow updates (cancel a queued trade) and eager activity
		// dispatch (activities on the workflow's own task queue start in the
		// workflow task completion response, skipping a matching round trip).
		"frontend.enableUpdateWorkflowExecution": "true",
		"system.enableActivityEagerExecution":    "true",
		// intake starts trade workflows eagerly on the local worker.
		"system.enableEagerWorkflowStart": "true",
	}
}

var validLogLevels = []string{"debug", "info", "warn", "error", "never"}

func (o Options) namespace() string {
	if o.Namespace == "" {
		return DefaultNamespace
	}
	return o.Namespace
}

func (o Options) logLevel() string {
	if o.LogLevel == "" {
		return DefaultLogLevel
	}
	return o.LogLevel
}

func (o Options) startTimeout() time.Duration {
	if o.StartTimeout <= 0 {
		return defaultStartTimeout
	}
	return o.StartTimeout
}

func (o Options) stopTimeout() time.Duration {
	if o.StopTimeout <= 0 {
		return defaultStopTimeout
	}
	return o.StopTimeout
}

func (o Options) validate() error {
	if !slices.Contains(validLogLevels, o.logLevel()) {
		return fmt.Errorf("devserver: invalid log level %q (want one of %v)", o.LogLevel, validLogLevels)
	}
	for name, p := range map[string]int{"port": o.Port, "UI port": o.UIPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("devserver: invalid %s %d", name, p)
		}
	}
	return nil
}

// args builds the command line for `temporal server start-dev`; port and
// uiPort are the resolved (non-zero) ports.
func (o Options) args(port, uiPort int) []string {
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--log-level", o.logLevel(),
		"--color", "never",
	}
	if o.Headless {
		args = append(args, "--headless")
	} else {
		args = append(args, "--ui-port", strconv.Itoa(uiPort))
		if o.UICodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", o.UICodecEndpoint)
		}
	}
	if o.DBFile != "" {
		// WAL + synchronous=normal: durable across a crash of the process,
		// and several times faster than the default rollback journal.
		args = append(args, "--db-filename", o.DBFile,
			"--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")
	}
	if ns := o.namespace(); ns != DefaultNamespace {
		args = append(args, "--namespace", ns)
	}
	for _, sa := range SearchAttributes {
		args = append(args, "--search-attribute", sa.Name+"="+sa.Type)
	}
	dc := DefaultDynamicConfig()
	maps.Copy(dc, o.DynamicConfig)
	for _, k := range slices.Sorted(maps.Keys(dc)) {
		args = append(args, "--dynamic-config-value", k+"="+dc[k])
	}
	return args
}
