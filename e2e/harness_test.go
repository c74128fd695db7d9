// Package e2e runs the whole trade path for real: the pinned Temporal dev
// server, a real database (SQLite always, PostgreSQL when TEST_DATABASE_URL
// is set), the paper broker, the worker and the HTTP API over loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type harness struct {
	t        *testing.T
	env      *apptest.Env
	db       *gorm.DB
	dialect  store.Dialect
	feed     *paper.StaticFeed
	engine   *paper.Engine
	keyring  *vault.Keyring
	temporal client.Client
	queue    string
	stack    *app.Stack
	demo     app.Demo
	logs     *observer.ObservedLogs
	opts     harnessOptions
}

type harnessOptions struct {
	calendar paper.Calendar
	timeouts workflows.Timeouts
	cash     decimal.Decimal
}

func newHarness(t *testing.T, db *gorm.DB, d store.Dialect, o harnessOptions) *harness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	env := apptest.Start(t, db, d, apptest.Options{Calendar: o.calendar, Timeouts: o.timeouts, Cash: o.cash, Log: zap.New(core)})
	return &harness{t: t, env: env, db: db, dialect: d, feed: env.Feed, engine: env.Engine, keyring: env.Keyring,
		temporal: env.Temporal, queue: env.Queue, stack: env.Stack, demo: env.Demo, logs: logs, opts: o}
}

// start restarts worker and API (after h.stack.Stop()).
func (h *harness) start(log *zap.Logger) {
	h.t.Helper()
	h.env.StartStack(log)
	h.stack = h.env.Stack
}

func (h *harness) webhookURL() string {
	return h.stack.URL + "/webhooks/tradingview/" + h.demo.WebhookToken
}

type response struct {
	Status int
	Body   map[string]any
	Raw    string
	Header http.Header
}

func (h *harness) do(method, url, token string, body []byte, contentType string) response {
	h.t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(h.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Raw: string(raw), Header: resp.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

// deliverWebhook posts an alert as a careful sender does: an answer asking
// to come back later — 503 (too busy to record it in time; nothing was
// stored) or 429 webhook_rate_limited (the URL's 60 a minute, counting
// the redeliveries) — is redelivered after its Retry-After (1 s without
// one), for up to within. Under a loaded CI a burst's 503 redeliveries once
// took the URL past its 60 a minute and the test failed on the 429.
func (h *harness) deliverWebhook(body string, within time.Duration) response {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := h.postWebhook(body)
		later := r.Status == http.StatusServiceUnavailable ||
			(r.Status == http.StatusTooManyRequests && r.Body["error"] == "webhook_rate_limited")
		if !later || time.Now().After(deadline) {
			return r
		}
		wait := time.Second
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		time.Sleep(wait)
	}
}

func (h *harness) postWebhook(body string) response {
	return h.do(http.MethodPost, h.webhookURL(), "", []byte(body), "application/json")
}

func (h *harness) getTrade(id string) response {
	return h.do(http.MethodGet, h.stack.URL+"/api/v1/trades/"+id, h.demo.APIToken, nil, "")
}

// waitStatus polls the trade until it reaches one of the statuses.
func (h *harness) waitStatus(tradeID string, timeout time.Duration, statuses ...string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var last response
	for time.Now().Before(deadline) {
		last = h.getTrade(tradeID)
		if last.Status == http.StatusOK {
			tr := last.Body["trade"].(map[string]any)
			for _, s := range statuses {
				if tr["status"] == s {
					return last.Body
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	h.t.Fatalf("trade %s did not reach %v within %s; last answer %d %s", tradeID, statuses, timeout, last.Status, last.Raw)
	return nil
}

func (h *harness) orderCount() int {
	h.t.Helper()
	n, err := h.engine.OrderCount(context.Background(), h.demo.PaperAccount)
	require.NoError(h.t, err)
	return n
}

func (h *harness) trade(id string) schema.Trade {
	h.t.Helper()
	var t schema.Trade
	require.NoError(h.t, h.db.First(&t, "id = ?", id).Error)
	return t
}

func eachDB(t *testing.T, fn func(t *testing.T, db *gorm.DB, d store.Dialect)) {
	storetest.Each(t, fn)
}
