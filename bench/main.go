// Command bench measures the performance figures of DESIGN §6 on the
// embedded default (SQLite + the pinned Temporal dev server + paper broker)
// and prints them as a table. Run with `make bench`. Nothing here asserts a
// time: the numbers are for people to read and compare.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tradeexec/tradeexec/internal/devserver"
	"github.com/tradeexec/tradeexec/internal/gcpolicy"
)

func main() {
	sequential := flag.Int("n", 200, "sequential signals for the latency run")
	concurrent := flag.Int("c", 50, "concurrent signals for the throughput run")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the tradeexec side to this file")
	flag.StringVar(&fanoutProfile, "cpuprofile-fanout", "", "write a CPU profile of the tradeexec side from the fan-out signal to its last follower's acceptance to this file")
	followers := flag.Int("followers", 1000, "followers of the fan-out signal")
	only := flag.String("only", "trade,bracket,stop,fanout,guards,brokers,ws", "comma-separated sections to run (the engine's ceiling runs first whenever trade, fanout, guards or copy does; copy also runs fanout, its reference; guards runs fanout, then measures its followers' guards)")
	flag.IntVar(&sqlTop, "sql-top", 6, "statements listed in each SQL-per-unit row, most frequent first")
	ceilingN := flag.Int("ceiling-n", 200, "sequential empty / one-local-activity workflows for the engine's ceiling")
	analyticsTraders := flag.Int("analyticstraders", 10_000, "generated traders for the admin analytics run (-only analytics)")
	auditRows := flag.Int("auditrows", 1_000_000, "generated audit rows for the audit export run (-only auditexport)")
	var sf stackFlags
	onStack := flag.Bool("stack", false, "measure on the production-shaped stack (make bench-stack) instead of the embedded default")
	flag.StringVar(&sf.tradeexec, "stack-tradeexec", "bin/tradeexec", "tradeexec binary (-stack)")
	flag.StringVar(&sf.server, "stack-temporal-server", "bin/server", "Temporal server binary (-stack)")
	flag.StringVar(&sf.sqlTool, "stack-sql-tool", "bin/sql", "Temporal sql tool (-stack)")
	flag.StringVar(&sf.version, "stack-temporal-version", "", "Temporal server module version (-stack)")
	flag.StringVar(&sf.pg, "stack-pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL role that may create databases (-stack)")
	flag.Parse()
	// The process runs tradeexec's api and worker (app.Start): it takes
	// their garbage collector policy, as cmd/tradeexec does.
	gc, err := gcpolicy.Apply(os.LookupEnv, nil)
	must(err)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		must(err)
		must(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		want[strings.TrimSpace(s)] = true
	}

	ctx := context.Background()
	if *onStack {
		runOnStack(ctx, sf, want, *sequential, *concurrent, *ceilingN, *followers)
		return
	}
	dir, err := os.MkdirTemp("", "tradeexec-bench-")
	must(err)
	defer os.RemoveAll(dir)

	srv, err := devserver.Start(ctx, devserver.Options{DBFile: dir + "/temporal.db", Headless: true})
	must(err)
	defer srv.Stop()
	serverPID = srv.PID()

	env, err := newEnv(ctx, dir, srv.Address())
	must(err)
	defer env.close()

	var rows []row
	var ceil ceiling
	if want["trade"] || want["fanout"] || want["ceiling"] || want["copy"] || want["guards"] {
		var crows []row
		ceil, crows = measureCeiling(ctx, env.temporal, *ceilingN, *followers)
		rows = append(rows, crows...)
	}
	if want["shapes"] {
		rows = append(rows, shapeRows(ctx, env.temporal, *followers)...)
	}
	if want["trade"] {
		rows = append(rows, env.sequentialRun(ctx, *sequential, ceil)...)
		rows = append(rows, env.concurrentRun(ctx, *concurrent)...)
	}
	if want["stop"] {
		rows = append(rows, stopTriggerRun(ctx, dir, 40)...)
	}
	if want["fanout"] || want["copy"] || want["guards"] {
		rows = append(rows, fanoutRows(ctx, dir, srv.Address(), *followers, ceil, want["guards"])...)
	}
	if want["copy"] {
		rows = append(rows, copyRows(ctx, dir, srv.Address(), *followers, ceil, channelFanoutTotal)...)
	}
	if want["brokers"] {
		rows = append(rows, brokerRows(ctx, dir, *sequential)...)
	}
	if want["ws"] {
		rows = append(rows, wsRun(ctx)...)
	}
	if want["auditexport"] {
		rows = append(rows, auditExportRows(ctx, dir, *auditRows)...)
	}
	if want["performance"] {
		rows = append(rows, performanceRows(ctx, dir, []int{1_000, 10_000, 40_000})...)
	}
	if want["analytics"] {
		rows = append(rows, analyticsRows(ctx, dir, *analyticsTraders)...)
	}
	if want["bracket"] {
		// Last: each take-profit is then watched for the rest of the run.
		rows = append(rows, env.bracketRun(ctx, 50)...)
	}

	fmt.Printf("\ntradeexec benchmarks — %s; %s\n", machine(), gc)
	fmt.Printf("embedded default: SQLite (file) + Temporal dev server (%s) + paper broker\n\n", srv.Address())
	printTable(rows)
}

func machine() string {
	return fmt.Sprintf("%s, %d CPUs, %s/%s, %s", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

type row struct {
	Figure, Samples, P50, P95, P99, Other, Target string
}

func printTable(rows []row) {
	header := row{"figure", "n", "p50", "p95", "p99", "other", "target (DESIGN §6)"}
	all := append([]row{header}, rows...)
	w := make([]int, 7)
	cols := func(r row) []string { return []string{r.Figure, r.Samples, r.P50, r.P95, r.P99, r.Other, r.Target} }
	for _, r := range all {
		for i, c := range cols(r) {
			if n := utf8.RuneCountInString(c); n > w[i] {
				w[i] = n
			}
		}
	}
	line := func(r row) {
		parts := cols(r)
		for i := range parts {
			parts[i] = parts[i] + strings.Repeat(" ", w[i]-utf8.RuneCountInString(parts[i]))
		}
		fmt.Println("| " + strings.Join(parts, " | ") + " |")
	}
	line(header)
	seps := make([]string, 7)
	for i := range seps {
		seps[i] = strings.Repeat("-", w[i])
	}
	fmt.Println("| " + strings.Join(seps, " | ") + " |")
	for _, r := range rows {
		line(r)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
