// Command tradeexec is the one binary of tradeexec: `tradeexec dev` runs
// everything on the embedded default; `api`, `worker` and `migrate` are the
// production roles (DESIGN §1). Configuration comes from the environment.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/botrun"
	"github.com/tradeexec/tradeexec/internal/analytics/churn"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/gcpolicy"
	"github.com/tradeexec/tradeexec/internal/logging"
)

const usage = `usage: tradeexec <command>

commands:
  dev       everything in one process on the embedded default (SQLite + Temporal dev server)
  api       HTTP API, webhooks and WebSocket
  worker    Temporal worker: workflows and activities
  bot       Discord gateway client (DISCORD_BOT_TOKEN; one shard per replica)
  migrate   apply database migrations and exit
  keys      key lifecycle: status, rotate, rotate-signing, revoke-signing, revoke-sessions
            (tradeexec keys help)
  audit     verify | export | archive the audit log (tradeexec audit help)
  analytics evaluate: the churn model's held-out precision/recall/F1 on synthetic data

Configuration is read from the environment; see README.md.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	mode := os.Args[1]
	if mode == "analytics" { // needs no configuration or database
		os.Exit(churn.RunCLI(os.Args[2:], os.Stdout, os.Stderr))
	}
	cfgMode := mode
	if mode == config.ModeAudit && slices.Contains(os.Args[2:], "--dev") {
		cfgMode = config.ModeDev // the embedded default's database and store
	}
	cfg, err := config.Load(os.Getenv, cfgMode)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if !errors.As(err, new(config.Errors)) {
			fmt.Fprint(os.Stderr, "\n"+usage)
		}
		os.Exit(2)
	}
	log, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "logger:", err)
		os.Exit(2)
	}
	defer log.Sync() //nolint:errcheck
	gc, err := gcpolicy.Apply(os.LookupEnv, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log.Info("garbage collector", zap.String("policy", gc.String()))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if mode != config.ModeMigrate {
		obs, err := app.StartObservability(ctx, cfg, log, "tradeexec-"+mode)
		if err != nil {
			fmt.Fprintln(os.Stderr, "observability:", err)
			os.Exit(2)
		}
		defer obs.Stop()
	}

	switch mode {
	case config.ModeAudit:
		code := app.RunAuditCLI(ctx, cfg, log, os.Args[2:], os.Stdout, os.Stderr)
		_ = log.Sync()
		os.Exit(code) //nolint:gocritic // log synced above
	case config.ModeDev:
		err = app.RunDev(ctx, cfg, log, os.Stdout, botrun.DevExtra(cfg, log))
	case config.ModeAPI:
		err = app.RunServer(ctx, cfg, log, true, false)
	case config.ModeWorker:
		err = app.RunServer(ctx, cfg, log, false, true)
	case config.ModeBot:
		err = botrun.Run(ctx, cfg, log)
	case config.ModeMigrate:
		err = app.RunMigrate(ctx, cfg, log)
	case config.ModeKeys:
		err = app.RunKeys(ctx, cfg, log, os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("%s is not available in this build", mode)
	}
	if err != nil {
		log.Error("tradeexec stopped with an error", zap.Error(err))
		fmt.Fprintln(os.Stderr, "tradeexec:", err)
		os.Exit(1)
	}
}

func newLogger(cfg config.Config) (*zap.Logger, error) {
	// The redacting core keeps secrets out of every line (invariant 4).
	return logging.New(logging.Options{Level: cfg.LogLevel, Format: cfg.LogFormat})
}
