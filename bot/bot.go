// Package bot is tradeexec's Discord bot (`tradeexec bot`, and inside
// `tradeexec dev` when a bot token is configured): it reads signals from
// registered channels and starts one SignalWorkflow per signal message,
// answers slash commands (/buy /sell /positions /status /cancel /follow
// /unfollow /tradeexec), and delivers the Discord messages the system
// queues (trade DMs, skip notices, channel summaries). It validates,
// authorizes and then starts or signals a workflow, or reads the database;
// it never calls a broker.
package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/workflows"
)

// Options configure the bot.
type Options struct {
	// Token is the bot token (without the "Bot " prefix).
	Token    string
	DB       *gorm.DB
	Temporal client.Client
	// TaskQueue of the workflows (default workflows.DefaultTaskQueue).
	TaskQueue string
	Log       *zap.Logger
	// HTTPClient carries REST calls and the gateway lookup (tests: the
	// fake's client); nil uses discordgo's default.
	HTTPClient *http.Client
	// ShardID and ShardCount select this replica's shard (count ≤ 1: one
	// shard). Guild events reach the shard (guild_id >> 22) % count.
	ShardID, ShardCount int
	// CommandGuildID registers the slash commands in one guild (instant,
	// for development) instead of globally.
	CommandGuildID string
	// DashboardURL is linked in replies ("link your account at ...").
	DashboardURL string
	// Timeouts are passed to every TradeWorkflow (tests shorten them).
	Timeouts workflows.Timeouts
	// FanoutPageSize is the SignalWorkflow page size (0: default).
	FanoutPageSize int
	// CommandWait is how long /buy and /sell wait for the order's first
	// outcome before answering (default 4 s; the interaction was deferred).
	CommandWait time.Duration
	// PollInterval of the notification dispatcher (default 250 ms).
	PollInterval time.Duration
	// SourceRefresh is how often the registered sources are re-read
	// (default 15 s; changes made through the bot apply at once).
	SourceRefresh time.Duration
	// VerifyInterval is how often dashboard-registered sources are checked
	// (default 15 s).
	VerifyInterval time.Duration
	// ReverifyInterval is how often active sources' registrants are checked
	// to still administer their server (default 1 hour).
	ReverifyInterval time.Duration
	// Committed is called after a transaction wrote outbox events for a
	// user (wakes the real-time hub); may be nil.
	Committed func(userID string)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Bot is a running Discord bot.
type Bot struct {
	o       Options
	log     *zap.Logger
	sources *sourceCache

	mu      sync.Mutex // serialises session swaps
	session atomic.Pointer[discordgo.Session]
	intents atomic.Int64
	appID   atomic.Value // string
	userID  atomic.Value // string
	ready   chan struct{}
	once    sync.Once

	notifier *notifier
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// Default intervals.
const (
	defaultCommandWait    = 4 * time.Second
	defaultPollInterval   = 250 * time.Millisecond
	defaultSourceRefresh  = 15 * time.Second
	defaultVerifyInterval = 15 * time.Second
	readyTimeout          = 20 * time.Second
)

// New checks the options and builds a bot; Start connects it.
func New(o Options) (*Bot, error) {
	if o.Token == "" || o.DB == nil || o.Temporal == nil {
		return nil, errors.New("bot: Token, DB and Temporal are required")
	}
	if o.TaskQueue == "" {
		o.TaskQueue = workflows.DefaultTaskQueue
	}
	if o.ShardCount < 1 {
		o.ShardCount = 1
	}
	if o.ShardID < 0 || o.ShardID >= o.ShardCount {
		return nil, fmt.Errorf("bot: shard id %d is not below the shard count %d", o.ShardID, o.ShardCount)
	}
	if o.CommandWait <= 0 {
		o.CommandWait = defaultCommandWait
	}
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPollInterval
	}
	if o.SourceRefresh <= 0 {
		o.SourceRefresh = defaultSourceRefresh
	}
	if o.ReverifyInterval <= 0 {
		o.ReverifyInterval = time.Hour
	}
	if o.VerifyInterval <= 0 {
		o.VerifyInterval = defaultVerifyInterval
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	routeLibraryLog(log)
	b := &Bot{o: o, log: log, ready: make(chan struct{})}
	b.sources = &sourceCache{db: o.DB, shard: [2]int{o.ShardID, o.ShardCount}}
	b.notifier = newNotifier(b)
	return b, nil
}

func (b *Bot) now() time.Time {
	if b.o.Now != nil {
		return b.o.Now().UTC()
	}
	return time.Now().UTC()
}

var libraryLogOnce sync.Once

// routeLibraryLog sends discordgo's own log lines (reconnects, gateway
// errors; never tokens) to the first bot's logger instead of stdout.
// discordgo has one process-wide logger.
func routeLibraryLog(log *zap.Logger) {
	libraryLogOnce.Do(func() {
		l := log.Named("discordgo")
		discordgo.Logger = func(level, _ int, format string, a ...interface{}) {
			msg := fmt.Sprintf(format, a...)
			switch level {
			case discordgo.LogError:
				l.Warn(msg)
			case discordgo.LogWarning:
				l.Info(msg)
			default:
				l.Debug(msg)
			}
		}
	})
}

// rest is the current session, used for REST calls.
func (b *Bot) rest() *discordgo.Session { return b.session.Load() }

// AppID is the application id (known once connected).
func (b *Bot) AppID() string { v, _ := b.appID.Load().(string); return v }

// UserID is the bot user's id (known once connected).
func (b *Bot) UserID() string { v, _ := b.userID.Load().(string); return v }

// Start loads the sources, connects to the gateway with the intents they
// need, registers the slash commands (shard 0) and starts the notification
// dispatcher and the source verifier.
func (b *Bot) Start(ctx context.Context) error {
	b.ctx, b.cancel = context.WithCancel(context.Background())
	if err := b.sources.refresh(ctx); err != nil {
		return fmt.Errorf("bot: load sources: %w", err)
	}
	s, err := b.connect(b.wantIntents())
	if err != nil {
		return err
	}
	b.session.Store(s)
	select {
	case <-b.ready:
	case <-time.After(readyTimeout):
		b.closeSession(s)
		return errors.New("bot: no READY from the gateway")
	case <-ctx.Done():
		b.closeSession(s)
		return ctx.Err()
	}
	if b.o.ShardID == 0 {
		if err := b.registerCommands(); err != nil {
			b.closeSession(s)
			return fmt.Errorf("bot: register commands: %w", err)
		}
	}
	b.loop(b.o.SourceRefresh, func(ctx context.Context) {
		if err := b.sources.refresh(ctx); err != nil {
			b.log.Warn("refresh sources", zap.Error(err))
			return
		}
		b.ensureIntents()
	})
	b.loop(b.o.PollInterval, b.notifier.run)
	if b.o.ShardID == 0 {
		b.loop(b.o.VerifyInterval, b.verifyPending)
		b.loop(b.o.ReverifyInterval, b.reverifyActive)
	}
	b.log.Info("discord bot connected", zap.Int("shard", b.o.ShardID), zap.Int("shards", b.o.ShardCount),
		zap.String("app_id", b.AppID()), zap.Bool("message_content", b.intents.Load()&int64(discordgo.IntentMessageContent) != 0))
	return nil
}

// loop runs fn every interval until Stop.
func (b *Bot) loop(every time.Duration, fn func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fn(b.ctx)
			select {
			case <-b.ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop disconnects and waits for the background loops.
func (b *Bot) Stop() {
	if b.cancel != nil {
		b.cancel()
	}
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.session.Load(); s != nil {
		b.closeSession(s)
	}
}

// Run starts the bot and blocks until ctx ends (`tradeexec bot`).
func Run(ctx context.Context, o Options) error {
	b, err := New(o)
	if err != nil {
		return err
	}
	if err := b.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	b.Stop()
	return nil
}

// connect opens a gateway session with the given intents.
func (b *Bot) connect(intents discordgo.Intent) (*discordgo.Session, error) {
	s, err := discordgo.New("Bot " + b.o.Token)
	if err != nil {
		return nil, err
	}
	if b.o.HTTPClient != nil {
		s.Client = b.o.HTTPClient
	}
	if old := b.session.Load(); old != nil {
		s.Ratelimiter = old.Ratelimiter // one view of Discord's REST buckets
	}
	s.StateEnabled = false
	s.ShardID, s.ShardCount = b.o.ShardID, b.o.ShardCount
	s.Identify.Intents = intents
	s.LogLevel = discordgo.LogError
	s.AddHandler(b.onReady)
	s.AddHandler(b.onMessageCreate)
	s.AddHandler(b.onMessageUpdate)
	s.AddHandler(b.onMessageDelete)
	s.AddHandler(b.onInteraction)
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { b.log.Info("discord gateway session resumed") })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { b.log.Info("discord gateway disconnected") })
	if err := s.Open(); err != nil {
		return nil, fmt.Errorf("bot: connect to the Discord gateway: %w", err)
	}
	b.intents.Store(int64(intents))
	return s, nil
}

func (b *Bot) closeSession(s *discordgo.Session) {
	s.ShouldReconnectOnError = false
	_ = s.Close()
}

func (b *Bot) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	if r.Application != nil {
		b.appID.Store(r.Application.ID)
	}
	if r.User != nil {
		b.userID.Store(r.User.ID)
	}
	b.once.Do(func() { close(b.ready) })
}

// Intents: guild events and messages always; message content only while a
// registered source lives in a guild of this shard.
const baseIntents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages

func (b *Bot) wantIntents() discordgo.Intent {
	if b.sources.any() {
		return baseIntents | discordgo.IntentMessageContent
	}
	return baseIntents
}

// ensureIntents re-identifies with the intents the sources need: a new
// session is opened before the old one is closed, so no signal is missed
// (a message both deliver is one signal: the workflow id dedupes it).
func (b *Bot) ensureIntents() {
	want := b.wantIntents()
	if int64(want) == b.intents.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx.Err() != nil || int64(want) == b.intents.Load() {
		return
	}
	ns, err := b.connect(want)
	if err != nil {
		b.log.Error("re-identify with new intents", zap.Error(err))
		return
	}
	old := b.session.Swap(ns)
	b.log.Info("gateway intents changed", zap.Bool("message_content", want&discordgo.IntentMessageContent != 0))
	if old != nil {
		go b.closeSession(old)
	}
}

// sourcesChanged applies a source change made through the bot at once.
func (b *Bot) sourcesChanged(ctx context.Context) {
	if err := b.sources.refresh(ctx); err != nil {
		b.log.Warn("refresh sources", zap.Error(err))
		return
	}
	go b.ensureIntents()
}

// sourceCache holds the sources by channel.
type sourceCache struct {
	db    *gorm.DB
	shard [2]int

	mu        sync.RWMutex
	byChannel map[string]sources.Source
}

func (c *sourceCache) refresh(ctx context.Context) error {
	list, err := sources.List(ctx, c.db, []string{sources.StatusActive, sources.StatusPaused}, "")
	if err != nil {
		return err
	}
	m := make(map[string]sources.Source, len(list))
	for _, s := range list {
		m[s.ChannelID] = s
	}
	c.mu.Lock()
	c.byChannel = m
	c.mu.Unlock()
	return nil
}

func (c *sourceCache) get(channelID string) (sources.Source, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.byChannel[channelID]
	return s, ok
}

// any reports whether an active source lives in a guild of this shard.
func (c *sourceCache) any() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, s := range c.byChannel {
		if s.Status == sources.StatusActive && onShard(s.GuildID, c.shard) {
			return true
		}
	}
	return false
}
