package ibkr

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Finding an order by its client order id (cOID) in the session's live
// orders, GET /iserver/account/orders, where order_ref is the cOID.
//
// As documented (IBKR Campus Web API v1.0, "Live Orders"): the endpoint is a
// subscription whose first request in a brokerage session only starts it and
// answers an empty list (pre-flight); force=true makes the gateway drop its
// cached view and fetch a fresh one, and is answered with an empty list too.
// The endpoint is paced at 1 request per 5 seconds (Pacing), so every read
// after the first waits for its turn.

// maxOrderReads bounds the reads after a pre-flight or refresh.
const maxOrderReads = 3

// msgNotListedYet is the answer when IBKR confirmed the order exists (its
// cOID is registered) but did not list it within the reads.
const msgNotListedYet = "Interactive Brokers has this order (its client order id is registered) but has not listed it yet; it will be looked up again."

// FindOrderByClientID implements broker.Broker from the session's live
// orders (every order with activity today), matched on order_ref = cOID.
func (a *Adapter) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	if err := a.ensureSession(ctx); err != nil {
		return broker.Order{}, false, err
	}
	return a.lookup(ctx, clientOrderID, false, time.Now())
}

// lookup finds the order with the given cOID among reads of the live
// orders that left at or after since: a read sent earlier may predate the
// order (for a registered cOID, since is when IBKR said so).
//
// known says IBKR has confirmed that an order with this cOID exists ("Local
// order ID … is already registered"): the gateway's view is refreshed first
// (force=true) and read up to maxOrderReads times; not finding it then is
// UNAVAILABLE (retryable: the order is looked up again), never a rejection,
// and neither is any failure to list. Otherwise a read settles the question
// unless it is the empty answer of a subscription still starting, which is
// read once more.
func (a *Adapter) lookup(ctx context.Context, coid string, known bool, since time.Time) (broker.Order, bool, error) {
	notBefore := since
	if known || !a.isPrimed() {
		live, started, err := a.readOrders(ctx, true, notBefore)
		if err != nil {
			return broker.Order{}, false, lookupFailure(err, known)
		}
		if o, ok := a.match(live, coid); ok {
			return o, true, nil
		}
		notBefore = started
	}
	answered := false
	for i := 0; i < maxOrderReads; i++ {
		live, _, err := a.readOrders(ctx, false, notBefore)
		if err != nil {
			if answered && !known && errors.Is(err, errPacedTooLong) {
				break // no time for another read: the answer read stands
			}
			return broker.Order{}, false, lookupFailure(err, known)
		}
		if o, ok := a.match(live, coid); ok {
			return o, true, nil
		}
		answered = true
		if !known && (len(live.Orders) > 0 || live.Snapshot || i >= 1) {
			break
		}
		// An empty answer that is not a snapshot: the subscription is still
		// starting (the gateway may have begun a new brokerage session).
		notBefore = time.Now()
	}
	if known {
		return broker.Order{}, false, newErr(broker.KindUnavailable, msgNotListedYet, nil)
	}
	return broker.Order{}, false, nil
}

// orderReads coalesces a gateway's reads of the live orders. The endpoint
// is paced at 1 request per 5 seconds, so concurrent lookups share a read
// that left after they asked (it reflects every order accepted before)
// instead of queueing one read each.
type orderReads struct {
	mu       sync.Mutex
	inflight *orderRead
	last     [2]*orderRead // last successful plain and force reads
}

type orderRead struct {
	started time.Time // when the request left
	done    chan struct{}
	live    wireLiveOrders
	err     error
}

// readOrders returns a read of the live orders (force: a refresh) that left
// at or after notBefore, one already done or its own, and when it left.
func (a *Adapter) readOrders(ctx context.Context, force bool, notBefore time.Time) (wireLiveOrders, time.Time, error) {
	reads := a.sh.orderReads(a.gateway)
	kind := 0
	if force {
		kind = 1
	}
	for {
		reads.mu.Lock()
		if l := reads.last[kind]; l != nil && !l.started.Before(notBefore) {
			reads.mu.Unlock()
			return l.live, l.started, nil
		}
		if r := reads.inflight; r != nil {
			// Let it finish first: it may serve this lookup, and the
			// endpoint's pacing would queue another read behind it anyway.
			reads.mu.Unlock()
			select {
			case <-r.done:
			case <-ctx.Done():
				return wireLiveOrders{}, time.Time{}, queuedError(ctx.Err())
			}
			continue
		}
		r := &orderRead{done: make(chan struct{})}
		reads.inflight = r
		reads.mu.Unlock()
		r.live, r.started, r.err = a.listOrders(ctx, force)
		reads.mu.Lock()
		reads.inflight = nil
		if r.err == nil {
			reads.last[kind] = r
		}
		reads.mu.Unlock()
		close(r.done)
		return r.live, r.started, r.err
	}
}

// listOrders reads the live orders, querying /iserver/accounts again when the
// gateway started a new brokerage session.
func (a *Adapter) listOrders(ctx context.Context, force bool) (wireLiveOrders, time.Time, error) {
	for attempt := 0; ; attempt++ {
		live, at, err := a.c.liveOrders(ctx, force)
		var ae *apiError
		if err != nil && errors.As(err, &ae) && needsAccountsQuery(ae.Message) && attempt == 0 {
			a.setReady(false)
			if err := a.ensureSession(ctx); err != nil {
				return wireLiveOrders{}, at, err
			}
			continue
		}
		if err == nil && force {
			a.setPrimed(true)
		}
		return live, at, err
	}
}

// lookupFailure maps a failure to list orders. When the order is known to
// exist every failure is retryable: a non-retryable kind would end the trade
// while its order lives at IBKR.
func lookupFailure(err error, known bool) error {
	mapped := mapError(err, "order list")
	if known && !broker.KindOf(mapped).Retryable() {
		return newErr(broker.KindUnavailable, msgNotListedYet, err)
	}
	return mapped
}

// match returns the order of this account whose order_ref is coid.
func (a *Adapter) match(live wireLiveOrders, coid string) (broker.Order, bool) {
	for _, o := range live.Orders {
		if o.OrderRef != coid || (o.Acct != "" && o.Acct != a.accountID) {
			continue
		}
		order := orderFromLive(o)
		a.rememberCOID(order.ID, coid)
		return order, true
	}
	return broker.Order{}, false
}

func (a *Adapter) isPrimed() bool {
	a.sh.mu.Lock()
	defer a.sh.mu.Unlock()
	return a.sh.primed[a.gateway]
}

func (a *Adapter) setPrimed(v bool) {
	a.sh.mu.Lock()
	defer a.sh.mu.Unlock()
	if v {
		a.sh.primed[a.gateway] = true
	} else {
		delete(a.sh.primed, a.gateway)
	}
}

// orderReads returns the gateway's read coalescer.
func (sh *shared) orderReads(gateway string) *orderReads {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.reads[gateway]
	if !ok {
		if len(sh.reads) > maxRemembered {
			sh.reads = map[string]*orderReads{}
		}
		r = &orderReads{}
		sh.reads[gateway] = r
	}
	return r
}
