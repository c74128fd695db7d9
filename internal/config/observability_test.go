package config

import (
	"strings"
	"testing"
)

// METRICS_ADDR is off in production unless set, on at a loopback port in
// dev; tracing is on only with an OTLP endpoint (and not disabled).
func TestObservability(t *testing.T) {
	cfg, err := Load(envOf(productionEnv()), ModeAPI)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Observability.MetricsAddr != "" || cfg.Observability.TracingEnabled {
		t.Fatalf("production default: %+v, want metrics and tracing off", cfg.Observability)
	}
	dev, err := Load(envOf(map[string]string{"DATA_DIR": t.TempDir()}), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	if dev.Observability.MetricsAddr != DefaultDevMetricsAddr {
		t.Fatalf("dev METRICS_ADDR = %q, want %q", dev.Observability.MetricsAddr, DefaultDevMetricsAddr)
	}
	devOff, err := Load(envOf(map[string]string{"DATA_DIR": t.TempDir(), "METRICS_ADDR": "off"}), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	if devOff.Observability.MetricsAddr != "" {
		t.Fatalf("METRICS_ADDR=off in dev: %q", devOff.Observability.MetricsAddr)
	}
	on, err := Load(envOf(with(productionEnv(), "METRICS_ADDR", ":9464", "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	if on.Observability.MetricsAddr != ":9464" || !on.Observability.TracingEnabled {
		t.Fatalf("configured: %+v", on.Observability)
	}
	disabled, err := Load(envOf(with(productionEnv(), "OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "OTEL_SDK_DISABLED", "true")), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	if disabled.Observability.TracingEnabled {
		t.Fatal("OTEL_SDK_DISABLED=true must turn tracing off")
	}
	for _, bad := range []struct{ env []string }{
		{[]string{"METRICS_ADDR", "9464"}},
		{[]string{"METRICS_ADDR", ":8080"}},
		{[]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}},
	} {
		_, err := Load(envOf(with(productionEnv(), bad.env...)), ModeAPI)
		if err == nil || !strings.Contains(err.Error(), bad.env[0]) {
			t.Fatalf("%v: error %v, want one naming %s", bad.env, err, bad.env[0])
		}
	}
}
