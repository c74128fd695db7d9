package activities

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

type cancelFixture struct {
	t   *testing.T
	db  *gorm.DB
	now time.Time
}

func (f cancelFixture) user(brokers ...string) (string, []string) {
	f.t.Helper()
	id := uuid.NewString()
	require.NoError(f.t, f.db.Create(&schema.User{ID: id, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: f.now}).Error)
	var conns []string
	for i, b := range brokers {
		c := schema.BrokerConnection{ID: uuid.NewString(), UserID: id, BrokerType: b, IsActive: true,
			CreatedAt: f.now.Add(time.Duration(i) * time.Second), UpdatedAt: f.now}
		require.NoError(f.t, f.db.Create(&c).Error)
		conns = append(conns, c.ID)
	}
	return id, conns
}

// trade stores a signal and its trade for user.
func (f cancelFixture) trade(user string, sig signal.Signal, status trade.Status, conn string, at time.Time) string {
	f.t.Helper()
	payload, err := json.Marshal(sig)
	require.NoError(f.t, err)
	sid := uuid.NewString()
	require.NoError(f.t, f.db.Create(&schema.Signal{ID: sid, Source: "tradingview", ExternalID: sid, UserID: user, Symbol: sig.Symbol,
		Payload: string(payload), ReceivedAt: at}).Error)
	id := uuid.NewString()
	require.NoError(f.t, f.db.Create(&schema.Trade{ID: id, SignalID: sid, UserID: user, BrokerConnectionID: conn, Source: "tradingview",
		Symbol: sig.Symbol, AssetClass: string(sig.AssetClass), Side: "buy", OrderType: "limit", RequestedQuantity: decimal.NewFromInt(1),
		Quantity: decimal.NewFromInt(1), FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero, Status: string(status),
		WorkflowID: "trade/" + sid + "/" + user, CreatedAt: at, UpdatedAt: at}).Error)
	return id
}

func buySig(symbol, override string) signal.Signal {
	class := signal.AssetStock
	return signal.Signal{Source: signal.SourceTradingView, Symbol: symbol, AssetClass: class, Action: signal.ActionBuy, Side: signal.SideBuy,
		Quantity: decimal.NewFromInt(1), QuantityType: signal.QtyFixed, OrderType: signal.OrderLimit, LimitPrice: decimal.NewFromInt(100), Broker: override}
}

func cancelSig(symbol, override string) signal.Signal {
	return signal.Signal{Source: signal.SourceTradingView, Symbol: symbol, AssetClass: signal.AssetStock, Action: signal.ActionCancel, Broker: override}
}

func targetIDs(sel workflows.CancelSelection) []string {
	var out []string
	for _, t := range sel.Targets {
		out = append(out, t.TradeID)
	}
	return out
}

// The selection reads the trader's own trades only, on the connection the
// cancel routes to (queued ones not routed yet: where they would go).
func TestSelectCancelTargets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		f := cancelFixture{t: t, db: db, now: now}
		u1, conns := f.user("paper", "alpaca")
		paperConn, alpacaConn := conns[0], conns[1]
		require.NoError(t, db.Create(&schema.RiskSettings{UserID: u1, DefaultStockConnection: &paperConn, UpdatedAt: now}).Error)
		u2, other := f.user("paper")

		at := now.Add(-time.Minute)
		onPaper := f.trade(u1, buySig("AAPL", ""), trade.StatusSubmitted, paperConn, at.Add(-time.Minute))
		partial := f.trade(u1, buySig("AAPL", ""), trade.StatusPartialFill, paperConn, at.Add(-30*time.Second))
		onAlpaca := f.trade(u1, buySig("AAPL", "alpaca"), trade.StatusSubmitted, alpacaConn, at.Add(-time.Minute))
		queuedDefault := f.trade(u1, buySig("AAPL", ""), trade.StatusQueued, "", at.Add(-2*time.Minute))
		queuedAlpaca := f.trade(u1, buySig("AAPL", "alpaca"), trade.StatusQueued, "", at.Add(-2*time.Minute))
		f.trade(u1, buySig("AAPL", ""), trade.StatusFilled, paperConn, at.Add(-time.Minute))
		f.trade(u1, buySig("MSFT", ""), trade.StatusSubmitted, paperConn, at.Add(-time.Minute))
		f.trade(u1, buySig("AAPL", ""), trade.StatusSubmitted, paperConn, at.Add(time.Second)) // after the cancel
		f.trade(u1, cancelSig("AAPL", ""), trade.StatusPending, "", at.Add(-time.Second))      // another cancel
		f.trade(u2, buySig("AAPL", ""), trade.StatusSubmitted, other[0], at.Add(-time.Minute))
		f.trade(u2, buySig("AAPL", ""), trade.StatusQueued, "", at.Add(-time.Minute))

		a := &Cancels{Trading: &Trading{DB: db, Brokers: &brokerconn.Resolver{DB: db}}}
		cx := f.trade(u1, cancelSig("AAPL", ""), trade.StatusPending, "", at)
		sel, err := a.SelectCancelTargets(ctx, workflows.TradeRef{TradeID: cx})
		require.NoError(t, err)
		require.False(t, sel.Done)
		require.Equal(t, paperConn, sel.ConnectionID)
		require.Equal(t, "paper", sel.Broker)
		require.Equal(t, []string{queuedDefault, onPaper, partial}, targetIDs(sel))

		// broker:alpaca reaches the Alpaca connection's orders only.
		cxAlpaca := f.trade(u1, cancelSig("AAPL", "alpaca"), trade.StatusPending, "", at)
		sel, err = a.SelectCancelTargets(ctx, workflows.TradeRef{TradeID: cxAlpaca})
		require.NoError(t, err)
		require.Equal(t, alpacaConn, sel.ConnectionID)
		require.ElementsMatch(t, []string{queuedAlpaca, onAlpaca}, targetIDs(sel))

		// No connection to route to: refused like any signal.
		u3, _ := f.user()
		cxNone := f.trade(u3, cancelSig("AAPL", ""), trade.StatusPending, "", at)
		sel, err = a.SelectCancelTargets(ctx, workflows.TradeRef{TradeID: cxNone})
		require.NoError(t, err)
		require.True(t, sel.Done)
		require.Equal(t, string(trade.StatusRejected), sel.Status)
		require.Contains(t, sel.Message, "No broker connected")

		// Recording the outcome: the targets have ended (no signal needed);
		// a retry returns what was recorded.
		require.NoError(t, db.Model(&schema.Trade{}).Where("id IN ?", []string{onPaper, queuedDefault}).Update("status", string(trade.StatusCancelled)).Error)
		require.NoError(t, db.Model(&schema.Trade{}).Where("id = ?", partial).
			Updates(map[string]any{"status": string(trade.StatusFilled), "filled_quantity": decimal.NewFromInt(1)}).Error)
		in := workflows.CancelOrdersInput{TradeID: cx, ConnectionID: paperConn, Broker: "paper", Targets: []workflows.CancelTarget{
			{TradeID: queuedDefault}, {TradeID: onPaper}, {TradeID: partial}}}
		for range 2 {
			out, err := a.CancelOpenOrders(ctx, in)
			require.NoError(t, err)
			require.Equal(t, string(trade.StatusCancelled), out.Status)
			require.Equal(t, "Cancelled 2 open AAPL orders; 1 filled before it could be cancelled.", out.Message)
		}
		var n int64
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("resource_id = ? AND action = ?", cx, audit.ActionOrderCancelled).Count(&n).Error)
		require.EqualValues(t, 1, n)
		stored := schema.Trade{}
		require.NoError(t, db.First(&stored, "id = ?", cx).Error)
		require.Equal(t, paperConn, stored.BrokerConnectionID)

		// Nothing selected: nothing to cancel.
		cxEmpty := f.trade(u1, cancelSig("TSLA", ""), trade.StatusPending, "", at)
		out, err := a.CancelOpenOrders(ctx, workflows.CancelOrdersInput{TradeID: cxEmpty, ConnectionID: paperConn, Broker: "paper"})
		require.NoError(t, err)
		require.Equal(t, "No open TSLA orders to cancel.", out.Message)

		// Another trader's trade id smuggled into the input is never read.
		cxOther := f.trade(u1, cancelSig("AAPL", ""), trade.StatusPending, "", at)
		otherTrade := f.trade(u2, buySig("AAPL", ""), trade.StatusCancelled, other[0], at.Add(-time.Minute))
		out, err = a.CancelOpenOrders(ctx, workflows.CancelOrdersInput{TradeID: cxOther, ConnectionID: paperConn, Broker: "paper",
			Targets: []workflows.CancelTarget{{TradeID: otherTrade}}})
		require.NoError(t, err)
		require.Equal(t, "No open AAPL orders to cancel.", out.Message)
	})
}
