package realtime

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Defaults of HubConfig.
const (
	DefaultWorkers       = 4
	DefaultMaxReplay     = 1000
	DefaultRetention     = 72 * time.Hour
	DefaultExpiryWarning = 5 * time.Minute
	DefaultSessionCheck  = 2 * time.Second
	DefaultLagCheck      = 30 * time.Second
	DefaultTailInterval  = 50 * time.Millisecond
	DefaultActiveEvery   = 60 * time.Second
	DefaultPurgeEvery    = 10 * time.Minute

	deliverPage = 500
	chunkIDs    = 500
)

// Sender is the hub's handle on one socket (package api wraps a melody
// session). Both methods must be safe for concurrent use and must not block.
type Sender interface {
	// Send queues one text frame. It fails when the socket cannot take it
	// (closed, or its backlog is full); the hub then closes the socket with
	// CloseTryAgain and the client resumes from its last seq.
	Send(frame []byte) error
	// Close sends a close frame with code and reason, then closes.
	Close(code int, reason string)
}

// Snapshotter builds the state.sync payload of a user. seq is the user's
// outbox sequence number read BEFORE the data, so every event after seq is
// either reflected in the data already or delivered after the snapshot
// (clients apply events idempotently).
type Snapshotter func(ctx context.Context, userID string) (data any, seq int64, err error)

// HubConfig configures a Hub. DB is required.
type HubConfig struct {
	DB       *gorm.DB
	Notifier Notifier // nil: a LocalNotifier (single process)
	Snapshot Snapshotter
	Log      *zap.Logger
	Now      func() time.Time

	Workers       int           // delivery goroutines; default 4
	MaxReplay     int           // a larger gap gets state.sync; default 1000
	Retention     time.Duration // outbox events are kept this long; default 72 h
	ExpiryWarning time.Duration // token.expiring this long before expiry; default 5 min
	SessionCheck  time.Duration // how often ended sessions are looked for; default 2 s
	LagCheck      time.Duration // safety sweep over event_seqs; default 30 s
	TailInterval  time.Duration // SQLite: how often the outbox tail is read; default 50 ms
	PurgeEvery    time.Duration // outbox retention + expired tickets; default 10 min

	// OnActive is called when a user opens a socket on this replica after
	// having none for ActiveEvery (the app asks the user's account guards
	// for a sync, so a dashboard opens on fresh balances). It runs on one
	// goroutine and must not block for long.
	OnActive    func(userID string)
	ActiveEvery time.Duration // default 60 s
}

// ConnInfo is what the api knows about an authorized socket.
type ConnInfo struct {
	UserID    string
	SessionID string
	ExpiresAt time.Time // of the access token (or ticket) that authorized it
	// LastSeq is the last seq the client saw (?lastSeq=), when Resume.
	LastSeq int64
	Resume  bool
}

// Conn is one authorized socket.
type Conn struct {
	userID string
	sender Sender
	resume bool
	from   int64

	sent atomic.Int64 // last seq delivered; written under the user's lock

	mu        sync.Mutex
	sessionID string
	expiresAt time.Time
	warned    bool
	closed    bool
}

// UserID is the socket's user.
func (c *Conn) UserID() string { return c.userID }

// SessionID is the session that authorized the socket last.
func (c *Conn) SessionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// ExpiresAt is when the socket's authorization ends.
func (c *Conn) ExpiresAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expiresAt
}

// LastSent is the last seq delivered to the socket.
func (c *Conn) LastSent() int64 { return c.sent.Load() }

// userState holds one user's sockets on this replica. mu serialises every
// read of the user's outbox and every send to the user's sockets, so each
// socket receives its events once, in seq order.
type userState struct {
	id      string
	refs    int // sockets registered (guarded by Hub.mu)
	queued  atomic.Bool
	mu      sync.Mutex
	conns   map[*Conn]struct{}
	pending []*Conn
}

// Hub delivers each user's outbox events to that user's sockets on this
// replica, in seq order, and nobody else's (invariant 5).
type Hub struct {
	cfg      HubConfig
	db       *gorm.DB
	log      *zap.Logger
	notifier Notifier
	local    bool

	mu    sync.Mutex
	users map[string]*userState
	conns map[*Conn]*userState
	// lastActive: when OnActive last ran per user (pruned by upkeep).
	lastActive map[string]time.Time

	qmu    sync.Mutex
	queue  []*userState
	signal chan struct{}

	active chan string

	ctxMu   sync.Mutex
	runCtx  context.Context
	running bool
}

// NewHub builds a hub; Run starts it.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Retention, DefaultRetention)
	def(&cfg.ExpiryWarning, DefaultExpiryWarning)
	def(&cfg.SessionCheck, DefaultSessionCheck)
	def(&cfg.LagCheck, DefaultLagCheck)
	def(&cfg.TailInterval, DefaultTailInterval)
	def(&cfg.ActiveEvery, DefaultActiveEvery)
	def(&cfg.PurgeEvery, DefaultPurgeEvery)
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxReplay <= 0 {
		cfg.MaxReplay = DefaultMaxReplay
	}
	if cfg.Notifier == nil {
		cfg.Notifier = NewLocalNotifier()
	}
	_, local := cfg.Notifier.(*LocalNotifier)
	return &Hub{
		cfg: cfg, db: cfg.DB, log: cfg.Log, notifier: cfg.Notifier, local: local,
		users: map[string]*userState{}, conns: map[*Conn]*userState{}, lastActive: map[string]time.Time{},
		signal: make(chan struct{}, 1), active: make(chan string, 1024),
		runCtx: context.Background(),
	}
}

func (h *Hub) now() time.Time { return h.cfg.Now().UTC() }

func (h *Hub) ctx() context.Context {
	h.ctxMu.Lock()
	defer h.ctxMu.Unlock()
	return h.runCtx
}

// Run delivers until ctx ends, then closes every socket (CloseGoingAway).
func (h *Hub) Run(ctx context.Context) {
	h.ctxMu.Lock()
	if h.running {
		h.ctxMu.Unlock()
		return
	}
	h.running, h.runCtx = true, ctx
	h.ctxMu.Unlock()

	var wg sync.WaitGroup
	spawn := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	for i := 0; i < h.cfg.Workers; i++ {
		spawn(func() { h.work(ctx) })
	}
	spawn(func() { _ = h.notifier.Listen(ctx, h.onNotice, h.wakeAll) })
	spawn(func() { h.upkeep(ctx) })
	spawn(func() { h.runActive(ctx) })
	if store.DialectOf(h.db) == store.SQLite {
		spawn(func() { h.tail(ctx) })
	}
	<-ctx.Done()
	for _, c := range h.allConns() {
		h.closeConn(c, CloseGoingAway, ReasonShutdown)
	}
	h.qmu.Lock()
	select {
	case h.signal <- struct{}{}:
	default:
	}
	h.qmu.Unlock()
	wg.Wait()
}

// Connect registers an authorized socket. The caller has already sent
// connection.authorized; the hub follows with the replay since
// info.LastSeq (or a state.sync) and then the live events.
func (h *Hub) Connect(info ConnInfo, s Sender) *Conn {
	c := &Conn{userID: info.UserID, sender: s, resume: info.Resume, from: info.LastSeq,
		sessionID: info.SessionID, expiresAt: info.ExpiresAt}
	h.mu.Lock()
	u := h.users[info.UserID]
	if u == nil {
		u = &userState{id: info.UserID, conns: map[*Conn]struct{}{}}
		h.users[info.UserID] = u
	}
	u.refs++
	h.conns[c] = u
	metrics.WSConnected()
	now := h.now()
	first := u.refs == 1 && now.Sub(h.lastActive[info.UserID]) >= h.cfg.ActiveEvery
	if first {
		h.lastActive[info.UserID] = now
	}
	h.mu.Unlock()
	u.mu.Lock()
	u.pending = append(u.pending, c)
	u.mu.Unlock()
	h.enqueue(u)
	if first {
		h.markActive(info.UserID)
	}
	return c
}

// Disconnect forgets a socket (after it closed).
func (h *Hub) Disconnect(c *Conn) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	h.mu.Lock()
	u, ok := h.conns[c]
	if ok {
		delete(h.conns, c)
		metrics.WSDisconnected()
		u.refs--
		if u.refs == 0 {
			delete(h.users, u.id)
		}
	}
	h.mu.Unlock()
	if !ok {
		return
	}
	u.mu.Lock()
	delete(u.conns, c)
	for i, p := range u.pending {
		if p == c {
			u.pending = append(u.pending[:i], u.pending[i+1:]...)
			break
		}
	}
	u.mu.Unlock()
}

// Reauthorize extends a socket's authorization after connection.reauth.
func (h *Hub) Reauthorize(c *Conn, sessionID string, expiresAt time.Time) {
	c.mu.Lock()
	c.sessionID, c.expiresAt, c.warned = sessionID, expiresAt, false
	c.mu.Unlock()
}

// Committed tells the hub that a transaction wrote outbox events for
// userID (the Committed hooks of intake, activities, auth, …). On SQLite it
// wakes delivery at once (the outbox tail would notice within
// TailInterval); on PostgreSQL the NOTIFY sent inside the transaction has
// done it already.
func (h *Hub) Committed(userID string) {
	if h.local && userID != "" {
		n := Notice{Kind: NoticeEvents, UserID: userID}
		h.onNotice(n)
		_ = h.notifier.Publish(context.Background(), n)
	}
}

// SignOut closes every socket of userID on every replica (a session of
// the user ended: logout, revocation). Sockets whose own session is still
// valid reconnect.
func (h *Hub) SignOut(ctx context.Context, userID string) error {
	n := Notice{Kind: NoticeSignOut, UserID: userID}
	h.onNotice(n)
	return h.notifier.Publish(ctx, n)
}

// Backlog is the number of users waiting for a hub worker: their new
// events or a new socket's initial sync not yet processed. A connection
// storm (every client reconnecting after a deploy) shows here first.
func (h *Hub) Backlog() int {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	return len(h.queue)
}

// Connections is the number of sockets registered on this replica.
func (h *Hub) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

func (h *Hub) onNotice(n Notice) {
	switch n.Kind {
	case NoticeEvents:
		h.mu.Lock()
		u := h.users[n.UserID]
		h.mu.Unlock()
		if u != nil {
			h.enqueue(u)
		}
	case NoticeSignOut:
		for _, c := range h.userConns(n.UserID) {
			h.closeConn(c, CloseSignedOut, ReasonSignedOut)
		}
	}
}

// wakeAll re-reads every connected user's outbox (the listener
// reconnected and may have missed notices).
func (h *Hub) wakeAll() {
	h.mu.Lock()
	us := make([]*userState, 0, len(h.users))
	for _, u := range h.users {
		us = append(us, u)
	}
	h.mu.Unlock()
	for _, u := range us {
		h.enqueue(u)
	}
}

func (h *Hub) allConns() []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		out = append(out, c)
	}
	return out
}

func (h *Hub) userConns(userID string) []*Conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*Conn
	for c, u := range h.conns {
		if u.id == userID {
			out = append(out, c)
		}
	}
	return out
}

// closeConn sends the close frame once; Disconnect follows when the
// socket's read loop ends.
func (h *Hub) closeConn(c *Conn, code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.sender.Close(code, reason)
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// ---------------------------------------------------------------- queue

func (h *Hub) enqueue(u *userState) {
	if !u.queued.CompareAndSwap(false, true) {
		return
	}
	h.qmu.Lock()
	h.queue = append(h.queue, u)
	h.qmu.Unlock()
	metrics.WSHubBacklog(1)
	select {
	case h.signal <- struct{}{}:
	default:
	}
}

func (h *Hub) dequeue() *userState {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	if len(h.queue) == 0 {
		return nil
	}
	u := h.queue[0]
	h.queue[0] = nil
	h.queue = h.queue[1:]
	metrics.WSHubBacklog(-1)
	if len(h.queue) > 0 {
		// Keep the other workers going.
		select {
		case h.signal <- struct{}{}:
		default:
		}
	}
	return u
}

func (h *Hub) work(ctx context.Context) {
	for {
		u := h.dequeue()
		if u == nil {
			select {
			case <-ctx.Done():
				return
			case <-h.signal:
				continue
			}
		}
		if ctx.Err() != nil {
			return
		}
		u.queued.Store(false)
		h.process(ctx, u)
	}
}

// process runs a user's initial syncs, then delivers new events to every
// socket of the user. It holds the user's lock throughout.
func (h *Hub) process(ctx context.Context, u *userState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	pending := u.pending
	u.pending = nil
	for _, c := range pending {
		if c.isClosed() {
			continue
		}
		if err := h.initialSync(ctx, c); err != nil {
			if ctx.Err() == nil {
				h.log.Warn("realtime: initial sync failed", zap.String("user_id", u.id), zap.Error(err))
			}
			h.closeConn(c, CloseTryAgain, ReasonSlowConsumer)
			continue
		}
		u.conns[c] = struct{}{}
	}
	if len(u.conns) == 0 {
		return
	}
	if err := h.deliver(ctx, u); err != nil && ctx.Err() == nil {
		h.log.Warn("realtime: delivery failed; retrying", zap.String("user_id", u.id), zap.Error(err))
		time.AfterFunc(250*time.Millisecond, func() { h.enqueue(u) })
	}
}

// initialSync brings a new socket up to date: the events after its
// lastSeq, or a state.sync when there is no lastSeq, the gap is larger
// than MaxReplay or older than retention, or the client is ahead of the
// server (a reset database).
func (h *Hub) initialSync(ctx context.Context, c *Conn) error {
	if !c.resume || c.from < 0 {
		return h.stateSync(ctx, c)
	}
	evs, err := EventsSince(ctx, h.db, c.userID, c.from, h.cfg.MaxReplay+1)
	if err != nil {
		return err
	}
	switch {
	case len(evs) > h.cfg.MaxReplay:
		return h.stateSync(ctx, c)
	case len(evs) > 0 && evs[0].Seq != c.from+1:
		return h.stateSync(ctx, c) // the missed events are past retention
	case len(evs) == 0:
		last, err := LastSeq(ctx, h.db, c.userID)
		if err != nil {
			return err
		}
		if c.from > last {
			return h.stateSync(ctx, c)
		}
		c.sent.Store(c.from)
		return nil
	}
	c.sent.Store(c.from)
	return h.send(c, evs)
}

func (h *Hub) stateSync(ctx context.Context, c *Conn) error {
	var data any = struct{}{}
	var seq int64
	var err error
	if h.cfg.Snapshot != nil {
		data, seq, err = h.cfg.Snapshot(ctx, c.userID)
	} else {
		seq, err = LastSeq(ctx, h.db, c.userID)
	}
	if err != nil {
		return err
	}
	f := Frame{Type: EventStateSync, Seq: seq, At: h.now()}
	if f.Data, err = jsonRaw(data); err != nil {
		return err
	}
	if err := c.sender.Send(encodeFrame(f)); err != nil {
		return err
	}
	c.sent.Store(seq)
	return nil
}

// deliver sends every socket of u the events after its last seq.
func (h *Hub) deliver(ctx context.Context, u *userState) error {
	for {
		from := int64(-1)
		for c := range u.conns {
			if s := c.sent.Load(); from < 0 || s < from {
				from = s
			}
		}
		evs, err := EventsSince(ctx, h.db, u.id, from, deliverPage)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for c := range u.conns {
			if c.isClosed() {
				delete(u.conns, c)
				continue
			}
			if err := h.send(c, evs); err != nil {
				delete(u.conns, c)
				h.closeConn(c, CloseTryAgain, ReasonSlowConsumer)
			}
		}
		if len(evs) < deliverPage {
			return nil
		}
	}
}

// errGap: a socket would skip a seq (its events were purged while it was
// connected); it reconnects and gets a state.sync.
var errGap = errors.New("realtime: gap in a socket's events")

// send writes the events of evs after c's last seq, one frame or a batch.
func (h *Hub) send(c *Conn, evs []schema.OutboxEvent) error {
	sent := c.sent.Load()
	i := 0
	for i < len(evs) && evs[i].Seq <= sent {
		i++
	}
	evs = evs[i:]
	if len(evs) == 0 {
		return nil
	}
	if evs[0].Seq != sent+1 {
		return errGap
	}
	var frame []byte
	if len(evs) == 1 {
		frame = encodeFrame(frameOf(evs[0]))
	} else {
		b := Frame{Type: FrameBatch, At: h.now(), Events: make([]Frame, len(evs))}
		for i, ev := range evs {
			b.Events[i] = frameOf(ev)
		}
		frame = encodeFrame(b)
	}
	if err := c.sender.Send(frame); err != nil {
		return err
	}
	c.sent.Store(evs[len(evs)-1].Seq)
	metrics.OutboxDelivered(evs[len(evs)-1].CreatedAt, time.Now())
	return nil
}

// LastSeq is the user's last outbox sequence number (0 when none).
func LastSeq(ctx context.Context, db *gorm.DB, userID string) (int64, error) {
	var rows []int64
	if err := db.WithContext(ctx).Model(&schema.EventSeq{}).Where("user_id = ?", userID).Limit(1).Pluck("last_seq", &rows).Error; err != nil {
		return 0, err
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	if err := db.WithContext(ctx).Model(&schema.OutboxEvent{}).Where("user_id = ?", userID).
		Order("seq DESC").Limit(1).Pluck("seq", &rows).Error; err != nil {
		return 0, err
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	return 0, nil
}
