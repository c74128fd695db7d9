package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/stack"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// stackSymbol is what the benchmarks trade on the stack: its processes
// run the paper broker's real calendar, and crypto trades around the clock.
const stackSymbol = "BTCUSD"

type stackFlags struct {
	tradeexec, server, sqlTool, version, pg string
}

// runOnStack measures the same sections on the production-shaped stack
// (internal/stack: Temporal's server on PostgreSQL, 2 api + 2 worker
// processes behind the round-robin proxy) — `make bench-stack`.
func runOnStack(ctx context.Context, sf stackFlags, want map[string]bool, n, c, ceilingN, followers int) {
	dir, err := os.MkdirTemp("", "tradeexec-bench-stack-")
	must(err)
	defer os.RemoveAll(dir)
	s, err := stack.Start(ctx, stack.Options{Dir: filepath.Join(dir, "stack"), Tradeexec: sf.tradeexec, TemporalServer: sf.server,
		SQLTool: sf.sqlTool, TemporalServerVersion: sf.version, AdminURL: sf.pg, Prefix: "tradeexec_bench", Fresh: true,
		ProxyAddr: "127.0.0.1:0", TemporalPort: 19233, Out: os.Stderr})
	must(err)
	defer s.Stop()
	serverPID, withPostgres = s.Temporal.PID(), true
	tradeexecPIDs = func() []int {
		var pids []int
		for _, p := range append(append([]*stack.Proc{}, s.APIs...), s.Workers...) {
			pids = append(pids, p.PID())
		}
		return pids
	}
	// The stack's own payload key: the bot started here and the history
	// reads share the workers' codec.
	codec, err := payloadcodec.Parse(s.EnvValue("TEMPORAL_PAYLOAD_KEYS"))
	must(err)
	opts := client.Options{HostPort: s.TemporalAddress, Logger: quietLogger{}}
	codec.Apply(&opts)
	tc, err := client.Dial(opts)
	must(err)
	defer tc.Close()

	var rows []row
	var ceil ceiling
	if want["trade"] || want["fanout"] || want["ceiling"] {
		var crows []row
		ceil, crows = measureCeiling(ctx, tc, ceilingN, followers)
		rows = append(rows, crows...)
	}
	if want["trade"] {
		traders, err := s.AddTraders(ctx, 60, decimal.NewFromInt(100_000_000), decimal.NewFromInt(100))
		must(err)
		e := &env{db: s.DB, temporal: tc, url: s.URL, symbol: stackSymbol, accepted: map[string]time.Time{}}
		for _, t := range traders {
			e.hooks = append(e.hooks, t.WebhookToken)
		}
		e.acceptedAt = func(workflowID string) (time.Time, bool) {
			var t schema.Trade
			if err := s.DB.Select("submitted_at").Where("workflow_id = ?", workflowID).Take(&t).Error; err != nil || t.SubmittedAt == nil {
				return time.Time{}, false
			}
			return *t.SubmittedAt, true
		}
		rows = append(rows, e.sequentialRun(ctx, n, ceil)...)
		rows = append(rows, e.concurrentRun(ctx, c)...)
	}
	if want["fanout"] {
		kr, err := vault.ParseKeyring(s.EnvValue("VAULT_KEYS"))
		must(err)
		f := &fanoutEnv{db: s.DB, temporal: tc, keyring: kr, engine: paper.NewEngine(paper.NewGormStore(s.DB), paper.NewRandomWalkFeed(1)),
			accepted: map[string]time.Time{}, symbol: stackSymbol, fromRows: true,
			guard: &activities.Guard{Trading: &activities.Trading{DB: s.DB}, Temporal: tc, TaskQueue: "tradeexec"}}
		must(f.startBot(ctx, "tradeexec"))
		rows = append(rows, f.rows(ctx, followers, ceil)...)
		f.close()
	}
	for _, sec := range []string{"stop", "brokers", "ws", "auditexport", "bracket"} {
		if want[sec] {
			rows = append(rows, row{Figure: sec + ": in-process only (make bench)", Samples: "—"})
		}
	}
	fmt.Printf("\ntradeexec benchmarks on the production-shaped stack — %s\n", machine())
	fmt.Printf("Temporal server %s on PostgreSQL (%s), %d api + %d worker processes behind a round-robin proxy; acceptance = the trade row's submitted_at\n\n",
		sf.version, s.TemporalAddress, len(s.APIs), len(s.Workers))
	printTable(rows)
}
