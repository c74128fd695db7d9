package ibkr

import (
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
)

// lookups runs n order look-ups (GET /iserver/account/orders, paced one per
// 5 s per gateway, scaled) from each of the given adapters at once.
func lookups(t *testing.T, n int, bs ...broker.Broker) {
	t.Helper()
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Add(1)
		go func(b broker.Broker) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if _, _, err := b.FindOrderByClientID(testCtx(t), "te-none-"+string(rune('a'+i))); err != nil {
					t.Errorf("FindOrderByClientID: %v", err)
				}
			}
		}(b)
	}
	wg.Wait()
}

// Two worker processes sending to one gateway keep its per-endpoint pacing
// together when they share the store (the database in production): the
// fake counts no violation (newHarness's cleanup fails the test on any).
// Without the shared store each process paces only itself and the gateway
// sees the endpoint twice as often (tried: the test then fails).
func TestPacingHeldAcrossProcesses(t *testing.T) {
	h := newHarness(t, WithSharedPacing(ratelimit.NewMemory()))
	id, base := h.fake.NewAccount(decimal.NewFromInt(10_000))
	lookups(t, 3, h.open(t, id, base), h.otherProcess().open(t, id, base))
}
