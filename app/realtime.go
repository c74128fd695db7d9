package app

import (
	"context"
	"io/fs"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/portfolio"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
	"github.com/tradeexec/tradeexec/workflows"
)

// RealtimeOptions configure the live dashboard of the API.
type RealtimeOptions struct {
	// TemporalUI is the Temporal UI's workflow URL prefix linked from a
	// trade's timeline for support staff
	// (e.g. http://127.0.0.1:8233/namespaces/default/workflows/).
	TemporalUI string
	// AllowedOrigins may open /ws besides the API's own origin.
	AllowedOrigins []string
	// Assets overrides the embedded dashboard (tests).
	Assets fs.FS
	// Hub overrides the hub's settings (tests, benchmarks); DB, Notifier,
	// Snapshot and OnActive are filled in.
	Hub realtime.HubConfig
}

// startRealtime builds and runs the real-time hub of the API: PostgreSQL
// LISTEN/NOTIFY across replicas, in-process on SQLite. The activities of an
// in-process worker wake it on every commit.
func (s *Stack) startRealtime(o Options) {
	cfg := o.Realtime.Hub
	cfg.DB = o.DB
	cfg.Log = s.log.Named("realtime")
	cfg.Snapshot = portfolio.Snapshotter(o.DB)
	if store.DialectOf(o.DB) == store.Postgres {
		cfg.Notifier = realtime.NewPGNotifier(o.DB, cfg.Log)
	}
	cfg.OnActive = func(userID string) { s.askGuardsToSync(o, userID) }
	s.Hub = realtime.NewHub(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Hub.Run(ctx)
		close(done)
	}()
	s.stopRealtime = func() {
		cancel()
		<-done
	}
	s.Trading.Committed = s.Hub.Committed
}

// realtimeAPI is the api side of the hub.
func (s *Stack) realtimeAPI(o Options) *api.Realtime {
	assets := o.Realtime.Assets
	if assets == nil {
		assets = web.Dist
	}
	return &api.Realtime{Hub: s.Hub, Assets: assets, AllowedOrigins: o.Realtime.AllowedOrigins, TemporalUI: o.Realtime.TemporalUI}
}

// askGuardsToSync: a trader opened the dashboard; each of their account
// guards (one per active connection) syncs balances and positions now
// instead of at its next poll.
func (s *Stack) askGuardsToSync(o Options, userID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ids []string
	if err := o.DB.WithContext(ctx).Model(&schema.BrokerConnection{}).Where("user_id = ? AND is_active = ?", userID, true).
		Pluck("id", &ids).Error; err != nil {
		s.log.Warn("realtime: list connections for a sync", zap.String("user_id", userID), zap.Error(err))
		return
	}
	for _, id := range ids {
		if err := o.Temporal.SignalWorkflow(ctx, workflows.GuardWorkflowID(id), "", workflows.SignalGuardCheck, nil); err != nil {
			s.log.Debug("realtime: account guard not signalled", zap.String("connection_id", id), zap.Error(err))
		}
	}
}
