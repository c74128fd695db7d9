package app

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/tracing"
	"github.com/tradeexec/tradeexec/internal/trade"
)

// Observability is a process's metrics listener and tracer provider
// (DESIGN §Observability).
type Observability struct {
	// MetricsURL is the metrics listener's base URL ("" when off).
	MetricsURL string

	srv      *http.Server
	shutdown func(context.Context) error
}

// StartObservability installs the trace exporter when configured and
// starts the metrics listener when METRICS_ADDR is set; service names the
// process in traces ("tradeexec-api", …).
func StartObservability(ctx context.Context, cfg config.Config, log *zap.Logger, service string) (*Observability, error) {
	shutdown, err := tracing.Setup(ctx, tracing.Options{Enabled: cfg.Observability.TracingEnabled, ServiceName: service})
	if err != nil {
		return nil, err
	}
	o := &Observability{shutdown: shutdown}
	if cfg.Observability.TracingEnabled {
		log.Info("traces exported by OTLP")
	}
	if addr := cfg.Observability.MetricsAddr; addr != "" {
		srv, url, err := ServeMetrics(addr, log)
		if err != nil {
			_ = shutdown(ctx)
			return nil, err
		}
		o.srv, o.MetricsURL = srv, url
		log.Info("metrics served", zap.String("url", url+"/metrics"))
	}
	return o, nil
}

// Stop closes the metrics listener and flushes the traces.
func (o *Observability) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if o.srv != nil {
		_ = o.srv.Shutdown(ctx)
	}
	_ = o.shutdown(ctx)
}

// ServeMetrics serves GET /metrics on its own listener at addr and
// returns the server and its base URL.
func ServeMetrics(addr string, log *zap.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	// Probes of processes without an API listener (worker, bot): /live is
	// the process answering; /ready is its readiness check (SetReadiness),
	// 503 until one is set and after ClearReadiness (draining).
	mux.HandleFunc("GET /live", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /ready", serveReady)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	return srv, "http://" + ln.Addr().String(), nil
}

// StuckAfter is how long a trade may sit in a non-terminal status before
// tradeexec_trades_stuck counts it.
const StuckAfter = 10 * time.Minute

// DBGaugesEvery is how often RunDBGauges counts.
const DBGaugesEvery = 15 * time.Second

// RunDBGauges computes the gauges that need a query — stuck trades and the
// start relay's backlog — every interval until ctx ends (two cheap
// queries; only processes with a metrics listener run it).
func RunDBGauges(ctx context.Context, db *gorm.DB, log *zap.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		UpdateDBGauges(ctx, db, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// UpdateDBGauges runs the gauges' queries once.
func UpdateDBGauges(ctx context.Context, db *gorm.DB, log *zap.Logger) {
	now := time.Now().UTC()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	stuck, err := trade.CountStuck(qctx, db, now.Add(-StuckAfter))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("metrics: stuck trades query", zap.Error(err))
		}
		return
	}
	pending, oldest, err := starts.Backlog(qctx, db, now)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("metrics: start relay backlog query", zap.Error(err))
		}
		return
	}
	metrics.SetTradesStuck(stuck)
	metrics.SetStartRelay(pending, oldest)
	metrics.GaugesUpdated(now)
}

// readiness is the process's readiness check (nil: not ready).
var readiness atomic.Pointer[func(context.Context) error]

// SetReadiness makes GET /ready on the metrics listener answer by check.
func SetReadiness(check func(context.Context) error) { readiness.Store(&check) }

// ClearReadiness makes GET /ready answer 503 (the process is draining).
func ClearReadiness() { readiness.Store(nil) }

func serveReady(w http.ResponseWriter, r *http.Request) {
	check := readiness.Load()
	if check == nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := (*check)(ctx); err != nil {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
