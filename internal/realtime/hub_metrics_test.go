package realtime_test

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/metrics/metricstest"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// The hub counts its sockets (up on Connect, down on Disconnect) and
// observes each delivery's lag from the event's commit.
func TestHubMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		conns := func() float64 { return metricstest.Value(t, metrics.NameWSConnections, nil) }
		lags := func() float64 { return metricstest.Value(t, metrics.NameOutboxLagSeconds, nil) }
		h := startHub(t, db, hubOpts{})
		c0, l0 := conns(), lags()
		c, s := connect(h, "metrics-u1", true, 0)
		if got := conns(); got != c0+1 {
			t.Fatalf("connections %v after Connect, want %v", got, c0+1)
		}
		appendN(t, db, h, "metrics-u1", 3)
		eventually(t, "3 events delivered", func() bool { return fmt.Sprint(s.seqs()) == fmt.Sprint(seqRange(1, 3)) })
		if got := lags(); got <= l0 {
			t.Fatalf("outbox lag observations %v, want more than %v", got, l0)
		}
		h.Disconnect(c)
		if got := conns(); got != c0 {
			t.Fatalf("connections %v after Disconnect, want %v", got, c0)
		}
	})
}

// Users waiting for a hub worker are counted (Backlog and the gauge) from
// the moment they are queued until a worker takes them.
func TestHubBacklog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		gauge := func() float64 { return metricstest.Value(t, metrics.NameWSHubBacklog, nil) }
		g0 := gauge()
		h := realtime.NewHub(realtime.HubConfig{DB: db})
		var senders []*fakeSender
		for i := 0; i < 3; i++ {
			_, s := connect(h, fmt.Sprintf("backlog-u%d", i), true, 0)
			senders = append(senders, s)
		}
		if got := h.Backlog(); got != 3 {
			t.Fatalf("backlog %d with no worker running, want 3", got)
		}
		if got := gauge(); got != g0+3 {
			t.Fatalf("backlog gauge %v, want %v", got, g0+3)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { h.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		eventually(t, "the backlog drained", func() bool { return h.Backlog() == 0 && gauge() == g0 })
		appendN(t, db, h, "backlog-u1", 1)
		eventually(t, "the event delivered", func() bool { return fmt.Sprint(senders[1].seqs()) == "[1]" })
	})
}
