package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York for sessionOpen

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdklog "go.temporal.io/sdk/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/binance"
	"github.com/tradeexec/tradeexec/internal/broker/coinbase"
	"github.com/tradeexec/tradeexec/internal/broker/ibkr"
	"github.com/tradeexec/tradeexec/internal/broker/kraken"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/testenv"
)

// A system whose broker registry is the production one (app.NewRegistry)
// pointed at the six fakes: custom URLs allowed, limiters lifted, and the
// market clock of IBKR and Schwab pinned inside a regular session.

// sessionOpen is 11:00 in New York on today's date, or the next weekday's:
// the stock market is open then, and the date is one the fakes answer
// market hours for (today or later).
var sessionOpen = func() time.Time {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	d := time.Now().In(ny)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 11, 0, 0, 0, ny).UTC()
}()

type brokerFakes struct {
	alpaca   *alpaca.Fake
	ibkr     *ibkr.Fake
	schwab   *schwab.Fake
	coinbase *coinbase.Fake
	kraken   *kraken.Fake
	binance  *binance.Fake
}

func startFakes(t *testing.T) *brokerFakes {
	f := &brokerFakes{alpaca: alpaca.NewFake(), ibkr: ibkr.NewFake(), schwab: schwab.NewFake(),
		coinbase: coinbase.NewFake(), kraken: kraken.NewFake(), binance: binance.NewFake()}
	// IBKR's pacing at 1/200 of the documented intervals: the unthrottled
	// adapters (app.BrokerOptions) keep 1/100, so a breach is a real bug.
	f.ibkr.SetPacing(ibkr.DocumentedPacing().Scaled(0.005))
	t.Cleanup(f.alpaca.Close)
	t.Cleanup(f.ibkr.Close)
	t.Cleanup(f.schwab.Close)
	t.Cleanup(f.coinbase.Close)
	t.Cleanup(f.kraken.Close)
	t.Cleanup(f.binance.Close)
	aapl, btc := decimal.RequireFromString("190"), decimal.RequireFromString("42150")
	f.alpaca.SetPrice("AAPL", aapl)
	f.ibkr.SetPrice("AAPL", aapl)
	f.schwab.SetPrice("AAPL", aapl)
	f.coinbase.SetPrice("BTC-USD", btc)
	f.kraken.SetPrice("BTC-USD", btc)
	f.binance.SetPrice("BTC-USD", btc)
	return f
}

// sdkLogBuffer captures everything the Temporal SDK logs (worker and
// client), for the leak scan.
type sdkLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *sdkLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *sdkLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type brokerHarness struct {
	*harness
	fakes  *brokerFakes
	sdkLog *sdkLogBuffer
	// responses records every API answer (status line, Location, body).
	responses *sdkLogBuffer
	// restartApp starts worker and API again (after h.stack.Stop()).
	restartApp func()
}

// newBrokerHarness starts the system with the production registry against
// the fakes. Its Temporal client logs everything into sdkLog.
func newBrokerHarness(t *testing.T, db *gorm.DB, d store.Dialect) *brokerHarness {
	t.Helper()
	return newBrokerHarnessWith(t, db, d, nil)
}

// newBrokerHarnessWith is newBrokerHarness with Temporal client
// interceptors (the tracing test's).
func newBrokerHarnessWith(t *testing.T, db *gorm.DB, d store.Dialect, ics []interceptor.ClientInterceptor) *brokerHarness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	env := apptest.Start(t, db, d, apptest.Options{Log: log})
	env.Stack.Stop()

	sdkLog := &sdkLogBuffer{}
	srv := testenv.Temporal(t)
	tc, err := client.Dial(testenv.Encrypted(client.Options{HostPort: srv.Address(), Namespace: srv.Namespace(),
		Logger:       sdklog.NewStructuredLogger(slog.New(slog.NewJSONHandler(sdkLog, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		Interceptors: ics}))
	require.NoError(t, err)
	t.Cleanup(tc.Close)

	fakes := startFakes(t)
	startApp := func() *app.Stack {
		st, err := app.Start(context.Background(), app.Options{
			DB: db, Temporal: tc, TaskQueue: env.Queue, Vault: env.Keyring, Paper: env.Engine, Log: log,
			FillPoll: 20 * time.Millisecond, TakeProfitPoll: 50 * time.Millisecond, RunWorker: true, RunAPI: true, HTTPAddr: "127.0.0.1:0", Auth: env.Opts.Auth,
			Brokers: app.BrokerOptions{
				Schwab: fakes.schwab.App(), SchwabBaseURL: fakes.schwab.URL(), AllowCustomURLs: true, Unthrottled: true,
				MarketClock: func() time.Time { return sessionOpen }, ServerIP: "203.0.113.7",
				HealthAttempts: 2, HealthBackoff: 20 * time.Millisecond,
			},
		})
		require.NoError(t, err)
		t.Cleanup(st.Stop)
		env.Stack = st
		require.NoError(t, app.RefreshDemoToken(context.Background(), st.Auth, env.DataDir, &env.Demo))
		return st
	}
	st := startApp()
	h := &harness{t: t, env: env, db: db, dialect: d, feed: env.Feed, engine: env.Engine, keyring: env.Keyring,
		temporal: tc, queue: env.Queue, stack: st, demo: env.Demo, logs: logs}
	return &brokerHarness{harness: h, fakes: fakes, sdkLog: sdkLog, responses: &sdkLogBuffer{}, restartApp: func() {
		h.stack = startApp()
		h.demo = env.Demo
	}}
}

// call sends an API request as the demo trader (no redirects followed) and
// records the answer.
func (h *brokerHarness) call(method, path string, body any) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.stack.URL+path, rd)
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if strings.HasPrefix(path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+h.demo.APIToken)
	}
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	// The answer only: the request (a callback's code) is the test's own.
	route, _, _ := strings.Cut(path, "?")
	fmt.Fprintf(h.responses, "%s %s → %d\nLocation: %s\n%s\n", method, route, resp.StatusCode, resp.Header.Get("Location"), raw)
	if loc := resp.Header.Get("Location"); loc != "" {
		r.Body = map[string]any{"location": loc}
	}
	return r
}

// connectBroker posts a connection and returns the answer.
func (h *brokerHarness) connectBroker(broker string, creds map[string]string) response {
	return h.call(http.MethodPost, "/api/v1/brokers", map[string]any{"broker": broker, "credentials": creds})
}

// connectSchwab runs Schwab's consent the way a browser does: the
// authorization URL from the API, the code from the fake, the callback.
func (h *brokerHarness) connectSchwab(cash decimal.Decimal, query string) (location url.Values, code string) {
	h.t.Helper()
	b := h.browser(h.demo.APIToken)
	state := b.authorizeSchwab(query)
	code, _ = h.fakes.schwab.IssueAuthCode(cash)
	loc := b.schwabCallback(state, code)
	require.Equal(h.t, "/settings/brokers", loc.Path, loc.String())
	return loc.Query(), code
}

// schwabBrowser is a browser: a cookie jar holding a session (the access
// cookie) and whatever the API sets (the Schwab consent binding).
type schwabBrowser struct {
	h   *brokerHarness
	jar http.CookieJar
	hc  *http.Client
}

// browser returns a browser signed in with accessToken ("" for none).
func (h *brokerHarness) browser(accessToken string) *schwabBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	if accessToken != "" {
		u, _ := url.Parse(h.stack.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: "te_access", Value: accessToken, Path: "/"}})
	}
	return &schwabBrowser{h: h, jar: jar, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authorizeSchwab starts a consent (the dashboard's fetch) and returns its state.
func (b *schwabBrowser) authorizeSchwab(query string) string {
	b.h.t.Helper()
	resp, err := b.hc.Get(b.h.stack.URL + "/api/v1/brokers/schwab/authorize" + query)
	require.NoError(b.h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(b.h.t, http.StatusOK, resp.StatusCode, string(raw))
	var body struct{ URL string }
	require.NoError(b.h.t, json.Unmarshal(raw, &body))
	u, err := url.Parse(body.URL)
	require.NoError(b.h.t, err)
	require.True(b.h.t, strings.HasPrefix(u.String(), b.h.fakes.schwab.URL()+"/v1/oauth/authorize"), u.String())
	return u.Query().Get("state")
}

// schwabCallback is Schwab sending this browser back; it returns where the
// answer redirects.
func (b *schwabBrowser) schwabCallback(state, code string) *url.URL {
	b.h.t.Helper()
	resp, err := b.hc.Get(b.h.stack.URL + "/brokers/schwab/callback?" + url.Values{"code": {code}, "state": {state}}.Encode())
	require.NoError(b.h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	require.Equal(b.h.t, http.StatusSeeOther, resp.StatusCode, string(raw))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(b.h.t, err)
	fmt.Fprintf(b.h.responses, "GET /brokers/schwab/callback → %d\nLocation: %s\n%s\n", resp.StatusCode, loc, raw)
	return loc
}

// setDefault routes an asset class ("stocks", "crypto") to a connection.
func (h *brokerHarness) setDefault(class, connectionID string) {
	h.t.Helper()
	r := h.call(http.MethodPut, "/api/v1/brokers/defaults", map[string]any{class: connectionID})
	require.Equal(h.t, http.StatusOK, r.Status, r.Raw)
}

// connectionID reads the connection id of a successful connect answer.
func connectionID(t *testing.T, r response) string {
	t.Helper()
	conn, ok := r.Body["connection"].(map[string]any)
	require.True(t, ok, r.Raw)
	return conn["id"].(string)
}
