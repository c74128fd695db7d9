package ibkr

import (
	"sync"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Exactly once on retry (issue 12): an order POST whose answer is lost, then
// a retry with the same cOID that IBKR refuses as "Local order ID=… is
// already registered". The order lives at IBKR, so the retry must return it
// (or a retryable error while it cannot be listed), never ORDER_REJECTED.

// lostAnswer places req through b with the answer dropped, and with the
// gateway slow to list it, so that the attempt itself fails UNAVAILABLE
// (as an attempt whose worker died would leave it).
func lostAnswer(t *testing.T, h *harness, b broker.Broker, base string, req broker.OrderRequest) {
	t.Helper()
	h.fake.DropNextResponse()
	h.fake.BlankOrdersNext(base, 10)
	if _, err := b.PlaceOrder(testCtx(t), req); broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("attempt with the answer lost: %v, want UNAVAILABLE", err)
	}
	h.fake.BlankOrdersNext(base, 0)
	if h.fake.OrderCount() != 1 {
		t.Fatalf("%d orders after the lost answer, want 1", h.fake.OrderCount())
	}
}

// The retry runs in another process (a new factory: nothing cached) after
// the gateway began a new brokerage session, so its first
// /iserver/account/orders is the documented empty pre-flight answer.
func TestRetryAfterLostAnswerFindsOrderBehindPreflight(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	req := marketBuy("2")
	lostAnswer(t, h, h.open(t, id, base), base, req)
	h.fake.RestartSession(base)
	// Pacing is per process: the other process's first read must come an
	// orders interval after this one's last (as it does after a restart).
	time.Sleep(testFakePacing.interval(pathLiveOrders))

	o, err := h.otherProcess().open(t, id, base).PlaceOrder(testCtx(t), req)
	if err != nil {
		t.Fatalf("retry: %v (kind %s), want the order placed by the lost attempt", err, broker.KindOf(err))
	}
	placed, _ := h.fake.OrderByCOID(req.ClientOrderID)
	if o.ID != placed.ID || o.ClientOrderID != req.ClientOrderID || o.Status != broker.StatusFilled {
		t.Fatalf("retry returned %+v, want order %s", o, placed.ID)
	}
	if n := h.fake.OrderCount(); n != 1 {
		t.Fatalf("%d orders at IBKR, want 1", n)
	}
}

// While the gateway does not list the order, the retry fails retryable
// (UNAVAILABLE), never ORDER_REJECTED; a later retry returns the order.
func TestRegisteredCOIDNotListedYetIsRetryable(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	req := marketBuy("1")
	lostAnswer(t, h, b, base, req)

	h.fake.BlankOrdersNext(base, 10)
	_, err := b.PlaceOrder(testCtx(t), req)
	if k := broker.KindOf(err); k == broker.KindRejected || !k.Retryable() {
		t.Fatalf("retry while the order is not listed: %v, want a retryable error, never REJECTED", err)
	}
	h.fake.BlankOrdersNext(base, 0)
	o, err := b.PlaceOrder(testCtx(t), req)
	if err != nil || o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("later retry: %+v, %v", o, err)
	}
	if n := h.fake.OrderCount(); n != 1 {
		t.Fatalf("%d orders at IBKR, want 1", n)
	}
}

// A gateway whose cached live-orders view predates the order lists it only
// after force=true, which the retry must send.
func TestRegisteredCOIDRefreshesStaleOrderList(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	if _, _, err := b.FindOrderByClientID(testCtx(t), "warm-up"); err != nil {
		t.Fatal(err)
	}
	h.fake.StaleOrders(base)
	req := marketBuy("1")
	h.fake.DropNextResponse()
	if _, err := b.PlaceOrder(testCtx(t), req); broker.KindOf(err) != broker.KindUnavailable {
		t.Fatalf("attempt with the answer lost and a stale list: %v, want UNAVAILABLE", err)
	}
	o, err := b.PlaceOrder(testCtx(t), req)
	if err != nil || o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("retry: %+v, %v", o, err)
	}
	if n := h.fake.OrderCount(); n != 1 {
		t.Fatalf("%d orders at IBKR, want 1", n)
	}
}

// FindOrderByClientID on a fresh brokerage session sees through the empty
// pre-flight answer.
func TestFindOrderByClientIDAfterSessionRestart(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("10000"))
	b := h.open(t, id, base)
	req := marketBuy("1")
	placed, err := b.PlaceOrder(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.FindOrderByClientID(testCtx(t), req.ClientOrderID); err != nil {
		t.Fatal(err)
	}
	h.fake.RestartSession(base) // the adapter still believes the subscription is live
	o, found, err := b.FindOrderByClientID(testCtx(t), req.ClientOrderID)
	if err != nil || !found || o.ID != placed.ID {
		t.Fatalf("after the session restart: found %v %+v, %v", found, o, err)
	}
}

// Concurrent retries on one gateway share reads of the live orders (paced
// at 1 per 5 s by IBKR) rather than queueing a refresh and a read each:
// eight would otherwise take 16 paced reads, over 80 s at IBKR's pacing.
func TestConcurrentRetriesShareOrderReads(t *testing.T) {
	h := newHarness(t)
	id, base := h.fake.NewAccount(dec("100000"))
	b := h.open(t, id, base)
	reqs := make([]broker.OrderRequest, 8)
	for i := range reqs {
		reqs[i] = marketBuy("1")
		if _, err := b.PlaceOrder(testCtx(t), reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o, err := b.PlaceOrder(testCtx(t), req); err != nil || o.ClientOrderID != req.ClientOrderID {
				t.Errorf("retry: %+v, %v", o, err)
			}
		}()
	}
	wg.Wait()
	reads := 0
	for _, r := range h.fake.RequestLog(base) {
		if r == "GET "+pathLiveOrders {
			reads++
		}
	}
	if reads > 4 {
		t.Fatalf("%d reads of the live orders for 8 concurrent retries, want them shared (at most 4)", reads)
	}
	if n := h.fake.OrderCount(); n != 8 {
		t.Fatalf("%d orders, want 8", n)
	}
}
