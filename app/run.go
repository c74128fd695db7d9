package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/devserver"
	"github.com/tradeexec/tradeexec/internal/logging"
	"github.com/tradeexec/tradeexec/internal/market"
	"github.com/tradeexec/tradeexec/internal/performance"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/tracing"
	"github.com/tradeexec/tradeexec/schema"
)

// OpenDB opens and (optionally) migrates the database of cfg.
func OpenDB(ctx context.Context, cfg config.Config, log *zap.Logger, migrate bool) (*gorm.DB, error) {
	db, dialect, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), log.Named("db"))
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := schema.Migrate(ctx, db, dialect); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
		// Once: performance replayed from the recorded fills (fills before
		// 0031 were not counted; see performance.Backfill).
		ran, err := performance.Backfill(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("migrate: performance backfill: %w", err)
		}
		if ran {
			log.Info("performance rebuilt from the recorded fills (one-time backfill)")
		}
	}
	return db, nil
}

// DialTemporal connects to the Temporal frontend of cfg (TLS + API key for
// Temporal Cloud when configured). Every payload the client and its workers
// send is encrypted with cfg.PayloadCodec; without it there is no client.
func DialTemporal(cfg config.Config, address string, log *zap.Logger) (client.Client, error) {
	if cfg.PayloadCodec == nil {
		return nil, errors.New("config: TEMPORAL_PAYLOAD_KEYS: required: Temporal payloads are encrypted with it (e.g. 1:$(openssl rand -base64 32))")
	}
	opts := client.Options{HostPort: address, Namespace: cfg.TemporalNamespace, Logger: logging.Temporal(log.Named("temporal")),
		Interceptors: tracing.ClientInterceptors()}
	cfg.PayloadCodec.Apply(&opts)
	if cfg.TemporalAPIKey.IsSet() {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey.Reveal())
	}
	if cfg.TemporalTLS || cfg.TemporalAPIKey.IsSet() {
		opts.ConnectionOptions = client.ConnectionOptions{TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
	}
	return client.Dial(opts)
}

// NewPaperEngine builds the paper broker engine on the database, with the
// NYSE calendar and the price feed PAPER_QUOTES names: a seeded random walk
// (dev, tests; runFeed moves it every second) or live quotes shared through
// the database (runFeed does nothing: the feed fetches on demand).
func NewPaperEngine(db *gorm.DB, log *zap.Logger, q config.PaperQuotes) (engine *paper.Engine, runFeed func(context.Context)) {
	var feed paper.PriceFeed
	runFeed = func(context.Context) {}
	if q.Mode == config.PaperQuotesLive {
		feed = LiveQuotes(db, log, q)
	} else {
		walk := paper.NewRandomWalkFeed(uint64(time.Now().UnixNano()))
		feed, runFeed = walk, func(ctx context.Context) { walk.Run(ctx, time.Second) }
	}
	cal := paper.CalendarFunc(func(now time.Time, c signal.AssetClass, ext bool) (bool, time.Time, time.Time) {
		s := market.StatusAt(now, c, ext)
		return s.Open, s.NextOpen, s.NextClose
	})
	return paper.NewEngine(paper.NewGormStore(db), feed, paper.WithCalendar(cal), paper.WithLogger(log.Named("paper"))), runFeed
}

// RunMigrate applies the schema migrations and returns.
func RunMigrate(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	db, err := OpenDB(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	log.Info("migrations applied")
	if cfg.DatabaseAppRole != "" {
		if err := schema.GrantAppRole(ctx, db, cfg.DatabaseAppRole); err != nil {
			_ = store.Close(db)
			return err
		}
		log.Info("app role granted table access", zap.String("role", cfg.DatabaseAppRole))
	}
	return store.Close(db)
}

// RunServer runs the api and/or worker roles until ctx ends.
func RunServer(ctx context.Context, cfg config.Config, log *zap.Logger, api, worker bool) error {
	db, err := OpenDB(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer store.Close(db)
	if owns, err := schema.OwnsAuditLog(ctx, db); err == nil && owns {
		log.Warn("the database role owns the tables and could disable the audit log's triggers; connect the app as a non-owner role (README: Deployment, DATABASE_APP_ROLE)")
	}
	tc, err := DialTemporal(cfg, cfg.TemporalAddress, log)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	defer tc.Close()
	engine, runFeed := NewPaperEngine(db, log, cfg.PaperQuotes)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Observability.MetricsAddr != "" {
		go RunDBGauges(runCtx, db, log.Named("metrics"), DBGaugesEvery)
	}
	if worker {
		go func() { _ = engine.Run(runCtx) }()
		go runFeed(runCtx)
	}
	bill, err := BillingOptionsFrom(cfg, log)
	if err != nil {
		return err
	}
	aud, err := auditFrom(cfg, log, worker)
	if err != nil {
		return err
	}
	st, err := Start(ctx, Options{DB: db, Temporal: tc, TaskQueue: cfg.TaskQueue, Vault: cfg.Keyring, Paper: engine, Log: log, Audit: aud,
		RunWorker: worker, RunAPI: api, HTTPAddr: cfg.HTTPAddr, Auth: AuthOptionsFrom(cfg), Brokers: BrokerOptionsFrom(cfg), Risk: RiskOptionsFrom(cfg),
		Realtime: RealtimeOptions{TemporalUI: TemporalUILink(cfg.TemporalUIURL, cfg.TemporalNamespace)},
		Codec:    CodecOptions{Codec: cfg.PayloadCodec, UIOrigins: UIOrigins(cfg.TemporalUIURL)}, Billing: bill, Keys: KeysOptionsFrom(cfg),
		ShutdownTimeout: cfg.ShutdownTimeout})
	if err != nil {
		return err
	}
	log.Info("tradeexec running", zap.Bool("api", api), zap.Bool("worker", worker), zap.String("url", st.URL))
	// The metrics listener's /ready (worker pods' probe): the database
	// answers; cleared as soon as the process starts draining.
	SetReadiness(func(ctx context.Context) error {
		sqlDB, err := db.DB()
		if err != nil {
			return err
		}
		return sqlDB.PingContext(ctx)
	})
	<-ctx.Done()
	// Graceful drain (SIGTERM): first answer not-ready while still serving
	// for SHUTDOWN_DRAIN_DELAY, so the load balancer takes this instance
	// out before its listener closes; then drain in-flight requests and
	// let the worker finish its tasks (SHUTDOWN_TIMEOUT each).
	ClearReadiness()
	if st.API != nil {
		st.API.SetDraining()
	}
	log.Info("draining", zap.Duration("delay", cfg.ShutdownDrainDelay), zap.Duration("timeout", cfg.ShutdownTimeout))
	time.Sleep(cfg.ShutdownDrainDelay)
	log.Info("shutting down")
	st.Stop()
	return nil
}

// DevExtra starts an additional role inside `tradeexec dev` once the stack
// runs (main passes the Discord bot: app cannot import it, since the bot's
// tests build the system through app).
type DevExtra func(ctx context.Context, db *gorm.DB, tc client.Client, st *Stack)

// TemporalUILink is the workflow URL prefix of the Temporal UI for a
// namespace ("" when no UI is known).
func TemporalUILink(base, namespace string) string {
	if base == "" {
		return ""
	}
	if namespace == "" {
		namespace = "default"
	}
	return strings.TrimRight(base, "/") + "/namespaces/" + namespace + "/workflows/"
}

// devUI is the proxied UI's URL when the embedded UI runs, else "".
func devUI(embeddedUI string) string {
	if embeddedUI == "" {
		return ""
	}
	return DevUIURL
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// RunDev runs everything in one process on the embedded default: the
// pinned Temporal dev server as a child process, SQLite, api + worker, the
// paper broker and the demo trader. It prints where to look and how to send
// a first signal, and stops everything on ctx's end (Ctrl-C).
func RunDev(ctx context.Context, cfg config.Config, log *zap.Logger, out io.Writer, extras ...DevExtra) error {
	address := cfg.TemporalAddress
	uiURL := ""
	if cfg.EmbeddedTemporal() {
		logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "temporal.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer logFile.Close()
		fmt.Fprintln(out, "Starting the Temporal dev server (state in "+cfg.TemporalDBFile()+") …")
		// The UI itself runs on a free port behind the proxy on DevUIAddr
		// (app/devui.go), which also serves the codec on the UI's origin.
		srv, err := devserver.Start(ctx, devserver.Options{DBFile: cfg.TemporalDBFile(), Port: 7233,
			Namespace: cfg.TemporalNamespace, Stdout: logFile, Stderr: logFile, UICodecEndpoint: CodecEndpoint(DevUIURL)})
		if err != nil {
			return fmt.Errorf("temporal dev server: %w", err)
		}
		defer srv.Stop()
		address, uiURL = srv.Address(), srv.UIURL()
	}
	db, err := OpenDB(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer store.Close(db)
	tc, err := DialTemporal(cfg, address, log)
	if err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	defer tc.Close()

	engine, runFeed := NewPaperEngine(db, log, cfg.PaperQuotes)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Observability.MetricsAddr != "" {
		go RunDBGauges(runCtx, db, log.Named("metrics"), DBGaugesEvery)
	}
	go func() { _ = engine.Run(runCtx) }()
	go runFeed(runCtx)

	demo, err := EnsureDemo(ctx, db, cfg.Keyring, engine, cfg.DataDir, cfg.PublicURL)
	if err != nil {
		return err
	}
	bill, err := BillingOptionsFrom(cfg, log)
	if err != nil {
		return err
	}
	aud, err := auditFrom(cfg, log, true)
	if err != nil {
		return err
	}
	st, err := Start(ctx, Options{DB: db, Temporal: tc, TaskQueue: cfg.TaskQueue, Vault: cfg.Keyring, Paper: engine, Log: log, Audit: aud,
		RunWorker: true, RunAPI: true, HTTPAddr: cfg.HTTPAddr, Auth: AuthOptionsFrom(cfg), Brokers: BrokerOptionsFrom(cfg), Risk: RiskOptionsFrom(cfg),
		Realtime: RealtimeOptions{TemporalUI: TemporalUILink(firstNonEmpty(cfg.TemporalUIURL, devUI(uiURL)), cfg.TemporalNamespace)},
		Codec:    CodecOptions{Codec: cfg.PayloadCodec, UIOrigins: UIOrigins(firstNonEmpty(cfg.TemporalUIURL, devUI(uiURL)))}, Billing: bill, Keys: KeysOptionsFrom(cfg)})
	if err != nil {
		return err
	}
	defer st.Stop()
	if uiURL != "" {
		if err := startDevUIProxy(runCtx, uiURL, st.URL, log); err != nil {
			return err
		}
		uiURL = DevUIURL
	}
	if err := RefreshDemoToken(ctx, st.Auth, cfg.DataDir, &demo); err != nil {
		return err
	}
	go KeepDemoTokenFresh(runCtx, st.Auth, cfg.DataDir, demo, func(err error) { log.Warn("refresh demo token", zap.Error(err)) })
	for _, extra := range extras {
		extra(runCtx, db, tc, st)
	}
	printBanner(out, cfg, uiURL, demo)
	<-ctx.Done()
	fmt.Fprintln(out, "\nStopping tradeexec …")
	return nil
}

func printBanner(out io.Writer, cfg config.Config, uiURL string, d Demo) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n  tradeexec is running (embedded default: SQLite + Temporal dev server + paper broker)\n\n")
	fmt.Fprintf(&b, "  Dashboard / API   %s\n", cfg.PublicURL)
	if uiURL != "" {
		fmt.Fprintf(&b, "  Temporal UI       %s\n", uiURL)
		fmt.Fprintf(&b, "                    payloads are encrypted: support/admin staff signed in to the dashboard\n")
		fmt.Fprintf(&b, "                    read them decrypted there (codec %s)\n", CodecEndpoint(uiURL))
	}
	fmt.Fprintf(&b, "  Health            %s/health\n", cfg.PublicURL)
	fmt.Fprintf(&b, "  Demo trader       %s (paper account, $100,000)\n", d.Email)
	if d.Password != "" {
		fmt.Fprintf(&b, "  Demo password     %s   (shown once; only its hash is stored)\n", d.Password)
	}
	fmt.Fprintf(&b, "  Sign in           POST %s/auth/login {\"email\", \"password\"}\n", cfg.PublicURL)
	fmt.Fprintf(&b, "  Scripts           %s (webhook_url, api_token renewed every 30 min; mode 0600)\n\n", filepath.Join(cfg.DataDir, "demo.json"))
	fmt.Fprintf(&b, "  Send a TradingView-style signal:\n\n")
	fmt.Fprintf(&b, "    curl -s -X POST '%s' \\\n      -H 'Content-Type: application/json' \\\n      -d '{\"ticker\":\"AAPL\",\"action\":\"buy\",\"quantity\":5,\"type\":\"market\"}'\n\n", d.WebhookURL)
	fmt.Fprintf(&b, "  Then list the demo trader's trades:\n\n")
	fmt.Fprintf(&b, "    curl -s -H \"Authorization: Bearer $(jq -r .api_token %s)\" %s/api/v1/trades\n\n", filepath.Join(cfg.DataDir, "demo.json"), cfg.PublicURL)
	fmt.Fprintf(&b, "  Press Ctrl-C to stop.\n")
	fmt.Fprint(out, b.String())
}
