package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/bot"
	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

const botToken = "MTIz.chaos-bot-token"

// discordPath is the Discord side of the run: a fake Discord (gateway and
// REST), a channel registered as a signal source by a provider, the
// steady traders following it, and the real bot in this process. The
// provider posts a signal each round; the bot logs it with its start
// request and fans it out (SignalWorkflow) to the followers.
type discordPath struct {
	fake     *discordfake.Server
	bot      *bot.Bot
	guild    string
	channel  string
	provider string // the provider's Discord id
}

func (c *cluster) startDiscord(ctx context.Context) {
	t := c.t
	fake := discordfake.New(discordfake.Options{Token: botToken})
	t.Cleanup(fake.Close)
	d := &discordPath{fake: fake, guild: fake.NewID(), channel: fake.NewID(), provider: fake.NewID()}
	role := fake.NewID()
	fake.AddGuild(discordfake.Guild{ID: d.guild, Name: "Chaos Traders", OwnerID: fake.NewID(),
		Roles: []discordfake.Role{{ID: role, Name: "signals", Permissions: discordfake.PermDefault}}})
	fake.AddChannel(d.guild, d.channel, "chaos-signals")
	fake.AddMember(d.guild, d.provider, role)
	now := time.Now().UTC()
	providerID := uuid.NewString()
	require.NoError(t, c.db.Create(&schema.User{ID: providerID, DiscordID: &d.provider, DisplayName: "provider", Role: "trader",
		SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: now}).Error)
	src, err := sources.Register(ctx, c.db, sources.RegisterInput{GuildID: d.guild, ChannelID: d.channel, Name: "#chaos-signals",
		OwnerUserID: providerID, RegisteredBy: d.provider, Mode: sources.ModeStrict,
		Authors: []sources.Author{{Kind: sources.AuthorRole, DiscordID: role}}, SummaryReplies: true, Verified: true})
	require.NoError(t, err)
	for _, tr := range c.traders {
		did := fake.NewID()
		require.NoError(t, c.db.Model(&schema.User{}).Where("id = ?", tr.UserID).Update("discord_id", did).Error)
		fake.AddMember(d.guild, did)
		_, err := sources.Follow(ctx, c.db, tr.UserID, src.ID, sources.DefaultSizing(), false)
		require.NoError(t, err)
	}
	b, err := bot.New(bot.Options{Token: botToken, DB: c.db, Temporal: c.tc, TaskQueue: c.queue, Log: zap.NewNop(),
		HTTPClient: fake.HTTPClient(), DashboardURL: "http://dashboard.test", Timeouts: workflows.Timeouts{Submit: submitTimeout},
		PollInterval: 100 * time.Millisecond, SourceRefresh: time.Second, CommandWait: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, b.Start(ctx))
	t.Cleanup(b.Stop)
	d.bot = b
	c.discord = d
}

// channelSignal is the round's message from the provider.
func (c *cluster) channelSignal(round int, rnd *rand.Rand) *sent {
	sym := symbols[rnd.IntN(len(symbols))]
	return &sent{Round: round, Channel: true, Copies: 1 + rnd.IntN(3),
		Body: fmt.Sprintf("/buy %s %d @market", sym, 1+rnd.IntN(3))}
}

// post posts a channel signal; its extra copies are redeliveries of the
// same MESSAGE_CREATE (as a resume replays an event), up to 3 s later.
func (c *cluster) post(s *sent, rnd *rand.Rand) {
	d := c.discord
	id := d.fake.Post(d.channel, d.provider, s.Body)
	s.mu.Lock()
	s.Key = id
	s.mu.Unlock()
	for k := 1; k < s.Copies; k++ {
		time.Sleep(time.Duration(rnd.IntN(1500)) * time.Millisecond)
		d.fake.Redeliver(id)
	}
}

// discordFault disturbs the gateway: connections cut (the sessions
// resume and replay what they missed), a reconnect request, or every
// session invalidated (identify again: what was dispatched meanwhile is
// gone, as on Discord).
func (c *cluster) discordFault(rnd *rand.Rand) {
	d := c.discord
	switch rnd.IntN(3) {
	case 0:
		d.fake.Disconnect()
	case 1:
		d.fake.SendReconnect()
	default:
		d.fake.InvalidateSessions()
	}
}

// checkChannelSignals: a message the bot logged as fired is accepted:
// every follower gets exactly one trade for it (after the drain); one
// it never logged was not accepted.
func (c *cluster) checkChannelSignals(round int, all []*sent, v *violations) {
	for _, s := range all {
		if !s.Channel || s.Key == "" {
			continue
		}
		var m schema.DiscordMessage
		if c.db.Where("message_id = ?", s.Key).Take(&m).Error != nil || m.Status != sources.MessageFired {
			// Not executed: the channel must have been told so. A message
			// neither executed nor answered is lost without a trace.
			if round == finalRound && !c.answered(s.Key) {
				v.add(round, vLost, "silent:"+s.Key, "channel message %s (round %d: %s) was neither executed nor answered (log: %q)",
					s.Key, s.Round, c.plan(s.Round), m.Status)
			}
			continue
		}
		s.mu.Lock()
		s.fired = true
		s.mu.Unlock()
		if round != finalRound {
			continue
		}
		for _, tr := range c.traders {
			var n int64
			if err := c.db.Model(&schema.Trade{}).Joins("JOIN signals ON signals.id = trades.signal_id").
				Where("trades.user_id = ? AND signals.external_id = ?", tr.UserID, tr.UserID+":"+s.Key).Count(&n).Error; err != nil {
				c.t.Errorf("trades of message %s: %v", s.Key, err)
				continue
			}
			switch {
			case n == 0:
				v.add(round, vLost, "follower:"+tr.UserID+":"+s.Key, "channel signal %s (fired) has no trade for follower %s", s.Key, tr.UserID)
			case n > 1:
				v.add(round, vDuplicate, "follower:"+tr.UserID+":"+s.Key, "channel signal %s has %d trades for follower %s", s.Key, n, tr.UserID)
			}
		}
	}
}

// answered reports whether the bot replied to a channel message.
func (c *cluster) answered(messageID string) bool {
	for _, m := range c.discord.fake.Messages(c.discord.channel) {
		if m.ReplyTo == messageID {
			return true
		}
	}
	return false
}
