package schwab

import (
	"context"
	"sync"
)

// Schwab orders carry no client order id: the Trader API has no field for
// one (the order's "tag" is set by Schwab, not by the client). The adapter
// therefore records which Schwab order belongs to which client order id in a
// ClaimStore, and after a lost answer recognises its order among the
// account's recent orders by shape (symbol, instruction, quantity, type,
// prices, duration, session) — taking only orders no other client order id
// has claimed. See Adapter.PlaceOrder.

// ClaimStore records the Schwab order id of each client order id, per
// account. Claims must be atomic: one order has at most one client order id
// and one client order id at most one order. The default is process memory
// (NewMemoryClaims); a store in the database (unique on account + order id
// and on account + client order id) extends the guarantee across worker
// processes.
type ClaimStore interface {
	// Claim gives orderID to clientOrderID. ok is true when the claim holds
	// (made now or before); false when another client order id owns the
	// order or clientOrderID already owns another order.
	Claim(ctx context.Context, account, orderID, clientOrderID string) (ok bool, err error)
	// Lookup returns the order id owned by clientOrderID.
	Lookup(ctx context.Context, account, clientOrderID string) (orderID string, found bool, err error)
}

// MemoryClaims is a ClaimStore in process memory, bounded: the oldest claims
// are forgotten past the limit (retries come within minutes).
type MemoryClaims struct {
	mu      sync.Mutex
	limit   int
	byOrder map[claimKey]string // (account, order id) → client order id
	byCID   map[claimKey]string // (account, client order id) → order id
	fifo    []claim
}

type claimKey struct{ account, id string }

type claim struct{ account, orderID, clientOrderID string }

// NewMemoryClaims returns an empty in-memory claim store keeping at most
// limit claims (100000 when limit <= 0).
func NewMemoryClaims(limit int) *MemoryClaims {
	if limit <= 0 {
		limit = 100000
	}
	return &MemoryClaims{limit: limit, byOrder: map[claimKey]string{}, byCID: map[claimKey]string{}}
}

// Claim implements ClaimStore.
func (m *MemoryClaims) Claim(_ context.Context, account, orderID, clientOrderID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok, ck := claimKey{account, orderID}, claimKey{account, clientOrderID}
	if owner, taken := m.byOrder[ok]; taken {
		return owner == clientOrderID, nil
	}
	if _, has := m.byCID[ck]; has {
		return false, nil
	}
	m.byOrder[ok], m.byCID[ck] = clientOrderID, orderID
	m.fifo = append(m.fifo, claim{account, orderID, clientOrderID})
	for len(m.fifo) > m.limit {
		old := m.fifo[0]
		m.fifo = m.fifo[1:]
		delete(m.byOrder, claimKey{old.account, old.orderID})
		delete(m.byCID, claimKey{old.account, old.clientOrderID})
	}
	return true, nil
}

// Lookup implements ClaimStore.
func (m *MemoryClaims) Lookup(_ context.Context, account, clientOrderID string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byCID[claimKey{account, clientOrderID}]
	return id, ok, nil
}
