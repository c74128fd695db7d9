package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Invariant 4 across every adapter: connect each broker (and fail to, with
// wrong keys), re-connect, trade through each, refresh Schwab's tokens, run
// the health sweep with a broken gateway, disconnect — then search every
// workflow history, every log line (ours and the Temporal SDK's), every API
// answer, every error sentence stored for traders, the audit log and the
// event outbox for any credential value.
func TestNoBrokerCredentialLeaks(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	ctx := context.Background()
	secrets := newSecretSet()
	cash := decimal.NewFromInt(100_000)
	// Access tokens that need refreshing at once: every Schwab call after
	// the connect refreshes and saves them (SchwabTokens).
	h.fakes.schwab.SetAccessTTL(4 * time.Minute)

	connected := map[string]string{} // broker → connection id
	connect := func(name string, creds map[string]string) {
		for k, v := range creds {
			if k != "base_url" && k != "data_url" {
				secrets.add(name+" "+k, v)
			}
		}
		r := h.connectBroker(name, creds)
		require.Equal(t, http.StatusCreated, r.Status, r.Raw)
		connected[name] = connectionID(t, r)
	}
	refused := func(name string, creds map[string]string, status int) {
		for k, v := range creds {
			if k != "base_url" && k != "data_url" {
				secrets.add(name+" (refused) "+k, v)
			}
		}
		r := h.connectBroker(name, creds)
		require.Equal(t, status, r.Status, r.Raw)
	}

	// Every broker, connected.
	key, secret := h.fakes.alpaca.CreateAccount(cash)
	connect("alpaca", h.fakes.alpaca.Credentials(key, secret))
	acct, base := h.fakes.ibkr.NewAccount(cash)
	connect("ibkr", map[string]string{"account_id": acct, "base_url": base})
	connect("coinbase", h.fakes.coinbase.NewAccount(cash))
	connect("kraken", h.fakes.kraken.NewAccount(cash))
	connect("binance", h.fakes.binance.NewAccount(cash))
	connect("paper", map[string]string{"starting_cash": "50000"})
	q, code := h.connectSchwab(cash, "")
	secrets.add("schwab authorization code", code)
	require.Equal(t, "connected", q.Get("status"), q.Encode())
	connected["schwab"] = q.Get("connection")

	// Wrong credentials at every broker that takes typed ones.
	k2, s2 := h.fakes.alpaca.CreateAccount(cash)
	refused("alpaca", h.fakes.alpaca.Credentials(k2, "x"+s2), http.StatusUnprocessableEntity)
	cb := h.fakes.coinbase.NewAccount(cash)
	cb["api_secret"] = foreignPEM(t)
	refused("coinbase", cb, http.StatusUnprocessableEntity)
	kr := h.fakes.kraken.NewAccount(cash)
	kr["api_secret"] = base64.StdEncoding.EncodeToString([]byte("a different kraken private key of sixty-four bytes ............."))
	refused("kraken", kr, http.StatusUnprocessableEntity)
	bn := h.fakes.binance.NewAccount(cash)
	bn["api_secret"] = strings.Repeat("0f", 32)
	refused("binance", bn, http.StatusUnprocessableEntity)
	loggedOut, loggedOutBase := h.fakes.ibkr.NewLoggedOutGateway()
	refused("ibkr", map[string]string{"account_id": loggedOut, "base_url": loggedOutBase}, http.StatusUnprocessableEntity)
	// A Schwab code Schwab never issued.
	br := h.browser(h.demo.APIToken)
	state := br.authorizeSchwab("")
	badCode := "C0.never-issued-" + strings.Repeat("q", 24) + "@"
	secrets.add("schwab unknown code", badCode)
	require.Equal(t, "failed", br.schwabCallback(state, badCode).Query().Get("status"))
	var r response

	// Re-connect Alpaca with new keys, then with wrong ones.
	k3, s3 := h.fakes.alpaca.CreateAccount(cash)
	secrets.add("alpaca new key", k3)
	secrets.add("alpaca new secret", s3)
	r = h.call(http.MethodPut, "/api/v1/brokers/"+connected["alpaca"], map[string]any{"credentials": h.fakes.alpaca.Credentials(k3, s3)})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	secrets.add("alpaca wrong secret", "y"+s3)
	r = h.call(http.MethodPut, "/api/v1/brokers/"+connected["alpaca"], map[string]any{"credentials": h.fakes.alpaca.Credentials(k3, "y"+s3)})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, r.Raw)

	// A trade through every adapter, plus Schwab answering 503 three times.
	trades := 0
	for _, name := range []string{"alpaca", "ibkr", "schwab", "paper", "coinbase", "kraken", "binance"} {
		class, ticker, qty := "stocks", "AAPL", "3"
		if name == "coinbase" || name == "kraken" || name == "binance" {
			class, ticker, qty = "crypto", "BTCUSD", "0.02"
		}
		h.setDefault(class, connected[name])
		r := h.postWebhook(fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,"type":"market","id":"leak-%s"}`, ticker, qty, name))
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
		require.Equal(t, name, body["trade"].(map[string]any)["broker"])
		h.call(http.MethodGet, "/api/v1/trades/"+r.Body["tradeId"].(string), nil)
		trades++
	}
	h.setDefault("stocks", connected["schwab"])
	h.fakes.schwab.FailNext(3)
	r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"leak-schwab-503"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "rejected")
	trades++
	require.Positive(t, h.fakes.schwab.Refreshes(), "Schwab tokens were refreshed (and saved)")

	// The health sweep, with one gateway logged out.
	h.fakes.ibkr.LogOut(base)
	run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: h.queue}, workflows.ConnectionHealthWorkflowName, workflows.HealthSweepInput{})
	require.NoError(t, err)
	var sweep workflows.HealthSweepResult
	require.NoError(t, run.Get(ctx, &sweep))
	require.Equal(t, 1, sweep.Unhealthy, "%+v", sweep)

	// Reads, then disconnects.
	h.call(http.MethodGet, "/api/v1/brokers", nil)
	h.call(http.MethodGet, "/api/v1/brokers/catalog", nil)
	h.call(http.MethodGet, "/api/v1/brokers/ibkr/setup", nil)
	h.call(http.MethodGet, "/api/v1/trades", nil)
	for name, id := range connected {
		h.call(http.MethodGet, "/api/v1/brokers/"+id, nil)
		if name == "kraken" || name == "ibkr" {
			r := h.call(http.MethodDelete, "/api/v1/brokers/"+id, nil)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}
	}

	// Every credential the database holds now (refreshed tokens included),
	// and the server's own secrets.
	var rows []schema.BrokerConnection
	require.NoError(t, h.db.Find(&rows).Error)
	for _, row := range rows {
		if len(row.Credentials) == 0 {
			continue
		}
		creds := broker.Credentials{}
		require.NoError(t, h.keyring.DecryptJSON(row.UserID, row.ID, row.Credentials, &creds))
		for k, v := range creds {
			switch k {
			case "base_url", "data_url", "starting_cash", "access_token_expires_at", "refresh_token_expires_at":
			default:
				secrets.add(row.BrokerType+" stored "+k, v)
			}
		}
	}
	secrets.add("schwab app secret", h.fakes.schwab.App().ClientSecret)
	secrets.add("demo paper account", h.demo.PaperAccount)
	secrets.add("webhook token", h.demo.WebhookToken)
	secrets.addJWT("api token", h.demo.APIToken)
	for v, key := range h.keyring.Keys {
		secrets.add(fmt.Sprintf("vault master key v%d", v), base64.StdEncoding.EncodeToString(key))
	}

	histories, n := workflowHistories(t, h.temporal, h.queue)
	require.GreaterOrEqual(t, n, trades+len(connected)+7, "trades, connects (and refusals), the sweep")
	var logs strings.Builder
	for _, e := range h.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		logs.WriteString(e.LoggerName + " " + e.Message + " ")
		logs.Write(b)
		logs.WriteByte('\n')
	}
	corpora := map[string]string{
		"workflow histories":   histories,
		"application logs":     logs.String(),
		"Temporal SDK logs":    h.sdkLog.String(),
		"API responses":        h.responses.String(),
		"audit log":            tableText(t, h, "audit_logs"),
		"outbox events":        tableText(t, h, "outbox_events"),
		"connection messages":  tableText(t, h, "broker_connections", "id", "label", "health_status", "health_message"),
		"trade messages":       tableText(t, h, "trades", "error_message", "sizing_note", "broker_order_id", "stop_loss_order_id"),
		"oauth states (clear)": tableText(t, h, "broker_oauth_states", "label", "connection_id"),
	}
	for name, text := range corpora {
		require.NotEmpty(t, text, name)
		if leak := secrets.find(text); leak != "" {
			t.Errorf("%s leak a credential: %s", name, leak)
		}
	}
	// The scan saw what it had to see.
	require.Contains(t, corpora["API responses"], "Alpaca rejected these API keys")
	require.Contains(t, corpora["workflow histories"], "Schwab temporarily unavailable. Order not submitted.")
	require.Contains(t, corpora["Temporal SDK logs"], "ConnectBroker")
	require.Contains(t, corpora["outbox events"], "connection.unhealthy")
}

// tableText renders the named columns (all when none) of every row.
func tableText(t *testing.T, h *brokerHarness, table string, cols ...string) string {
	t.Helper()
	sel := "*"
	if len(cols) > 0 {
		sel = strings.Join(cols, ", ")
	}
	var rows []map[string]any
	require.NoError(t, h.db.Raw("SELECT "+sel+" FROM "+table).Scan(&rows).Error)
	var b strings.Builder
	for _, r := range rows {
		for k, v := range r {
			if raw, ok := v.([]byte); ok {
				v = string(raw)
			}
			fmt.Fprintf(&b, "%s=%v\n", k, v)
		}
	}
	return b.String()
}

// foreignPEM is a well-formed EC key Coinbase does not know.
func foreignPEM(t *testing.T) string {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalECPrivateKey(priv)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func stateParam(t *testing.T, authURL string) string {
	t.Helper()
	i := strings.Index(authURL, "state=")
	require.GreaterOrEqual(t, i, 0, authURL)
	st := authURL[i+len("state="):]
	if j := strings.IndexByte(st, '&'); j >= 0 {
		st = st[:j]
	}
	return st
}
