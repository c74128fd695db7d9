package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"
	"path/filepath"
	"sync"
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
	dbmu        sync.Mutex // one database fault (lock or crash) at a time; the harness's own setup writes wait them out
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
		t.Cleanup(func() { // runs before stop
			if t.Failed() {
				t.Log(pg.report(60))
			}
		})
		c.dsn = pg.URL()
	}
	db, d, err := store.Open(ctx, c.dsn, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close(db) })
	require.NoError(t, schema.Migrate(ctx, db, d))
	c.db = db
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

// freePort finds a free TCP port on the loopback interface.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
