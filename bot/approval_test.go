package bot

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// A follower whose subscription requires approval is asked by DM; /approve
// sends the order, /reject of another signal sends nothing. The trader's
// own setting is off: the subscription's override decides.
func TestApproveChannelSignalInDiscord(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	a := h.follower(sources.DefaultSizing(), false)
	yes := true
	require.NoError(t, db.Model(&schema.SourceSubscription{}).Where("user_id = ?", a.UserID).Update("require_approval", &yes).Error)

	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 2 @market")
	dm := h.waitDM(a, "🔔 Approve AAPL buy 2?")
	ts := h.trades(a.UserID)
	require.Len(t, ts, 1)
	require.Contains(t, dm.Content, "/approve trade:"+shortID(ts[0].ID))
	require.Zero(t, h.orders(a), "nothing sent before approval")
	r := h.slash(a.DiscordID, discordfake.Command{Name: cmdApprove, Options: []discordfake.Option{str("trade", shortID(ts[0].ID))}})
	require.Contains(t, r.Content, "Approved.")
	h.waitOrders(1, a)
	h.waitDM(a, "✅ AAPL buy 2 @ $180.00 filled")

	h.fake.Post(h.channel, h.provider.DiscordID, "/buy MSFT 1 @market")
	h.waitDM(a, "🔔 Approve MSFT buy 1?")
	var msft schema.Trade
	require.Eventually(t, func() bool {
		return db.Where("user_id = ? AND symbol = ?", a.UserID, "MSFT").Take(&msft).Error == nil && msft.Status == "pending_approval"
	}, 10*time.Second, 50*time.Millisecond)
	r = h.slash(a.DiscordID, discordfake.Command{Name: cmdReject, Options: []discordfake.Option{str("trade", shortID(msft.ID))}})
	require.Contains(t, r.Content, "Rejected.")
	require.Eventually(t, func() bool {
		return db.Where("id = ?", msft.ID).Take(&msft).Error == nil && msft.Status == "cancelled"
	}, 10*time.Second, 50*time.Millisecond)
	require.True(t, strings.HasPrefix(msft.ErrorMessage, "Rejected by you (discord)"), msft.ErrorMessage)
	require.Equal(t, 1, h.orders(a), "the rejected signal sent nothing")
}
