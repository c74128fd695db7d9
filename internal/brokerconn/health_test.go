package brokerconn_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// FR-019: a failing check reconnects and retries, then marks the connection
// unhealthy and tells the trader once; the first good check tells them it
// recovered.
func TestHealthCheckTransitions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		ctx := context.Background()
		out := e.connect(e.userID, brokerconn.Request{Broker: "alpaca", Credentials: e.alpacaCreds(10_000)}, "")
		require.True(t, out.Connected)
		before, _ := e.row(out.ConnectionID)

		res, err := e.svc.Check(ctx, out.ConnectionID, nil)
		require.NoError(t, err)
		require.True(t, res.Checked && res.Healthy && !res.Changed, "%+v", res)
		require.Equal(t, 1, res.Attempts)

		e.proxy.down.Store(true)
		var beats int
		res, err = e.svc.Check(ctx, out.ConnectionID, func() { beats++ })
		require.NoError(t, err)
		require.True(t, res.Checked && !res.Healthy && res.Changed, "%+v", res)
		require.Equal(t, 2, res.Attempts, "retried after reconnecting")
		require.Equal(t, 1, beats)
		require.Equal(t, broker.KindUnavailable, res.Kind)
		msg := "Alpaca is not responding. Orders sent there may fail until it recovers; the connection is checked again in 5 minutes."
		require.Equal(t, msg, res.Message)
		row, _ := e.row(out.ConnectionID)
		require.Equal(t, brokerconn.HealthUnhealthy, row.HealthStatus)
		require.Equal(t, msg, row.HealthMessage)
		require.True(t, row.IsActive, "an unhealthy connection stays active")
		require.True(t, row.UpdatedAt.Equal(before.UpdatedAt), "health checks keep the adapter cache")

		res, err = e.svc.Check(ctx, out.ConnectionID, nil)
		require.NoError(t, err)
		require.False(t, res.Changed, "told once")

		e.proxy.down.Store(false)
		res, err = e.svc.Check(ctx, out.ConnectionID, nil)
		require.NoError(t, err)
		require.True(t, res.Healthy && res.Changed)
		row, _ = e.row(out.ConnectionID)
		require.Equal(t, brokerconn.HealthHealthy, row.HealthStatus)
		require.Empty(t, row.HealthMessage)

		require.Equal(t, []string{realtime.EventConnectionConnected, realtime.EventConnectionUnhealthy, realtime.EventConnectionRecovered},
			eventTypes(e.events(e.userID)))
		un := e.audits(e.userID, audit.ActionBrokerUnhealthy)
		require.Len(t, un, 1)
		require.Equal(t, audit.StatusFailure, un[0].Status)
		require.Equal(t, msg, un[0].ErrorMessage)
		require.Len(t, e.audits(e.userID, audit.ActionBrokerRecovered), 1)
		v, err := audit.Verify(ctx, db, e.userID)
		require.NoError(t, err)
		require.True(t, v.Valid)
	})
}

// An IB Gateway whose session ended: the reason the trader can act on.
func TestHealthCheckGatewayLoggedOut(t *testing.T) {
	e := newEnv(t, storetest.OpenSQLite(t), store.SQLite)
	acct, base := e.ibkr.NewAccount(decimal.NewFromInt(25_000))
	out := e.connect(e.userID, brokerconn.Request{Broker: "ibkr", Credentials: map[string]string{"account_id": acct, "base_url": base}}, "")
	require.True(t, out.Connected, "%+v", out)
	require.Equal(t, "Interactive Brokers connected successfully", out.Message)
	e.ibkr.LogOut(base)
	res, err := e.svc.Check(context.Background(), out.ConnectionID, nil)
	require.NoError(t, err)
	require.Equal(t, broker.KindAuthFailed, res.Kind)
	require.NotContains(t, res.Message, acct)
	require.Contains(t, res.Message, "IB Gateway")
}

func TestHealthCheckSkipsInactiveAndPages(t *testing.T) {
	db := storetest.OpenSQLite(t)
	e := newEnv(t, db, store.SQLite)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 5; i++ {
		out := e.connect(e.userID, brokerconn.Request{Broker: "paper"}, "")
		ids = append(ids, out.ConnectionID)
	}
	_, _, err := e.svc.Disconnect(ctx, brokerconn.Actor{UserID: e.userID}, ids[2])
	require.NoError(t, err)
	res, err := e.svc.Check(ctx, ids[2], nil)
	require.NoError(t, err)
	require.False(t, res.Checked)
	res, err = e.svc.Check(ctx, "no-such-connection", nil)
	require.NoError(t, err)
	require.False(t, res.Checked)

	// A pending attempt is no active connection either.
	_, err = e.svc.CreatePending(ctx, e.userID, brokerconn.Request{Broker: "paper"}, "")
	require.NoError(t, err)

	var got []string
	after := ""
	recorded := storetest.RecordStatements(t, db)
	for {
		page, err := e.svc.ActivePage(ctx, after, 2)
		require.NoError(t, err)
		got = append(got, page...)
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1]
	}
	want := append(append([]string{}, ids[:2]...), ids[3:]...)
	sort.Strings(want)
	require.Equal(t, want, got)
	// Each page reads on from the last id (in the partial index of
	// active ids, migration 0040); no plan is led by the flag.
	require.Empty(t, storetest.UnselectivePlans(t, db, recorded(), storetest.FewValued...))
}

func TestPurgeStale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		e := newEnv(t, db, d)
		ctx := context.Background()
		old := *e.svc
		old.Now = func() time.Time { return time.Now().Add(-2 * brokerconn.PendingTTL) }
		stale, err := old.CreatePending(ctx, e.userID, brokerconn.Request{Broker: "paper"}, "")
		require.NoError(t, err)
		fresh, err := e.svc.CreatePending(ctx, e.userID, brokerconn.Request{Broker: "paper"}, "")
		require.NoError(t, err)
		active := e.connect(e.userID, brokerconn.Request{Broker: "paper"}, "")
		_, err = old.BeginSchwab(ctx, e.userID, "", "", "")
		require.NoError(t, err)
		_, err = e.svc.BeginSchwab(ctx, e.userID, "", "", "")
		require.NoError(t, err)

		p, err := e.svc.PurgeStale(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, p.Pending)
		_, ok := e.row(stale.ConnectionID)
		require.False(t, ok)
		_, ok = e.row(fresh.ConnectionID)
		require.True(t, ok)
		_, ok = e.row(active.ConnectionID)
		require.True(t, ok)
		var n int64
		require.NoError(t, db.Model(&schema.BrokerOAuthState{}).Count(&n).Error)
		require.EqualValues(t, 2, n, "states are kept a day past expiry")
	})
}

// The database claim store gives one order one owner and one client order
// id one order, across concurrent claimers (worker processes).
func TestSchwabClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		c := &brokerconn.SchwabClaims{DB: db}
		ctx := context.Background()
		const n = 8
		var wg sync.WaitGroup
		wins := make([]bool, n)
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				wins[i], errs[i] = c.Claim(ctx, "HASH1", "1001", "te-client-"+string(rune('a'+i)))
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		won := 0
		winner := ""
		for i, w := range wins {
			if w {
				won++
				winner = "te-client-" + string(rune('a'+i))
			}
		}
		require.Equal(t, 1, won, "exactly one owner")
		ok, err := c.Claim(ctx, "HASH1", "1001", winner)
		require.NoError(t, err)
		require.True(t, ok, "the owner's claim holds again")
		ok, err = c.Claim(ctx, "HASH1", "1002", winner)
		require.NoError(t, err)
		require.False(t, ok, "one client order id owns one order")
		ok, err = c.Claim(ctx, "HASH2", "1001", winner)
		require.NoError(t, err)
		require.True(t, ok, "claims are per account")

		id, found, err := c.Lookup(ctx, "HASH1", winner)
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, "1001", id)
		_, found, err = c.Lookup(ctx, "HASH1", "te-nobody")
		require.NoError(t, err)
		require.False(t, found)
	})
}
