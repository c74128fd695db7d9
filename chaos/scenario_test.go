package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// A price-crash scenario: a risk trader (default loss rules: 5% daily
// limit, 8% circuit breaker) buys a symbol of its own, up to the max
// position; once its stop-loss works, the price gaps down so that the
// account loses 6.5% of its start equity (daily loss limit) or 10%
// (circuit breaker): the stop executes at the gap, the guard must reach
// the level, and a signal sent after that must be refused without an
// order at the broker. All of it while the round's other faults run.
const (
	crashLimitLoss   = 0.065
	crashBreakerLoss = 0.10
	crashStepWait    = 90 * time.Second
	crashPrice       = 100
)

type crashScenario struct {
	Round  int
	Kind   string
	Trader *trader
	Symbol string

	mu      sync.Mutex
	crashed bool   // the price was moved
	level   string // the guard's level once it reached the expected one
	locked  bool
	done    bool // the scenario finished its steps
	note    string
	after   []*sent
}

func (s *crashScenario) expected() risk.LossLevel {
	if s.Kind == faultBreaker {
		return risk.LossCircuitBreaker
	}
	return risk.LossLimit
}

func (s *crashScenario) state() (crashed, done bool, level string, locked bool, note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crashed, s.done, s.level, s.locked, s.note
}

func (s *crashScenario) finish(note string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	if note != "" {
		s.note = note
	}
}

// newRiskTrader stores a risk trader once no database fault of the round
// is in progress: its rows are the test's own setup, not the system under
// test, and a round may crash or lock the database at the same moment (CI
// saw the insert refused while PostgreSQL was down).
func (c *cluster) newRiskTrader(ctx context.Context) *trader {
	c.dbmu.Lock()
	defer c.dbmu.Unlock()
	return c.newTrader(ctx, true)
}

// runCrash runs one crash scenario and returns the signals it sent.
func (c *cluster) runCrash(round int, kind string, rnd *rand.Rand) []*sent {
	ctx := context.Background()
	tr := c.newRiskTrader(ctx)
	c.rmu.Lock()
	n := len(c.scenarios)
	sc := &crashScenario{Round: round, Kind: kind, Trader: tr, Symbol: fmt.Sprintf("CR%c%c", 'A'+n/26%26, 'A'+n%26)}
	c.riskTraders = append(c.riskTraders, tr)
	c.scenarios = append(c.scenarios, sc)
	c.rmu.Unlock()
	c.fake.SetPrice(sc.Symbol, decimal.NewFromInt(crashPrice))

	// The entry: far more than the max position allows, sized down to it.
	entry := &sent{Trader: tr, Round: round, Key: fmt.Sprintf("crash%d-entry", n), Copies: 1 + rnd.IntN(2),
		Body: webhookBody(sc.Symbol, `"action":"buy","quantity":1000,"type":"market"`, fmt.Sprintf("crash%d-entry", n))}
	out := []*sent{entry}
	c.deliver([]*sent{entry}, rnd)
	id, ok := entry.accepted()
	if !ok {
		sc.finish("entry not accepted (503): nothing to crash")
		return out
	}
	if !c.waitFor(crashStepWait, func() bool {
		var t schema.Trade
		return c.db.Select("status").Take(&t, "id = ?", id).Error == nil && trade.Status(t.Status).Terminal()
	}) {
		sc.finish("entry not finished within " + crashStepWait.String())
		return out
	}
	book := c.fake.Book(tr.KeyID)
	qty := book.Positions[sc.Symbol]
	if !qty.IsPositive() {
		sc.finish("entry did not fill: no position to crash")
		return out
	}
	// The stop first, so that the gap executes it.
	stopWorking := c.waitFor(crashStepWait, func() bool {
		for _, o := range c.fake.Book(tr.KeyID).Orders {
			if o.Symbol == sc.Symbol && strings.HasPrefix(o.ClientOrderID, "tes-") && o.Working() {
				return true
			}
		}
		return false
	})
	loss := crashLimitLoss
	if kind == faultBreaker {
		loss = crashBreakerLoss
	}
	value := qty.Mul(decimal.NewFromInt(crashPrice))
	drop := decimal.NewFromFloat(loss * startingCash).Div(value)
	if drop.GreaterThan(decimal.NewFromFloat(0.95)) {
		sc.finish(fmt.Sprintf("position worth %s is too small to lose %.1f%%", value, loss*100))
		return out
	}
	price := decimal.NewFromInt(crashPrice).Mul(decimal.NewFromInt(1).Sub(drop)).Round(2)
	c.prices.set(sc.Symbol, price)
	sc.mu.Lock()
	sc.crashed = true
	if !stopWorking {
		sc.note = "no working stop-loss when the price gapped"
	}
	sc.mu.Unlock()
	// At once, before the guard looked: PrepareOrder's own reading of the
	// account must refuse it.
	atOnce := c.refusedSignal(sc, n, "at-once", rnd)
	out = append(out, atOnce)

	var level string
	var locked bool
	reached := c.waitFor(crashStepWait, func() bool {
		var g schema.RiskGuard
		if c.db.Take(&g, "connection_id = ?", tr.ConnectionID).Error != nil {
			return false
		}
		var u schema.User
		if c.db.Select("locked").Take(&u, "id = ?", tr.UserID).Error != nil {
			return false
		}
		level, locked = g.Level, u.Locked
		return risk.LossLevel(g.Level).Severity() >= sc.expected().Severity()
	})
	sc.mu.Lock()
	sc.level, sc.locked = level, locked
	sc.mu.Unlock()
	if !reached {
		sc.finish("")
		return out
	}
	// Blocked: a new signal (and its duplicate) must be refused.
	after := c.refusedSignal(sc, n, "after", rnd)
	sc.finish("")
	return append(out, after)
}

// refusedSignal sends the scenario's trader a buy that the loss rules
// must refuse.
func (c *cluster) refusedSignal(sc *crashScenario, n int, name string, rnd *rand.Rand) *sent {
	key := fmt.Sprintf("crash%d-%s", n, name)
	s := &sent{Trader: sc.Trader, Round: sc.Round, Key: key, Copies: 1 + rnd.IntN(2), MustRefuse: true,
		Body: webhookBody(symbols[rnd.IntN(len(symbols))], `"action":"buy","quantity":1,"type":"market"`, key)}
	c.deliver([]*sent{s}, rnd)
	sc.mu.Lock()
	sc.after = append(sc.after, s)
	sc.mu.Unlock()
	return s
}

// waitFor polls cond every 200 ms until it holds or timeout passes.
func (c *cluster) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *cluster) scenarioOf(tr *trader) *crashScenario {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for _, sc := range c.scenarios {
		if sc.Trader == tr {
			return sc
		}
	}
	return nil
}

func (c *cluster) allScenarios() []*crashScenario {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return append([]*crashScenario(nil), c.scenarios...)
}

// checkScenarios: once a scenario's price crashed, the guard reached the
// expected loss level (the circuit breaker also locked the account, the
// daily limit did not overshoot to it), and a signal sent after that was
// refused without reaching the broker.
func (c *cluster) checkScenarios(round int, trades map[string]schema.Trade, v *violations) {
	for _, sc := range c.allScenarios() {
		crashed, done, level, locked, _ := sc.state()
		if !crashed || !done {
			continue
		}
		key := sc.Trader.UserID
		got := risk.LossLevel(level)
		switch {
		case got.Severity() < sc.expected().Severity():
			v.add(round, vRisk, "level:"+key, "%s (round %d): the guard's level is %q %s after the price gap, not %q", sc.Kind, sc.Round, level, crashStepWait, sc.expected())
		case sc.Kind == faultLossLimit && got == risk.LossCircuitBreaker:
			v.add(round, vRisk, "overshoot:"+key, "%s (round %d): a %.1f%% loss tripped the %d%% circuit breaker", sc.Kind, sc.Round, crashLimitLoss*100, breakerPct)
		case sc.Kind == faultBreaker && !locked:
			v.add(round, vRisk, "lock:"+key, "%s (round %d): circuit breaker reached but the account is not locked", sc.Kind, sc.Round)
		}
		sc.mu.Lock()
		after := append([]*sent(nil), sc.after...)
		sc.mu.Unlock()
		book := c.fake.Book(sc.Trader.KeyID)
		for _, s := range after {
			id, ok := s.accepted()
			if !ok {
				continue
			}
			t, ok := trades[id]
			if !ok {
				continue
			}
			for _, o := range book.Orders {
				if o.ClientOrderID == t.ClientOrderID {
					v.add(round, vRisk, "order:"+t.ID, "%s (round %d): signal %s sent after the price gap reached the broker (order %s)", sc.Kind, sc.Round, s.Key, o.ID)
				}
			}
			if st := trade.Status(t.Status); st.Terminal() && st != trade.StatusRejected {
				v.add(round, vRisk, "refused:"+t.ID, "%s (round %d): signal %s sent after the price gap ended %s, not rejected", sc.Kind, sc.Round, s.Key, st)
			}
		}
	}
}
