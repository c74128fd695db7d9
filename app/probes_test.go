package app

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"go.uber.org/zap"
)

// The metrics listener answers the probes of processes without an API
// listener (worker, bot): /live always, /ready by the readiness check —
// 503 before one is set, when it fails, and after ClearReadiness (draining).
func TestMetricsListenerProbes(t *testing.T) {
	srv, base, err := ServeMetrics("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(); ClearReadiness() })
	status := func(path string) int {
		t.Helper()
		r, err := http.Get(base + path) // #nosec G107 -- the test's own listener
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	ClearReadiness()
	if s := status("/live"); s != http.StatusOK {
		t.Fatalf("/live = %d", s)
	}
	if s := status("/ready"); s != http.StatusServiceUnavailable {
		t.Fatalf("/ready before the process is ready = %d, want 503", s)
	}
	SetReadiness(func(context.Context) error { return nil })
	if s := status("/ready"); s != http.StatusOK {
		t.Fatalf("/ready when ready = %d", s)
	}
	SetReadiness(func(context.Context) error { return errors.New("database down") })
	if s := status("/ready"); s != http.StatusServiceUnavailable {
		t.Fatalf("/ready with a failing check = %d, want 503", s)
	}
	ClearReadiness()
	if s := status("/ready"); s != http.StatusServiceUnavailable {
		t.Fatalf("/ready while draining = %d, want 503", s)
	}
}
