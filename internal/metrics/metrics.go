// Package metrics owns tradeexec's Prometheus registry and every metric in
// it. Instrumented code calls the small functions below (never the client
// library), so names, labels and buckets live in one place (DESIGN
// §Observability). Labels are bounded sets — source, outcome, status,
// broker type, error kind, workflow type — never a user id, a symbol or an
// order id: each label value passes through a whitelist or a shape check
// and anything else is counted as "other".
//
// The registry is process-wide; it is served by Handler on the metrics
// listener (METRICS_ADDR), never on the public API.
package metrics

import (
	"net/http"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "tradeexec"

// Names of the metrics (the alert rules and DESIGN refer to them).
const (
	NameSignalsReceived      = "tradeexec_signals_received_total"
	NameTradeTransitions     = "tradeexec_trade_transitions_total"
	NameTradesStuck          = "tradeexec_trades_stuck"
	NameBrokerRequestSeconds = "tradeexec_broker_request_duration_seconds"
	NameBrokerErrors         = "tradeexec_broker_errors_total"
	NameRateLimitWaits       = "tradeexec_broker_ratelimit_waits_total"
	NameRateLimitWaitSeconds = "tradeexec_broker_ratelimit_wait_seconds"
	NameWorkflowStartSeconds = "tradeexec_workflow_start_duration_seconds"
	NameWSConnections        = "tradeexec_ws_connections"
	NameWSSendQueue          = "tradeexec_ws_send_queue_frames"
	NameWSHubBacklog         = "tradeexec_ws_hub_backlog_users"
	NameOutboxLagSeconds     = "tradeexec_outbox_delivery_lag_seconds"
	NameGuardActions         = "tradeexec_guard_actions_total"
	NameStartRelayPending    = "tradeexec_start_relay_pending"
	NameStartRelayOldest     = "tradeexec_start_relay_oldest_seconds"
	NameAuditVerifyFailures  = "tradeexec_audit_verify_failures_total"
	NameGaugesUpdated        = "tradeexec_db_gauges_updated_timestamp_seconds"
)

var (
	registry = prometheus.NewRegistry()

	signalsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "signals_received_total",
		Help: "Signals received, by source (webhook, discord, dashboard, copy) and outcome (accepted, duplicate, deferred, refused)."},
		[]string{"source", "outcome"})
	tradeTransitions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "trade_transitions_total",
		Help: "Trade status changes recorded, by the status the trade moved to."},
		[]string{"status"})
	tradesStuck = prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace,
		Name: "trades_stuck",
		Help: "Trades in a non-terminal status whose last change is older than the stuck threshold, by status (periodic count query)."},
		[]string{"status"})
	brokerRequest = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace,
		Name:    "broker_request_duration_seconds",
		Help:    "One HTTP exchange with a broker (internal/broker/httpx), by broker and outcome (2xx, 4xx, 5xx, rate_limited, transport).",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
		[]string{"broker", "outcome"})
	brokerErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "broker_errors_total",
		Help: "Broker calls that failed, by broker and error kind (broker.Kind: UNAVAILABLE, RATE_LIMIT_EXCEEDED, ORDER_REJECTED, …)."},
		[]string{"broker", "kind"})
	rateLimitWaits = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "broker_ratelimit_waits_total",
		Help: "Broker requests that waited before being sent, by broker and reason (budget: our own limiter; retry_after: the broker's 429/418)."},
		[]string{"broker", "reason"})
	rateLimitWaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace,
		Name:    "broker_ratelimit_wait_seconds",
		Help:    "How long a broker request waited for the rate limiter, by broker.",
		Buckets: []float64{.005, .025, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"broker"})
	workflowStart = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace,
		Name:    "workflow_start_duration_seconds",
		Help:    "ExecuteWorkflow of a start request (internal/starts), by workflow type, caller (entry, relay) and outcome (started, already_started, error).",
		Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}},
		[]string{"workflow", "via", "outcome"})
	wsConnections = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "ws_connections",
		Help: "Authorized WebSocket connections registered with this process's hub."})
	wsSendQueue = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "ws_send_queue_frames",
		Help: "Frames handed to WebSockets and not yet written, summed over this process's sockets."})
	wsHubBacklog = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "ws_hub_backlog_users",
		Help: "Users whose new events or new sockets' initial syncs wait for a hub worker (a reconnect storm shows here)."})
	outboxLag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace,
		Name:    "outbox_delivery_lag_seconds",
		Help:    "From an outbox event's commit (created_at) to its frame being queued on a WebSocket.",
		Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}})
	guardActions = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace,
		Name: "guard_actions_total",
		Help: "Account guard actions, by action (warning, limit, circuit_breaker, flatten)."},
		[]string{"action"})
	startRelayPending = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "start_relay_pending",
		Help: "Workflow start requests not yet started (workflow_starts rows; periodic count query)."})
	startRelayOldest = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "start_relay_oldest_seconds",
		Help: "Age of the oldest workflow start request still waiting (0 when none)."})
	auditVerifyFailures = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace,
		Name: "audit_verify_failures_total",
		Help: "Audit log hash-chain verifications that found a broken or tampered chain."})
	gaugesUpdated = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace,
		Name: "db_gauges_updated_timestamp_seconds",
		Help: "When the database gauges (trades_stuck, start_relay_*) were last computed (Unix time)."})
)

func init() {
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		signalsReceived, tradeTransitions, tradesStuck, brokerRequest, brokerErrors, rateLimitWaits, rateLimitWaitSeconds,
		workflowStart, wsConnections, wsSendQueue, wsHubBacklog, outboxLag, guardActions, startRelayPending, startRelayOldest,
		auditVerifyFailures, gaugesUpdated)
	// Series that alerts divide by or look for exist from the start.
	auditVerifyFailures.Add(0)
	for _, s := range Sources {
		for _, o := range []string{OutcomeAccepted, OutcomeDuplicate, OutcomeDeferred, OutcomeRefused} {
			signalsReceived.WithLabelValues(s, o)
		}
	}
}

// Registry is the process's registry (tests gather from it).
func Registry() *prometheus.Registry { return registry }

// Handler serves the registry in the Prometheus text (or OpenMetrics) format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{Registry: registry})
}

// Signal sources (label "source").
const (
	SourceWebhook   = "webhook"
	SourceDiscord   = "discord"
	SourceDashboard = "dashboard"
	SourceCopy      = "copy"
	other           = "other"
)

// Sources are the values of the "source" label.
var Sources = []string{SourceWebhook, SourceDiscord, SourceDashboard, SourceCopy}

// Signal outcomes (label "outcome").
const (
	OutcomeAccepted  = "accepted"  // a new signal stored and its workflow started
	OutcomeDuplicate = "duplicate" // a redelivery of a stored signal
	OutcomeDeferred  = "deferred"  // stored; the start relay starts its workflow
	OutcomeRefused   = "refused"   // answered with an error, nothing stored
)

// SourceOf maps a signal's source (signal.Source) to the label: TradingView
// alerts arrive by webhook.
func SourceOf(signalSource string) string {
	switch signalSource {
	case "tradingview", SourceWebhook:
		return SourceWebhook
	case SourceDiscord, SourceDashboard, SourceCopy:
		return signalSource
	}
	return other
}

// SignalReceived counts one signal by source label (SourceOf) and outcome.
func SignalReceived(source, outcome string) {
	switch outcome {
	case OutcomeAccepted, OutcomeDuplicate, OutcomeDeferred, OutcomeRefused:
	default:
		outcome = other
	}
	signalsReceived.WithLabelValues(SourceOf(source), outcome).Inc()
}

// tradeStatuses bound the "status" label (internal/trade's statuses).
var tradeStatuses = map[string]bool{"pending": true, "pending_approval": true, "queued": true, "market_halted": true,
	"submitted": true, "partial_fill": true, "filled": true, "rejected": true, "cancelled": true}

func statusLabel(s string) string {
	if tradeStatuses[s] {
		return s
	}
	return other
}

// TradeTransition counts a trade moving to status (called after commit).
func TradeTransition(status string) { tradeTransitions.WithLabelValues(statusLabel(status)).Inc() }

// SetTradesStuck replaces the stuck-trade counts (every non-terminal status
// named in byStatus; statuses absent are set to 0).
func SetTradesStuck(byStatus map[string]int) {
	for s := range tradeStatuses {
		switch s {
		case "filled", "rejected", "cancelled":
			continue
		}
		tradesStuck.WithLabelValues(s).Set(float64(byStatus[s]))
	}
}

// tokenLabel: broker types and workflow types are short identifiers.
var tokenLabel = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)

func token(s string) string {
	if tokenLabel.MatchString(s) {
		return s
	}
	return other
}

// brokerKinds bound the "kind" label (broker.Kind values).
var brokerKinds = map[string]bool{"INSUFFICIENT_FUNDS": true, "INVALID_SYMBOL": true, "MARKET_CLOSED": true,
	"RATE_LIMIT_EXCEEDED": true, "AUTH_FAILED": true, "UNAVAILABLE": true, "ORDER_REJECTED": true, "NOT_FOUND": true,
	"INVALID_ORDER": true, "MARKET_HALTED": true}

// BrokerRequest observes one HTTP exchange with a broker. status is the
// HTTP status (0 when the exchange failed in transport); rateLimited marks
// the broker's rate-limit answer.
func BrokerRequest(brokerName string, status int, rateLimited bool, d time.Duration) {
	outcome := "transport"
	switch {
	case rateLimited:
		outcome = "rate_limited"
	case status >= 500:
		outcome = "5xx"
	case status >= 400:
		outcome = "4xx"
	case status >= 200:
		outcome = "2xx"
	}
	brokerRequest.WithLabelValues(token(brokerName), outcome).Observe(d.Seconds())
}

// BrokerError counts a failed broker call by its kind (broker.Kind).
func BrokerError(brokerName, kind string) {
	if !brokerKinds[kind] {
		kind = "OTHER"
	}
	brokerErrors.WithLabelValues(token(brokerName), kind).Inc()
}

// Rate-limit wait reasons.
const (
	WaitBudget     = "budget"      // our own limiter held the request back
	WaitRetryAfter = "retry_after" // the broker answered 429/418
)

// RateLimitWait counts a request that waited d before being sent.
func RateLimitWait(brokerName, reason string, d time.Duration) {
	if reason != WaitBudget && reason != WaitRetryAfter {
		reason = other
	}
	b := token(brokerName)
	rateLimitWaits.WithLabelValues(b, reason).Inc()
	rateLimitWaitSeconds.WithLabelValues(b).Observe(d.Seconds())
}

// WorkflowStart observes one ExecuteWorkflow of a start request; via is
// "entry" or "relay", outcome "started", "already_started" or "error".
func WorkflowStart(workflowType, via, outcome string, d time.Duration) {
	if via != "entry" && via != "relay" {
		via = other
	}
	switch outcome {
	case "started", "already_started", "error":
	default:
		outcome = other
	}
	workflowStart.WithLabelValues(token(workflowType), via, outcome).Observe(d.Seconds())
}

// WSConnected and WSDisconnected track the hub's registered sockets.
func WSConnected()    { wsConnections.Inc() }
func WSDisconnected() { wsConnections.Dec() }

// WSQueued adds n (negative when written) to the frames waiting on sockets.
func WSQueued(n int) { wsSendQueue.Add(float64(n)) }

// WSHubBacklog adds n (negative when taken by a worker) to the users
// waiting for a hub worker.
func WSHubBacklog(n int) { wsHubBacklog.Add(float64(n)) }

// OutboxDelivered observes the lag of an event queued on a socket at now.
func OutboxDelivered(createdAt, now time.Time) {
	outboxLag.Observe(max(now.Sub(createdAt), 0).Seconds())
}

// Guard actions (label "action").
const (
	GuardWarning        = "warning"
	GuardLimit          = "limit"
	GuardCircuitBreaker = "circuit_breaker"
	GuardFlatten        = "flatten"
)

// GuardAction counts an account guard action.
func GuardAction(action string) {
	switch action {
	case GuardWarning, GuardLimit, GuardCircuitBreaker, GuardFlatten:
	default:
		action = other
	}
	guardActions.WithLabelValues(action).Inc()
}

// SetStartRelay sets the start relay's backlog: pending requests and the
// age of the oldest.
func SetStartRelay(pending int, oldest time.Duration) {
	startRelayPending.Set(float64(pending))
	startRelayOldest.Set(max(oldest, 0).Seconds())
}

// GaugesUpdated records when the database gauges were computed.
func GaugesUpdated(at time.Time) { gaugesUpdated.Set(float64(at.Unix())) }

// AuditVerifyFailed counts one audit hash-chain verification that found
// the chain broken (tradeexec_audit_verify_failures_total; the audit
// verify workflow calls it, the AuditChainBroken alert fires on it).
func AuditVerifyFailed() { auditVerifyFailures.Inc() }
