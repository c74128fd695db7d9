package paper

import (
	"sort"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Trading halts (SPEC edge case 1) in the paper broker: while a symbol is
// halted, a new order for it is refused with MARKET_HALTED (so the trade
// waits in market_halted and is submitted again), and working orders in it
// do not fill. Halts are a control of this process's Engine (tests, the dev
// server), held in memory: they are not account state and do not reach
// the Store, so other processes sharing the store do not see them.

// SetHalted halts (true) or resumes (false) trading in symbol ("AAPL",
// "BTC-USD", "BTCUSD"). A malformed symbol is a KindInvalidSymbol error.
func (e *Engine) SetHalted(symbol string, halted bool) error {
	sym, err := CanonicalSymbol(symbol, classOf(symbol))
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !halted {
		delete(e.halted, sym)
		return nil
	}
	if e.halted == nil {
		e.halted = map[string]bool{}
	}
	e.halted[sym] = true
	return nil
}

// Halted lists the halted symbols, sorted.
func (e *Engine) Halted() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]string, 0, len(e.halted))
	for s := range e.halted {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// isHalted reports whether a canonical symbol is halted.
func (e *Engine) isHalted(symbol string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.halted[symbol]
}

// haltedSet is a copy of the halted symbols for one matching pass, nil when
// none is halted.
func (e *Engine) haltedSet() map[string]bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.halted) == 0 {
		return nil
	}
	out := make(map[string]bool, len(e.halted))
	for s := range e.halted {
		out[s] = true
	}
	return out
}

func errHalted(symbol string) error {
	return brokerErr(broker.KindHalted, "trading in %s is halted; the order was not accepted", symbol)
}
