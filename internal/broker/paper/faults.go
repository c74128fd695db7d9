package paper

import (
	"context"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Faults are failures injected into one account's PlaceOrder, for tests of
// the trade path's failure handling. They act in this process only.
type Faults struct {
	// FailPlace fails the next n PlaceOrder calls with KindUnavailable (the
	// paper equivalent of an HTTP 503) before they reach the account.
	FailPlace int
	// DropPlaceResponse makes the next n PlaceOrder calls create the order
	// and then fail with KindUnavailable, as if the response was lost.
	DropPlaceResponse int
	// FailFind fails the next n FindOrderByClientID calls with
	// KindUnavailable (the broker's order lookup is down).
	FailFind int
	// Block, when not nil, holds every PlaceOrder call until it is closed or
	// the call's context ends (then the call fails with KindUnavailable).
	Block <-chan struct{}
	// BlockAfterCreate moves the Block wait to after the order is created.
	BlockAfterCreate bool
	// AfterCreate, when not nil, runs inside every PlaceOrder's update of
	// the account once its new order is created and matched the first
	// time: no other matching pass on the account runs before it returns,
	// so a test can move the market right after a placement's first fill.
	// It may run again if the update is retried.
	AfterCreate func()
	// Duplicates is what PlaceOrder does with a client order id already
	// used on the account. The default answers with the existing order,
	// which hides a caller that forgot to look its order up first; the
	// other policies behave like brokers that do not de-duplicate, so that
	// lookup is what a test exercises.
	Duplicates DuplicatePolicy
	// FailPair fails the next n PlaceExitPair and FindExitPair calls with
	// KindUnavailable before they reach the account.
	FailPair int
	// DropPairResponse makes the next n PlaceExitPair calls create the
	// pair and then fail with KindUnavailable (the answer was lost).
	DropPairResponse int
}

// DuplicatePolicy says how PlaceOrder treats a reused client order id.
type DuplicatePolicy int

const (
	// DuplicatesReturnExisting answers with the order already placed under
	// the id; no second order is created (the default).
	DuplicatesReturnExisting DuplicatePolicy = iota
	// DuplicatesAccept places a second order under the same id, as a
	// broker that does not enforce unique client ids would.
	DuplicatesAccept
	// DuplicatesReject refuses the order (KindRejected), as a broker that
	// enforces unique ids answers a second order under one.
	DuplicatesReject
)

// InjectFaults replaces the account's injected faults; Faults{} clears them.
func (e *Engine) InjectFaults(accountID string, f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[accountID] = &f
}

// PlaceCalls is how many times PlaceOrder was called for the account in
// this process, including failed calls.
func (e *Engine) PlaceCalls(accountID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[accountID]
}

// placeFaults is what the injected faults decide for one PlaceOrder call.
type placeFaults struct {
	fail, drop  bool
	block       <-chan struct{}
	blockBefore bool
	duplicates  DuplicatePolicy
	afterCreate func()
}

// startPlace counts a PlaceOrder call and consumes its share of the
// injected faults.
func (e *Engine) startPlace(accountID string) placeFaults {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[accountID]++
	f := e.faults[accountID]
	if f == nil {
		return placeFaults{}
	}
	pf := placeFaults{block: f.Block, blockBefore: !f.BlockAfterCreate, duplicates: f.Duplicates, afterCreate: f.AfterCreate}
	switch {
	case f.FailPlace > 0:
		f.FailPlace--
		pf.fail = true
	case f.DropPlaceResponse > 0:
		f.DropPlaceResponse--
		pf.drop = true
	}
	return pf
}

// pairFaults consumes one PlaceExitPair/FindExitPair call's share of the
// injected faults (drop only applies to placements).
func (e *Engine) pairFaults(accountID string, placing bool) (fail, drop bool, dup DuplicatePolicy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.faults[accountID]
	if f == nil {
		return false, false, DuplicatesReturnExisting
	}
	switch {
	case f.FailPair > 0:
		f.FailPair--
		return true, false, f.Duplicates
	case placing && f.DropPairResponse > 0:
		f.DropPairResponse--
		return false, true, f.Duplicates
	}
	return false, false, f.Duplicates
}

// failFind consumes one injected FindOrderByClientID failure, if any.
func (e *Engine) failFind(accountID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.faults[accountID]
	if f == nil || f.FailFind <= 0 {
		return false
	}
	f.FailFind--
	return true
}

func errInjectedUnavailable() error {
	return brokerErr(broker.KindUnavailable, "the paper broker is temporarily unavailable")
}

// wait blocks until ch is closed or ctx ends.
func wait(ctx context.Context, ch <-chan struct{}) error {
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return broker.NewError(Name, broker.KindUnavailable, "request to the paper broker was interrupted", ctx.Err())
	}
}

// errDuplicateClientID is DuplicatesReject's answer.
func errDuplicateClientID(clientOrderID string) error {
	return brokerErr(broker.KindRejected, "client order id %s is already in use on this account", printable(clientOrderID))
}
