package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// deadTemporal is a client of a Temporal server that does not answer.
func deadTemporal(t *testing.T) client.Client {
	t.Helper()
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// startRequest waits for the message's durable start request.
func (h *harness) startRequest(messageID string) schema.WorkflowStart {
	h.t.Helper()
	var row schema.WorkflowStart
	require.Eventually(h.t, func() bool {
		return h.db.Where("kind = ? AND ref_id = ?", "discord", messageID).Take(&row).Error == nil
	}, 10*time.Second, 20*time.Millisecond, "the signal's start request is written with its message log")
	return row
}

// The bot cannot reach Temporal when a signal is posted: the message is
// logged as fired with its start request in one transaction, and the start
// relay of the api/worker processes starts the fan-out when it can — every
// follower still gets the order, once.
func TestSignalPostedWhileTemporalIsDownStillTrades(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		dead := deadTemporal(t)
		h := newHarness(t, db, d, harnessOptions{botOptions: func(o *Options) { o.Temporal = dead }})
		a := h.follower(sources.DefaultSizing(), false)
		msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 2 @market")
		h.startRequest(msg)
		entry, ok := h.messageLog(msg)
		require.True(t, ok)
		require.Equal(t, logFired, entry.Status)
		h.waitOrders(1, a)
		h.waitDM(a, "✅ AAPL buy 2 @ $180.00 filled")
		require.Len(t, h.trades(a.UserID), 1)
		require.Eventually(t, func() bool {
			var n int64
			return db.Model(&schema.WorkflowStart{}).Count(&n).Error == nil && n == 0
		}, 10*time.Second, 50*time.Millisecond, "the start request is cleared once started")
	})
}

// A signal that could not be started before it went stale is never
// executed: the log says why and the channel is told, once.
func TestSignalNotStartedBeforeItIsStaleIsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		dead := deadTemporal(t)
		h := newHarness(t, db, d, harnessOptions{botOptions: func(o *Options) { o.Temporal = dead }})
		a := h.follower(sources.DefaultSizing(), false)
		msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 2 @market")
		row := h.startRequest(msg)
		require.NoError(t, db.Model(&schema.WorkflowStart{}).Where("id = ?", row.ID).
			Update("expires_at", time.Now().Add(-time.Second)).Error)
		reply := h.waitReply(msg)
		require.Equal(t, sources.NotStartedReply, reply.Content)
		entry, ok := h.messageLog(msg)
		require.True(t, ok)
		require.Equal(t, logStale, entry.Status)
		require.Contains(t, entry.Reason, "Not executed: the trading service was unavailable")
		require.Empty(t, h.trades(a.UserID))
		require.Zero(t, h.orders(a))
	})
}
