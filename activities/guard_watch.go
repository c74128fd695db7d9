package activities

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/workflows"
)

// The account guard's watch (workflows.versionGuardWatch). A GuardWatch
// activity does not hold a worker slot while it waits: it hands its task
// token to this process's guardWatches and returns
// activity.ErrResultPending. One goroutine then looks at every watched
// account every poll (GuardCheck, the same look as the workflow's local
// activity), heartbeats each watch every third of its heartbeat timeout,
// and completes a watch only when its look asks the workflow for
// something — close positions, end — or when its span is over. A quiet
// look therefore costs the Temporal server nothing; its liveness costs a
// heartbeat every few polls.
//
// A worker that dies leaves its watches without heartbeats: each times out
// (GuardWatchHeartbeat) and is retried on a live worker. A worker that
// stops fails its watches at once (StopGuardWatches), so they are retried
// elsewhere without waiting for the timeout.

const (
	// watchTick is how often the watch loop looks for due looks and
	// heartbeats.
	watchTick = 50 * time.Millisecond
	// watchLooks bounds the looks and heartbeats running at once.
	watchLooks = 4
	// watchLookTimeout bounds one look (as the local activity's timeout).
	watchLookTimeout = time.Minute
	// watchRPCTimeout bounds one heartbeat or completion.
	watchRPCTimeout = 10 * time.Second
)

// errWorkerStopping fails a watch this worker cannot keep; the activity is
// retried on another worker.
func errWorkerStopping() error {
	return temporal.NewApplicationError("this worker is stopping; another worker takes the watch", "WorkerStopping")
}

// watchEntry is one watched account: the current attempt of its guard's
// GuardWatch activity. Its times are the wall clock's (heartbeats are
// Temporal's time, not the business clock a look reads).
type watchEntry struct {
	token    []byte
	in       workflows.GuardWatchInput
	until    time.Time // the span ends
	nextLook time.Time
	lastBeat time.Time
	busy     bool // a look or heartbeat of it is running
}

type guardWatches struct {
	g      *Guard
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    chan struct{}

	mu      sync.Mutex
	entries map[string]*watchEntry // by connection id: one guard per connection
	closed  bool
}

// GuardWatch watches the account between the looks the workflow makes
// itself (see guardWatches). Its result is the look that asked the
// workflow to act, or the last look when the span ended.
func (g *Guard) GuardWatch(ctx context.Context, in workflows.GuardWatchInput) (workflows.GuardCheckResult, error) {
	w := g.watches()
	if w == nil {
		return workflows.GuardCheckResult{}, errWorkerStopping()
	}
	if in.Poll <= 0 || in.Span <= 0 || in.Heartbeat <= 0 {
		return workflows.GuardCheckResult{}, temporal.NewNonRetryableApplicationError("a watch needs a poll, a span and a heartbeat", "BadWatch", nil)
	}
	if !w.add(activity.GetInfo(ctx).TaskToken, in) {
		return workflows.GuardCheckResult{}, errWorkerStopping()
	}
	return workflows.GuardCheckResult{}, activity.ErrResultPending
}

// watches returns the process's watch loop, started on first use; nil
// once StopGuardWatches ran.
func (g *Guard) watches() *guardWatches {
	g.watchMu.Lock()
	defer g.watchMu.Unlock()
	if g.watchStopped {
		return nil
	}
	if g.watching == nil {
		ctx, cancel := context.WithCancel(context.Background())
		w := &guardWatches{g: g, ctx: ctx, cancel: cancel, sem: make(chan struct{}, watchLooks), entries: map[string]*watchEntry{}}
		w.wg.Add(1)
		go w.run()
		g.watching = w
	}
	return g.watching
}

// StopGuardWatches stops this process's watches after its worker stopped
// polling: looks in flight are cancelled and every watch still held is
// failed at once, so Temporal retries it on another worker. Later
// GuardWatch attempts here are refused the same way.
func StopGuardWatches(g *Guard) {
	if g == nil {
		return
	}
	g.watchMu.Lock()
	w := g.watching
	g.watchStopped = true
	g.watchMu.Unlock()
	if w != nil {
		w.stop()
	}
}

// add registers a watch; false when the loop has stopped.
func (w *guardWatches) add(token []byte, in workflows.GuardWatchInput) bool {
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	// A new attempt or a new run of the same guard replaces the entry;
	// the old token is stale (its attempt timed out or its run ended).
	w.entries[in.ConnectionID] = &watchEntry{token: token, in: in, until: now.Add(in.Span), nextLook: now.Add(in.Poll), lastBeat: now}
	return true
}

// watchHeld reports whether this process holds a watch of the
// connection's guard: its GuardWatch activity is outstanding, so its run
// is open (a run closed behind the worker's back is forgotten at the
// watch's next heartbeat, within a third of its timeout).
func (g *Guard) watchHeld(connectionID string) bool {
	return g.withWatch(connectionID, func(*watchEntry) {})
}

// watchLooked tells the connection's watch that its account was just
// looked at (the look after a fill): its next look is a poll from now,
// but not after its span ends (that look completes the watch, however
// often fills come). A look of its own running now is left alone.
func (g *Guard) watchLooked(connectionID string) {
	g.withWatch(connectionID, func(e *watchEntry) {
		if e.busy {
			return
		}
		e.nextLook = time.Now().Add(e.in.Poll)
		if e.nextLook.After(e.until) {
			e.nextLook = e.until
		}
	})
}

// withWatch runs f on the connection's watch, under the loop's lock, when
// this process holds one; it reports whether it does.
func (g *Guard) withWatch(connectionID string, f func(*watchEntry)) bool {
	g.watchMu.Lock()
	w := g.watching
	g.watchMu.Unlock()
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[connectionID]
	if !ok || w.closed {
		return false
	}
	f(e)
	return true
}

// run is the watch loop: every tick, each watch whose look or heartbeat is
// due gets one job (never two at once).
func (w *guardWatches) run() {
	defer w.wg.Done()
	t := time.NewTicker(watchTick)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var due []*watchEntry
		w.mu.Lock()
		for _, e := range w.entries {
			if !e.busy && (!now.Before(e.nextLook) || now.Sub(e.lastBeat) >= e.in.Heartbeat/3) {
				e.busy = true
				due = append(due, e)
			}
		}
		w.mu.Unlock()
		for _, e := range due {
			select {
			case w.sem <- struct{}{}:
			case <-w.ctx.Done():
				return
			}
			w.wg.Add(1)
			go func() {
				defer func() { <-w.sem; w.wg.Done() }()
				w.serve(e)
			}()
		}
	}
}

// serve runs what is due for one watch: its look (completing the watch
// when the look asks the workflow to act or the span is over), else its
// heartbeat.
func (w *guardWatches) serve(e *watchEntry) {
	keep := true
	defer func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		e.busy = false
		if !keep && w.entries[e.in.ConnectionID] == e {
			delete(w.entries, e.in.ConnectionID)
		}
	}()
	now := time.Now()
	log := w.g.Trading.log().With(zap.String("connection_id", e.in.ConnectionID))
	if !now.Before(e.nextLook) {
		ctx, cancel := context.WithTimeout(w.ctx, watchLookTimeout)
		res, err := w.g.GuardCheck(ctx, workflows.GuardRef{ConnectionID: e.in.ConnectionID, UserID: e.in.UserID, Reconcile: true})
		cancel()
		if w.ctx.Err() != nil {
			return // stopping: the watch is failed by stop
		}
		e.nextLook = time.Now().Add(e.in.Poll)
		if err != nil {
			log.Warn("account guard: look failed; retrying at the next poll", zap.Error(err))
			res = workflows.GuardCheckResult{}
		}
		if (err == nil && (res.Inactive || res.Flatten)) || !now.Before(e.until) {
			// Kept when the server did not take the result (a blink):
			// the next look, a poll later, completes it again.
			keep = !w.complete(e, res, nil)
			return
		}
	}
	if now.Sub(e.lastBeat) < e.in.Heartbeat/3 {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, watchRPCTimeout)
	err := w.g.Temporal.RecordActivityHeartbeat(ctx, e.token)
	cancel()
	var notFound *serviceerror.NotFound
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		e.lastBeat = now
	case errors.As(err, &notFound) || errors.As(err, &canceled):
		// The watch ended (its run closed, it was cancelled, or this
		// attempt timed out and another took over): forget it.
		keep = false
	case w.ctx.Err() == nil:
		log.Warn("account guard: watch heartbeat failed; retrying", zap.Error(err))
	}
}

// complete ends one watch with res or err; false when the server could
// not be told (the watch is still open there).
func (w *guardWatches) complete(e *watchEntry, res workflows.GuardCheckResult, err error) bool {
	ctx, cancel := context.WithTimeout(context.Background(), watchRPCTimeout)
	defer cancel()
	var out any = res
	if err != nil {
		out = nil
	}
	cerr := w.g.Temporal.CompleteActivity(ctx, e.token, out, err)
	var notFound *serviceerror.NotFound
	if cerr == nil || errors.As(cerr, &notFound) {
		return true // done, or the watch had ended already
	}
	w.g.Trading.log().Warn("account guard: completing a watch failed; trying again at the next look",
		zap.String("connection_id", e.in.ConnectionID), zap.Error(cerr))
	return false
}

// stop cancels the loop and its looks, then fails every watch still held.
func (w *guardWatches) stop() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
	w.mu.Lock()
	held := make([]*watchEntry, 0, len(w.entries))
	for _, e := range w.entries {
		held = append(held, e)
	}
	w.entries = map[string]*watchEntry{}
	w.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, e := range held {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			// Not told: the watch times out and is retried elsewhere.
			_ = w.complete(e, workflows.GuardCheckResult{}, errWorkerStopping())
		}()
	}
	wg.Wait()
}
