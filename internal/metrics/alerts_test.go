package metrics_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/tradeexec/tradeexec/internal/metrics"
)

// touchAll records one observation of every metric, so that every family
// (vectors included) shows in a Gather with its label names.
func touchAll() {
	now := time.Now()
	metrics.SignalReceived("tradingview", metrics.OutcomeAccepted)
	metrics.TradeTransition("filled")
	metrics.SetTradesStuck(map[string]int{"pending": 0})
	metrics.BrokerRequest("alpaca", 200, false, time.Millisecond)
	metrics.BrokerError("alpaca", "UNAVAILABLE")
	metrics.RateLimitWait("alpaca", metrics.WaitBudget, time.Millisecond)
	metrics.WorkflowStart("TradeWorkflow", "entry", "started", time.Millisecond)
	metrics.WSConnected()
	metrics.WSDisconnected()
	metrics.WSQueued(0)
	metrics.OutboxDelivered(now, now)
	metrics.GuardAction(metrics.GuardWarning)
	metrics.SetStartRelay(0, 0)
	metrics.GaugesUpdated(now)
}

// families returns every metric name in the registry with its label names
// (histograms also under _bucket (+le), _count and _sum).
func families(t *testing.T) map[string]map[string]bool {
	t.Helper()
	touchAll()
	mfs, err := metrics.Registry().Gather()
	require.NoError(t, err)
	out := map[string]map[string]bool{}
	for _, mf := range mfs {
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		out[mf.GetName()] = labels
		if mf.GetType().String() == "HISTOGRAM" {
			bucket := map[string]bool{"le": true}
			for l := range labels {
				bucket[l] = true
			}
			out[mf.GetName()+"_bucket"] = bucket
			out[mf.GetName()+"_count"] = labels
			out[mf.GetName()+"_sum"] = labels
		}
	}
	return out
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

var (
	metricName = regexp.MustCompile(`\btradeexec_[a-z0-9_]+`)
	selector   = regexp.MustCompile(`\b(tradeexec_[a-z0-9_]+)\{([^}]*)\}`)
	matcher    = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$`)
	grouping   = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// TestAlertRules: deploy/prometheus/alerts.yaml is a rule file Prometheus
// loads (groups of named rules, a severity, a summary, durations it
// parses) and every expression names only metrics of this registry, with
// labels those metrics have.
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/prometheus/alerts.yaml")
	require.NoError(t, err)
	var f ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&f))
	require.NotEmpty(t, f.Groups)

	fams := families(t)
	seen := map[string]bool{}
	used := map[string]bool{}
	for _, g := range f.Groups {
		require.NotEmpty(t, g.Name)
		require.NotEmpty(t, g.Rules, g.Name)
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: a rule without an alert name", g.Name)
			require.False(t, seen[r.Alert], "alert %s defined twice", r.Alert)
			seen[r.Alert] = true
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			if r.For != "" {
				_, err := time.ParseDuration(r.For)
				require.NoError(t, err, "%s: for", r.Alert)
			}
			require.Equal(t, strings.Count(r.Expr, "("), strings.Count(r.Expr, ")"), "%s: unbalanced parentheses", r.Alert)
			require.Equal(t, strings.Count(r.Expr, "{"), strings.Count(r.Expr, "}"), "%s: unbalanced braces", r.Alert)

			names := metricName.FindAllString(r.Expr, -1)
			require.NotEmpty(t, names, "%s names no tradeexec metric", r.Alert)
			exprLabels := map[string]bool{}
			for _, n := range names {
				labels, ok := fams[n]
				require.True(t, ok, "%s: metric %s is not in the registry", r.Alert, n)
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")] = true
				for l := range labels {
					exprLabels[l] = true
				}
			}
			for _, m := range selector.FindAllStringSubmatch(r.Expr, -1) {
				for _, part := range strings.Split(m[2], ",") {
					mm := matcher.FindStringSubmatch(part)
					require.NotNil(t, mm, "%s: unreadable matcher %q", r.Alert, part)
					require.True(t, fams[m[1]][mm[1]], "%s: %s has no label %q", r.Alert, m[1], mm[1])
					if mm[2] == "=~" || mm[2] == "!~" {
						_, err := regexp.Compile("^(?:" + mm[3] + ")$")
						require.NoError(t, err, r.Alert)
					}
				}
			}
			for _, m := range grouping.FindAllStringSubmatch(r.Expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					l = strings.TrimSpace(l)
					require.True(t, exprLabels[l], "%s: grouping by %q, a label none of its metrics has", r.Alert, l)
				}
			}
		}
	}
	// The four: broker errors, stuck trades, outbox lag, audit verify.
	for _, n := range []string{metrics.NameBrokerErrors, metrics.NameTradesStuck, metrics.NameOutboxLagSeconds,
		metrics.NameAuditVerifyFailures, metrics.NameStartRelayOldest} {
		require.True(t, used[n], "no alert on %s", n)
	}
}

// TestLabelsBounded: values that are not in a label's set are counted as
// "other", so a user id, a symbol or a stray string never becomes a series.
func TestLabelsBounded(t *testing.T) {
	metrics.SignalReceived("user-8f3a2c", metrics.OutcomeAccepted)
	metrics.BrokerError("alpaca", "some message with AAPL")
	metrics.BrokerError("a broker/with spaces", "UNAVAILABLE")
	metrics.TradeTransition("AAPL")
	metrics.WorkflowStart("TradeWorkflow", "entry", "weird", time.Millisecond)
	mfs, err := metrics.Registry().Gather()
	require.NoError(t, err)
	allowed := regexp.MustCompile(`^[A-Za-z0-9_.+\-]*$`)
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "tradeexec_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				require.NotContains(t, v, "8f3a2c", "%s{%s}", mf.GetName(), lp.GetName())
				require.NotContains(t, v, "AAPL", "%s{%s}", mf.GetName(), lp.GetName())
				require.Regexp(t, allowed, v, "%s{%s}", mf.GetName(), lp.GetName())
			}
		}
	}
	require.Contains(t, metrics.SourceOf("tradingview"), metrics.SourceWebhook)
	require.Equal(t, "other", metrics.SourceOf("user-8f3a2c"))
}
