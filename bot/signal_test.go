package bot

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// Authorized signal → every eligible follower gets one order at the
// broker and a fill DM; the ineligible one is skipped with a reason; the
// channel gets the summary reply.
func TestAuthorizedSignalFansOutToFollowers(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		a := h.follower(sources.DefaultSizing(), false)
		b := h.follower(sources.Sizing{Mode: sources.SizingMultiplier, Multiplier: decimal.NewFromInt(2)}, false)
		c := h.follower(sources.DefaultSizing(), false)
		noBroker := h.newTrader(false)
		_, err := sources.Follow(t.Context(), db, noBroker.UserID, h.source.ID, sources.DefaultSizing(), false)
		require.NoError(t, err)

		msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 3 @market")
		h.waitOrders(1, a, b, c)
		reply := h.waitReply(msg)
		require.Equal(t, "Executed for 3 followers, 1 skipped", reply.Content)
		h.waitDM(a, "✅ AAPL buy 3 @ $180.00 filled")
		h.waitDM(b, "✅ AAPL buy 6 @ $180.00 filled")
		h.waitDM(noBroker, "No active broker connection for stocks")

		entry, ok := h.messageLog(msg)
		require.True(t, ok)
		require.Equal(t, logFired, entry.Status)
		require.Equal(t, 3, entry.Followers)
		require.Equal(t, 1, entry.Skipped)
		require.Empty(t, h.trades(noBroker.UserID))
		for _, tr := range []trader{a, b, c} {
			ts := h.trades(tr.UserID)
			require.Len(t, ts, 1)
			require.Equal(t, "discord", ts[0].Source)
		}
		require.Equal(t, 0, h.orders(h.provider), "the provider does not follow their own source")
	})
}

// An author who is neither an authorized user nor holds an authorized
// role is ignored silently: no signal, no reply, no log.
func TestUnauthorizedAuthorIsIgnored(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	stranger := h.newTrader(true)
	ignored := h.fake.Post(h.channel, stranger.DiscordID, "/buy AAPL 1")
	fired := h.fake.Post(h.channel, h.provider.DiscordID, "/buy TSLA 1")
	h.waitOrders(1, f)
	h.waitReply(fired)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 1, h.orders(f))
	_, logged := h.messageLog(ignored)
	require.False(t, logged)
	for _, m := range h.fake.Messages(h.channel) {
		require.NotEqual(t, ignored, m.ReplyTo, "a reply to an unauthorized author")
	}
	require.Equal(t, "TSLA", h.trades(f.UserID)[0].Symbol)
}

// The same message delivered three times is one signal: one order per
// follower (invariant 1).
func TestDuplicateDeliveryIsOneSignal(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		f := h.follower(sources.DefaultSizing(), false)
		msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
		h.fake.Redeliver(msg)
		h.waitOrders(1, f)
		h.fake.Redeliver(msg)
		h.waitReply(msg)
		time.Sleep(500 * time.Millisecond)
		require.Equal(t, 1, h.orders(f))
		require.Len(t, h.trades(f.UserID), 1)
		var replies int
		for _, m := range h.fake.Messages(h.channel) {
			if m.ReplyTo == msg {
				replies++
			}
		}
		require.Equal(t, 1, replies)
	})
}

// A message older than the source's limit when received (after an outage)
// is logged and not executed.
func TestStaleSignalIsSkipped(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	stale := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1", discordfake.At(time.Now().Add(-3*time.Minute)))
	require.Eventually(t, func() bool { _, ok := h.messageLog(stale); return ok }, 10*time.Second, 20*time.Millisecond)
	entry, _ := h.messageLog(stale)
	require.Equal(t, logStale, entry.Status)
	require.Contains(t, entry.Reason, "limit 1m0s")
	time.Sleep(300 * time.Millisecond)
	require.Zero(t, h.orders(f))
	require.Empty(t, h.trades(f.UserID))
}

// A malformed signal from an authorized author gets a short reply; chatter
// gets none.
func TestMalformedSignalGetsAReason(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	chatter := h.fake.Post(h.channel, h.provider.DiscordID, "good morning, big day today")
	bad := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL")
	reply := h.waitReply(bad)
	require.True(t, strings.HasPrefix(reply.Content, "⚠️ Signal not executed: quantity: is missing"), reply.Content)
	entry, _ := h.messageLog(bad)
	require.Equal(t, logRefused, entry.Status)
	for _, m := range h.fake.Messages(h.channel) {
		require.NotEqual(t, chatter, m.ReplyTo)
	}
	require.Zero(t, h.orders(f))
}

// Free-form mode: a signal with take-profit targets is one entry for the
// whole position carrying the targets as a take-profit ladder (each leg
// closes its share once the entry filled); one without targets is a
// single order too.
func TestFreeformSignalWithTargetsIsLaddered(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{mode: sources.ModeFreeform})
	f := h.follower(sources.Sizing{Mode: sources.SizingFixedAmount, FixedAmount: decimal.NewFromInt(1000)}, false)
	tp := h.fake.Post(h.channel, h.provider.DiscordID, "BTC/USDT LONG  Entry 42000  SL 41000  TP1 43000 TP2 44500")
	h.waitOrders(1, f)
	require.Equal(t, "Executed for 1 follower", h.waitReply(tp).Content)
	ts := h.trades(f.UserID)
	require.Len(t, ts, 1)
	var sig signal.Signal
	var row schema.Signal
	require.NoError(t, db.Where("id = ?", ts[0].SignalID).Take(&row).Error)
	require.NoError(t, json.Unmarshal([]byte(row.Payload), &sig))
	require.Len(t, sig.TakeProfitTargets, 2)
	require.Equal(t, "43000", sig.TakeProfitTargets[0].Price.String())
	require.Equal(t, "44500", sig.TakeProfitTargets[1].Price.String())
	require.True(t, sig.Quantity.Equal(decimal.NewFromInt(1000)), "the whole position: %s", sig.Quantity)
	msg := h.fake.Post(h.channel, h.provider.DiscordID, "BTC/USDT LONG  Entry 42000  SL 41000")
	require.Equal(t, "Executed for 1 follower", h.waitReply(msg).Content)
	require.Len(t, h.trades(f.UserID), 2)
}

// A multi-entry message places, for each follower, one limit entry per
// price, the follower's fixed amount shared by their own entry strategy.
func TestFreeformMultiEntryIsAnEntryLadder(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{mode: sources.ModeFreeform})
	sz := sources.Sizing{Mode: sources.SizingFixedAmount, FixedAmount: decimal.NewFromInt(900)}
	even := h.follower(sz, false)
	dec := h.follower(sz, false)
	require.NoError(t, db.Model(&schema.RiskSettings{}).Where("user_id = ?", dec.UserID).Update("entry_strategy", "decreasing").Error)
	msg := h.fake.Post(h.channel, h.provider.DiscordID, "BTC/USDT LONG Entry: 41000 - 42000 - 41500 SL 40000 TP 44000")
	h.waitOrders(3, even, dec)
	require.Equal(t, "Executed for 2 followers", h.waitReply(msg).Content)
	want := map[string][]string{even.UserID: {"300", "299.99", "299.99"}, dec.UserID: {"450", "299.99", "149.99"}}
	for u, amounts := range want {
		ts := h.trades(u)
		require.Len(t, ts, 3)
		got := map[string]signal.Signal{}
		for _, tr := range ts {
			var row schema.Signal
			var sig signal.Signal
			require.NoError(t, db.Where("id = ?", tr.SignalID).Take(&row).Error)
			require.NoError(t, json.Unmarshal([]byte(row.Payload), &sig))
			got[row.ExternalID] = sig
		}
		for i, price := range []string{"42000", "41500", "41000"} {
			sig, ok := got[u+":"+msg+"/e"+strconv.Itoa(i+1)]
			require.True(t, ok, "leg e%d of %s", i+1, u)
			require.Equal(t, signal.OrderLimit, sig.OrderType)
			require.Equal(t, price, sig.LimitPrice.String())
			require.Equal(t, "40000", sig.StopLossPrice.String())
			require.Equal(t, "44000", sig.TakeProfitPrice.String())
			require.Equal(t, signal.QtyDollarAmount, sig.QuantityType)
			require.Equal(t, amounts[i], sig.Quantity.String(), "leg e%d of %s", i+1, u)
		}
	}
}

// Edits and deletions after a signal fired change no order; they are
// logged.
func TestEditAndDeleteAreLoggedOnly(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, f)
	h.fake.Edit(msg, "/buy AAPL 100")
	h.fake.Delete(msg)
	require.Eventually(t, func() bool {
		e, _ := h.messageLog(msg)
		return e.EditedAt != nil && e.DeletedAt != nil
	}, 10*time.Second, 20*time.Millisecond)
	e, _ := h.messageLog(msg)
	require.Equal(t, "/buy AAPL 100", e.EditedContent)
	require.Equal(t, "/buy AAPL 1", e.Content)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 1, h.orders(f))
	require.True(t, h.trades(f.UserID)[0].RequestedQuantity.Equal(decimal.NewFromInt(1)))
}

// A follower whose DMs are closed gets the fill on the dashboard instead.
func TestClosedDMsAreShownOnTheDashboard(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	h.fake.SetDMsClosed(f.DiscordID, true)
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, f)
	require.Eventually(t, func() bool {
		var n int64
		db.Model(&schema.DiscordNotification{}).Where("user_id = ? AND status = ?", f.UserID, sources.NotifyUndeliverable).Count(&n)
		return n >= 1
	}, 30*time.Second, 25*time.Millisecond)
	var ev schema.OutboxEvent
	require.NoError(t, db.Where("user_id = ? AND type = ?", f.UserID, sources.EventNotificationUndelivered).First(&ev).Error)
	require.Contains(t, ev.Payload, "DMs from this server are closed")
	require.Contains(t, ev.Payload, "AAPL buy 1 @ $180.00 filled")
}

// A gateway connection lost and resumed delivers the signal posted
// meanwhile.
func TestSignalPostedDuringDisconnectArrivesAfterResume(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	f := h.follower(sources.DefaultSizing(), false)
	h.fake.Disconnect()
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, f)
	require.GreaterOrEqual(t, h.fake.Stats().Resumes, 1)
}

// Message content is requested only while a source needs it: registering
// the first source re-identifies with the MESSAGE_CONTENT intent.
func TestMessageContentIntentFollowsSources(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{noSource: true})
	require.Zero(t, h.bot.intents.Load()&int64(discordfake.IntentMessageContent))
	r := h.slash(h.admin, discordfake.Command{Name: cmdTradeexec, Subcommand: subRegister,
		Options: []discordfake.Option{{Name: "role", Type: discordfake.OptRole, Value: h.providerRole}}})
	require.Equal(t, "Your Discord account is not linked to tradeexec yet. Sign in at http://dashboard.test with Discord first.", r.Content)

	r = h.slash(h.provider.DiscordID, discordfake.Command{Name: cmdTradeexec, Subcommand: subRegister})
	require.Equal(t, msgNeedAdmin, r.Content)

	owner := h.newTrader(true)
	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", owner.UserID).Update("discord_id", h.admin).Error)
	r = h.slash(h.admin, discordfake.Command{Name: cmdTradeexec, Subcommand: subRegister,
		Options: []discordfake.Option{{Name: "role", Type: discordfake.OptRole, Value: h.providerRole},
			{Name: "mode", Type: discordfake.OptString, Value: "freeform"}}})
	require.Contains(t, r.Content, "This channel is now the signal source **#alpha-signals** (freeform mode)")
	require.True(t, h.fake.WaitFor(10*time.Second, func() bool {
		return h.bot.intents.Load()&int64(discordfake.IntentMessageContent) != 0
	}))
	require.Eventually(t, func() bool {
		for _, s := range h.fake.Sessions() {
			if s.Connected && !s.Invalid && s.Intents&discordfake.IntentMessageContent != 0 {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)

	src, err := sources.ByChannel(t.Context(), db, h.channel)
	require.NoError(t, err)
	h.source = src
	f := h.follower(sources.DefaultSizing(), false)
	h.fake.Post(h.channel, h.provider.DiscordID, "$TSLA LONG")
	h.waitOrders(1, f)
}

// A source registered on the dashboard is verified by the bot: active when
// the registrant manages the server, rejected otherwise.
func TestDashboardSourceIsVerified(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{noSource: true})
	modRole := h.fake.NewID()
	h.fake.AddRole(h.guild, discordfake.Role{ID: modRole, Name: "mods", Permissions: discordfake.PermManageGuild})
	mod := h.newTrader(true, modRole)
	plain := h.newTrader(true)
	other := h.fake.NewID()
	h.fake.AddChannel(h.guild, other, "other")

	good, err := sources.Register(t.Context(), db, sources.RegisterInput{GuildID: h.guild, ChannelID: h.channel, Name: "Mods",
		OwnerUserID: mod.UserID, RegisteredBy: mod.DiscordID, Mode: sources.ModeStrict})
	require.NoError(t, err)
	bad, err := sources.Register(t.Context(), db, sources.RegisterInput{GuildID: h.guild, ChannelID: other, Name: "Plain",
		OwnerUserID: plain.UserID, RegisteredBy: plain.DiscordID, Mode: sources.ModeStrict})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		g, _ := sources.Get(t.Context(), db, good.ID)
		b, _ := sources.Get(t.Context(), db, bad.ID)
		return g.Status != sources.StatusPending && b.Status != sources.StatusPending
	}, 10*time.Second, 20*time.Millisecond)
	g, _ := sources.Get(t.Context(), db, good.ID)
	b, _ := sources.Get(t.Context(), db, bad.ID)
	require.Equal(t, sources.StatusActive, g.Status)
	require.Equal(t, sources.StatusRejected, b.Status)
	require.Equal(t, "Only members with the Manage Server permission can register a signal source.", b.StatusReason)
}

// Two shards: each bot receives only its guilds' messages (Discord routes
// by (guild_id >> 22) % 2) and asks for message content only when a
// source lives on its shard; a signal in either guild fires once.
func TestShardsSplitTheGuilds(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{botOptions: func(o *Options) { o.ShardID, o.ShardCount = 0, 2 }, guildShard: &[2]int{0, 2}})
	shardOf := func(g string) int {
		if onShard(g, [2]int{0, 2}) {
			return 0
		}
		return 1
	}
	require.Equal(t, 0, shardOf(h.guild))
	// A second guild on shard 1 with its own source.
	var g2 string
	for g2 = h.fake.NewID(); shardOf(g2) != 1; g2 = h.fake.NewID() {
	}
	owner2 := h.newTrader(true)
	h.fake.AddGuild(discordfake.Guild{ID: g2, OwnerID: owner2.DiscordID})
	ch2 := h.fake.NewID()
	h.fake.AddChannel(g2, ch2, "beta")
	h.fake.AddMember(g2, owner2.DiscordID)
	src2, err := sources.Register(t.Context(), db, sources.RegisterInput{GuildID: g2, ChannelID: ch2, Name: "#beta",
		OwnerUserID: owner2.UserID, RegisteredBy: owner2.DiscordID, Mode: sources.ModeStrict, Verified: true})
	require.NoError(t, err)

	o := h.bot.o
	o.ShardID = 1
	b1, err := New(o)
	require.NoError(t, err)
	require.NoError(t, b1.Start(t.Context()))
	t.Cleanup(b1.Stop)
	require.NotZero(t, b1.intents.Load()&int64(discordfake.IntentMessageContent))

	f := h.follower(sources.DefaultSizing(), false)
	_, err = sources.Follow(t.Context(), db, f.UserID, src2.ID, sources.DefaultSizing(), false)
	require.NoError(t, err)
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.fake.Post(ch2, owner2.DiscordID, "/buy TSLA 1")
	h.waitOrders(2, f)
	time.Sleep(300 * time.Millisecond)
	require.Len(t, h.trades(f.UserID), 2)
	shards := map[[2]int]bool{}
	for _, s := range h.fake.Sessions() {
		if s.Connected && !s.Invalid {
			shards[s.Shard] = true
		}
	}
	require.Equal(t, map[[2]int]bool{{0, 2}: true, {1, 2}: true}, shards)
}

// A fan-out larger than one run's pages continues as new and still
// reaches every follower once.
func TestLargeFanoutContinuesAsNew(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{botOptions: func(o *Options) { o.FanoutPageSize = 2 }})
	var fs []trader
	for i := 0; i < 13; i++ {
		fs = append(fs, h.follower(sources.DefaultSizing(), false))
	}
	msg := h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	h.waitOrders(1, fs...)
	require.Equal(t, "Executed for 13 followers", h.waitReply(msg).Content)
	for _, f := range fs {
		require.Len(t, h.trades(f.UserID), 1)
	}
}

// Discord's REST rate limits are respected: with DM channel creation
// limited to 2 per 400 ms, every follower still gets their fill DM and no
// notification fails.
func TestNotificationsRespectRateLimits(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{})
	h.fake.SetRateLimit("POST /users/@me/channels", 2, 400*time.Millisecond)
	var fs []trader
	for i := 0; i < 6; i++ {
		fs = append(fs, h.follower(sources.DefaultSizing(), false))
	}
	start := time.Now()
	h.fake.Post(h.channel, h.provider.DiscordID, "/buy AAPL 1")
	for _, f := range fs {
		h.waitDM(f, "AAPL buy 1 @ $180.00 filled")
	}
	require.Greater(t, time.Since(start), 800*time.Millisecond, "6 DM channels at 2 per 400 ms")
	var failed int64
	db.Model(&schema.DiscordNotification{}).Where("status IN ?", []string{sources.NotifyFailed, sources.NotifyUndeliverable}).Count(&failed)
	require.Zero(t, failed)
}

// Issue 13 #3: a registrant who lost Manage Server loses the source on the
// periodic re-verification; a current admin can then register the channel.
func TestSourceOwnerIsReverified(t *testing.T) {
	db, d := storetest.Open(t)
	h := newHarness(t, db, d, harnessOptions{noSource: true})
	modRole := h.fake.NewID()
	h.fake.AddRole(h.guild, discordfake.Role{ID: modRole, Name: "mods", Permissions: discordfake.PermManageGuild})
	mod := h.newTrader(true, modRole)
	src, err := sources.Register(t.Context(), db, sources.RegisterInput{GuildID: h.guild, ChannelID: h.channel, Name: "Mods",
		OwnerUserID: mod.UserID, RegisteredBy: mod.DiscordID, Mode: sources.ModeStrict, Verified: true})
	require.NoError(t, err)
	// Last verified two hours ago: due for a look.
	require.NoError(t, db.Model(&schema.DiscordSource{}).Where("id = ?", src.ID).Update("updated_at", time.Now().UTC().Add(-2*time.Hour)).Error)

	h.bot.reverifyActive(t.Context())
	got, _ := sources.Get(t.Context(), db, src.ID)
	require.Equal(t, sources.StatusActive, got.Status, "still a mod")
	require.NoError(t, db.Model(&schema.DiscordSource{}).Where("id = ?", src.ID).Update("updated_at", time.Now().UTC().Add(-2*time.Hour)).Error)

	h.fake.AddMember(h.guild, mod.DiscordID) // the mod role is taken away
	h.bot.reverifyActive(t.Context())
	got, _ = sources.Get(t.Context(), db, src.ID)
	require.Equal(t, sources.StatusRejected, got.Status)
	require.Contains(t, got.StatusReason, "no longer has the Manage Server permission")
}
