package e2e

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/logging"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/tracing"
	"github.com/tradeexec/tradeexec/schema"
)

// scrape reads a /metrics answer into series ("name{labels}") → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}

// A webhook that goes through shows on /metrics — served on its own
// listener, not on the API — as an accepted webhook signal, a workflow
// start, trade transitions to filled, and the database gauges.
func TestMetricsAfterWebhook(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		srv, base, err := app.ServeMetrics("127.0.0.1:0", zap.NewNop())
		require.NoError(t, err)
		t.Cleanup(func() { _ = srv.Close() })
		url := base + "/metrics"

		before := scrape(t, url)
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":2,"type":"market","id":"metrics-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
		// Its stop and its look after the fill update the row too.
		h.waitTradeEnded(r.Body["tradeId"].(string))
		refused := h.do(http.MethodPost, h.webhookURL(), "", []byte(`{"ticker":"AAPL"`), "application/json")
		require.Equal(t, http.StatusBadRequest, refused.Status, refused.Raw)

		// The trade set back to pending an hour ago (its workflow is done),
		// and a start request waiting for two minutes (due in an hour, so
		// the relay leaves it alone).
		now := time.Now().UTC()
		require.NoError(t, db.Model(&schema.Trade{}).Where("id = ?", r.Body["tradeId"]).
			Updates(map[string]any{"status": "pending", "updated_at": now.Add(-time.Hour)}).Error)
		require.NoError(t, db.Create(&schema.WorkflowStart{ID: uuid.NewString(), WorkflowID: "metrics-" + uuid.NewString(),
			WorkflowType: "TradeWorkflow", Kind: "trade", RefID: r.Body["tradeId"].(string), TaskQueue: h.queue, Input: "{}", Memo: "{}",
			SearchAttrs: "{}", CreatedAt: now.Add(-2 * time.Minute), NextAt: now.Add(time.Hour)}).Error)
		app.UpdateDBGauges(context.Background(), db, zap.NewNop())

		after := scrape(t, url)
		delta := func(series string) float64 { return after[series] - before[series] }
		require.Equal(t, 1.0, delta(`tradeexec_signals_received_total{outcome="accepted",source="webhook"}`))
		require.Equal(t, 1.0, delta(`tradeexec_signals_received_total{outcome="refused",source="webhook"}`))
		require.GreaterOrEqual(t, delta(`tradeexec_trade_transitions_total{status="pending"}`), 1.0)
		require.GreaterOrEqual(t, delta(`tradeexec_trade_transitions_total{status="filled"}`), 1.0)
		require.GreaterOrEqual(t, delta(`tradeexec_workflow_start_duration_seconds_count{outcome="started",via="entry",workflow="TradeWorkflow"}`), 1.0)
		require.Equal(t, 1.0, after[`tradeexec_trades_stuck{status="pending"}`])
		require.Equal(t, 0.0, after[`tradeexec_trades_stuck{status="submitted"}`])
		require.Equal(t, 1.0, after[`tradeexec_start_relay_pending`])
		require.InDelta(t, 120, after[`tradeexec_start_relay_oldest_seconds`], 30)
		require.Greater(t, after[`tradeexec_db_gauges_updated_timestamp_seconds`], 0.0)
		for series := range after {
			require.NotContains(t, series, h.demo.UserID, "a user id as a label value")
			require.NotContains(t, series, "AAPL", "a symbol as a label value")
		}

		// The public API does not serve it.
		resp, err := http.Get(h.stack.URL + "/metrics")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
}

// One trace follows a webhook: the API's server span → the StartWorkflow
// span of the Temporal client → the workflow → the activity that submits
// the order → the broker HTTP exchange with the Alpaca fake; and the log
// lines of the request and of the activity carry that trace id.
func TestTraceFollowsWebhookToBroker(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})

	db := openSQLite(t)
	h := newBrokerHarnessWith(t, db, store.SQLite, tracing.ClientInterceptors())
	key, secret := h.fakes.alpaca.CreateAccount(decimal.NewFromInt(100_000))
	cr := h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key, secret))
	require.Equal(t, http.StatusCreated, cr.Status, cr.Raw)
	h.setDefault("stocks", connectionID(t, cr))

	r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":3,"type":"market","id":"trace-1"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
	require.Equal(t, 1, h.fakes.alpaca.OrderCount(key))

	// The webhook's server span and its trace.
	var root tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindServer && attr(s, "http.route") == "/webhooks/tradingview/:token" {
			root = s
		}
	}
	require.True(t, root.SpanContext.IsValid(), "no server span for the webhook; spans: %v", spanNames(exp.GetSpans()))
	traceID := root.SpanContext.TraceID()
	require.Equal(t, "/webhooks/tradingview/:token", attr(root, "url.path"), "the webhook's token must not be in the span")

	// The broker exchange's ancestors, once they have ended (spans are
	// exported at their end; the workflow's ends with the workflow): an
	// activity run, the workflow, the start, the webhook.
	var inTrace []tracetest.SpanStub
	var chain []string
	complete := func() bool {
		inTrace, chain = nil, nil
		byID := map[trace.SpanID]tracetest.SpanStub{}
		var posts []tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.SpanContext.TraceID() != traceID {
				continue
			}
			inTrace = append(inTrace, s)
			byID[s.SpanContext.SpanID()] = s
			if s.SpanKind == trace.SpanKindClient && attr(s, "broker") == "alpaca" && attr(s, "http.request.method") == http.MethodPost {
				posts = append(posts, s)
			}
		}
		// The order's POST: the one under the SubmitOrder activity (a
		// stop-loss order follows the fill under its own activity).
		for _, p := range posts {
			chain = nil
			for s, ok := p, true; ok; s, ok = byID[s.Parent.SpanID()] {
				chain = append(chain, s.Name)
			}
			if len(chain) > 1 && chain[1] == "RunActivity:SubmitOrder" && chain[len(chain)-1] == root.Name {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(20 * time.Second)
	for !complete() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	require.True(t, complete(), "the broker POST does not lead back to the webhook; chain %v; spans in the trace: %v", chain, spanNames(inTrace))
	t.Logf("broker POST → webhook: %s", strings.Join(chain, " ← "))
	require.Contains(t, spanNames(inTrace), "StartWorkflow:TradeWorkflow")
	require.GreaterOrEqual(t, len(chain), 4, "%v", chain)
	require.Equal(t, root.Name, chain[len(chain)-1], "%v", chain)
	require.Contains(t, chain, "StartWorkflow:TradeWorkflow")

	// No span holds the webhook token or a URL query.
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			v := kv.Value.Emit()
			require.NotContains(t, v, h.demo.WebhookToken, "%s %s", s.Name, kv.Key)
			require.NotContains(t, v, "?", "%s %s = %s", s.Name, kv.Key, v)
		}
	}

	// The request's lines and the activity's carry the trace id.
	want := traceID.String()
	var access, activity bool
	for _, e := range h.logs.All() {
		fields := e.ContextMap()
		if e.Message == "http" && fields["route"] == "/webhooks/tradingview/:token" {
			access = true
			require.Equal(t, want, fields[logging.KeyTraceID], "access log")
			require.NotEmpty(t, fields[logging.KeyRequestID])
		}
		if e.Message == "order accepted by broker" && fields["broker"] == "alpaca" {
			activity = true
			require.Equal(t, want, fields[logging.KeyTraceID], "activity log")
		}
	}
	require.True(t, access, "no access log line for the webhook")
	require.True(t, activity, "no activity log line for the order")
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func spanNames(spans []tracetest.SpanStub) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}
