package ibkr

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// IBKR Campus, Web API v1.0, "Pacing Limitations": 10 requests a second
// through the CP Gateway; /iserver/account/orders, /iserver/account/trades
// and /portfolio/accounts 1 request per 5 seconds; snapshots 10 a second;
// /tickle 1 a second; a violator's IP in the penalty box for 10 minutes.
func TestDocumentedPacing(t *testing.T) {
	p := DocumentedPacing()
	want := map[string]time.Duration{
		pathLiveOrders: 5 * time.Second, pathTrades: 5 * time.Second, pathPortfolioAccounts: 5 * time.Second,
		pathSnapshot: 100 * time.Millisecond, pathTickle: time.Second,
	}
	for path, d := range want {
		if p.interval(path) != d {
			t.Errorf("%s: %s, want %s", path, p.interval(path), d)
		}
	}
	if p.PerSecond != 10 || p.globalInterval() != 100*time.Millisecond || p.PenaltyBox != 10*time.Minute {
		t.Errorf("pacing %+v", p)
	}
	s := p.Scaled(0.5)
	if s.interval(pathLiveOrders) != 2500*time.Millisecond || s.globalInterval() != 50*time.Millisecond || s.PenaltyBox != 5*time.Minute {
		t.Errorf("scaled %+v", s)
	}
	// The adapter waits out the documented penalty after a 429 by default.
	b, err := Factory()(broker.Config{Credentials: broker.Credentials{CredAccountID: "U1", CredBaseURL: "https://203.0.113.7:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.(*Adapter).c; c.penalty != 10*time.Minute || c.pacing.interval(pathLiveOrders) != 5*time.Second {
		t.Errorf("default client penalty %s, pacing %+v", c.penalty, c.pacing)
	}
}

// fakeTime is a clock whose sleep advances it.
type fakeTime struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeTime) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeTime) Sleep(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func TestPacerSpacesRequestsPerKey(t *testing.T) {
	clk := &fakeTime{now: time.Date(2025, 3, 5, 15, 0, 0, 0, time.UTC)}
	p := &pacer{now: clk.Now, sleep: clk.Sleep, next: map[string]time.Time{}}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := p.wait(ctx, "gw|orders", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	// The first goes at once, the others 5 s + 10% apart.
	if len(clk.slept) != 2 || clk.slept[0] != 5500*time.Millisecond || clk.slept[1] != 5500*time.Millisecond {
		t.Fatalf("slept %v", clk.slept)
	}
	// Other keys and unpaced paths do not wait.
	if err := p.wait(ctx, "other|orders", 5*time.Second); err != nil || len(clk.slept) != 2 {
		t.Fatalf("another gateway waited: %v %v", clk.slept, err)
	}
	if err := p.wait(ctx, "gw|summary", 0); err != nil || len(clk.slept) != 2 {
		t.Fatalf("an unpaced path waited: %v %v", clk.slept, err)
	}
	// A slot beyond the deadline is refused at once and not reserved.
	short, cancel := context.WithDeadline(ctx, clk.Now().Add(time.Second))
	defer cancel()
	if err := p.wait(short, "gw|orders", 5*time.Second); !errors.Is(err, errPacedTooLong) {
		t.Fatalf("wait past the deadline: %v", err)
	}
	if err := p.wait(ctx, "gw|orders", 5*time.Second); err != nil || clk.slept[len(clk.slept)-1] != 5500*time.Millisecond {
		t.Fatalf("after a refused wait: slept %v, %v", clk.slept, err)
	}
}

// Reads of the live orders are spaced by the endpoint's interval: the fake
// (enforcing IBKR's pacing, scaled) never answers 429, and the harness fails
// the test on any violation.
func TestAdapterPacesLiveOrders(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("1000"))
	b := h.open(t, id, base)
	start := time.Now()
	for i := 0; i < 3; i++ {
		if _, _, err := b.FindOrderByClientID(testCtx(t), "nothing-"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	reads := 0
	for _, r := range h.fake.RequestLog(base) {
		if r == "GET "+pathLiveOrders {
			reads++
		}
	}
	if min := time.Duration(reads-1) * testAdapterPacing.interval(pathLiveOrders); reads < 4 || time.Since(start) < min {
		t.Fatalf("%d reads in %s, want at least 4 spaced over %s", reads, time.Since(start), min)
	}
}

// After a 429 the gateway's IP may be in the penalty box: the adapter stops
// sending to that gateway (every adapter of the factory) for the penalty,
// failing at once with RATE_LIMIT_EXCEEDED when the deadline comes first,
// then carries on without a second violation.
func TestPenaltyBoxAfter429(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	const penalty = 1500 * time.Millisecond
	f.SetPacing(Pacing{Endpoints: map[string]time.Duration{pathLiveOrders: time.Second}, PenaltyBox: penalty})
	// The adapter does not pace (so that it breaks the fake's pacing) but
	// knows the penalty.
	factory := Factory(WithPrivateGateways(true), WithLimiter(ratelimit.New(600000)), WithPacing(Pacing{PenaltyBox: penalty}))
	id, base := f.NewAccount(dec("1000"))
	open := func() broker.Broker {
		b, err := factory(broker.Config{Credentials: broker.Credentials{CredAccountID: id, CredBaseURL: base}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	// Pre-flight and read back to back: the read is a violation.
	_, _, err := open().FindOrderByClientID(short(), "x")
	if broker.KindOf(err) != broker.KindRateLimited || f.Violations() != 1 || !f.InPenaltyBox(base) {
		t.Fatalf("find: %v; violations %d", err, f.Violations())
	}
	before := f.Requests()
	if _, err := open().GetBalance(short()); broker.KindOf(err) != broker.KindRateLimited {
		t.Fatalf("during the penalty: %v, want RATE_LIMIT_EXCEEDED", err)
	}
	if n := f.Requests() - before; n != 0 {
		t.Fatalf("%d requests sent to a gateway in the penalty box", n)
	}
	start := time.Now()
	if _, err := open().GetBalance(testCtx(t)); err != nil {
		t.Fatalf("after the penalty: %v", err)
	}
	if time.Since(start) < penalty/2 || f.Violations() != 1 {
		t.Fatalf("balance after %s, violations %d", time.Since(start), f.Violations())
	}
}

// The fake enforces pacing like IBKR: a request sooner than its endpoint's
// interval, or past the global rate, is answered 429 and the gateway
// refuses everything for the penalty.
func TestFakeEnforcesPacing(t *testing.T) {
	f := NewFake()
	t.Cleanup(f.Close)
	const scale = 2 // a second of pacing is 2 s here: slack for a loaded machine
	f.SetPacing(Pacing{PerSecond: 3, Endpoints: map[string]time.Duration{pathLiveOrders: 200 * time.Millisecond},
		PenaltyBox: 300 * time.Millisecond}.Scaled(scale))
	_, base := f.NewAccount(dec("1000"))
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("User-Agent", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	steps := []struct {
		path  string
		pause time.Duration
		want  int
	}{
		{"/iserver/accounts", 0, 200},
		{pathLiveOrders, 0, 200},
		{pathLiveOrders, 0, 429},      // 1 per 200 ms (scaled)
		{"/iserver/accounts", 0, 429}, // penalty box
		{pathLiveOrders, 1100 * time.Millisecond * scale, 200},
		{"/iserver/accounts", 0, 200},
		{"/iserver/accounts", 0, 200},
		{"/iserver/accounts", 0, 429}, // a fourth within the second
		{"/iserver/accounts", 1100 * time.Millisecond * scale, 200},
	}
	for i, s := range steps {
		time.Sleep(s.pause)
		if got := get(s.path); got != s.want {
			t.Fatalf("step %d %s: %d, want %d", i, s.path, got, s.want)
		}
	}
	if f.Violations() != 2 {
		t.Fatalf("violations %d, want 2", f.Violations())
	}
}
