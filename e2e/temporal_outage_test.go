package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/devserver"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
)

// ownTemporal is a dev server this test may kill: its state is a file and
// its port fixed, so a restart is the same server to every client.
type ownTemporal struct {
	t    *testing.T
	file string
	port int
	srv  *devserver.Server
}

func startOwnTemporal(t *testing.T) *ownTemporal {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	o := &ownTemporal{t: t, file: filepath.Join(t.TempDir(), "temporal.db"), port: port}
	o.start()
	t.Cleanup(func() { _ = o.srv.Stop() })
	return o
}

func (o *ownTemporal) start() {
	o.t.Helper()
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		o.srv, err = devserver.Start(context.Background(), devserver.Options{DBFile: o.file, Port: o.port, Headless: true})
		if err == nil {
			return
		}
		time.Sleep(500 * time.Millisecond) // the killed server's port is not free yet
	}
	require.NoError(o.t, err, "Temporal dev server (needs bin/temporal: make bin/temporal)")
}

// kill ends the server at once, as a crash or an OOM kill would: SIGKILL to
// its process group, no graceful stop.
func (o *ownTemporal) kill() {
	o.t.Helper()
	require.NoError(o.t, o.srv.Kill())
	select {
	case <-o.srv.Done():
	case <-time.After(10 * time.Second):
		o.t.Fatal("the killed Temporal server did not exit")
	}
	_ = o.srv.Stop()
}

func (o *ownTemporal) client() client.Client {
	o.t.Helper()
	c, err := client.Dial(testenv.Encrypted(client.Options{HostPort: o.srv.Address(), Namespace: o.srv.Namespace(),
		Logger: testenv.Logger(o.t)}))
	require.NoError(o.t, err)
	o.t.Cleanup(c.Close)
	return c
}

// TestWebhooksAcceptedWhileTemporalIsKilled: Temporal is SIGKILLed, then 50
// webhooks arrive. Every one is answered 202 (the trade and its start
// request are one transaction; TradingView does not retry, so a 503 would
// lose the signal), and once Temporal is back every signal trades exactly
// once: one trade per signal, one order per trade at the broker.
func TestWebhooksAcceptedWhileTemporalIsKilled(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		tmp := startOwnTemporal(t)
		core, logs := observer.New(zap.InfoLevel)
		env := apptest.Start(t, db, d, apptest.Options{Temporal: tmp.client(), Log: zap.New(core)})
		h := &harness{t: t, env: env, db: db, dialect: d, feed: env.Feed, engine: env.Engine, keyring: env.Keyring,
			temporal: env.Temporal, queue: env.Queue, stack: env.Stack, demo: env.Demo, logs: logs}

		// A signal before the outage trades as usual (the system works).
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"before"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")

		tmp.kill()

		const n = 50
		symbols := []string{"AAPL", "MSFT", "TSLA", "SPY"}
		ids := make([]string, n)
		answers := make([]response, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				body := fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":1,"type":"market","id":"outage-%d"}`, symbols[i%len(symbols)], i)
				answers[i] = h.postWebhook(body)
			})
		}
		wg.Wait()
		deferred := 0
		for i, a := range answers {
			require.Equal(t, http.StatusAccepted, a.Status, "webhook %d while Temporal is down: %s", i, a.Raw)
			ids[i] = a.Body["tradeId"].(string)
			if a.Body["deferred"] == true {
				deferred++
			}
		}
		require.Equal(t, n, deferred, "every start was deferred to the relay (Temporal was down)")
		pending, err := starts.Pending(context.Background(), db)
		require.NoError(t, err)
		require.EqualValues(t, n, pending, "each accepted signal left a start request")

		// A redelivery while down is the same signal, not a second one.
		again := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"outage-0"}`)
		require.Equal(t, http.StatusAccepted, again.Status, again.Raw)
		require.Equal(t, ids[0], again.Body["tradeId"])

		time.Sleep(2 * time.Second) // down for a while: the relay keeps trying
		tmp.start()

		for i, id := range ids {
			body := h.waitStatus(id, 90*time.Second, "filled", "rejected", "cancelled")
			tr := body["trade"].(map[string]any)
			require.Equal(t, "filled", tr["status"], "signal %d: %v", i, tr["message"])
		}
		var trades int64
		require.NoError(t, db.Model(&schema.Trade{}).Where("user_id = ?", h.demo.UserID).Count(&trades).Error)
		require.EqualValues(t, n+1, trades, "one trade per signal")
		// The broker's own book: one entry order per trade, and exactly the
		// shares the signals asked for.
		acct := h.account()
		buys := map[string]int{}
		for _, o := range acct.Orders {
			if o.Side == "buy" {
				buys[o.ClientOrderID]++
			}
		}
		require.Len(t, buys, n+1, "one entry order per trade at the broker")
		for coid, k := range buys {
			require.Equal(t, 1, k, "entry %s placed %d times", coid, k)
		}
		shares := decimal.Zero
		for _, p := range acct.Positions {
			shares = shares.Add(p.Quantity)
		}
		require.True(t, shares.Equal(decimal.NewFromInt(n+1)), "the broker holds %s shares for %d one-share signals", shares, n+1)
		require.Eventually(t, func() bool {
			p, err := starts.Pending(context.Background(), db)
			return err == nil && p == 0
		}, 20*time.Second, 100*time.Millisecond, "every start request is cleared")
		require.NotEmpty(t, logs.FilterMessage("workflow started by the start relay").All())
		verifyAudit(t, h, h.demo.UserID)
	})
}
