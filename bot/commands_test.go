package bot

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// /buy is acknowledged (deferred, ephemeral) well within Discord's 3
// seconds, then answered with the order's outcome.
func TestSlashBuyIsDeferredThenAnswered(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		tr := h.newTrader(true)
		r := h.slash(tr.DiscordID, discordfake.Command{Name: cmdBuy, Options: []discordfake.Option{
			str("symbol", "AAPL"), str("quantity", "2"), str("stop_loss", "2%")}})
		require.Equal(t, discordfake.CallbackDeferred, r.Type)
		require.True(t, r.Ephemeral)
		require.Less(t, r.AckAfter, 3*time.Second)
		require.False(t, r.Late)
		require.Regexp(t, "^✅ (AAPL buy 2 @ \\$180.00 filled|AAPL market buy 2 submitted to Paper broker)", r.Content)
		require.Equal(t, 1, h.orders(tr))
		ts := h.trades(tr.UserID)
		require.Len(t, ts, 1)
		require.Contains(t, r.Content, shortID(ts[0].ID))

		// Refusals come from the same grammar as channel signals.
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdSell, Options: []discordfake.Option{
			str("symbol", "AAPL"), str("quantity", "1"), str("order_type", "limit")}})
		require.Equal(t, "Not submitted: limit price: is missing after @limit, e.g. @limit 42000", r.Content)
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdBuy, Options: []discordfake.Option{
			str("symbol", "AAPL"), str("quantity", "1 @limit 5")}})
		require.Equal(t, "Quantity must be a single value like 100, 245.50 or 2%.", r.Content)

		// /status lists it, /positions shows the position once synced.
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdStatus})
		require.Contains(t, r.Content, "`"+shortID(ts[0].ID)+"` AAPL buy 2")
		require.Eventually(t, func() bool { return h.trades(tr.UserID)[0].Status == "filled" }, 10*time.Second, 20*time.Millisecond)
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdCancel, Options: []discordfake.Option{str("trade", shortID(ts[0].ID))}})
		require.Equal(t, "Only open orders can be cancelled; this order is filled.", r.Content)
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdCancel, Options: []discordfake.Option{str("trade", "zz")}})
		require.Equal(t, "Give the trade id shown by /status (at least its first 8 characters).", r.Content)
		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdPositions})
		require.NotEmpty(t, r.Content)
	})
}

// A Discord user without a linked tradeexec account is told how to link.
func TestSlashCommandNeedsALinkedAccount(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	stranger := h.fake.NewID()
	h.fake.AddMember(h.guild, stranger)
	r := h.slash(stranger, discordfake.Command{Name: cmdStatus})
	require.Equal(t, msgNotLinked("http://dashboard.test"), r.Content)
}

// /follow with sizing and shadow mode, /tradeexec notifications, /unfollow.
func TestSlashFollowUnfollowAndPreferences(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	tr := h.newTrader(true)
	r := h.slash(tr.DiscordID, discordfake.Command{Name: cmdFollow, Options: []discordfake.Option{
		str("multiplier", "0.5"), {Name: "shadow", Type: discordfake.OptBoolean, Value: true}}})
	require.Equal(t, "Following **#alpha-signals** with 0.5× the provider's size. Shadow mode: orders go to your paper account only.", r.Content)
	subs, err := sources.Subscriptions(t.Context(), db, tr.UserID)
	require.NoError(t, err)
	require.Len(t, subs, 1)
	require.True(t, subs[0].Sizing.Multiplier.Equal(decimal.RequireFromString("0.5")))

	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: cmdFollow, Options: []discordfake.Option{
		{Name: "source", Type: discordfake.OptChannel, Value: h.channel}, str("amount", "$250")}})
	require.Equal(t, "Following **#alpha-signals** with $250 per entry.", r.Content)
	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdFollow, Options: []discordfake.Option{str("multiplier", "0")}})
	require.Equal(t, "Multiplier must be greater than 0 and at most 100.", r.Content)

	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: subNotifications, Options: []discordfake.Option{
		{Name: "queued", Type: discordfake.OptBoolean, Value: false}}})
	require.Equal(t, "DMs: fills on · rejections on · queued orders off · stop-loss triggers on · risk locks on.", r.Content)

	// A follower who turned fills off gets no fill DM.
	require.NoError(t, sources.SetPreferences(t.Context(), db, tr.UserID, sources.Preferences{Rejects: true}))
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, tr)
	loud := h.follower(sources.DefaultSizing(), false)
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy TSLA 1")
	h.waitDM(loud, "TSLA buy 1")
	require.Empty(t, h.fake.DMs(tr.DiscordID))

	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdUnfollow})
	require.Equal(t, "You no longer follow **#alpha-signals**.", r.Content)
	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdUnfollow})
	require.Equal(t, sources.ErrNotFollowing.Message, r.Content)

	other := h.fake.NewID()
	h.fake.AddChannel(h.guild, other, "general")
	r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdFollow, ChannelID: other})
	require.Equal(t, sources.ErrSourceNotFound.Message, r.Content)
}

// The source owner authorizes and removes authors; nobody else can.
func TestSlashAuthorizeAndUnregister(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	// The provider owns the source; make them a server manager.
	mods := h.fake.NewID()
	h.fake.AddRole(h.guild, discordfake.Role{ID: mods, Name: "mods", Permissions: discordfake.PermManageGuild})
	h.fake.AddMember(h.guild, h.provider.DiscordID, h.providerRole, mods)
	guest := h.newTrader(true)

	user := discordfake.Option{Name: "user", Type: discordfake.OptUser, Value: guest.DiscordID}
	r := h.slash(h.provider.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: subAuthorize, Options: []discordfake.Option{user}})
	require.Equal(t, "<@"+guest.DiscordID+"> may now post signals here.", r.Content)
	f := h.follower(sources.DefaultSizing(), false)
	require.Eventually(t, func() bool {
		src, _ := h.bot.sources.get(h.channel)
		return src.Authorized(guest.DiscordID, nil)
	}, 5*time.Second, 20*time.Millisecond)
	h.fake.Post(h.channel, guest.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, f)

	r = h.slash(guest.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: subUnregister})
	require.Equal(t, msgNeedAdmin, r.Content)
	r = h.slash(h.provider.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: subUnregister})
	require.Equal(t, "This channel is no longer a signal source. Its followers were unsubscribed.", r.Content)
	var n int64
	db.Model(&schema.SourceSubscription{}).Count(&n)
	require.Zero(t, n)
}

// /cancel reaches an order working at the broker (like the dashboard's
// cancel): the workflow cancels its own order and the trade ends cancelled.
func TestSlashCancelWorkingOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		tr := h.newTrader(true)
		r := h.slash(tr.DiscordID, discordfake.Command{Name: cmdBuy, Options: []discordfake.Option{
			str("symbol", "AAPL"), str("quantity", "1"), str("order_type", "limit"), str("price", "100")}})
		require.Contains(t, r.Content, "submitted", r.Content)
		ts := h.trades(tr.UserID)
		require.Len(t, ts, 1)
		require.Equal(t, "submitted", ts[0].Status)

		r = h.slash(tr.DiscordID, discordfake.Command{Name: cmdCancel, Options: []discordfake.Option{str("trade", shortID(ts[0].ID))}})
		require.Contains(t, r.Content, "Cancel requested. The order is being cancelled at the broker.", r.Content)
		require.Eventually(t, func() bool { return h.trades(tr.UserID)[0].Status == "cancelled" }, 10*time.Second, 20*time.Millisecond)
		var requested int64
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("resource_id = ? AND action = ?", ts[0].ID, audit.ActionOrderCancelRequested).
			Count(&requested).Error)
		require.EqualValues(t, 1, requested, "cancelled by the trader's /cancel, not by the fill window")
	})
}
