package activities

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// lossyBroker wraps the paper broker the trade path opens: PlaceOrder can
// be given a deadline (the activity's start-to-close timeout) and its next
// answer held back until a channel closes, and a hook can run once right
// after a FindOrderByClientID answered.
type lossyBroker struct {
	broker.Broker
	mu         sync.Mutex
	deadline   time.Duration
	holdAnswer <-chan struct{}
	afterFind  func()
	// afterPlace runs after every PlaceOrder (the database failing then).
	afterPlace func()
}

func (b *lossyBroker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	b.mu.Lock()
	d, hold := b.deadline, b.holdAnswer
	b.holdAnswer = nil // the next call's answer comes at once
	b.mu.Unlock()
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	o, err := b.Broker.PlaceOrder(ctx, req)
	if hold != nil {
		<-hold
	}
	if b.afterPlace != nil {
		b.afterPlace()
	}
	return o, err
}

func (b *lossyBroker) FindOrderByClientID(ctx context.Context, clientOrderID string) (broker.Order, bool, error) {
	o, found, err := b.Broker.FindOrderByClientID(ctx, clientOrderID)
	b.mu.Lock()
	hook := b.afterFind
	b.afterFind = nil
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	return o, found, err
}

func (b *lossyBroker) set(deadline time.Duration, afterFind func()) {
	b.mu.Lock()
	b.deadline, b.afterFind = deadline, afterFind
	b.mu.Unlock()
}

func lossyFixture(t *testing.T, db *gorm.DB) (*haltFixture, *lossyBroker) {
	wrap := &lossyBroker{}
	f := newPaperFixture(t, db, 100_000, func(b broker.Broker) broker.Broker { wrap.Broker = b; return wrap })
	return f, wrap
}

// duplicatePolicies are the paper broker's modes that do not de-duplicate
// by client order id: only the trade path's own lookup keeps one order.
var duplicatePolicies = []struct {
	name   string
	policy paper.DuplicatePolicy
}{
	{"broker accepts a second order under the id", paper.DuplicatesAccept},
	{"broker refuses the reused id", paper.DuplicatesReject},
}

// answerLosses are the ways the broker's answer to an accepted order is
// lost: dropped on the way back, or the call's deadline passing while the
// broker holds the answer.
var answerLosses = []struct {
	name   string
	inject func(f *haltFixture, w *lossyBroker, account string, policy paper.DuplicatePolicy)
}{
	{"answer dropped", func(f *haltFixture, _ *lossyBroker, account string, policy paper.DuplicatePolicy) {
		f.engine.InjectFaults(account, paper.Faults{DropPlaceResponse: 1, Duplicates: policy})
	}},
	{"timeout after the broker accepted", func(f *haltFixture, w *lossyBroker, account string, policy paper.DuplicatePolicy) {
		f.engine.InjectFaults(account, paper.Faults{Block: make(chan struct{}), BlockAfterCreate: true, Duplicates: policy})
		w.set(300*time.Millisecond, nil)
	}},
}

// afterLoss clears the loss (not the duplicate policy) for the retry.
func afterLoss(f *haltFixture, w *lossyBroker, account string, policy paper.DuplicatePolicy) {
	f.engine.InjectFaults(account, paper.Faults{Duplicates: policy})
	w.set(0, nil)
}

// brokerOrders are the orders on the paper account, oldest first.
func (f *haltFixture) brokerOrders(account string) []paper.OrderState {
	f.t.Helper()
	st, err := f.engine.Account(f.ctx, account)
	require.NoError(f.t, err)
	return st.Orders
}

// Invariant 1 at the entry order: SubmitOrder's PlaceOrder reached the
// broker and its answer was lost; the retry asks the broker for the client
// order id and records the order found, placing none. The paper broker
// does not de-duplicate here (it takes a second order under the id, or
// refuses it), so without the lookup the retry doubles the order or turns
// a live order into a rejected trade.
func TestSubmitRetryFindsTheOrderWhoseAnswerWasLost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		for _, loss := range answerLosses {
			for _, dup := range duplicatePolicies {
				t.Run(loss.name+"/"+dup.name, func(t *testing.T) {
					f, wrap := lossyFixture(t, db)
					id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
					require.True(t, f.prepare(id, false).MarketOpen)
					account := f.accountOf(id)
					in := workflows.SubmitInput{TradeID: id, ClientOrderID: trade.ClientOrderID(f.row(id).WorkflowID, "entry"), RecordFill: true}

					loss.inject(f, wrap, account, dup.policy)
					_, err := f.submit.ExecuteActivity(f.a.SubmitOrder, in)
					require.Error(t, err, "the first attempt lost the broker's answer")
					require.Len(t, f.brokerOrders(account), 1, "the first attempt reached the broker")
					require.Empty(t, f.row(id).BrokerOrderID)

					afterLoss(f, wrap, account, dup.policy)
					_, err = f.submit.ExecuteActivity(f.a.SubmitOrder, in)
					require.NoError(t, err, "the retry must find the order, not place it again")
					orders := f.brokerOrders(account)
					require.Len(t, orders, 1, "exactly one order at the broker")
					row := f.row(id)
					require.Equal(t, orders[0].ID, row.BrokerOrderID)
					require.Equal(t, string(trade.StatusFilled), row.Status)
					require.Equal(t, 1, f.engine.PlaceCalls(account), "the retry placed nothing")
				})
			}
		}
	})
}

// stopRow is the stop row of the trade's position.
func (f *haltFixture) stopRow(tradeID string) schema.StopLoss {
	f.t.Helper()
	var row schema.StopLoss
	require.NoError(f.t, f.db.Where("connection_id = ? AND symbol = ?", f.row(tradeID).BrokerConnectionID, "AAPL").Take(&row).Error)
	return row
}

// requireOneStop checks the account holds the entry and exactly one stop,
// the one the stop row and the trade point at.
func (f *haltFixture) requireOneStop(tradeID, account string) {
	f.t.Helper()
	orders := f.brokerOrders(account)
	require.Len(f.t, orders, 2, "the entry and exactly one stop at the broker")
	stop := orders[1]
	require.Equal(f.t, signal.OrderStop, stop.Type)
	require.False(f.t, stop.Status.Terminal(), "the stop works: %+v", stop.Order)
	row := f.stopRow(tradeID)
	require.Equal(f.t, stopActive, row.Status)
	require.Equal(f.t, stop.ID, row.OrderID)
	require.Equal(f.t, stop.ClientOrderID, row.ClientOrderID)
	require.Equal(f.t, stop.ID, f.row(tradeID).StopLossOrderID)
}

// The same for the stop-loss: PlaceStopLoss's PlaceOrder reached the broker
// and the answer was lost; the retry adopts that stop (found by its client
// order id) instead of placing a second one.
func TestStopLossRetryFindsTheStopWhoseAnswerWasLost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		for _, loss := range answerLosses {
			for _, dup := range duplicatePolicies {
				t.Run(loss.name+"/"+dup.name, func(t *testing.T) {
					f, wrap := lossyFixture(t, db)
					id := f.buyFilled(10)
					account := f.accountOf(id)

					loss.inject(f, wrap, account, dup.policy)
					_, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: id})
					require.Error(t, err, "the first attempt lost the broker's answer")
					require.Len(t, f.brokerOrders(account), 2, "the first attempt reached the broker")
					require.Equal(t, stopPlacing, f.stopRow(id).Status)

					afterLoss(f, wrap, account, dup.policy)
					res, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: id})
					require.NoError(t, err, "the retry must find the stop, not place it again")
					require.True(t, res.Placed)
					f.requireOneStop(id, account)
				})
			}
		}
	})
}

// A retry that starts while the first attempt's stop is still on its way
// (the first attempt timed out, its worker still runs): the retry's first
// look (settling the row) finds nothing, then the first attempt's order
// lands at the broker; the look right before placing finds it and the
// retry places nothing.
func TestStopLossRetryFindsAStopThatLandsWhileItRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		for _, dup := range duplicatePolicies {
			t.Run(dup.name, func(t *testing.T) {
				f, wrap := lossyFixture(t, db)
				id := f.buyFilled(10)
				account := f.accountOf(id)
				calls := f.engine.PlaceCalls(account)

				// Attempt 1 is held inside the broker call, before the
				// broker has the order (a request still on the wire); its
				// answer, once there, is held too.
				inFlight, answer := make(chan struct{}), make(chan struct{})
				f.engine.InjectFaults(account, paper.Faults{Block: inFlight, Duplicates: dup.policy})
				wrap.mu.Lock()
				wrap.holdAnswer = answer
				wrap.mu.Unlock()
				first := make(chan error, 1)
				go func() {
					_, err := f.a.PlaceStopLoss(f.ctx, workflows.TradeRef{TradeID: id})
					first <- err
				}()
				require.Eventually(t, func() bool { return f.engine.PlaceCalls(account) == calls+1 }, 10*time.Second, 5*time.Millisecond)
				require.Equal(t, stopPlacing, f.stopRow(id).Status)

				// Attempt 2 (its retry: same lease owner). Right after its
				// first lookup answered, attempt 1's order lands.
				land := sync.OnceFunc(func() { close(inFlight) })
				answerArrives := sync.OnceFunc(func() { close(answer) })
				t.Cleanup(func() { land(); answerArrives() })
				wrap.set(0, func() {
					land()
					require.Eventually(t, func() bool { return len(f.brokerOrders(account)) == 2 }, 10*time.Second, 5*time.Millisecond)
				})
				ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
				defer cancel()
				res, err := f.a.PlaceStopLoss(ctx, workflows.TradeRef{TradeID: id})
				land() // in case attempt 2 never looked
				require.NoError(t, err, "the retry must find the stop that landed, not place it again")
				require.True(t, res.Placed)
				f.requireOneStop(id, account)

				// Attempt 1's answer arrives late: whatever it makes of
				// it, the one stop stays.
				answerArrives()
				<-first
				f.requireOneStop(id, account)
			})
		}
	})
}

// failTradeWrites makes every write to the trades table fail as a crashed
// database does while armed.
func failTradeWrites(t *testing.T, db *gorm.DB) *atomic.Bool {
	t.Helper()
	var armed atomic.Bool
	fail := func(tx *gorm.DB) {
		if armed.Load() && tx.Statement.Table == "trades" {
			_ = tx.AddError(driver.ErrBadConn)
		}
	}
	name := "chaos:fail-trade-writes:" + t.Name()
	require.NoError(t, db.Callback().Update().Before("gorm:update").Register(name, fail))
	require.NoError(t, db.Callback().Create().Before("gorm:create").Register(name, fail))
	require.NoError(t, db.Callback().Query().Before("gorm:query").Register(name, fail))
	t.Cleanup(func() {
		_ = db.Callback().Update().Remove(name)
		_ = db.Callback().Create().Remove(name)
		_ = db.Callback().Query().Remove(name)
	})
	return &armed
}

// Invariant 1 when the database, not the broker, fails: the entry reached
// the broker, then recording it (and the retries' loading of the trade)
// failed as a crashed PostgreSQL does. The failure must be transient
// (UNAVAILABLE: the workflow asks the broker before deciding), never a
// final error that records a rejection for an order the broker filled
// (found by the chaos suite).
func TestSubmitDatabaseFailureAfterTheOrderIsTransient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f, wrap := lossyFixture(t, db)
		id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
		require.True(t, f.prepare(id, false).MarketOpen)
		account := f.accountOf(id)
		in := workflows.SubmitInput{TradeID: id, ClientOrderID: trade.ClientOrderID(f.row(id).WorkflowID, "entry"), RecordFill: true}
		armed := failTradeWrites(t, db)
		// The database goes away right after the broker answered.
		wrap.set(0, nil)
		wrap.afterPlace = func() { armed.Store(true) }

		for attempt := 1; attempt <= 3; attempt++ {
			_, err := f.submit.ExecuteActivity(f.a.SubmitOrder, in)
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "attempt %d: %v", attempt, err)
			require.Equal(t, string(broker.KindUnavailable), app.Type(), "attempt %d: a database failure is transient, not %q", attempt, app.Type())
			require.False(t, app.NonRetryable())
		}
		require.Len(t, f.brokerOrders(account), 1, "the entry reached the broker once")

		armed.Store(false)
		_, err := f.submit.ExecuteActivity(f.a.SubmitOrder, in)
		require.NoError(t, err, "once the database answers, the order is found and recorded")
		require.Len(t, f.brokerOrders(account), 1)
		require.Equal(t, f.brokerOrders(account)[0].ID, f.row(id).BrokerOrderID)
	})
}
