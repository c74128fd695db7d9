package config

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultDevMetricsAddr is where `tradeexec dev` serves /metrics (loopback
// only); in production METRICS_ADDR is unset and there is no listener.
const DefaultDevMetricsAddr = "127.0.0.1:9464"

// Observability is the metrics listener and the trace exporter
// (DESIGN §Observability).
type Observability struct {
	// MetricsAddr is the separate listener serving GET /metrics
	// (METRICS_ADDR); empty = none. Never the API's listener: /metrics is
	// for the scraper on the pod network, not for the internet.
	MetricsAddr string
	// TracingEnabled: an OTLP endpoint is configured
	// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
	// and OTEL_SDK_DISABLED is not true. The exporter itself reads the
	// standard OTEL_EXPORTER_OTLP_* variables.
	TracingEnabled bool
}

func (l *loader) observability() {
	raw := l.env("METRICS_ADDR")
	switch {
	case raw == "off" || raw == "none":
		raw = ""
	case raw == "" && l.dev:
		raw = DefaultDevMetricsAddr
	case raw != "":
		if reason := hostPort(raw, true); reason != "" {
			l.c.add("METRICS_ADDR", reason+"; or off")
			raw = ""
		} else if raw == l.cfg.HTTPAddr {
			l.c.add("METRICS_ADDR", fmt.Sprintf("%q is HTTP_ADDR: /metrics needs its own listener", raw))
			raw = ""
		}
	}
	l.cfg.Observability.MetricsAddr = raw

	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		v := l.env(name)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.c.add(name, fmt.Sprintf("invalid URL %q (want http(s)://collector:4318)", v))
			continue
		}
		l.cfg.Observability.TracingEnabled = true
	}
	if strings.EqualFold(l.env("OTEL_SDK_DISABLED"), "true") {
		l.cfg.Observability.TracingEnabled = false
	}
}
