package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// spineBroker is one row of the per-broker spine test.
type spineBroker struct {
	name    string
	class   string // "stocks" or "crypto"
	message string // the connect answer
	// connect connects the demo trader and returns the connection id.
	connect func(h *brokerHarness) string
	// orders counts the orders the fake holds for that account.
	orders func(h *brokerHarness, connectionID string) int
}

func spineBrokers() []spineBroker {
	cash := decimal.NewFromInt(100_000)
	post := func(broker, message string, creds func(h *brokerHarness) map[string]string) func(h *brokerHarness) string {
		return func(h *brokerHarness) string {
			r := h.connectBroker(broker, creds(h))
			require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
			require.Equal(h.t, message, r.Body["message"])
			require.Equal(h.t, "connected", r.Body["status"])
			return connectionID(h.t, r)
		}
	}
	var alpacaKey, coinbaseKey, krakenKey, binanceKey string
	return []spineBroker{
		{name: "alpaca", class: "stocks", message: "Alpaca connected successfully",
			connect: post("alpaca", "Alpaca connected successfully", func(h *brokerHarness) map[string]string {
				key, secret := h.fakes.alpaca.CreateAccount(cash)
				alpacaKey = key
				return h.fakes.alpaca.Credentials(key, secret)
			}),
			orders: func(h *brokerHarness, _ string) int { return h.fakes.alpaca.OrderCount(alpacaKey) }},
		{name: "ibkr", class: "stocks",
			connect: post("ibkr", "Interactive Brokers connected successfully", func(h *brokerHarness) map[string]string {
				acct, base := h.fakes.ibkr.NewAccount(cash)
				return map[string]string{"account_id": acct, "base_url": base}
			}),
			orders: func(h *brokerHarness, _ string) int { return h.fakes.ibkr.OrderCount() }},
		{name: "schwab", class: "stocks",
			connect: func(h *brokerHarness) string {
				q, _ := h.connectSchwab(cash, "")
				require.Equal(h.t, "connected", q.Get("status"), q.Encode())
				require.Equal(h.t, "Schwab connected successfully", q.Get("message"))
				return q.Get("connection")
			},
			orders: func(h *brokerHarness, _ string) int { return h.fakes.schwab.OrderCount() }},
		{name: "coinbase", class: "crypto",
			connect: post("coinbase", "Coinbase connected: $100,000.00 USD balance", func(h *brokerHarness) map[string]string {
				c := h.fakes.coinbase.NewAccount(cash)
				coinbaseKey = c["api_key"]
				return c
			}),
			orders: func(h *brokerHarness, _ string) int { return h.fakes.coinbase.OrderCountFor(coinbaseKey) }},
		{name: "kraken", class: "crypto",
			connect: post("kraken", "Kraken connected: $100,000.00 USD balance", func(h *brokerHarness) map[string]string {
				c := h.fakes.kraken.NewAccount(cash)
				krakenKey = c["api_key"]
				return c
			}),
			orders: func(h *brokerHarness, _ string) int { return h.fakes.kraken.OrderCountFor(krakenKey) }},
		{name: "binance", class: "crypto",
			connect: post("binance", "Binance connected: $100,000.00 USDT balance", func(h *brokerHarness) map[string]string {
				c := h.fakes.binance.NewAccount(cash)
				binanceKey = c["api_key"]
				return c
			}),
			orders: func(h *brokerHarness, _ string) int { return h.fakes.binance.OrderCountFor(binanceKey) }},
		{name: "paper", class: "stocks",
			connect: post("paper", "Paper broker connected successfully", func(*brokerHarness) map[string]string { return nil }),
			orders: func(h *brokerHarness, connectionID string) int {
				n, err := h.engine.OrderCount(context.Background(), h.paperAccount(connectionID))
				require.NoError(h.t, err)
				return n
			}},
	}
}

// paperAccount reads the generated paper account id of a connection.
func (h *brokerHarness) paperAccount(connectionID string) string {
	h.t.Helper()
	var row schema.BrokerConnection
	require.NoError(h.t, h.db.First(&row, "id = ?", connectionID).Error)
	creds := broker.Credentials{}
	require.NoError(h.t, h.keyring.DecryptJSON(row.UserID, row.ID, row.Credentials, &creds))
	return creds["account_id"]
}

// The spine once per broker against its fake: connect through the API,
// route the asset class there, webhook in → order at that fake → filled.
func TestSpinePerBroker(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newBrokerHarness(t, db, d)
		for i, b := range spineBrokers() {
			t.Run(b.name, func(t *testing.T) {
				h.t = t
				connID := b.connect(h)
				h.setDefault(b.class, connID)
				ticker, qty := "AAPL", "5"
				if b.class == "crypto" {
					ticker, qty = "BTCUSD", "0.01"
				}
				r := h.postWebhook(fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,"type":"market","id":"spine-%d"}`, ticker, qty, i))
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				body := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled", "rejected", "cancelled")
				tr := body["trade"].(map[string]any)
				require.Equal(t, "filled", tr["status"], "%v", tr)
				require.Equal(t, b.name, tr["broker"])
				require.Equal(t, qty, tr["filledQuantity"])
				require.GreaterOrEqual(t, b.orders(h, connID), 1, "the order is at %s's fake", b.name)
			})
		}
		h.t = t
		list := h.call(http.MethodGet, "/api/v1/brokers", nil)
		require.Equal(t, http.StatusOK, list.Status, list.Raw)
		require.Len(t, list.Body["connections"], 8, "the demo's paper connection + seven")
		v, err := audit.Verify(context.Background(), db, h.demo.UserID)
		require.NoError(t, err)
		require.True(t, v.Valid)
	})
}

// US-002 #3: Schwab answers 503 three times → "Schwab temporarily
// unavailable. Order not submitted." and no order.
func TestSchwabUnavailableThreeTimes(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	q, _ := h.connectSchwab(decimal.NewFromInt(300_000), "")
	require.Equal(t, "connected", q.Get("status"), q.Encode())
	h.setDefault("stocks", q.Get("connection"))
	h.fakes.schwab.FailNext(3)
	r := h.postWebhook(`{"ticker":"NVDA","action":"buy","quantity":25,"type":"market","id":"schwab-503"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	body := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected", "filled", "cancelled")
	tr := body["trade"].(map[string]any)
	require.Equal(t, "rejected", tr["status"], "%v", tr)
	require.Equal(t, "Schwab temporarily unavailable. Order not submitted.", tr["message"])
	require.Equal(t, 0, h.fakes.schwab.OrderCount(), "no order at Schwab")
	require.Equal(t, "25", tr["quantity"])
}

// Connect answers: exact refusals, validation 400s, re-connect, the IBKR
// instructions, defaults and disconnect over HTTP.
func TestBrokerConnectionsAPI(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	key, secret := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(50_000))

	bad := h.fakes.alpaca.Credentials(key, "wrong-"+secret)
	r := h.connectBroker("alpaca", bad)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)
	require.Equal(t, "credentials_rejected", r.Body["error"])
	require.Equal(t, "Alpaca rejected these API keys. Check the key and secret and try again.", r.Body["message"])

	r = h.connectBroker("alpaca", map[string]string{"api_key": key})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Equal(t, "credentials.api_secret", r.Body["field"])
	r = h.call(http.MethodPost, "/api/v1/brokers", map[string]any{"broker": "alpaca", "credentials": map[string]any{"api_key": 1}})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	r = h.connectBroker("schwab", map[string]string{"refresh_token": "x"})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

	r = h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key, secret))
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	require.Equal(t, "Alpaca connected successfully", r.Body["message"])
	require.Equal(t, "50000", r.Body["accountValue"])
	require.Equal(t, "$50,000.00", r.Body["accountValueText"])
	id := connectionID(t, r)
	conn := r.Body["connection"].(map[string]any)
	require.Equal(t, "healthy", conn["status"])
	require.NotContains(t, r.Raw, secret)
	h.recordHistory(workflows.ConnectWorkflowID(id), "connect_broker_connected")

	// Edit: new keys, same connection; CREDENTIALS_UPDATED lists field names.
	key2, secret2 := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(70_000))
	r = h.call(http.MethodPut, "/api/v1/brokers/"+id, map[string]any{"credentials": h.fakes.alpaca.Credentials(key2, secret2)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, id, connectionID(t, r))
	require.Equal(t, "70000", r.Body["accountValue"])
	entries, err := audit.List(context.Background(), h.db, audit.Filter{UserID: h.demo.UserID, Action: audit.ActionCredentialsUpdated})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Contains(t, entries[0].Details, `"changedFields":["apiKey","apiSecret"]`)

	setup := h.call(http.MethodGet, "/api/v1/brokers/ibkr/setup", nil)
	require.Equal(t, http.StatusOK, setup.Status, setup.Raw)
	require.Equal(t, "Install IB Gateway, enable API access in TWS, whitelist IP: 203.0.113.7", setup.Body["instructions"])

	cat := h.call(http.MethodGet, "/api/v1/brokers/catalog", nil)
	require.Equal(t, http.StatusOK, cat.Status, cat.Raw)
	require.Len(t, cat.Body["brokers"], 7)

	r = h.call(http.MethodPut, "/api/v1/brokers/defaults", map[string]any{"crypto": id, "stocks": nil})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	r = h.call(http.MethodPut, "/api/v1/brokers/defaults", map[string]any{"forex": id})
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

	r = h.call(http.MethodDelete, "/api/v1/brokers/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, "Alpaca disconnected. Its credentials were deleted.", r.Body["message"])
	r = h.call(http.MethodGet, "/api/v1/brokers/"+id, nil)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, "disconnected", r.Body["connection"].(map[string]any)["status"])
	r = h.call(http.MethodDelete, "/api/v1/brokers/00000000-0000-0000-0000-000000000000", nil)
	require.Equal(t, http.StatusNotFound, r.Status, r.Raw)

	// A used Schwab state sends the browser back with the reason.
	r = h.call(http.MethodGet, "/brokers/schwab/callback?state=nope&code=C0.x", nil)
	require.Equal(t, http.StatusSeeOther, r.Status, r.Raw)
	require.Contains(t, r.Body["location"], "status=failed")

	types := []string{}
	evs, err := realtime.EventsSince(context.Background(), h.db, h.demo.UserID, 0, 100)
	require.NoError(t, err)
	for _, e := range evs {
		types = append(types, e.Type)
	}
	require.Equal(t, []string{realtime.EventConnectionFailed, realtime.EventConnectionConnected, realtime.EventConnectionConnected,
		realtime.EventConnectionDisconnected}, types)
}

// FR-019: the schedule exists once the worker runs, and a sweep marks a
// broken connection unhealthy (event + audit), then recovered.
func TestHealthSweep(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	ctx := context.Background()
	sched := worker.Schedules(h.queue)[0]
	desc, err := h.temporal.ScheduleClient().GetHandle(ctx, sched.ID).Describe(ctx)
	require.NoError(t, err)
	require.Equal(t, workflows.HealthCheckInterval, desc.Schedule.Spec.Intervals[0].Every)
	require.NoError(t, worker.EnsureSchedules(ctx, h.temporal, h.queue), "idempotent")

	acct, base := h.fakes.ibkr.NewAccount(decimal.NewFromInt(10_000))
	r := h.connectBroker("ibkr", map[string]string{"account_id": acct, "base_url": base})
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	id := connectionID(t, r)

	var lastSweep string
	sweep := func() workflows.HealthSweepResult {
		run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: h.queue}, workflows.ConnectionHealthWorkflowName, workflows.HealthSweepInput{})
		require.NoError(t, err)
		var res workflows.HealthSweepResult
		require.NoError(t, run.Get(ctx, &res))
		lastSweep = run.GetID()
		return res
	}
	res := sweep()
	require.Equal(t, workflows.HealthSweepResult{Checked: 2, Healthy: 2}, res, "the demo's paper connection and IBKR")

	h.fakes.ibkr.LogOut(base)
	res = sweep()
	require.Equal(t, 1, res.Unhealthy)
	got := h.call(http.MethodGet, "/api/v1/brokers/"+id, nil)
	conn := got.Body["connection"].(map[string]any)
	require.Equal(t, brokerconn.HealthUnhealthy, conn["status"])
	require.NotEmpty(t, conn["statusMessage"])
	evs, err := realtime.EventsSince(ctx, h.db, h.demo.UserID, 0, 100)
	require.NoError(t, err)
	require.Equal(t, realtime.EventConnectionUnhealthy, evs[len(evs)-1].Type)
	entries, err := audit.List(ctx, h.db, audit.Filter{UserID: h.demo.UserID, Action: audit.ActionBrokerUnhealthy})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	h.recordHistory(lastSweep, "connection_health_unhealthy")
}
