package ibkr

import (
	"context"
	"errors"

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
	return a.lookup(ctx, clientOrderID, false)
}

// lookup finds the order with the given cOID.
//
// known says IBKR has confirmed that an order with this cOID exists ("Local
// order ID … is already registered"): the gateway's view is refreshed first
// (force=true) and read up to maxOrderReads times; not finding it then is
// UNAVAILABLE (retryable: the order is looked up again), never a rejection,
// and neither is any failure to list. Otherwise a read settles the question
// unless it is the empty answer of a subscription still starting, which is
// read once more.
func (a *Adapter) lookup(ctx context.Context, coid string, known bool) (broker.Order, bool, error) {
	if known || !a.isPrimed() {
		live, err := a.listOrders(ctx, true)
		if err != nil {
			return broker.Order{}, false, lookupFailure(err, known)
		}
		if o, ok := a.match(live, coid); ok {
			return o, true, nil
		}
	}
	answered := false
	for i := 0; i < maxOrderReads; i++ {
		live, err := a.listOrders(ctx, false)
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
	}
	if known {
		return broker.Order{}, false, newErr(broker.KindUnavailable, msgNotListedYet, nil)
	}
	return broker.Order{}, false, nil
}

// listOrders reads the live orders, querying /iserver/accounts again when the
// gateway started a new brokerage session.
func (a *Adapter) listOrders(ctx context.Context, force bool) (wireLiveOrders, error) {
	for attempt := 0; ; attempt++ {
		live, err := a.c.liveOrders(ctx, force)
		var ae *apiError
		if err != nil && errors.As(err, &ae) && needsAccountsQuery(ae.Message) && attempt == 0 {
			a.setReady(false)
			if err := a.ensureSession(ctx); err != nil {
				return wireLiveOrders{}, err
			}
			continue
		}
		if err == nil && force {
			a.setPrimed(true)
		}
		return live, err
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
