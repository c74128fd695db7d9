package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/bot"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/discordfake"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// fanoutRows measures DESIGN §6 "one signal fanned out to 1,000 followers,
// all orders accepted": a provider posts one message in a registered
// channel of a local fake Discord; the bot starts the SignalWorkflow, which
// records the followers' trades in pages and starts one TradeWorkflow each
// on the worker built by app.Start; the clock stops when the paper broker
// has accepted every follower's order. It reports the total and each
// follower's latency (message posted → that order accepted).
func fanoutRows(ctx context.Context, dir, temporalAddr string, followers int, ceil ceiling, guards bool) []row {
	f, err := newFanoutEnv(ctx, dir, temporalAddr)
	must(err)
	defer f.close()
	rows := f.rows(ctx, followers, ceil)
	if guards {
		rows = append(rows, f.guardRow(followers+1, ceil))
	}
	return rows
}

func (f *fanoutEnv) rows(ctx context.Context, followers int, ceil ceiling) []row {

	// Warm-up: one follower of a second channel, one signal.
	warm := f.channelSource(ctx, "warm-up")
	w := f.followers(ctx, warm, 1)
	start := time.Now()
	f.fake.Post(warm.ChannelID, f.provider, f.order())
	if _, missing := f.waitAccepted(w, start, 60*time.Second, nil); missing > 0 {
		must(fmt.Errorf("fan-out warm-up: the order was not accepted"))
	}

	src := f.channelSource(ctx, "signals")
	ids := f.followers(ctx, src, followers)
	f.startGuards(ctx, len(ids)+len(w))
	resetSQL()
	start = time.Now()
	cpu0 := readCPU()
	stopProfile := startWindowProfile(fanoutProfile)
	f.fake.Post(src.ChannelID, f.provider, f.order())
	lat, missing := f.waitAccepted(ids, start, 120*time.Second, stopProfile)
	total := time.Since(start)
	// CPU up to the moment every order was accepted, not the reads of the
	// trade rows that compute the latencies afterwards.
	cpu := cpu0.perUntil(f.acceptedCPU, followers)
	sqlAccepted := sqlPer(followers)
	var wfIDs []string
	must(f.db.Model(&schema.Trade{}).Where("user_id IN ?", ids).Order("created_at").Pluck("workflow_id", &wfIDs).Error)
	// The whole trade (stop placed, the guard's look after the fill): what
	// a follower costs in all, part of which may come after the last
	// acceptance.
	f.waitClosed(ctx, wfIDs, 120*time.Second)
	cpuAll := cpu0.per(followers)
	fmt.Println("fan-out SQL per follower, up to acceptance:", sqlAccepted)
	fmt.Println("fan-out SQL per follower, whole trade:", sqlPer(followers))
	fmt.Println("fan-out phases:", tradePhases(ctx, f.temporal, start, wfIDs, 50))
	fmt.Println("fan-out server work:", serverWork(ctx, f.temporal, wfIDs, 50))
	if len(lat) > 0 {
		total = lat[len(lat)-1]
	}
	channelFanoutTotal = total
	floor := time.Duration(0)
	if ceil.Rate > 0 {
		floor = time.Duration(float64(followers) / ceil.Rate * float64(time.Second))
	}
	return []row{
		stats(fmt.Sprintf("1 channel signal → %d followers: order accepted, per follower", followers), lat,
			fmt.Sprintf("all accepted in %.2f s = %s the ceiling (%d empty workflows: %.2f s); %d not accepted",
				total.Seconds(), times(total, floor), followers, floor.Seconds(), missing), "≤ 1.3× the ceiling"),
		{Figure: "CPU per follower up to acceptance", Samples: fmt.Sprint(followers),
			Other:  fmt.Sprintf("%s = %s an empty workflow's in the ceiling's rate run (%s)", cpu, times(cpu.total(), ceil.RateCPU.total()), ceil.RateCPU),
			Target: "—"},
		{Figure: "CPU per follower, whole trade (to its workflow's end)", Samples: fmt.Sprint(followers),
			Other:  fmt.Sprintf("%s = %s an empty workflow's", cpuAll, times(cpuAll.total(), ceil.RateCPU.total())),
			Target: "—"},
	}
}

// fanoutEnv is a system of its own (database file, task queue, worker,
// bot) next to the trade-path benchmark's.
type fanoutEnv struct {
	db       *gorm.DB
	temporal client.Client
	engine   *paper.Engine
	keyring  *vault.Keyring
	stack    *app.Stack
	bot      *bot.Bot
	fake     *discordfake.Server
	cancel   context.CancelFunc
	guild    string
	provider string
	owner    string

	mu       sync.Mutex
	accepted map[string]time.Time // client order id → accepted at
	// acceptedCPU is the CPU reading when waitAccepted saw the last order
	// accepted (or gave up).
	acceptedCPU cpuMeter
	// symbol traded ("AAPL"; the stack's crypto symbol trades around
	// the clock) and, on the stack, acceptance read from the trade rows.
	symbol   string
	fromRows bool
	// guard starts the followers' guards (startGuards): the in-process
	// stack's, or on the stack one on its task queue.
	guard *activities.Guard
}

// channelFanoutTotal is the last channel fan-out's time to all accepted
// (the copy section's reference).
var channelFanoutTotal time.Duration

func newFanoutEnv(ctx context.Context, dir, temporalAddr string) (*fanoutEnv, error) {
	return newFanoutEnvNamed(ctx, dir, temporalAddr, "fanout")
}

// newFanoutEnvNamed is a fan-out system with its own database file
// (<name>.db) and task queue (bench-<name>).
func newFanoutEnvNamed(ctx context.Context, dir, temporalAddr, name string) (*fanoutEnv, error) {
	db, dialect, err := store.Open(ctx, "sqlite://"+dir+"/"+name+".db", nil)
	if err != nil {
		return nil, err
	}
	if err := schema.Migrate(ctx, db, dialect); err != nil {
		return nil, err
	}
	tc, err := encryptedClient(temporalAddr)
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	kr, err := vault.ParseKeyring("1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		return nil, err
	}
	engine := paper.NewEngine(paper.NewGormStore(db), paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(180)}))
	rctx, cancel := context.WithCancel(context.Background())
	go func() { _ = engine.Run(rctx) }()
	countSQL(db)
	f := &fanoutEnv{db: db, temporal: tc, engine: engine, keyring: kr, cancel: cancel, accepted: map[string]time.Time{}}

	reg := broker.NewRegistry()
	pf := paper.Factory(engine)
	reg.Register("paper", func(cfg broker.Config) (broker.Broker, error) {
		b, err := pf(cfg)
		if err != nil {
			return nil, err
		}
		return &acceptClock{Broker: b, f: f}, nil
	})
	queue := "bench-" + name
	f.stack, err = app.Start(ctx, app.Options{DB: db, Temporal: tc, TaskQueue: queue, Vault: kr, Paper: engine, Registry: reg,
		RunWorker: true})
	if err != nil {
		return nil, err
	}

	return f, f.startBot(ctx, queue)
}

func (f *fanoutEnv) close() {
	f.bot.Stop()
	f.fake.Close()
	if f.stack != nil {
		f.stack.Stop()
		f.cancel()
		f.temporal.Close()
		_ = store.Close(f.db)
	}
}

func (f *fanoutEnv) order() string {
	if f.symbol == "" {
		return "/buy AAPL 1"
	}
	return "/buy " + f.symbol + " 0.001"
}

// startBot adds the provider (a fake Discord) and the bot to the system.
func (f *fanoutEnv) startBot(ctx context.Context, queue string) error {
	f.fake = discordfake.New(discordfake.Options{Token: "bench-token"})
	f.guild, f.provider = f.fake.NewID(), f.fake.NewID()
	f.fake.AddGuild(discordfake.Guild{ID: f.guild, Name: "bench", OwnerID: f.provider})
	f.owner = uuid.NewString()
	did := f.provider
	if err := f.db.Create(&schema.User{ID: f.owner, DiscordID: &did, DisplayName: "provider", Role: "trader",
		SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error; err != nil {
		return err
	}
	var err error
	f.bot, err = bot.New(bot.Options{Token: "bench-token", DB: f.db, Temporal: f.temporal, TaskQueue: queue, HTTPClient: f.fake.HTTPClient(),
		SourceRefresh: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	return f.bot.Start(ctx)
}

// acceptClock records when the paper broker accepted each order.
type acceptClock struct {
	broker.Broker
	f *fanoutEnv
}

// GetAccount keeps the paper broker's one read of balance and positions
// (broker.AccountReader), which embedding broker.Broker would hide: the
// trade path and the guard use it in production.
func (b *acceptClock) GetAccount(ctx context.Context) (broker.Balance, []broker.Position, error) {
	return broker.ReadAccount(ctx, b.Broker)
}

func (b *acceptClock) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	o, err := b.Broker.PlaceOrder(ctx, req)
	if err == nil {
		b.f.mu.Lock()
		if _, ok := b.f.accepted[req.ClientOrderID]; !ok {
			b.f.accepted[req.ClientOrderID] = time.Now()
		}
		b.f.mu.Unlock()
	}
	return o, err
}

// channelSource registers a new channel of the provider as a source and
// waits until the bot has picked it up.
func (f *fanoutEnv) channelSource(ctx context.Context, name string) sources.Source {
	ch := f.fake.NewID()
	f.fake.AddChannel(f.guild, ch, name)
	src, err := sources.Register(ctx, f.db, sources.RegisterInput{GuildID: f.guild, ChannelID: ch, Name: "#" + name,
		OwnerUserID: f.owner, RegisteredBy: f.provider, Mode: sources.ModeStrict, Verified: true})
	must(err)
	time.Sleep(time.Second) // the bot re-reads sources every 200 ms
	return src
}

// followers creates n traders with a funded paper account each, following
// the source; it returns their user ids.
func (f *fanoutEnv) followers(ctx context.Context, src sources.Source, n int) []string {
	now := time.Now().UTC()
	def := risk.DefaultSettings()
	ids := make([]string, n)
	var users []schema.User
	var settings []schema.RiskSettings
	var conns []schema.BrokerConnection
	var subs []schema.SourceSubscription
	for i := range ids {
		id, acct := uuid.NewString(), uuid.NewString()
		ids[i] = id
		must(f.engine.CreateAccount(ctx, acct, decimal.NewFromInt(100_000)))
		users = append(users, schema.User{ID: id, DisplayName: "follower", Role: "trader", SubscriptionTier: "pro",
			SubscriptionStatus: "active", CreatedAt: now})
		settings = append(settings, schema.RiskSettings{UserID: id, MaxPositionPct: def.MaxPositionPct, DailyLossLimitPct: def.DailyLossLimitPct,
			DailyLossLimitAmount: def.DailyLossLimitAmount, CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct, UpdatedAt: now})
		c := schema.BrokerConnection{ID: uuid.NewString(), UserID: id, BrokerType: "paper", Label: "Paper", Paper: true, IsActive: true,
			HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}
		blob, ver, err := f.keyring.EncryptJSON(id, c.ID, broker.Credentials{"account_id": acct})
		must(err)
		c.Credentials, c.KeyVersion = blob, ver
		conns = append(conns, c)
		subs = append(subs, schema.SourceSubscription{ID: uuid.NewString(), SourceID: src.ID, UserID: id, SizingMode: sources.SizingMultiplier,
			Multiplier: decimal.NewFromInt(1), FixedAmount: decimal.Zero, Active: true, CreatedAt: now, UpdatedAt: now})
	}
	must(store.InTx(ctx, f.db, func(tx *gorm.DB) error {
		for _, batch := range []any{&users, &settings, &conns, &subs} {
			if err := tx.CreateInBatches(batch, 200).Error; err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// startGuards puts the followers in the state production has them in: a
// trader who connected a broker has its account guard running (the worker
// starts the guard of every connection without one, StartGuards, at start
// and every few minutes), so a fill tells a running guard rather than
// starting one. It waits until every guard has looked at its account once.
func (f *fanoutEnv) startGuards(ctx context.Context, want int) {
	g := f.guard
	if g == nil && f.stack != nil {
		g = f.stack.Guard
	}
	_, err := activities.StartGuards(ctx, g)
	must(err)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int64
		must(f.db.Model(&schema.RiskGuard{}).Count(&n).Error)
		if int(n) >= want {
			break
		}
		if time.Now().After(deadline) {
			must(fmt.Errorf("fan-out: %d of %d account guards looked at their accounts", n, want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	settle(time.Minute)
}

// settle waits (up to max) until the machine is quiet: tradeexec and the
// Temporal server together used less than a tenth of a core over half a
// second, so work started before a measurement (the guards' first looks
// and their workflow tasks) is not counted in it.
func settle(max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		c0 := readCPU()
		time.Sleep(500 * time.Millisecond)
		if c1 := readCPU(); (c1.self+c1.server)-(c0.self+c0.server) < 50*time.Millisecond {
			return
		}
	}
}

// waitClosed waits until every workflow has ended (or timeout).
func (f *fanoutEnv) waitClosed(ctx context.Context, wfIDs []string, timeout time.Duration) {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, id := range wfIDs {
		_ = f.temporal.GetWorkflow(wctx, id, "").Get(wctx, nil)
	}
}

// waitAccepted waits until every follower's order of the message is
// accepted; it returns the sorted latencies and how many never were. On
// the embedded default the broker's acceptances are counted in memory
// until there are enough (reading the trades as they are written would
// add the bench's own queries to the work measured); then, and on the
// stack throughout, the trade rows say whose they are.
// atAll, when not nil, runs as soon as every order is seen accepted.
func (f *fanoutEnv) waitAccepted(users []string, start time.Time, timeout time.Duration, atAll func()) ([]time.Duration, int) {
	want := map[string]bool{}
	for _, u := range users {
		want[u] = true
	}
	deadline := time.Now().Add(timeout)
	f.acceptedCPU = cpuMeter{}
	for !f.fromRows && time.Now().Before(deadline) {
		f.mu.Lock()
		n := 0
		for id, at := range f.accepted {
			// Entries only ("tee-…", trade.ClientOrderID), not the stops
			// placed after them.
			if strings.HasPrefix(id, "tee-") && at.After(start) {
				n++
			}
		}
		f.mu.Unlock()
		if n >= len(users) {
			f.acceptedCPU = readCPU()
			if atAll != nil {
				atAll()
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]time.Duration{}
	for time.Now().Before(deadline) && len(got) < len(users) {
		var rows []schema.Trade
		must(f.db.Select("user_id", "workflow_id", "submitted_at").Where("created_at >= ?", start.Add(-time.Second).UTC()).Find(&rows).Error)
		f.mu.Lock()
		for _, t := range rows {
			if !want[t.UserID] {
				continue
			}
			if _, done := got[t.UserID]; done {
				continue
			}
			if f.fromRows {
				if t.SubmittedAt != nil {
					got[t.UserID] = t.SubmittedAt.Sub(start)
				}
			} else if at, ok := f.accepted[trade.ClientOrderID(t.WorkflowID, "entry")]; ok {
				got[t.UserID] = at.Sub(start)
			}
		}
		f.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	if f.fromRows || f.acceptedCPU == (cpuMeter{}) {
		f.acceptedCPU = readCPU()
		if atAll != nil {
			atAll()
		}
	}
	lat := make([]time.Duration, 0, len(got))
	for _, d := range got {
		lat = append(lat, d)
	}
	sortDurations(lat)
	return lat, len(users) - len(got)
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }
