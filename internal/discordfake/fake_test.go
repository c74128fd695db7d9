package discordfake

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

const token = "test-token"

// world: one guild with a signals channel, an owner, a provider with a role.
type testWorld struct {
	fake                                    *Server
	guild, channel, owner, provider, roleID string
	trader                                  string
}

func newTestWorld(t *testing.T, o Options) *testWorld {
	t.Helper()
	if o.Token == "" {
		o.Token = token
	}
	f := New(o)
	t.Cleanup(f.Close)
	w := &testWorld{fake: f, guild: f.NewID(), channel: f.NewID(), owner: f.NewID(), provider: f.NewID(), roleID: f.NewID(), trader: f.NewID()}
	f.AddGuild(Guild{ID: w.guild, OwnerID: w.owner, Roles: []Role{{ID: w.roleID, Name: "signals", Permissions: PermDefault}}})
	f.AddChannel(w.guild, w.channel, "signals")
	f.AddMember(w.guild, w.provider, w.roleID)
	f.AddMember(w.guild, w.trader)
	return w
}

// session opens a discordgo session against the fake and collects events.
type recorder struct {
	mu       sync.Mutex
	messages []*discordgo.MessageCreate
	updates  []*discordgo.MessageUpdate
	deletes  []*discordgo.MessageDelete
	ixs      []*discordgo.InteractionCreate
	ready    *discordgo.Ready
}

func open(t *testing.T, f *Server, intents discordgo.Intent, shard [2]int, ix func(*discordgo.Session, *discordgo.InteractionCreate)) (*discordgo.Session, *recorder) {
	t.Helper()
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = f.HTTPClient()
	s.Identify.Intents = intents
	s.ShardID, s.ShardCount = shard[0], shard[1]
	s.LogLevel = discordgo.LogError
	rec := &recorder{}
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { rec.mu.Lock(); rec.ready = r; rec.mu.Unlock() })
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		rec.mu.Lock()
		rec.messages = append(rec.messages, m)
		rec.mu.Unlock()
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageUpdate) {
		rec.mu.Lock()
		rec.updates = append(rec.updates, m)
		rec.mu.Unlock()
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageDelete) {
		rec.mu.Lock()
		rec.deletes = append(rec.deletes, m)
		rec.mu.Unlock()
	})
	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		rec.mu.Lock()
		rec.ixs = append(rec.ixs, i)
		rec.mu.Unlock()
		if ix != nil {
			ix(s, i)
		}
	})
	if err := s.Open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		s.ShouldReconnectOnError = false
		_ = s.Close()
	})
	return s, rec
}

func (r *recorder) msgs() []*discordgo.MessageCreate {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*discordgo.MessageCreate(nil), r.messages...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// discordgo reconnects with exponential backoff (1 s, 2 s, 4 s …): leave
	// room for a retried reconnect on a loaded machine.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

const botIntents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentMessageContent

func TestGatewayDeliversMessagesWithContentAndRoles(t *testing.T) {
	w := newTestWorld(t, Options{})
	_, rec := open(t, w.fake, botIntents, [2]int{0, 1}, nil)
	var ready *discordgo.Ready
	waitFor(t, "READY", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		ready = rec.ready
		return ready != nil
	})
	if ready.User.ID != w.fake.BotUserID() || ready.Application.ID != w.fake.AppID() {
		t.Fatalf("ready = %+v", ready)
	}
	posted := time.Now().UTC()
	id := w.fake.Post(w.channel, w.provider, "/buy AAPL 100")
	waitFor(t, "MESSAGE_CREATE", func() bool { return len(rec.msgs()) == 1 })
	m := rec.msgs()[0]
	if m.ID != id || m.Content != "/buy AAPL 100" || m.GuildID != w.guild || m.Author.ID != w.provider ||
		m.Member == nil || len(m.Member.Roles) != 1 || m.Member.Roles[0] != w.roleID {
		t.Fatalf("message = %+v member %+v", m.Message, m.Member)
	}
	at, err := SnowflakeTime(m.ID)
	if err != nil || at.Sub(posted).Abs() > time.Second || m.Timestamp.Sub(posted).Abs() > time.Second {
		t.Fatalf("snowflake time %v, timestamp %v, posted %v", at, m.Timestamp, posted)
	}
	w.fake.Edit(id, "/buy AAPL 50")
	w.fake.Delete(id)
	waitFor(t, "update and delete", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.updates) == 1 && len(rec.deletes) == 1
	})
	rec.mu.Lock()
	if rec.updates[0].Content != "/buy AAPL 50" || rec.updates[0].EditedTimestamp == nil || rec.deletes[0].ID != id {
		t.Fatalf("update %+v delete %+v", rec.updates[0].Message, rec.deletes[0].Message)
	}
	rec.mu.Unlock()
}

func TestGatewayBlanksContentWithoutIntent(t *testing.T) {
	w := newTestWorld(t, Options{})
	_, rec := open(t, w.fake, discordgo.IntentsGuilds|discordgo.IntentsGuildMessages, [2]int{0, 1}, nil)
	w.fake.Post(w.channel, w.provider, "/buy AAPL 100")
	waitFor(t, "message", func() bool { return len(rec.msgs()) == 1 })
	if c := rec.msgs()[0].Content; c != "" {
		t.Fatalf("content %q delivered without MESSAGE_CONTENT", c)
	}
}

func TestGatewayRefusesBadTokenAndDisallowedIntent(t *testing.T) {
	w := newTestWorld(t, Options{DenyMessageContent: true})
	s, _ := discordgo.New("Bot wrong")
	s.Client = w.fake.HTTPClient()
	s.LogLevel = -1
	s.ShouldReconnectOnError = false
	if err := s.Open(); err == nil {
		_ = s.Close()
		t.Fatal("opened with a wrong token")
	}
	s2, _ := discordgo.New("Bot " + token)
	s2.Client = w.fake.HTTPClient()
	s2.LogLevel = -1
	s2.ShouldReconnectOnError = false
	s2.Identify.Intents = botIntents
	if err := s2.Open(); err == nil {
		_ = s2.Close()
		t.Fatal("opened with a disallowed intent")
	}
}

// discordgo v0.29's heartbeat goroutine writes at once when Open returns;
// a connection closed before that write (a cut, an op 7) makes the write
// fail, and discordgo then Close()s its next connection with 1000, which
// ends the session on Discord (and here): it identifies instead of
// resuming. The scenario waits for each connection's first heartbeat
// before disturbing it, as real Discord's timing does; if discordgo still
// loses that race, the scenario runs again on a fresh fake (at most three
// times) — a fake that does not resume fails all three.
func TestGatewayResumeReplaysMissedEvents(t *testing.T) {
	var errs []string
	for attempt := 1; attempt <= 3; attempt++ {
		err := resumeScenario(t)
		if err == nil {
			return
		}
		errs = append(errs, err.Error())
		t.Logf("attempt %d: %v", attempt, err)
	}
	t.Fatalf("the resume scenario failed three times: %s", strings.Join(errs, "; "))
}

func resumeScenario(t *testing.T) error {
	w := newTestWorld(t, Options{})
	s, rec := open(t, w.fake, botIntents, [2]int{0, 1}, nil)
	defer s.Close()
	wait := func(what string, cond func() bool) error {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if cond() {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return fmt.Errorf("timed out waiting for %s (stats %+v)", what, w.fake.Stats())
	}
	heartbeat := func() bool {
		ss := w.fake.Sessions()
		return len(ss) == 1 && ss[0].Connected && ss[0].Heartbeats >= 1
	}
	if err := wait("the first heartbeat", heartbeat); err != nil {
		return err
	}
	w.fake.Disconnect()
	missed := w.fake.Post(w.channel, w.provider, "posted while disconnected")
	if err := wait("resume", func() bool { return w.fake.Stats().Resumes == 1 }); err != nil {
		return err
	}
	if err := wait("replayed message", func() bool { return len(rec.msgs()) == 1 }); err != nil {
		return err
	}
	if rec.msgs()[0].ID != missed || w.fake.Stats().Identifies != 1 {
		return fmt.Errorf("messages %v, stats %+v", rec.msgs(), w.fake.Stats())
	}
	// Op 7: the client reconnects and resumes again.
	if err := wait("the first heartbeat after the resume", heartbeat); err != nil {
		return err
	}
	w.fake.SendReconnect()
	if err := wait("second resume", func() bool { return w.fake.Stats().Resumes == 2 }); err != nil {
		return err
	}
	// Op 9: the session is gone; the client identifies anew.
	w.fake.InvalidateSessions()
	if err := wait("re-identify", func() bool { return w.fake.Stats().Identifies == 2 }); err != nil {
		return err
	}
	w.fake.Post(w.channel, w.provider, "after re-identify")
	return wait("message on the new session", func() bool { return len(rec.msgs()) == 2 })
}

func TestGatewaySharding(t *testing.T) {
	f := New(Options{Token: token})
	t.Cleanup(f.Close)
	owner := f.NewID()
	// (id >> 22) % 2 picks the shard.
	g0, g1 := strconv.FormatUint(1000<<22, 10), strconv.FormatUint(1001<<22, 10)
	f.AddGuild(Guild{ID: g0, OwnerID: owner})
	f.AddGuild(Guild{ID: g1, OwnerID: owner})
	c0, c1 := f.NewID(), f.NewID()
	f.AddChannel(g0, c0, "a")
	f.AddChannel(g1, c1, "b")
	_, r0 := open(t, f, botIntents, [2]int{0, 2}, nil)
	_, r1 := open(t, f, botIntents, [2]int{1, 2}, nil)
	f.Post(c0, owner, "to shard 0")
	f.Post(c1, owner, "to shard 1")
	waitFor(t, "both shards", func() bool { return len(r0.msgs()) == 1 && len(r1.msgs()) == 1 })
	if r0.msgs()[0].GuildID != g0 || r1.msgs()[0].GuildID != g1 {
		t.Fatal("guild events went to the wrong shard")
	}
}

func TestRESTDirectMessagesAndRateLimits(t *testing.T) {
	w := newTestWorld(t, Options{})
	s, _ := open(t, w.fake, botIntents, [2]int{0, 1}, nil)
	ch, err := s.UserChannelCreate(w.trader)
	if err != nil {
		t.Fatal(err)
	}
	w.fake.SetRateLimit("POST /channels/:id/messages", 2, 300*time.Millisecond)
	start := time.Now()
	for i := 0; i < 5; i++ {
		if _, err := s.ChannelMessageSend(ch.ID, "fill "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(w.fake.DMs(w.trader)); got != 5 {
		t.Fatalf("DMs = %d", got)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("5 messages at 2 per 300ms took only %v: rate limit not applied", time.Since(start))
	}
	w.fake.SetDMsClosed(w.trader, true)
	_, err = s.ChannelMessageSend(ch.ID, "closed")
	var re *discordgo.RESTError
	if !errors.As(err, &re) || re.Message == nil || re.Message.Code != 50007 || re.Response.StatusCode != 403 {
		t.Fatalf("DM to closed DMs: err = %v", err)
	}
	// A reply references the replied message.
	orig := w.fake.Post(w.channel, w.provider, "signal")
	if _, err := s.ChannelMessageSendReply(w.channel, "Executed for 3 followers", &discordgo.MessageReference{MessageID: orig}); err != nil {
		t.Fatal(err)
	}
	msgs := w.fake.Messages(w.channel)
	if last := msgs[len(msgs)-1]; last.ReplyTo != orig || last.AuthorID != w.fake.BotUserID() {
		t.Fatalf("reply = %+v", last)
	}
	// Member and roles for permission checks.
	mem, err := s.GuildMember(w.guild, w.provider)
	if err != nil || len(mem.Roles) != 1 {
		t.Fatalf("member = %+v %v", mem, err)
	}
	if _, err := s.GuildMember(w.guild, w.fake.NewID()); err == nil {
		t.Fatal("unknown member found")
	}
}

func TestInteractionDeferredThenEdited(t *testing.T) {
	w := newTestWorld(t, Options{InteractionDeadline: 300 * time.Millisecond})
	var mu sync.Mutex
	var errs []error
	note := func(err error) {
		if err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	}
	s, _ := open(t, w.fake, botIntents, [2]int{0, 1}, func(s *discordgo.Session, i *discordgo.InteractionCreate) {
		d := i.ApplicationCommandData()
		if d.Name == "slow" {
			time.Sleep(500 * time.Millisecond)
		}
		note(s.InteractionRespond(i.Interaction, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}))
		content := "bought " + d.Options[0].StringValue() + " as " + i.Member.User.ID
		_, err := s.InteractionResponseEdit(i.Interaction, &discordgo.WebhookEdit{Content: &content})
		note(err)
	})
	_, err := s.ApplicationCommandBulkOverwrite(w.fake.AppID(), w.guild, []*discordgo.ApplicationCommand{
		{Name: "buy", Description: "Buy", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "symbol", Description: "Ticker", Required: true}}},
		{Name: "slow", Description: "Too slow", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "symbol", Description: "Ticker", Required: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.fake.Commands(w.guild); len(got) != 2 {
		t.Fatalf("commands = %v", got)
	}
	call, err := w.fake.Interact(Command{GuildID: w.guild, ChannelID: w.channel, UserID: w.trader, Name: "buy",
		Options: []Option{{Name: "symbol", Type: OptString, Value: "AAPL"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := call.WaitAnswer(5 * time.Second)
	if !ok || r.Type != CallbackDeferred || !r.Ephemeral || r.Content != "bought AAPL as "+w.trader || r.AckAfter > 300*time.Millisecond {
		t.Fatalf("response = %+v (ok %v), errs %v", r, ok, errs)
	}
	slow, _ := w.fake.Interact(Command{GuildID: w.guild, ChannelID: w.channel, UserID: w.trader, Name: "slow",
		Options: []Option{{Name: "symbol", Type: OptString, Value: "AAPL"}}})
	if !w.fake.WaitFor(5*time.Second, func() bool { return slow.Response().Late }) {
		t.Fatal("late acknowledgement not refused")
	}
	if _, err := w.fake.Interact(Command{GuildID: w.guild, ChannelID: w.channel, UserID: w.trader, Name: "nope"}); err == nil {
		t.Fatal("unregistered command invoked")
	}
}
