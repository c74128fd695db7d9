// Command stack runs tradeexec production-shaped on this machine (`make
// stack`): Temporal's server on PostgreSQL, 2 api + 2 worker processes and
// a round-robin proxy in front of the apis. Ctrl-C stops it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tradeexec/tradeexec/internal/stack"
)

func main() {
	var o stack.Options
	flag.StringVar(&o.Dir, "dir", ".data/stack", "state directory (Temporal config, secrets, logs)")
	flag.StringVar(&o.Tradeexec, "tradeexec", "bin/tradeexec", "tradeexec binary")
	flag.StringVar(&o.TemporalServer, "temporal-server", "bin/server", "Temporal server binary")
	flag.StringVar(&o.SQLTool, "sql-tool", "bin/sql", "Temporal sql tool binary")
	flag.StringVar(&o.TemporalServerVersion, "temporal-version", "", "Temporal server module version (schema files)")
	flag.StringVar(&o.AdminURL, "pg", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URL of a role that may create databases")
	flag.StringVar(&o.Prefix, "prefix", "tradeexec_stack", "database name prefix")
	flag.BoolVar(&o.Fresh, "fresh", false, "drop the stack's databases and state first")
	flag.IntVar(&o.APIs, "apis", 2, "api processes")
	flag.IntVar(&o.Workers, "workers", 2, "worker processes")
	flag.StringVar(&o.ProxyAddr, "addr", "127.0.0.1:8090", "the proxy's listen address")
	flag.Parse()
	if o.TemporalServerVersion == "" {
		fmt.Fprintln(os.Stderr, "stack: -temporal-version is required (the Makefile passes it)")
		os.Exit(2)
	}
	o.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := stack.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
	fmt.Printf(`
tradeexec stack is running (Ctrl-C stops it):
  API (round-robin over %d apis)  %s
  Temporal frontend              %s (PostgreSQL persistence; UI: bin/temporal has none for it — use 'bin/temporal workflow list --address %s')
  workers                        %d
  logs                           %s/logs
  demo trader                    %s (password in %s/demo.json)

Send a signal:
  curl -s -X POST %s/webhooks/tradingview/%s -H 'Content-Type: application/json' -d '{"ticker":"BTCUSD","action":"buy","quantity":0.01}'
`, len(s.APIs), s.URL, s.TemporalAddress, s.TemporalAddress, len(s.Workers), o.Dir, s.Demo.Email, o.Dir, s.URL, s.Demo.WebhookToken)
	<-ctx.Done()
	fmt.Println("stopping…")
	s.Stop()
}
