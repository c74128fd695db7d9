package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Store is a budget shared by every process that uses the same store: the
// database (package dblimit) across replicas, or Memory within one process.
// A broker's limit holds for all of them together, not per process.
type Store interface {
	// Reserve takes every cost at the time now answers, all or none. When
	// one does not fit (budget used, or its key paused) nothing is taken and
	// wait says how long to wait before trying again. A banned key answers
	// *BannedError.
	//
	// The store reads now once it holds the keys (a row lock, a mutex), not
	// when Reserve is called: a caller kept waiting by another process for
	// longer than a window would otherwise be counted in the past, where the
	// callers after it no longer look, while its request goes out now.
	Reserve(ctx context.Context, now func() time.Time, costs []Cost) (wait time.Duration, err error)
	// Pause makes every request for key wait until until (a broker's
	// Retry-After). A later pause already set is kept.
	Pause(ctx context.Context, key string, until time.Time) error
	// Ban refuses every request for key until until (an exchange's IP
	// ban): Reserve answers *BannedError instead of waiting.
	Ban(ctx context.Context, key string, until time.Time, reason string) error
}

// ErrBanned matches every *BannedError (errors.Is).
var ErrBanned = errors.New("requests are banned")

// BannedError is the answer for a key under a ban: nothing may be sent
// until Until.
type BannedError struct {
	Key    string
	Until  time.Time
	Reason string
}

func (e *BannedError) Error() string {
	msg := fmt.Sprintf("requests for %s are banned until %s", e.Key, e.Until.UTC().Format(time.RFC3339))
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Is makes errors.Is(err, ErrBanned) true.
func (e *BannedError) Is(target error) bool { return target == ErrBanned }

// ErrOverBudget is returned for a single request heavier than the whole
// budget of its rule: it could never be sent.
var ErrOverBudget = errors.New("request weight exceeds the whole rate budget")

// State is what a Store keeps per key.
type State struct {
	Usage       Usage
	WaitUntil   time.Time
	BannedUntil time.Time
	BanReason   string
}

// ReserveStates is the one decision every Store makes, on the states of the
// keys of costs (locked by the caller): a ban refuses, a pause or a full
// window waits, otherwise every cost is taken. It reports whether states
// changed.
func ReserveStates(now time.Time, states map[string]*State, costs []Cost) (wait time.Duration, changed bool, err error) {
	for _, c := range costs {
		st := states[c.Key]
		if now.Before(st.BannedUntil) {
			return 0, false, &BannedError{Key: c.Key, Until: st.BannedUntil, Reason: st.BanReason}
		}
		if c.Weight > c.Rule.Budget() {
			return 0, false, fmt.Errorf("%w: %s weight %d, budget %d", ErrOverBudget, c.Key, c.Weight, c.Rule.Budget())
		}
	}
	for _, c := range costs {
		st := states[c.Key]
		if d := st.WaitUntil.Sub(now); d > wait {
			wait = d
		}
	}
	// Several costs on one key (not expected) must fit together: check on
	// copies taken in order.
	trial := map[string]*Usage{}
	for _, c := range costs {
		u := trial[c.Key]
		if u == nil {
			cp := states[c.Key].Usage.clone()
			u = &cp
			trial[c.Key] = u
		}
		if ok, d := u.take(now, c.Rule, max(1, c.Weight), true); !ok && d > wait {
			wait = d
		}
	}
	if wait > 0 {
		return wait, false, nil
	}
	for k, u := range trial {
		states[k].Usage = *u
	}
	return 0, len(trial) > 0, nil
}

func (u Usage) clone() Usage {
	c := Usage{SlotMillis: u.SlotMillis, Slots: make(map[int64]int, len(u.Slots))}
	for i, n := range u.Slots {
		c.Slots[i] = n
	}
	return c
}

// SortedKeys returns the distinct keys of costs in order (the lock order of
// a database Store, so two reservations never deadlock).
func SortedKeys(costs []Cost) []string {
	seen := map[string]bool{}
	var keys []string
	for _, c := range costs {
		if !seen[c.Key] {
			seen[c.Key] = true
			keys = append(keys, c.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// Memory is a Store within one process (no database configured, tests).
type Memory struct {
	mu     sync.Mutex
	states map[string]*State
}

// NewMemory returns an empty in-process Store.
func NewMemory() *Memory { return &Memory{states: map[string]*State{}} }

func (m *Memory) state(key string) *State {
	st := m.states[key]
	if st == nil {
		st = &State{}
		m.states[key] = st
	}
	return st
}

// Reserve implements Store.
func (m *Memory) Reserve(_ context.Context, now func() time.Time, costs []Cost) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	states := map[string]*State{}
	for _, k := range SortedKeys(costs) {
		states[k] = m.state(k)
	}
	wait, _, err := ReserveStates(now(), states, costs)
	return wait, err
}

// Pause implements Store.
func (m *Memory) Pause(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.state(key); until.After(st.WaitUntil) {
		st.WaitUntil = until
	}
	return nil
}

// Ban implements Store.
func (m *Memory) Ban(_ context.Context, key string, until time.Time, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.state(key); until.After(st.BannedUntil) {
		st.BannedUntil, st.BanReason = until, reason
	}
	return nil
}
