package activities

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

// readCounter counts the account reads a broker answers.
type readCounter struct {
	broker.Broker
	balance, positions, account atomic.Int32
}

func (c *readCounter) GetBalance(ctx context.Context) (broker.Balance, error) {
	c.balance.Add(1)
	return c.Broker.GetBalance(ctx)
}

func (c *readCounter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	c.positions.Add(1)
	return c.Broker.GetPositions(ctx)
}

func (c *readCounter) reset() { c.balance.Store(0); c.positions.Store(0); c.account.Store(0) }

// oneReadCounter is a readCounter of a broker that reads balance and
// positions at once (broker.AccountReader, as the paper broker does).
type oneReadCounter struct{ readCounter }

func (c *oneReadCounter) GetAccount(ctx context.Context) (broker.Balance, []broker.Position, error) {
	c.account.Add(1)
	return broker.ReadAccount(ctx, c.Broker)
}

// PrepareOrder sizes an order on one read of the account where the broker
// has one (the paper account is one row), and on a balance and a positions
// read where it has not; either way the position it sizes against is the
// one held (10 shares held and a 10% cap of $100,000 at $100 leave 90).
func TestPrepareOrderReadsTheAccountOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		for _, tc := range []struct {
			name               string
			oneRead            bool
			wantAccount, wantB int32
		}{
			{name: "account reader", oneRead: true, wantAccount: 1},
			{name: "balance and positions", wantB: 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := &oneReadCounter{}
				var counted *readCounter = &c.readCounter
				f := newPaperFixture(t, db, 100_000, func(b broker.Broker) broker.Broker {
					counted.Broker = b
					if tc.oneRead {
						return c
					}
					return counted
				})
				f.buyFilled(10)
				id := f.trade("AAPL", signal.QtyFixed, 95, time.Now().UTC())
				counted.reset()
				res := f.prepare(id, false)
				require.Equal(t, tc.wantAccount, counted.account.Load(), "one-read account reads")
				require.Equal(t, tc.wantB, counted.balance.Load(), "balance reads")
				require.Equal(t, tc.wantB, counted.positions.Load(), "positions reads")
				require.True(t, res.MarketOpen, "the paper fixture's market is open")
				require.Equal(t, "90", res.Quantity.String(), "sized against the 10 shares held (10%% of $100,000 at $100): %s", res.Message)
			})
		}
	})
}
