package realtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

// fakeSender records what a socket received.
type fakeSender struct {
	mu     sync.Mutex
	frames []realtime.Frame // batches expanded
	raw    int              // writes
	code   int
	reason string
	full   bool
}

func (f *fakeSender) Send(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return errors.New("backlog full")
	}
	if f.code != 0 {
		return errors.New("closed")
	}
	var fr realtime.Frame
	if err := json.Unmarshal(b, &fr); err != nil {
		return err
	}
	f.raw++
	if fr.Type == realtime.FrameBatch {
		f.frames = append(f.frames, fr.Events...)
	} else {
		f.frames = append(f.frames, fr)
	}
	return nil
}

func (f *fakeSender) Close(code int, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.code == 0 {
		f.code, f.reason = code, reason
	}
}

func (f *fakeSender) snapshot() ([]realtime.Frame, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]realtime.Frame(nil), f.frames...), f.code
}

func (f *fakeSender) seqs() []int64 {
	frames, _ := f.snapshot()
	var out []int64
	for _, fr := range frames {
		if fr.Seq > 0 && fr.Type != realtime.EventStateSync {
			out = append(out, fr.Seq)
		}
	}
	return out
}

func (f *fakeSender) types() []string {
	frames, _ := f.snapshot()
	out := make([]string, len(frames))
	for i, fr := range frames {
		out[i] = fr.Type
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type hubOpts struct {
	notifier realtime.Notifier
	now      func() time.Time
	snapshot realtime.Snapshotter
	active   func(string)
}

func startHub(t *testing.T, db *gorm.DB, o hubOpts) *realtime.Hub {
	t.Helper()
	h := realtime.NewHub(realtime.HubConfig{DB: db, Notifier: o.notifier, Now: o.now, Snapshot: o.snapshot,
		SessionCheck: 100 * time.Millisecond, LagCheck: 200 * time.Millisecond, TailInterval: 10 * time.Millisecond,
		OnActive: o.active})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

func appendN(t *testing.T, db *gorm.DB, h *realtime.Hub, user string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		appendEvent(t, db, user, realtime.EventTradeSubmitted, map[string]any{"i": i})
		if h != nil {
			h.Committed(user)
		}
	}
}

func connect(h *realtime.Hub, user string, resume bool, last int64) (*realtime.Conn, *fakeSender) {
	s := &fakeSender{}
	c := h.Connect(realtime.ConnInfo{UserID: user, ExpiresAt: time.Now().Add(time.Hour), Resume: resume, LastSeq: last}, s)
	return c, s
}

func TestHubDeliversLiveEventsInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := startHub(t, db, hubOpts{})
		_, s := connect(h, "u1", true, 0)
		_, s2 := connect(h, "u1", true, 0) // a second tab
		appendN(t, db, h, "u1", 30)
		want := fmt.Sprint(seqRange(1, 30))
		eventually(t, "30 events in both tabs", func() bool {
			return fmt.Sprint(s.seqs()) == want && fmt.Sprint(s2.seqs()) == want
		})
	})
}

func TestHubConcurrentWritersStillGaplessPerSocket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := startHub(t, db, hubOpts{})
		_, s := connect(h, "u1", true, 0)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					_ = store.InTx(context.Background(), db, func(tx *gorm.DB) error {
						_, err := realtime.AppendEvent(tx, "u1", realtime.EventTradeFilled, nil)
						return err
					})
					h.Committed("u1")
				}
			}()
		}
		wg.Wait()
		eventually(t, "40 events", func() bool { return fmt.Sprint(s.seqs()) == fmt.Sprint(seqRange(1, 40)) })
	})
}

func TestHubReplaysExactlyTheGap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := startHub(t, db, hubOpts{})
		appendN(t, db, nil, "u1", 7)
		_, s := connect(h, "u1", true, 4)
		eventually(t, "replay 5..7", func() bool { return fmt.Sprint(s.seqs()) == fmt.Sprint(seqRange(5, 7)) })
		appendN(t, db, h, "u1", 1)
		eventually(t, "then live 8", func() bool { return fmt.Sprint(s.seqs()) == fmt.Sprint(seqRange(5, 8)) })
		if s.raw != 2 {
			t.Errorf("replay took %d writes, want one batch + one event", s.raw)
		}

		// Up to date: nothing is replayed.
		_, s2 := connect(h, "u1", true, 8)
		appendN(t, db, h, "u1", 1)
		eventually(t, "only 9", func() bool { return fmt.Sprint(s2.seqs()) == "[9]" })
	})
}

func TestHubStateSyncWhenGapIsPastRetentionOrUnknown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		snap := func(ctx context.Context, user string) (any, int64, error) {
			seq, err := realtime.LastSeq(ctx, db, user)
			return map[string]any{"user": user, "full": true}, seq, err
		}
		h := startHub(t, db, hubOpts{snapshot: snap})
		appendN(t, db, nil, "u1", 5)
		// Events 1..3 fall out of retention.
		if err := db.Where("user_id = ? AND seq <= ?", "u1", 3).Delete(&schema.OutboxEvent{}).Error; err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			resume bool
			last   int64
		}{
			{"gap past retention", true, 1},
			{"no lastSeq", false, 0},
			{"client ahead of server", true, 99},
		}
		for _, tc := range cases {
			_, s := connect(h, "u1", tc.resume, tc.last)
			eventually(t, tc.name+": state.sync", func() bool {
				frames, _ := s.snapshot()
				return len(frames) == 1 && frames[0].Type == realtime.EventStateSync && frames[0].Seq == 5
			})
		}
		// After a state.sync the socket continues live from its seq.
		_, s := connect(h, "u1", false, 0)
		eventually(t, "sync", func() bool { return len(s.types()) == 1 })
		appendN(t, db, h, "u1", 2)
		eventually(t, "6,7 after sync", func() bool { return fmt.Sprint(s.seqs()) == "[6 7]" })
	})
}

func TestHubLargeGapGetsStateSync(t *testing.T) {
	db, _ := storetest.Open(t)
	h := realtime.NewHub(realtime.HubConfig{DB: db, MaxReplay: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	appendN(t, db, nil, "u1", 5)
	_, s := connect(h, "u1", true, 1)
	eventually(t, "state.sync", func() bool {
		types := s.types()
		return len(types) == 1 && types[0] == realtime.EventStateSync
	})
	_, s2 := connect(h, "u1", true, 2)
	eventually(t, "replay 3..5", func() bool { return fmt.Sprint(s2.seqs()) == "[3 4 5]" })
}

// Invariant 5: with many users connected, each receives only their own
// events.
func TestHubIsolatesUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := startHub(t, db, hubOpts{})
		const users = 25
		senders := map[string]*fakeSender{}
		for i := 0; i < users; i++ {
			u := fmt.Sprintf("user-%02d", i)
			_, senders[u] = connect(h, u, true, 0)
		}
		var wg sync.WaitGroup
		for i := 0; i < users; i++ {
			u := fmt.Sprintf("user-%02d", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j <= i%4; j++ {
					_ = store.InTx(context.Background(), db, func(tx *gorm.DB) error {
						_, err := realtime.AppendEvent(tx, u, realtime.EventBalanceChanged, map[string]string{"owner": u})
						return err
					})
					h.Committed(u)
				}
			}()
		}
		wg.Wait()
		for i := 0; i < users; i++ {
			u := fmt.Sprintf("user-%02d", i)
			s := senders[u]
			eventually(t, u+" events", func() bool { return len(s.seqs()) == i%4+1 })
			frames, _ := s.snapshot()
			for _, fr := range frames {
				var p map[string]string
				if fr.Seq > 0 {
					if err := json.Unmarshal(fr.Data, &p); err != nil || p["owner"] != u {
						t.Fatalf("%s received %s", u, fr.Data)
					}
				}
			}
		}
	})
}

func TestHubTailWakesWithoutCommittedHook(t *testing.T) {
	db, _ := storetest.Open(t)
	h := startHub(t, db, hubOpts{})
	_, s := connect(h, "u1", true, 0)
	appendN(t, db, nil, "u1", 3) // no Committed call
	eventually(t, "events via the outbox tail", func() bool { return fmt.Sprint(s.seqs()) == "[1 2 3]" })
}

func TestHubTokenExpiry(t *testing.T) {
	db, _ := storetest.Open(t)
	clk := &clock{t: time.Now().UTC()}
	h := startHub(t, db, hubOpts{now: clk.Now})
	s := &fakeSender{}
	c := h.Connect(realtime.ConnInfo{UserID: "u1", ExpiresAt: clk.Now().Add(10 * time.Minute), Resume: true}, s)
	s2 := &fakeSender{}
	h.Connect(realtime.ConnInfo{UserID: "u1", ExpiresAt: clk.Now().Add(10 * time.Minute), Resume: true}, s2)

	clk.Add(6 * time.Minute) // 4 minutes left
	eventually(t, "token.expiring", func() bool {
		types := s.types()
		return len(types) == 1 && types[0] == realtime.EventTokenExpiring
	})
	// The first socket renews; the second does not.
	h.Reauthorize(c, "", clk.Now().Add(time.Hour))
	clk.Add(5 * time.Minute)
	eventually(t, "un-renewed socket closed", func() bool {
		_, code := s2.snapshot()
		return code == realtime.CloseSessionExpired
	})
	if _, code := s.snapshot(); code != 0 {
		t.Fatalf("renewed socket closed with %d", code)
	}
	if s2.reason != realtime.ReasonSessionExpired {
		t.Errorf("reason %q", s2.reason)
	}
	if n := len(s.types()); n != 1 {
		t.Errorf("renewed socket got %d frames, want only the first warning", n)
	}
}

func TestHubSignOutClosesEveryTabOfTheUser(t *testing.T) {
	db, _ := storetest.Open(t)
	h := startHub(t, db, hubOpts{})
	_, a := connect(h, "u1", true, 0)
	_, b := connect(h, "u1", true, 0)
	_, other := connect(h, "u2", true, 0)
	if err := h.SignOut(context.Background(), "u1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both tabs closed", func() bool {
		_, ca := a.snapshot()
		_, cb := b.snapshot()
		return ca == realtime.CloseSignedOut && cb == realtime.CloseSignedOut
	})
	if _, c := other.snapshot(); c != 0 {
		t.Fatal("another user's socket was closed")
	}
}

func TestHubClosesSocketsOfEndedSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		user := uuid.NewString()
		now := time.Now().UTC()
		require(t, db.Create(&schema.User{ID: user, Role: "trader", CreatedAt: now}).Error)
		sess := schema.Session{ID: uuid.NewString(), UserID: user, Kind: "browser", Provider: "password", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		require(t, db.Create(&sess).Error)
		h := startHub(t, db, hubOpts{})
		s := &fakeSender{}
		h.Connect(realtime.ConnInfo{UserID: user, SessionID: sess.ID, ExpiresAt: now.Add(time.Hour), Resume: true}, s)
		time.Sleep(300 * time.Millisecond)
		if _, code := s.snapshot(); code != 0 {
			t.Fatalf("live session closed: %d", code)
		}
		require(t, db.Model(&schema.Session{}).Where("id = ?", sess.ID).Update("revoked_at", now).Error)
		eventually(t, "socket closed after logout", func() bool {
			_, code := s.snapshot()
			return code == realtime.CloseSignedOut
		})
	})
}

func TestHubClosesSlowConsumers(t *testing.T) {
	db, _ := storetest.Open(t)
	h := startHub(t, db, hubOpts{})
	_, s := connect(h, "u1", true, 0)
	_, ok := connect(h, "u1", true, 0)
	s.mu.Lock()
	s.full = true
	s.mu.Unlock()
	appendN(t, db, h, "u1", 2)
	eventually(t, "slow socket closed, other served", func() bool {
		_, code := s.snapshot()
		return code == realtime.CloseTryAgain && fmt.Sprint(ok.seqs()) == "[1 2]"
	})
}

func TestHubOnActive(t *testing.T) {
	db, _ := storetest.Open(t)
	got := make(chan string, 4)
	h := startHub(t, db, hubOpts{active: func(u string) { got <- u }})
	connect(h, "u1", true, 0)
	connect(h, "u1", true, 0)
	select {
	case u := <-got:
		if u != "u1" {
			t.Fatal(u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnActive not called at connect")
	}
	select {
	case u := <-got:
		t.Fatalf("second tab triggered another sync for %s", u)
	case <-time.After(200 * time.Millisecond):
	}
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func require(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newSession(t *testing.T, db *gorm.DB) (user, session string) {
	t.Helper()
	user = uuid.NewString()
	now := time.Now().UTC()
	require(t, db.Create(&schema.User{ID: user, Role: "trader", CreatedAt: now}).Error)
	sess := schema.Session{ID: uuid.NewString(), UserID: user, Kind: "browser", Provider: "password", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require(t, db.Create(&sess).Error)
	return user, sess.ID
}
