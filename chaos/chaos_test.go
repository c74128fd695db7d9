package chaos

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/store"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(workerEnv); cfg != "" {
		os.Exit(runWorker(cfg))
	}
	os.Exit(m.Run())
}

// defaultRounds per database.
const defaultRounds = 30

// TestChaosTradePath runs the chaos rounds on SQLite and on a PostgreSQL
// cluster of its own. CHAOS_ROUNDS (default 30), CHAOS_SEED (default: the
// clock), CHAOS_DATABASES ("sqlite,postgres") and CHAOS_FAULTS (fault ids,
// faultIDs) tune it. The summary
// table goes to stdout (`make chaos` shows it).
func TestChaosTradePath(t *testing.T) {
	rounds := envInt("CHAOS_ROUNDS", defaultRounds)
	seed := uint64(envInt("CHAOS_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	fmt.Printf("chaos: %d rounds per database, seed %d (CHAOS_SEED=%d reproduces the fault schedule)\n", rounds, seed, seed)
	var reports []*report
	for i, d := range chaosDatabases(t) {
		t.Run(string(d), func(t *testing.T) {
			rep := &report{Database: string(d), Faults: map[string]int{}, Violations: map[string]int{}}
			reports = append(reports, rep)
			runChaos(t, d, rounds, seed+uint64(i), rep)
		})
	}
	fmt.Println(renderTable(reports))
}

// chaosDatabases: CHAOS_DATABASES, default both.
func chaosDatabases(t *testing.T) []store.Dialect {
	spec := os.Getenv("CHAOS_DATABASES")
	if spec == "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	var out []store.Dialect
	for _, s := range strings.Split(spec, ",") {
		switch d := store.Dialect(strings.TrimSpace(s)); d {
		case store.SQLite, store.Postgres:
			out = append(out, d)
		default:
			t.Fatalf("CHAOS_DATABASES: unknown database %q (sqlite, postgres)", s)
		}
	}
	return out
}

func runChaos(t *testing.T, dialect store.Dialect, rounds int, seed uint64, rep *report) {
	c := newCluster(t, dialect, seed, 2)
	defer c.stopTemporal()
	v := newViolations(t)
	rnd := rand.New(rand.NewPCG(seed, seed*31+7))
	kinds := faultKinds(t, dialect)
	var all []*sent
	for r := 1; r <= rounds; r++ {
		plan := []string{kinds[(r-1)%len(kinds)]}
		if extra := kinds[rnd.IntN(len(kinds))]; extra != plan[0] && rnd.IntN(2) == 0 {
			plan = append(plan, extra)
		}
		start := time.Now()
		c.plans = append(c.plans, strings.Join(plan, " + "))
		batch := c.signals(r, rnd)
		stopWalk := make(chan struct{})
		walked := make(chan struct{})
		go func() { defer close(walked); c.prices.walk(stopWalk) }()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var extras []*sent // the crash scenarios' signals
		wg.Add(1)
		go func(seed uint64) { defer wg.Done(); c.deliver(batch, rand.New(rand.NewPCG(seed, seed))) }(rnd.Uint64())
		for _, f := range plan {
			wg.Add(1)
			delay := time.Duration(rnd.IntN(1500)) * time.Millisecond
			own := rand.New(rand.NewPCG(rnd.Uint64(), rnd.Uint64()))
			go func(f string) {
				defer wg.Done()
				time.Sleep(delay)
				extra := c.inject(r, f, own)
				mu.Lock()
				extras = append(extras, extra...)
				mu.Unlock()
			}(f)
			rep.Faults[f]++
		}
		wg.Wait()
		close(stopWalk)
		<-walked
		batch = append(batch, extras...)
		for _, s := range batch {
			if s.Copies > 1 {
				if s.Channel {
					rep.Faults[dupDiscord]++
				} else {
					rep.Faults[dupWebhook]++
				}
			}
		}
		all = append(all, batch...)
		c.settle(all, 90*time.Second)
		st := c.check(r, all, v)
		rep.Rounds++
		fmt.Printf("%s round %d (%s) in %s: %d signals, %d trades (%d ended, %d in flight), %d entry orders, %d stops executed; violations so far %v\n",
			dialect, r, strings.Join(plan, " + "), time.Since(start).Round(time.Millisecond), len(batch), st.Trades, st.Terminal, st.InFlight,
			st.book.EntryOrders, st.book.StopsExecuted, v.byKindCopy())
	}

	// The drain: no more faults or price moves; everything in flight ends.
	c.drain(3 * time.Minute)
	st := c.check(finalRound, all, v)
	c.summarize(rep, all, st, v)
	c.assertWorkDone(t, rep)
}

// summarize fills the report.
func (c *cluster) summarize(rep *report, all []*sent, st roundStats, v *violations) {
	rep.Signals = len(all)
	for _, s := range all {
		_, ok := s.accepted()
		switch {
		case ok:
			rep.Accepted++
		default:
			rep.NotAccepted++
		}
		if s.Channel {
			rep.ChannelPosted++
			if ok {
				rep.ChannelFired++
			}
		}
	}
	reasons := map[string]int{}
	if trades, err := c.trades(c.everyone()); err == nil {
		rep.Trades = len(trades)
		for _, t := range trades {
			switch t.Status {
			case "filled":
				rep.Filled++
			case "rejected":
				rep.Rejected++
				reasons[reasonOf(t.ErrorMessage)]++
			case "cancelled":
				rep.Cancelled++
				reasons["cancelled: "+reasonOf(t.ErrorMessage)]++
			}
		}
	}
	for r, n := range reasons {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%3d × %s", n, r))
	}
	rep.EntryOrders, rep.BrokerFills, rep.StopsExecuted = st.book.EntryOrders, st.book.Fills, st.book.StopsExecuted
	for _, sc := range c.allScenarios() {
		switch _, _, level, _, note := sc.state(); level {
		case "limit":
			rep.DailyLimits++
		case "circuit_breaker":
			rep.Breakers++
		default:
			if note != "" {
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s (round %d): %s", sc.Kind, sc.Round, note))
			}
		}
	}
	for _, s := range all {
		if _, ok := s.accepted(); s.Channel && !ok {
			told := "the channel was told it was not executed"
			if !c.answered(s.Key) {
				told = "no answer"
			}
			rep.Notes = append(rep.Notes, fmt.Sprintf("channel message %s (round %d: %s) not executed: %s", s.Key, s.Round, c.plan(s.Round), told))
		}
	}
	for _, tr := range c.traders {
		rep.Reconnects += tr.ws.reconnected()
	}
	rep.BrokerFaults, rep.Workers, rep.PriceMoves = c.proxy.served(), c.workerN, c.prices.count()
	for _, k := range violationKinds {
		rep.Violations[k] = v.count(k)
	}
	rep.Notes = append(rep.Notes, v.list()...)
}

// crashesMoved counts the crash scenarios of kind whose price was moved.
func (c *cluster) crashesMoved(kind string) int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	n := 0
	for _, sc := range c.scenarios {
		if crashed, _, _, _, _ := sc.state(); crashed && sc.Kind == kind {
			n++
		}
	}
	return n
}

// assertWorkDone fails a run that proved nothing: no signal accepted, no
// fill, no fault served, or a loss rule scheduled and never reached.
func (c *cluster) assertWorkDone(t *testing.T, rep *report) {
	if rep.Accepted == 0 {
		t.Errorf("no signal was accepted")
	}
	if rep.BrokerFills == 0 {
		t.Errorf("no order filled at the broker")
	}
	if rep.Faults[faultBroker503]+rep.Faults[faultBroker429]+rep.Faults[faultBrokerTimeout]+rep.Faults[faultBrokerDrop] > 0 && rep.BrokerFaults == 0 {
		t.Errorf("broker faults were planned, the proxy served none")
	}
	// A crash counts once its price moved: a scenario whose entry the
	// loaded system answered 503 (nothing stored, nothing to crash) proves
	// nothing either way.
	lossCrashes, breakerCrashes := c.crashesMoved(faultLossLimit), c.crashesMoved(faultBreaker)
	if lossCrashes > 0 && rep.DailyLimits == 0 {
		t.Errorf("%d daily-loss-limit crashes, the limit was never reached", lossCrashes)
	}
	if breakerCrashes > 0 && rep.Breakers == 0 {
		t.Errorf("%d circuit-breaker crashes, the breaker never tripped", breakerCrashes)
	}
	if lossCrashes+breakerCrashes > 0 && rep.StopsExecuted == 0 {
		t.Errorf("prices crashed and moved, no stop-loss ever executed")
	}
	if rep.Faults[faultTemporalKill] > 0 && c.temporalKills == 0 {
		t.Errorf("the Temporal server was never SIGKILLed")
	}
	if c.pg != nil && rep.Faults[faultDBCrash] != c.pg.crashed() {
		t.Errorf("%d PostgreSQL crashes planned, %d done", rep.Faults[faultDBCrash], c.pg.crashed())
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// reasonOf shortens a trade's message to its first sentence, without
// numbers, to count rejections by reason.
func reasonOf(msg string) string {
	if i := strings.IndexAny(msg, ".:("); i > 0 {
		msg = msg[:i]
	}
	msg = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, msg)
	if len(msg) > 90 {
		msg = msg[:90]
	}
	if msg == "" {
		return "(no message)"
	}
	return msg
}

// plan names the faults of round r.
func (c *cluster) plan(r int) string {
	if r < 1 || r > len(c.plans) {
		return "?"
	}
	return c.plans[r-1]
}
