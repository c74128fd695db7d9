package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const botToken = "MTIz.fake-bot-token"

// harness: the whole system (apptest: Temporal dev server, database, paper
// broker, worker) plus a fake Discord over loopback and the bot.
type harness struct {
	t    *testing.T
	env  *apptest.Env
	db   *gorm.DB
	fake *discordfake.Server
	bot  *Bot
	logs *observer.ObservedLogs

	guild, channel, providerRole string
	provider                     trader // posts signals (has the role)
	admin                        string // the guild owner's Discord id
	source                       sources.Source
}

// trader is a tradeexec user linked to a Discord account.
type trader struct {
	UserID, DiscordID, Account string
}

type harnessOptions struct {
	mode       string // parse mode of the default source ("": strict)
	noSource   bool   // start without a registered source
	botOptions func(*Options)
	// guildShard picks the guild id so that it lands on this shard.
	guildShard *[2]int
}

func newHarness(t *testing.T, db *gorm.DB, d store.Dialect, o harnessOptions) *harness {
	t.Helper()
	env := apptest.Start(t, db, d, apptest.Options{Timeouts: workflows.Timeouts{FillWindow: 2 * time.Second}})
	env.Feed.Set("BTC-USDT", decimal.NewFromInt(42150))
	fake := discordfake.New(discordfake.Options{Token: botToken})
	t.Cleanup(fake.Close)
	h := &harness{t: t, env: env, db: db, fake: fake, guild: fake.NewID(), channel: fake.NewID(), providerRole: fake.NewID(), admin: fake.NewID()}
	for o.guildShard != nil && !onShard(h.guild, *o.guildShard) {
		h.guild = fake.NewID()
	}
	fake.AddGuild(discordfake.Guild{ID: h.guild, Name: "Alpha Traders", OwnerID: h.admin,
		Roles: []discordfake.Role{{ID: h.providerRole, Name: "signals", Permissions: discordfake.PermDefault}}})
	fake.AddChannel(h.guild, h.channel, "alpha-signals")
	h.provider = h.newTrader(true, h.providerRole)
	if !o.noSource {
		mode := o.mode
		if mode == "" {
			mode = sources.ModeStrict
		}
		src, err := sources.Register(context.Background(), db, sources.RegisterInput{GuildID: h.guild, ChannelID: h.channel,
			Name: "#alpha-signals", OwnerUserID: h.provider.UserID, RegisteredBy: h.provider.DiscordID, Mode: mode,
			Authors: []sources.Author{{Kind: sources.AuthorRole, DiscordID: h.providerRole}}, SummaryReplies: true, Verified: true})
		require.NoError(t, err)
		h.source = src
	}
	core, logs := observer.New(zap.InfoLevel)
	h.logs = logs
	bo := Options{Token: botToken, DB: db, Temporal: env.Temporal, TaskQueue: env.Queue, Log: zap.New(core),
		HTTPClient: fake.HTTPClient(), DashboardURL: "http://dashboard.test", Timeouts: env.Opts.Timeouts,
		PollInterval: 50 * time.Millisecond, SourceRefresh: time.Second, VerifyInterval: 200 * time.Millisecond, CommandWait: 5 * time.Second}
	if o.botOptions != nil {
		o.botOptions(&bo)
	}
	b, err := New(bo)
	require.NoError(t, err)
	require.NoError(t, b.Start(context.Background()))
	t.Cleanup(b.Stop)
	h.bot = b
	return h
}

// newTrader creates a trader with $100,000 in a paper account, a paper
// broker connection and default risk settings, linked to a new Discord
// member of the guild holding roles.
func (h *harness) newTrader(paperBroker bool, roles ...string) trader {
	h.t.Helper()
	ctx := context.Background()
	tr := trader{UserID: uuid.NewString(), DiscordID: h.fake.NewID(), Account: uuid.NewString()}
	now := time.Now().UTC()
	did := tr.DiscordID
	require.NoError(h.t, h.db.Create(&schema.User{ID: tr.UserID, DiscordID: &did, DisplayName: "trader", Role: "trader",
		SubscriptionTier: "pro", SubscriptionStatus: "active", CreatedAt: now}).Error)
	h.fake.AddMember(h.guild, tr.DiscordID, roles...)
	def := risk.DefaultSettings()
	require.NoError(h.t, h.db.Create(&schema.RiskSettings{UserID: tr.UserID, MaxPositionPct: def.MaxPositionPct,
		DailyLossLimitPct: def.DailyLossLimitPct, DailyLossLimitAmount: def.DailyLossLimitAmount,
		CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct, UpdatedAt: now}).Error)
	if !paperBroker {
		return tr
	}
	require.NoError(h.t, h.env.Engine.CreateAccount(ctx, tr.Account, decimal.NewFromInt(100_000)))
	conn := schema.BrokerConnection{ID: uuid.NewString(), UserID: tr.UserID, BrokerType: "paper", Label: "Paper", Paper: true,
		IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}
	blob, ver, err := h.env.Keyring.EncryptJSON(tr.UserID, conn.ID, broker.Credentials{"account_id": tr.Account})
	require.NoError(h.t, err)
	conn.Credentials, conn.KeyVersion = blob, ver
	require.NoError(h.t, h.db.Create(&conn).Error)
	return tr
}

// follower is a trader following the default source.
func (h *harness) follower(sz sources.Sizing, shadow bool) trader {
	h.t.Helper()
	tr := h.newTrader(true)
	_, err := sources.Follow(context.Background(), h.db, tr.UserID, h.source.ID, sz, shadow)
	require.NoError(h.t, err)
	return tr
}

// orders counts the trader's entry orders the broker accepted (trades with
// a broker order id); the paper account may also hold their stop-losses.
func (h *harness) orders(tr trader) int {
	h.t.Helper()
	var n int64
	require.NoError(h.t, h.db.Model(&schema.Trade{}).Where("user_id = ? AND broker_order_id <> ''", tr.UserID).Count(&n).Error)
	if n > 0 {
		// Every accepted entry is an order at the paper broker, plus at
		// most its protection: a stop-loss, or a stop and a take-profit as
		// one native pair (two orders) when the entry's fill is the whole
		// position (an entry ladder's first leg, DESIGN §8).
		at, err := h.env.Engine.OrderCount(context.Background(), tr.Account)
		require.NoError(h.t, err)
		require.LessOrEqual(h.t, int64(at), 3*n)
		require.GreaterOrEqual(h.t, int64(at), n)
	}
	return int(n)
}

// waitOrders waits until each trader has n orders at the paper broker.
func (h *harness) waitOrders(n int, traders ...trader) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		for _, tr := range traders {
			if h.orders(tr) < n {
				return false
			}
		}
		return true
	}, 30*time.Second, 25*time.Millisecond, "orders at the paper broker")
}

func (h *harness) messageLog(id string) (schema.DiscordMessage, bool) {
	var m schema.DiscordMessage
	err := h.db.Where("message_id = ?", id).First(&m).Error
	return m, err == nil
}

func (h *harness) trades(userID string) []schema.Trade {
	var ts []schema.Trade
	require.NoError(h.t, h.db.Where("user_id = ?", userID).Order("created_at").Find(&ts).Error)
	return ts
}

// waitDM waits for a DM to the trader containing text.
func (h *harness) waitDM(tr trader, text string) discordfake.Message {
	h.t.Helper()
	var got discordfake.Message
	ok := h.fake.WaitFor(30*time.Second, func() bool {
		for _, m := range h.fake.DMs(tr.DiscordID) {
			if strings.Contains(m.Content, text) {
				got = m
				return true
			}
		}
		return false
	})
	require.True(h.t, ok, "no DM containing %q; DMs: %+v", text, h.fake.DMs(tr.DiscordID))
	return got
}

// waitReply waits for a bot reply under a message.
func (h *harness) waitReply(messageID string) discordfake.Message {
	h.t.Helper()
	var got discordfake.Message
	ok := h.fake.WaitFor(30*time.Second, func() bool {
		for _, m := range h.fake.Messages(h.channel) {
			if m.ReplyTo == messageID {
				got = m
				return true
			}
		}
		return false
	})
	require.True(h.t, ok, "no reply to %s; channel: %+v", messageID, h.fake.Messages(h.channel))
	return got
}

// slash invokes a command as the Discord user and waits for the answer.
func (h *harness) slash(discordID string, c discordfake.Command) discordfake.Response {
	h.t.Helper()
	if c.GuildID == "" {
		c.GuildID = h.guild
	}
	if c.ChannelID == "" {
		c.ChannelID = h.channel
	}
	c.UserID = discordID
	call, err := h.fake.Interact(c)
	require.NoError(h.t, err)
	r, ok := call.WaitAnswer(30 * time.Second)
	require.True(h.t, ok, "no answer to /%s %s: %+v", c.Name, c.Subcommand, r)
	return r
}

func eachDB(t *testing.T, fn func(t *testing.T, db *gorm.DB, d store.Dialect)) { storetest.Each(t, fn) }

func str(name, v string) discordfake.Option {
	return discordfake.Option{Name: name, Type: discordfake.OptString, Value: v}
}
