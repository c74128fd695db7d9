package activities

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// stopRefuser is a broker that refuses every stop order (the entry goes
// through).
type stopRefuser struct{ broker.Broker }

func (s *stopRefuser) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if req.Type == signal.OrderStop {
		return broker.Order{}, &broker.Error{Kind: broker.KindUnavailable, Message: "stop desk down"}
	}
	return s.Broker.PlaceOrder(ctx, req)
}

// prepareSubmit runs PrepareAndSubmit for the trade as the workflow asks
// for it, in an activity environment (SubmitOrder reads its attempt).
func (f *haltFixture) prepareSubmit(p *InProcessTrade, id string) workflows.PrepareSubmitResult {
	f.t.Helper()
	v, err := f.runPrepareSubmit(p, id)
	require.NoError(f.t, err)
	var res workflows.PrepareSubmitResult
	require.NoError(f.t, v.Get(&res))
	return res
}

// prepareSubmitErr is prepareSubmit for an attempt that fails.
func (f *haltFixture) prepareSubmitErr(p *InProcessTrade, id string) error {
	f.t.Helper()
	_, err := f.runPrepareSubmit(p, id)
	require.Error(f.t, err)
	return err
}

func (f *haltFixture) runPrepareSubmit(p *InProcessTrade, id string) (converter.EncodedValue, error) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(p.PrepareAndSubmit)
	return env.ExecuteActivity(p.PrepareAndSubmit, f.prepareSubmitInput(id))
}

func (f *haltFixture) prepareSubmitInput(id string) workflows.PrepareSubmitInput {
	return workflows.PrepareSubmitInput{
		Prepare: workflows.PrepareInput{TradeID: id},
		Submit:  workflows.SubmitInput{TradeID: id, ClientOrderID: trade.ClientOrderID(f.row(id).WorkflowID, "entry"), RecordFill: true},
		UserID:  f.user,
	}
}

// userAccount is the paper account of the trader's connection.
func (f *haltFixture) userAccount() string {
	f.t.Helper()
	var conn schema.BrokerConnection
	require.NoError(f.t, f.db.First(&conn, "user_id = ?", f.user).Error)
	var creds broker.Credentials
	require.NoError(f.t, json.Unmarshal(conn.Credentials, &creds))
	return creds[paper.CredentialAccountID]
}

func (f *haltFixture) guard(t *testing.T) *Guard {
	c := testenv.Client(t)
	g := &Guard{Trading: f.a, Temporal: c, TaskQueue: testenv.TaskQueue(t)} // no worker: a started guard only waits
	t.Cleanup(func() {
		var conns []string
		_ = f.db.Model(&schema.BrokerConnection{}).Where("user_id = ?", f.user).Pluck("id", &conns).Error
		for _, id := range conns {
			_ = c.TerminateWorkflow(context.Background(), workflows.GuardWorkflowID(id), "", "test done")
		}
	})
	return g
}

// PrepareAndSubmit (TradeShape 2) runs a paper market order's whole trade:
// the order filled, its stop working, the guard started by the look after
// the fill. Run again — the retry of a workflow task lost with its worker
// — it places nothing: one entry and one stop at the broker.
func TestPrepareAndSubmitRunsTheTradeInOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		p := &InProcessTrade{Trading: f.a, Guard: f.guard(t)}
		id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())

		res := f.prepareSubmit(p, id)
		require.True(t, res.Prepare.InProcess && res.Prepare.MarketOpen, "%+v", res.Prepare)
		require.NotNil(t, res.Submit)
		require.NotNil(t, res.Submit.Fill)
		require.True(t, res.Submit.Fill.FilledQuantity.Equal(f.row(id).Quantity))
		require.True(t, res.StopPlaced)
		require.True(t, res.Guarded)
		require.Equal(t, string(trade.StatusFilled), f.row(id).Status)
		account := f.accountOf(id)
		f.requireOneStop(id, account)
		_, err := testenv.Client(t).DescribeWorkflowExecution(f.ctx, workflows.GuardWorkflowID(f.row(id).BrokerConnectionID), "")
		require.NoError(t, err, "the look after the fill starts the account's guard")

		// The retry finds the submission recorded: it reports the order
		// without a fill (the workflow follows it with AwaitFill, then
		// the stop and the look, one by one) and places nothing.
		calls := f.engine.PlaceCalls(account)
		again := f.prepareSubmit(p, id)
		require.NotNil(t, again.Submit)
		require.Equal(t, res.Submit.BrokerOrderID, again.Submit.BrokerOrderID)
		require.Nil(t, again.Submit.Fill)
		require.False(t, again.StopPlaced || again.Guarded)
		require.Equal(t, calls, f.engine.PlaceCalls(account), "the retry placed an order")
		f.requireOneStop(id, account)
	})
}

// What PrepareAndSubmit leaves to the workflow: a refused order is only
// the check's decision; a submission whose answer was lost fails the
// attempt with SubmitOrder's error, marked as the submission's (the
// retry finds the order by its client order id: one order, with a broker
// that does not de-duplicate); a stop the broker refuses is not reported placed and the
// guard's look, which comes after the stop, is not made; without a guard
// the stop is placed and the look left.
func TestPrepareAndSubmitLeavesWhatItDidNotDo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		t.Run("refused", func(t *testing.T) {
			f := newHaltFixture(t, db, 100_000)
			id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
			account := f.userAccount()
			require.NoError(t, db.Model(&schema.User{}).Where("id = ?", f.user).Update("locked", true).Error)
			res := f.prepareSubmit(&InProcessTrade{Trading: f.a, Guard: f.guard(t)}, id)
			require.True(t, res.Prepare.Rejected)
			require.Nil(t, res.Submit)
			require.False(t, res.StopPlaced || res.Guarded)
			require.Zero(t, f.engine.PlaceCalls(account))
		})
		t.Run("answer lost", func(t *testing.T) {
			f := newHaltFixture(t, db, 100_000)
			p := &InProcessTrade{Trading: f.a, Guard: f.guard(t)}
			id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
			account := f.userAccount()
			f.engine.InjectFaults(account, paper.Faults{DropPlaceResponse: 1, Duplicates: paper.DuplicatesAccept})
			err := f.prepareSubmitErr(p, id)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			require.Equal(t, string(broker.KindUnavailable), app.Type(), "SubmitOrder's error, as SubmitOrder gives it")
			require.False(t, app.NonRetryable())
			var sf workflows.SubmitFailure
			require.NoError(t, app.Details(&sf), "the submission's failure is marked with the decision")
			require.True(t, sf.Prepare.InProcess && sf.Prepare.MarketOpen)
			require.Len(t, f.brokerOrders(account), 1, "the attempt reached the broker")

			// The local activity's retry: the recorded check, then the
			// submission finds the order by its client order id.
			res := f.prepareSubmit(p, id)
			require.NotNil(t, res.Submit)
			require.Len(t, f.brokerOrders(account), 2, "the entry and its stop, no second entry")
			require.Equal(t, string(trade.StatusFilled), f.row(id).Status)
			f.requireOneStop(id, account)
		})
		t.Run("stop refused", func(t *testing.T) {
			f := newPaperFixture(t, db, 100_000, func(b broker.Broker) broker.Broker { return &stopRefuser{b} })
			id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
			res := f.prepareSubmit(&InProcessTrade{Trading: f.a, Guard: f.guard(t)}, id)
			require.NotNil(t, res.Submit)
			require.Equal(t, string(trade.StatusFilled), f.row(id).Status)
			require.False(t, res.StopPlaced)
			require.False(t, res.Guarded, "the guard looked before the stop was in place")
			_, err := testenv.Client(t).DescribeWorkflowExecution(f.ctx, workflows.GuardWorkflowID(f.row(id).BrokerConnectionID), "")
			require.Error(t, err, "the look after the fill started the guard before the stop was in place")
		})
		t.Run("no guard", func(t *testing.T) {
			f := newHaltFixture(t, db, 100_000)
			id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
			res := f.prepareSubmit(&InProcessTrade{Trading: f.a}, id)
			require.NotNil(t, res.Submit)
			require.True(t, res.StopPlaced)
			require.False(t, res.Guarded)
			f.requireOneStop(id, f.accountOf(id))
		})
	})
}
