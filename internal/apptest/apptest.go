// Package apptest runs the whole system for integration tests (e2e/,
// security/): the shared Temporal dev server of internal/testenv, a real
// database, the paper broker on a static price feed, the worker and the
// HTTP API on a loopback port — built by app.Start exactly as
// `tradeexec dev` builds it — plus the demo trader with a fresh access
// token. Packages using it call testenv.Main from TestMain.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
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
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// CheapPasswords keep argon2id fast in tests (never in production).
var CheapPasswords = auth.PasswordParams{Memory: 1024, Time: 1, Threads: 1}

// DefaultPrices is the static feed of a test system.
func DefaultPrices() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{
		"AAPL": decimal.NewFromInt(180), "MSFT": decimal.NewFromInt(200), "TSLA": decimal.NewFromInt(250),
		"SPY": decimal.NewFromInt(500), "BTC-USD": decimal.NewFromInt(42150),
	}
}

// TemporalUIOrigin is the Temporal UI origin a test system's codec
// endpoint admits (CORS with credentials).
const TemporalUIOrigin = "http://127.0.0.1:8233"

// Options shape a test system; the zero value is the e2e default.
type Options struct {
	Calendar paper.Calendar
	Timeouts workflows.Timeouts
	// Cash, when positive, gives the demo trader a fresh paper account
	// holding exactly that much.
	Cash decimal.Decimal
	Log  *zap.Logger
	// Auth configures accounts; a zero JWTSecret gets a random one fixed
	// for the Env (restarts keep sessions), zero Password gets
	// CheapPasswords, nil RateLimits gets the defaults with the API limit
	// lifted (tests poll hard from one IP).
	Auth app.AuthOptions
	// Billing configures the billing provider and mail (none by default).
	Billing app.BillingOptions
	// Temporal replaces the package's shared dev server (a test that kills
	// its own server); nil uses testenv.Client.
	Temporal client.Client
	// KeyringFile keeps the vault keyring in a keyring file (VAULT_KEYS_FILE)
	// the key-rotation workflow writes; false: a read-only keyring.
	KeyringFile bool
	// Keys configures the key lifecycle (Store is set by KeyringFile).
	Keys app.KeysOptions
}

// Env is a running test system.
type Env struct {
	T        testing.TB
	DB       *gorm.DB
	Dialect  store.Dialect
	Feed     *paper.StaticFeed
	Engine   *paper.Engine
	Keyring  *vault.Keyring
	Temporal client.Client
	Queue    string
	Stack    *app.Stack
	Demo     app.Demo
	DataDir  string
	Opts     Options
}

// Start builds and starts a system on db and registers its teardown.
func Start(t testing.TB, db *gorm.DB, d store.Dialect, o Options) *Env {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := vault.ParseKeyring("1:" + base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	if len(o.Auth.JWTSecret) == 0 {
		o.Auth.JWTSecret = make([]byte, 48)
		_, _ = rand.Read(o.Auth.JWTSecret)
	}
	if o.Auth.Password == (auth.PasswordParams{}) {
		o.Auth.Password = CheapPasswords
	}
	if o.Auth.RateLimits == nil {
		l := api.DefaultRateLimits()
		l.API = api.Unlimited
		o.Auth.RateLimits = &l
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	feed := paper.NewStaticFeed(DefaultPrices())
	popts := []paper.Option{paper.WithMatchInterval(50 * time.Millisecond)}
	if o.Calendar != nil {
		popts = append(popts, paper.WithCalendar(o.Calendar))
	}
	engine := paper.NewEngine(paper.NewGormStore(db), feed, popts...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = engine.Run(ctx) }()

	tc := o.Temporal
	if tc == nil {
		tc = testenv.Client(t)
	}
	e := &Env{T: t, DB: db, Dialect: d, Feed: feed, Engine: engine, Keyring: kr, Temporal: tc,
		Queue: testenv.TaskQueue(t), DataDir: t.TempDir(), Opts: o}
	if o.KeyringFile {
		path := filepath.Join(t.TempDir(), "vault.keyring")
		require.NoError(t, os.WriteFile(path, []byte("1:"+base64.StdEncoding.EncodeToString(key)+"\n"), 0o600))
		e.Opts.Keys.Store = &vault.FileStore{Path: path}
	}
	e.Demo, err = app.EnsureDemo(ctx, db, kr, engine, e.DataDir, "http://placeholder")
	require.NoError(t, err)
	if o.Cash.IsPositive() {
		// A fresh paper account with that cash behind the demo connection.
		e.Demo.PaperAccount = uuid.NewString()
		require.NoError(t, engine.CreateAccount(ctx, e.Demo.PaperAccount, o.Cash))
		blob, ver, err := kr.EncryptJSON(e.Demo.UserID, e.Demo.ConnectionID, broker.Credentials{"account_id": e.Demo.PaperAccount})
		require.NoError(t, err)
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Where("id = ?", e.Demo.ConnectionID).
			Updates(map[string]any{"credentials": blob, "key_version": ver}).Error)
	}
	e.StartStack(o.Log)
	require.NoError(t, app.RefreshDemoToken(ctx, e.Stack.Auth, e.DataDir, &e.Demo))
	return e
}

// StartStack starts (or, after Stack.Stop, restarts) worker and API with
// the Env's settings.
func (e *Env) StartStack(log *zap.Logger) {
	e.T.Helper()
	st, err := app.Start(context.Background(), app.Options{
		DB: e.DB, Temporal: e.Temporal, TaskQueue: e.Queue, Vault: e.Keyring, Paper: e.Engine, Log: log,
		Timeouts: e.Opts.Timeouts, FillPoll: 20 * time.Millisecond, TakeProfitPoll: 50 * time.Millisecond, RunWorker: true, RunAPI: true, HTTPAddr: "127.0.0.1:0",
		Auth: e.Opts.Auth, Codec: app.CodecOptions{Codec: testenv.Codec(), UIOrigins: []string{TemporalUIOrigin}},
		Billing: e.Opts.Billing, Keys: e.Opts.Keys,
	})
	require.NoError(e.T, err)
	e.Stack = st
	e.T.Cleanup(st.Stop)
}

// URL is the API's base URL.
func (e *Env) URL() string { return e.Stack.URL }
