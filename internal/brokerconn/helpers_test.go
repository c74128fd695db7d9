package brokerconn_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/binance"
	"github.com/tradeexec/tradeexec/internal/broker/ibkr"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// env is a Service over a real database with fake brokers behind it.
type env struct {
	t       *testing.T
	db      *gorm.DB
	dialect store.Dialect
	kr      *vault.Keyring
	svc     *brokerconn.Service
	alpaca  *alpaca.Fake
	binance *binance.Fake
	ibkr    *ibkr.Fake
	schwab  *schwab.Fake
	engine  *paper.Engine
	userID  string
	proxy   *toggleProxy // in front of the Alpaca fake
}

func newEnv(t *testing.T, db *gorm.DB, d store.Dialect) *env {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := vault.ParseKeyring("1:" + base64.StdEncoding.EncodeToString(key))
	require.NoError(t, err)
	e := &env{t: t, db: db, dialect: d, kr: kr,
		alpaca: alpaca.NewFake(), binance: binance.NewFake(), ibkr: ibkr.NewFake(), schwab: schwab.NewFake()}
	e.ibkr.SetPacing(ibkr.DocumentedPacing().Scaled(0.005))
	t.Cleanup(e.alpaca.Close)
	t.Cleanup(e.binance.Close)
	t.Cleanup(e.ibkr.Close)
	t.Cleanup(e.schwab.Close)
	e.proxy = newToggleProxy(t, e.alpaca.URL())
	e.engine = paper.NewEngine(paper.NewGormStore(db), paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(180)}))

	lim := ratelimit.New(6_000_000, ratelimit.WithBurst(100_000))
	reg := broker.NewRegistry()
	reg.Register(paper.Name, paper.Factory(e.engine))
	reg.Register(alpaca.Name, alpaca.Factory(alpaca.Options{AllowCustomURLs: true, Limiter: lim}))
	reg.Register(binance.Name, binance.Factory(binance.Options{AllowCustomURLs: true, Limiter: lim}))
	ibkr.Register(reg, ibkr.WithPrivateGateways(true), ibkr.WithLimiter(lim))
	schwab.Register(reg, schwab.WithApp(e.schwab.App()), schwab.WithBaseURL(e.schwab.URL()), schwab.WithLimiter(lim),
		schwab.WithTokenStore(&brokerconn.SchwabTokens{DB: db, Vault: kr}), schwab.WithClaimStore(&brokerconn.SchwabClaims{DB: db}))

	e.svc = &brokerconn.Service{
		DB: db, Resolver: &brokerconn.Resolver{DB: db, Registry: reg, Vault: kr}, Vault: kr, Paper: e.engine,
		Schwab: &schwab.OAuth{App: e.schwab.App(), BaseURL: e.schwab.URL()}, AllowCustomURLs: true,
		HealthAttempts: 2, HealthBackoff: 10 * time.Millisecond,
	}
	e.userID = e.newUser()
	return e
}

func (e *env) newUser() string {
	// Premium: these tests are about connections, not plans (e2e/plan_test.go).
	id := uuid.NewString()
	require.NoError(e.t, e.db.Create(&schema.User{ID: id, DisplayName: "T", Role: "trader", SubscriptionTier: "premium", CreatedAt: time.Now().UTC()}).Error)
	return id
}

// alpacaCreds opens a funded account at the Alpaca fake, reached through
// the toggling proxy.
func (e *env) alpacaCreds(cash int64) map[string]string {
	key, secret := e.alpaca.CreateAccount(decimal.NewFromInt(cash))
	return map[string]string{"api_key": key, "api_secret": secret, "base_url": e.proxy.URL(), "data_url": e.proxy.URL()}
}

func (e *env) connect(userID string, req brokerconn.Request, replaceID string) brokerconn.Outcome {
	e.t.Helper()
	a, err := e.svc.CreatePending(context.Background(), userID, req, replaceID)
	require.NoError(e.t, err)
	out, err := e.svc.Connect(context.Background(), a)
	require.NoError(e.t, err)
	return out
}

func (e *env) row(id string) (schema.BrokerConnection, bool) {
	var c schema.BrokerConnection
	err := e.db.Where("id = ?", id).Take(&c).Error
	if err == gorm.ErrRecordNotFound {
		return c, false
	}
	require.NoError(e.t, err)
	return c, true
}

func (e *env) creds(c schema.BrokerConnection) broker.Credentials {
	out := broker.Credentials{}
	require.NoError(e.t, e.kr.DecryptJSON(c.UserID, c.ID, c.Credentials, &out))
	return out
}

func (e *env) audits(userID, action string) []schema.AuditLog {
	rows, err := audit.List(context.Background(), e.db, audit.Filter{UserID: userID, Action: action, Limit: 100})
	require.NoError(e.t, err)
	return rows
}

func (e *env) events(userID string) []schema.OutboxEvent {
	evs, err := realtime.EventsSince(context.Background(), e.db, userID, 0, 1000)
	require.NoError(e.t, err)
	return evs
}

func eventTypes(evs []schema.OutboxEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

// toggleProxy forwards to a fake, or answers 503 while down.
type toggleProxy struct {
	srv  *httptest.Server
	down atomic.Bool
}

func newToggleProxy(t *testing.T, target string) *toggleProxy {
	u, err := url.Parse(target)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &toggleProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, `{"message":"service unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *toggleProxy) URL() string { return p.srv.URL }

// stateOf reads the state parameter of an authorization URL.
func stateOf(t *testing.T, authURL string) string {
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	st := u.Query().Get("state")
	require.NotEmpty(t, st)
	require.False(t, strings.ContainsAny(st, " +/"), "state is URL-safe")
	return st
}

func tokensWith(connectionID, refresh, access string) schwab.Tokens {
	return schwab.Tokens{ConnectionID: connectionID, AccessToken: access, RefreshToken: refresh,
		AccessExpiry: time.Now().Add(schwab.AccessTokenTTL).UTC()}
}
