package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/devserver"
	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// workerEnv carries a workerConfig (JSON) to the worker subprocess: the
// test binary started again, which TestMain turns into a worker.
const workerEnv = "TRADEEXEC_CHAOS_WORKER"

// Chaos settings of the system under test.
const (
	submitTimeout = 3 * time.Second // a submit attempt; the proxy holds accepted orders longer
	proxyHold     = 4 * time.Second
	guardPoll     = time.Second
	maxPosition   = 20 // percent of equity
	dailyLossPct  = 5  // risk traders' daily loss limit, percent of the day's start equity
	breakerPct    = 8  // risk traders' circuit breaker
	stopLossPct   = 2
	startingCash  = 20_000
	// signalsPerTrader webhook alerts per steady trader per round, each on
	// its own webhook URL; plus one Discord message.
	signalsPerTrader = 3
)

// workerConfig is what the worker process needs.
type workerConfig struct {
	DSN       string        `json:"dsn"`
	Temporal  string        `json:"temporal"`
	TaskQueue string        `json:"taskQueue"`
	Vault     string        `json:"vault"`
	Payload   string        `json:"payload"` // TEMPORAL_PAYLOAD_KEYS
	GuardPoll time.Duration `json:"guardPoll"`
	Log       string        `json:"log"`
}

// runWorker is the worker process: the production worker (app.Start) on
// the shared database and Temporal server until it is killed.
func runWorker(raw string) int {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker: config:", err)
		return 2
	}
	logCfg := zap.NewProductionConfig()
	logCfg.OutputPaths, logCfg.ErrorOutputPaths = []string{cfg.Log}, []string{cfg.Log}
	log, err := logCfg.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos worker: log:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	kr, err := vault.ParseKeyring(cfg.Vault)
	if err != nil {
		log.Error("vault", zap.Error(err))
		return 2
	}
	var db *gorm.DB
	for db == nil {
		d, _, err := store.Open(ctx, cfg.DSN, log.Named("db"))
		if err != nil {
			log.Warn("database not reachable yet", zap.Error(err))
			time.Sleep(200 * time.Millisecond)
			continue
		}
		db = d
	}
	var st *app.Stack
	for st == nil {
		codec, err := payloadcodec.Parse(cfg.Payload)
		if err != nil {
			log.Error("payload keys", zap.Error(err))
			return 2
		}
		opts := client.Options{HostPort: cfg.Temporal}
		codec.Apply(&opts)
		tc, err := client.Dial(opts)
		if err == nil {
			st, err = app.Start(ctx, app.Options{DB: db, Temporal: tc, TaskQueue: cfg.TaskQueue, Vault: kr, Log: log,
				FillPoll: 50 * time.Millisecond, RunWorker: true,
				Brokers: app.BrokerOptions{AllowCustomURLs: true, Unthrottled: true}, Risk: app.RiskOptions{GuardPoll: cfg.GuardPoll}})
			if err != nil {
				tc.Close()
			}
		}
		if err != nil {
			log.Warn("worker not started yet", zap.Error(err))
			select {
			case <-ctx.Done():
				return 1
			case <-time.After(300 * time.Millisecond):
			}
		}
	}
	log.Info("chaos worker running")
	<-ctx.Done()
	st.Stop()
	return 0
}

// trader is one account of the test: a user with an Alpaca (fake)
// connection, webhook tokens (one per signal slot: a URL takes 60 alerts a
// minute) and an access token for the API.
type trader struct {
	UserID, ConnectionID string
	KeyID, Secret        string
	WebhookTokens        []string
	APIToken             string
	ws                   *wsClient
	// Risk traders are opened by a price-crash scenario: default loss
	// rules, one symbol of their own.
	Risk bool
	// peak is the highest equity the checks saw (the max position base).
	peak decimal.Decimal
}

// cluster is the system under test.
type cluster struct {
	t       *testing.T
	dir     string
	dialect store.Dialect
	dsn     string
	db      *gorm.DB
	keySpec string
	// payloadSpec are the Temporal payload keys, shared with the worker process.
	payloadSpec string
	keyring     *vault.Keyring
	tport       int
	taddr       string // the Temporal frontend; the same across restarts
	tmu         sync.Mutex
	temporal    *devserver.Server
	tc          client.Client
	queue       string
	fake        *alpaca.Fake
	proxy       *faultProxy
	stack       *app.Stack
	traders     []*trader // the steady traders of every round
	pg          *pgCluster
	dbmu        sync.Mutex // one database fault (lock or crash) at a time
	plans       []string   // the faults of each round
	prices      *priceFeed
	discord     *discordPath

	rmu           sync.Mutex
	riskTraders   []*trader
	scenarios     []*crashScenario
	temporalKills int

	wmu     sync.Mutex
	worker  *workerProc
	workerN int
}

// workerProc is a running worker process.
type workerProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

func newCluster(t *testing.T, dialect store.Dialect, seed uint64, nTraders int) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), dialect: dialect, queue: "chaos-" + string(dialect)}
	ctx := context.Background()
	c.openDB(ctx)

	port, err := freePort()
	require.NoError(t, err)
	c.tport = port
	require.NoError(t, c.startTemporal())
	c.taddr = c.temporal.Address()
	pkey := make([]byte, 32)
	_, _ = rand.Read(pkey)
	c.payloadSpec = "1:" + base64.StdEncoding.EncodeToString(pkey)
	codec, err := payloadcodec.Parse(c.payloadSpec)
	require.NoError(t, err)
	topts := client.Options{HostPort: c.taddr, Logger: quiet{}}
	codec.Apply(&topts)
	c.tc, err = client.Dial(topts)
	require.NoError(t, err)
	t.Cleanup(c.tc.Close)

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c.keySpec = "1:" + base64.StdEncoding.EncodeToString(key)
	c.keyring, err = vault.ParseKeyring(c.keySpec)
	require.NoError(t, err)

	c.fake = alpaca.NewFake()
	t.Cleanup(c.fake.Close)
	c.proxy = newFaultProxy(c.fake.URL(), proxyHold, seed)
	t.Cleanup(c.proxy.Close)
	for i := 0; i < nTraders; i++ {
		c.traders = append(c.traders, c.newTrader(ctx, false))
	}
	c.prices = newPriceFeed(c.fake, seed)

	lim := api.DefaultRateLimits()
	lim.API = api.Unlimited
	secret := make([]byte, 48)
	_, _ = rand.Read(secret)
	c.stack, err = app.Start(ctx, app.Options{DB: c.db, Temporal: c.tc, TaskQueue: c.queue, Vault: c.keyring,
		Timeouts: workflows.Timeouts{Submit: submitTimeout}, RunAPI: true, HTTPAddr: "127.0.0.1:0",
		Auth:    app.AuthOptions{JWTSecret: secret, Password: auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}, RateLimits: &lim},
		Brokers: app.BrokerOptions{AllowCustomURLs: true, Unthrottled: true}})
	require.NoError(t, err)
	t.Cleanup(c.stack.Stop)
	for _, tr := range c.traders {
		tok, err := c.stack.Auth.IssueScriptToken(ctx, tr.UserID)
		require.NoError(t, err)
		tr.APIToken = tok.AccessToken
		tr.ws = newWSClient(c.stack.URL, tr.APIToken)
		t.Cleanup(tr.ws.close)
	}
	c.startDiscord(ctx)
	c.startWorker()
	t.Cleanup(c.stopWorker)
	return c
}

// openDB opens a fresh SQLite file, or a throwaway PostgreSQL cluster of
// the suite's own (so a round can crash the server for real).
func (c *cluster) openDB(ctx context.Context) {
	t := c.t
	switch c.dialect {
	case store.SQLite:
		c.dsn = "sqlite://" + filepath.Join(c.dir, "tradeexec.db")
	case store.Postgres:
		pg, err := startPGCluster()
		if err != nil {
			t.Fatalf("chaos on PostgreSQL: %v", err)
		}
		c.pg = pg
		t.Cleanup(pg.stop)
		c.dsn = pg.URL()
	}
	db, d, err := store.Open(ctx, c.dsn, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(db) })
	require.NoError(t, schema.Migrate(ctx, db, d))
	c.db = db
}

func (c *cluster) startTemporal() error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var srv *devserver.Server
		srv, err = devserver.Start(context.Background(), devserver.Options{DBFile: filepath.Join(c.dir, "temporal.db"),
			Port: c.tport, Headless: true, StopTimeout: 5 * time.Second})
		if err == nil {
			c.temporal = srv
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("Temporal dev server (needs bin/temporal: make bin/temporal): %w", err)
}

// restartTemporal stops the dev server — gracefully (SIGTERM) or killed
// with its whole process group (SIGKILL: no shutdown, whatever was in
// flight is cut) — and starts it again on the same port and state file;
// clients reconnect.
func (c *cluster) restartTemporal(down time.Duration, kill bool) {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if kill {
		pid := c.temporal.PID()
		if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
			c.t.Errorf("SIGKILL Temporal (process group %d): %v", pid, err)
		}
		select {
		case <-c.temporal.Done():
		case <-time.After(10 * time.Second):
			c.t.Errorf("Temporal (pid %d) still running 10 s after SIGKILL", pid)
		}
		_ = c.temporal.Stop() // reaps; reports the kill as an unexpected exit
		c.temporalKills++
	} else if err := c.temporal.Stop(); err != nil {
		c.t.Errorf("stop Temporal: %v", err)
	}
	time.Sleep(down)
	if err := c.startTemporal(); err != nil {
		c.t.Errorf("restart Temporal: %v", err)
	}
}

func (c *cluster) stopTemporal() {
	c.tmu.Lock()
	defer c.tmu.Unlock()
	if c.temporal != nil {
		_ = c.temporal.Stop()
	}
}

// newTrader opens a funded fake Alpaca account and stores its trader.
// Steady traders have loss rules wide enough that the price walk never
// blocks them (their stops still fire); risk traders have the defaults.
func (c *cluster) newTrader(ctx context.Context, riskTrader bool) *trader {
	t := c.t
	tr := &trader{UserID: uuid.NewString(), ConnectionID: uuid.NewString(), Risk: riskTrader, peak: decimal.NewFromInt(startingCash)}
	tr.KeyID, tr.Secret = c.fake.CreateAccount(decimal.NewFromInt(startingCash))
	for i := 0; i < signalsPerTrader; i++ {
		tok := make([]byte, 24)
		_, _ = rand.Read(tok)
		tr.WebhookTokens = append(tr.WebhookTokens, base64.RawURLEncoding.EncodeToString(tok))
	}
	daily, breaker := int64(dailyLossPct), int64(breakerPct)
	if !riskTrader {
		daily, breaker = 40, 60
	}
	now := time.Now().UTC()
	email := tr.UserID + "@chaos.test"
	creds := broker.Credentials{alpaca.CredAPIKey: tr.KeyID, alpaca.CredAPISecret: tr.Secret,
		alpaca.CredBaseURL: c.proxy.URL(), alpaca.CredDataURL: c.proxy.URL()}
	blob, ver, err := c.keyring.EncryptJSON(tr.UserID, tr.ConnectionID, creds)
	require.NoError(t, err)
	pct := func(n int64) decimal.Decimal { return decimal.NewFromInt(n) }
	require.NoError(t, store.InTx(ctx, c.db, func(tx *gorm.DB) error {
		if err := tx.Create(&schema.User{ID: tr.UserID, Email: &email, DisplayName: "Chaos trader", Role: "trader",
			SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.BrokerConnection{ID: tr.ConnectionID, UserID: tr.UserID, BrokerType: alpaca.Name, Label: "Chaos",
			Paper: true, Credentials: blob, KeyVersion: ver, IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.RiskSettings{UserID: tr.UserID, MaxPositionPct: pct(maxPosition), DailyLossLimitPct: pct(daily),
			DailyLossLimitAmount: decimal.Zero, CircuitBreakerPct: pct(breaker), StopLossPct: pct(stopLossPct), DefaultStockConnection: &tr.ConnectionID,
			UpdatedAt: now}).Error; err != nil {
			return err
		}
		for _, tok := range tr.WebhookTokens {
			if err := tx.Create(&schema.WebhookToken{ID: uuid.NewString(), UserID: tr.UserID, TokenHash: api.HashToken(tok), CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		return nil
	}))
	return tr
}

// everyone is every trader of the run so far.
func (c *cluster) everyone() []*trader {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return append(append([]*trader(nil), c.traders...), c.riskTraders...)
}

// startWorker starts a worker process.
func (c *cluster) startWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.workerN++
	cfg, _ := json.Marshal(workerConfig{DSN: c.workerDSN(), Temporal: c.taddr, TaskQueue: c.queue, Vault: c.keySpec, Payload: c.payloadSpec,
		GuardPoll: guardPoll, Log: filepath.Join(c.dir, fmt.Sprintf("worker-%d.log", c.workerN))})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+string(cfg))
	out, err := os.Create(filepath.Join(c.dir, fmt.Sprintf("worker-%d.out", c.workerN)))
	if err != nil {
		c.t.Errorf("worker output: %v", err)
		return
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = out.Close()
		c.t.Errorf("start worker: %v", err)
		return
	}
	w := &workerProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = out.Close(); close(w.done) }()
	c.worker = w
}

// workerDSN names the worker's PostgreSQL sessions, so the outage fault
// can cut exactly them.
func (c *cluster) workerDSN() string {
	if c.dialect != store.Postgres {
		return c.dsn
	}
	u, _ := url.Parse(c.dsn)
	q := u.Query()
	q.Set("application_name", "chaos-worker")
	u.RawQuery = q.Encode()
	return u.String()
}

// killWorker kills the worker process at once (SIGKILL: no graceful stop).
func (c *cluster) killWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.worker != nil {
		_ = c.worker.cmd.Process.Kill()
		<-c.worker.done
		c.worker = nil
	}
}

func (c *cluster) stopWorker() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.worker != nil {
		_ = c.worker.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.worker.done:
		case <-time.After(15 * time.Second):
			_ = c.worker.cmd.Process.Kill()
			<-c.worker.done
		}
		c.worker = nil
	}
}

// dbOutage makes the database unusable for d: on SQLite an exclusive lock
// held by another connection (every writer and reader of the worker and
// the API waits or fails); on PostgreSQL the worker's sessions are cut and
// the busiest tables locked.
func (c *cluster) dbOutage(d time.Duration) {
	if err := c.holdDB(d); err != nil {
		c.t.Errorf("database outage: %v", err)
	}
}

func (c *cluster) holdDB(d time.Duration) error {
	ctx := context.Background()
	db, _, err := store.Open(ctx, c.dsn, zap.NewNop())
	if err != nil {
		return err
	}
	defer store.Close(db)
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	switch c.dialect {
	case store.SQLite:
		if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
			return err
		}
	case store.Postgres:
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "LOCK TABLE trades, users, audit_heads, event_seqs IN ACCESS EXCLUSIVE MODE"); err != nil {
			return err
		}
		if _, err := sqlDB.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'chaos-worker' AND datname = current_database()"); err != nil {
			return err
		}
	}
	time.Sleep(d)
	_, err = conn.ExecContext(ctx, "ROLLBACK")
	return err
}

// freePort finds a free TCP port on the loopback interface.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// quiet silences the Temporal SDK's log (outages make it loud by design).
type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
