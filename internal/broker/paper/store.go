package paper

import (
	"bytes"
	"context"
	"sort"
	"sync"
)

// Store persists paper accounts. Implementations must be safe for concurrent
// use, and Update must be atomic across every process sharing the store.
type Store interface {
	// Create stores a new account; created is false (and nothing changes)
	// when an account with that id already exists.
	Create(ctx context.Context, st AccountState) (created bool, err error)
	// Load returns the account, or an error wrapping ErrAccountNotFound.
	Load(ctx context.Context, accountID string) (AccountState, error)
	// Update atomically reads the account, applies fn and writes the result.
	// fn may run more than once (after a write conflict) and must not have
	// effects outside the state it is given. An error from fn aborts the
	// update and is returned unchanged. A missing account yields an error
	// wrapping ErrAccountNotFound.
	Update(ctx context.Context, accountID string, fn func(*AccountState) error) error
	// ListWorking returns the accounts that have at least one working
	// order, for the matching loop.
	ListWorking(ctx context.Context) ([]AccountState, error)
}

// MemoryStore is a Store in process memory, for tests and single-process
// development. Accounts are kept serialised, so no caller ever shares memory
// with the store.
type MemoryStore struct {
	mu       sync.Mutex
	accounts map[string][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{accounts: map[string][]byte{}}
}

// Create implements Store.
func (m *MemoryStore) Create(ctx context.Context, st AccountState) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.accounts[st.ID]; ok {
		return false, nil
	}
	b, err := encodeState(&st)
	if err != nil {
		return false, err
	}
	m.accounts[st.ID] = b
	return true, nil
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context, accountID string) (AccountState, error) {
	if err := ctx.Err(); err != nil {
		return AccountState{}, err
	}
	m.mu.Lock()
	b, ok := m.accounts[accountID]
	m.mu.Unlock()
	if !ok {
		return AccountState{}, ErrAccountNotFound
	}
	return decodeState(b)
}

// Update implements Store.
func (m *MemoryStore) Update(ctx context.Context, accountID string, fn func(*AccountState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.accounts[accountID]
	if !ok {
		return ErrAccountNotFound
	}
	st, err := decodeState(old)
	if err != nil {
		return err
	}
	if err := fn(&st); err != nil {
		return err
	}
	b, err := encodeState(&st)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, old) {
		m.accounts[accountID] = b
	}
	return nil
}

// ListWorking implements Store.
func (m *MemoryStore) ListWorking(ctx context.Context) ([]AccountState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	ids := make([]string, 0, len(m.accounts))
	for id, b := range m.accounts {
		if bytes.HasPrefix(b, workingPrefix) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	raw := make([][]byte, len(ids))
	for i, id := range ids {
		raw[i] = m.accounts[id]
	}
	m.mu.Unlock()
	out := make([]AccountState, 0, len(raw))
	for _, b := range raw {
		st, err := decodeState(b)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// workingPrefix starts the JSON of every account with a working order
// (AccountState.Working is its first field).
var workingPrefix = []byte(`{"working":true,`)
