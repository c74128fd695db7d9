// Package app wires the components of tradeexec together: the broker
// registry, the activity dependencies, the Temporal worker and the HTTP API.
// `tradeexec dev|api|worker`, the integration tests and the benchmarks all
// build the system through it, so what is tested is what runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// Options say which parts of the stack to run and with what.
type Options struct {
	DB        *gorm.DB
	Temporal  client.Client
	TaskQueue string
	Vault     *vault.Keyring
	// Paper is the paper broker engine (shared by every paper connection).
	Paper *paper.Engine
	// Registry overrides the broker registry (tests add fakes); nil builds
	// the default one with every supported broker.
	Registry *broker.Registry
	Log      *zap.Logger
	Timeouts workflows.Timeouts
	// FillPoll overrides the order-status polling interval.
	FillPoll time.Duration
	// TakeProfitPoll overrides how often a take-profit watch reads the
	// price (1 s).
	TakeProfitPoll time.Duration

	RunWorker bool
	RunAPI    bool
	// HTTPAddr is where the API listens ("127.0.0.1:0" for a free port).
	HTTPAddr string
	// Auth configures accounts and sessions of the API (app/auth.go).
	Auth AuthOptions
	// Brokers configures adapters and connections (app/brokers.go).
	Brokers BrokerOptions
	// Realtime configures the WebSocket hub and dashboard (app/realtime.go).
	Realtime RealtimeOptions
	// Risk configures the account guard (app/risk.go).
	Risk RiskOptions
	// Codec serves the Temporal UI's codec endpoint (app/codec.go).
	Codec CodecOptions
	// Billing configures subscriptions and mail (app/billing.go).
	Billing BillingOptions
	// Keys configures the key lifecycle (app/keys.go).
	Keys KeysOptions
	// Audit configures the audit schedules (app/audit.go); nil: off.
	Audit *AuditOptions
	// ShutdownTimeout bounds the HTTP drain and the worker's stop each
	// (SHUTDOWN_TIMEOUT; 0: 10 s).
	ShutdownTimeout time.Duration
}

// Stack is a running system.
type Stack struct {
	Worker   sdkworker.Worker
	API      *api.Server
	Trading  *activities.Trading
	Resolver *brokerconn.Resolver
	URL      string // base URL of the API when RunAPI
	// Auth is the accounts and sessions service when RunAPI.
	Auth *auth.Service
	// Connections manages broker connections (connect, disconnect, health).
	Connections *brokerconn.Service
	// Hub delivers outbox events to WebSockets when RunAPI (app/realtime.go).
	Hub *realtime.Hub
	// Guard are the account guard's activities when RunWorker (app/risk.go).
	Guard *activities.Guard
	// Vault opens and seals credentials with the key store's current
	// keyring; Keys rotates the keys (app/keys.go). Nil without a vault.
	Vault *vault.Live
	Keys  *keys.Rotator

	http     *http.Server
	shutdown time.Duration
	log      *zap.Logger
	stopAuth context.CancelFunc

	stopRealtime func()
	stopGuards   context.CancelFunc
	stopMail     context.CancelFunc
	stopStarts   func()
}

// Start builds and starts the requested parts.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.DB == nil || o.Temporal == nil {
		return nil, errors.New("app: DB and Temporal client are required")
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	st := &Stack{log: log, shutdown: o.ShutdownTimeout}
	live, err := openVault(ctx, o)
	if err != nil {
		return nil, err
	}
	var v brokerconn.Vault
	if live != nil {
		v = live
		st.Vault = live
		if st.Keys, err = NewRotator(o.DB, live, o.Auth.JWTSecret, log); err != nil {
			return nil, err
		}
	}
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry(o.Paper, RegistryOptions{BrokerOptions: o.Brokers, DB: o.DB, Vault: v, Log: log})
	}
	st.Resolver = &brokerconn.Resolver{DB: o.DB, Registry: reg, Vault: v}
	st.Trading = &activities.Trading{DB: o.DB, Brokers: st.Resolver, Log: log.Named("activities"), FillPoll: o.FillPoll,
		TaskQueue: o.TaskQueue, Timeouts: o.Timeouts, TakeProfitPoll: o.TakeProfitPoll}
	st.Connections = connectionService(o, v, st.Resolver, log)
	if o.RunAPI {
		st.startRealtime(o)
	}
	if o.RunWorker {
		keyActs, err := st.keysActivities(o)
		if err != nil {
			st.Stop() // the realtime hub may be running
			return nil, err
		}
		st.Worker = worker.New(o.Temporal, o.TaskQueue, st.Trading, worker.Options{Connections: connectionActivities(st.Connections),
			Signals: &activities.Signals{DB: o.DB, Log: log.Named("signals"), Committed: st.Trading.Committed,
				Temporal: o.Temporal, TaskQueue: o.TaskQueue}, Guard: st.guardActivities(o),
			Cancels: &activities.Cancels{Trading: st.Trading, Temporal: o.Temporal},
			Billing: st.billingActivities(o, o.Auth.publicURL(o.HTTPAddr)), Keys: keyActs, Audit: o.Audit.activities(o, log),
			StopTimeout: o.ShutdownTimeout, Churn: &activities.Churn{DB: o.DB, Log: log.Named("churn")}})
		if err := st.Worker.Start(); err != nil {
			st.Worker = nil // never started: nothing of it to stop
			st.Stop()
			return nil, err
		}
		ensure := []func(context.Context) error{
			func(ctx context.Context) error {
				return worker.EnsureSchedulesWith(ctx, o.Temporal, o.TaskQueue, o.scheduleConfig())
			},
			func(ctx context.Context) error { return worker.EnsureLeaderboardSchedule(ctx, o.Temporal, o.TaskQueue) },
			func(ctx context.Context) error { return worker.EnsureChurnSchedule(ctx, o.Temporal, o.TaskQueue) },
		}
		if o.Audit != nil {
			ensure = append(ensure, func(ctx context.Context) error { return worker.EnsureAuditSchedules(ctx, o.Temporal, o.TaskQueue) })
		}
		for _, f := range ensure {
			if err := withRetries(ctx, log, "ensure schedules", f); err != nil {
				st.Stop()
				return nil, err
			}
		}
		st.startGuards(o)
	}
	st.startMailRelay(o)
	st.startStartRelay(o)
	if o.RunAPI {
		addr := o.HTTPAddr
		if addr == "" {
			addr = "127.0.0.1:8080"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			st.Stop()
			return nil, err
		}
		st.URL = "http://" + ln.Addr().String()
		if err := st.startAuth(ctx, o.DB, o.Auth, st.URL); err != nil {
			_ = ln.Close()
			st.Stop()
			return nil, err
		}
		st.API = &api.Server{DB: o.DB, Temporal: o.Temporal, TaskQueue: o.TaskQueue, Log: log.Named("api"), Timeouts: o.Timeouts,
			Auth: st.Auth, PublicURL: o.Auth.publicURL(st.URL), TrustedProxies: o.Auth.TrustedProxies, Limits: o.Auth.RateLimits}
		st.API.Connections = connectionsAPI(o, st.Connections, o.Auth.publicURL(st.URL))
		st.API.Billing = billingAPI(o)
		st.API.Realtime, st.API.Committed = st.realtimeAPI(o), st.Hub.Committed
		st.API.Codec = o.Codec.api()
		st.API.Keys = st.keysAPI(o)
		st.http = &http.Server{Handler: st.API.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second}
		go func() {
			if err := st.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server stopped", zap.Error(err))
			}
		}()
	}
	return st, nil
}

// Stop drains HTTP requests, then stops the worker (graceful, FR-085).
func (s *Stack) Stop() {
	if s.stopRealtime != nil {
		s.stopRealtime() // closes the WebSockets first (FR-085)
	}
	if s.http != nil {
		timeout := s.shutdown
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_ = s.http.Shutdown(ctx)
		cancel()
	}
	if s.stopGuards != nil {
		s.stopGuards()
	}
	if s.Worker != nil {
		s.Worker.Stop()
	}
	if s.stopAuth != nil {
		s.stopAuth()
	}
	if s.stopStarts != nil {
		s.stopStarts()
	}
	if s.stopMail != nil {
		s.stopMail()
	}
}

// DefaultRegistry registers every supported broker with production
// settings: real broker hosts only (no trader-supplied base URLs), public
// IBKR gateways only.
func DefaultRegistry(engine *paper.Engine) *broker.Registry {
	return NewRegistry(engine, RegistryOptions{})
}

// withRetries runs f until it succeeds or startRetryWindow has passed, with
// a doubling pause (0.2 s, then up to 5 s): a Temporal frontend that drops
// calls while it is busy or restarting (seen in CI: "stream terminated by
// RST_STREAM … CANCEL" from the schedule client, five times in 3 s on a
// loaded machine) does not stop a worker from starting. The schedule calls
// are idempotent.
func withRetries(ctx context.Context, log *zap.Logger, what string, f func(context.Context) error) error {
	return retryFor(ctx, log, what, f, startRetryWindow, 200*time.Millisecond)
}

// startRetryWindow bounds withRetries: a Temporal that stays unreachable
// that long fails the start (the process exits, its supervisor restarts it).
const startRetryWindow = 30 * time.Second

func retryFor(ctx context.Context, log *zap.Logger, what string, f func(context.Context) error, window, pause time.Duration) error {
	deadline := time.Now().Add(window)
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if time.Now().Add(pause).After(deadline) {
			return fmt.Errorf("%s: %d attempts in %s: %w", what, attempt, window, err)
		}
		log.Warn(what+" failed; retrying", zap.Error(err), zap.Int("attempt", attempt), zap.Duration("pause", pause))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}
