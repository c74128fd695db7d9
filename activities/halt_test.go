package activities

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// plainVault "decrypts" credentials stored as plain JSON (tests only).
type plainVault struct{}

func (plainVault) DecryptJSON(_, _ string, blob []byte, v any) error { return json.Unmarshal(blob, v) }

// haltFixture is one trader with a paper connection, driven through the
// trade path's activities the way TradeWorkflow drives them.
type haltFixture struct {
	t      *testing.T
	ctx    context.Context
	db     *gorm.DB
	a      *Trading
	engine *paper.Engine
	feed   *paper.StaticFeed
	submit *testsuite.TestActivityEnvironment
	user   string
	now    time.Time
}

func newHaltFixture(t *testing.T, db *gorm.DB, cash int64) *haltFixture {
	return newPaperFixture(t, db, cash, nil)
}

// newPaperFixture is newHaltFixture whose paper broker is passed through
// wrap (when not nil) each time the trade path opens it.
func newPaperFixture(t *testing.T, db *gorm.DB, cash int64, wrap func(broker.Broker) broker.Broker) *haltFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	feed := paper.NewStaticFeed(map[string]decimal.Decimal{"AAPL": decimal.NewFromInt(100), "MSFT": decimal.NewFromInt(100)})
	engine := paper.NewEngine(paper.NewMemoryStore(), feed)
	reg := broker.NewRegistry()
	reg.Register(paper.Name, func(cfg broker.Config) (broker.Broker, error) {
		b, err := paper.Factory(engine)(cfg)
		if err != nil || wrap == nil {
			return b, err
		}
		return wrap(b), nil
	})
	a := &Trading{DB: db, Brokers: &brokerconn.Resolver{DB: db, Registry: reg, Vault: plainVault{}}}

	user, account := uuid.NewString(), uuid.NewString()
	require.NoError(t, db.Create(&schema.User{ID: user, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: now}).Error)
	creds, err := json.Marshal(broker.Credentials{paper.CredentialAccountID: account})
	require.NoError(t, err)
	require.NoError(t, db.Create(&schema.BrokerConnection{ID: uuid.NewString(), UserID: user, BrokerType: paper.Name, Paper: true,
		Credentials: creds, IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}).Error)
	require.NoError(t, engine.CreateAccount(ctx, account, decimal.NewFromInt(cash)))

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a.SubmitOrder)
	return &haltFixture{t: t, ctx: ctx, db: db, a: a, engine: engine, feed: feed, submit: env, user: user, now: now}
}

// trade stores a buy signal for symbol and its pending trade.
func (f *haltFixture) trade(symbol string, qtyType signal.QuantityType, qty int64, at time.Time) string {
	f.t.Helper()
	sig := signal.Signal{Source: signal.SourceTradingView, Symbol: symbol, AssetClass: signal.AssetStock, Action: signal.ActionBuy,
		Side: signal.SideBuy, Quantity: decimal.NewFromInt(qty), QuantityType: qtyType, OrderType: signal.OrderMarket}
	payload, err := json.Marshal(sig)
	require.NoError(f.t, err)
	sid, id := uuid.NewString(), uuid.NewString()
	require.NoError(f.t, f.db.Create(&schema.Signal{ID: sid, Source: "tradingview", ExternalID: sid, UserID: f.user, Symbol: symbol,
		Payload: string(payload), ReceivedAt: at}).Error)
	require.NoError(f.t, f.db.Create(&schema.Trade{ID: id, SignalID: sid, UserID: f.user, Source: "tradingview", Symbol: symbol,
		AssetClass: string(signal.AssetStock), Side: string(signal.SideBuy), OrderType: string(signal.OrderMarket),
		RequestedQuantity: sig.Quantity, Quantity: sig.Quantity, FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero,
		Status: string(trade.StatusPending), WorkflowID: "trade/" + sid + "/" + f.user, CreatedAt: at, UpdatedAt: at}).Error)
	return id
}

func (f *haltFixture) prepare(tradeID string, recheck bool) workflows.PrepareResult {
	f.t.Helper()
	res, err := f.a.PrepareOrder(f.ctx, workflows.PrepareInput{TradeID: tradeID, Recheck: recheck})
	require.NoError(f.t, err)
	return res
}

// submitHalted runs SubmitOrder and expects the broker's halt refusal,
// then records it as the workflow does.
func (f *haltFixture) submitHalted(tradeID string) {
	f.t.Helper()
	err := f.submitErr(tradeID)
	var ae *temporal.ApplicationError
	require.True(f.t, errors.As(err, &ae), "SubmitOrder: %v", err)
	require.Equal(f.t, string(broker.KindHalted), ae.Type(), "%v", err)
	q, err := f.a.MarkHalted(f.ctx, workflows.HaltInput{TradeID: tradeID, Message: ae.Error()})
	require.NoError(f.t, err)
	require.NotEmpty(f.t, q.Message)
}

func (f *haltFixture) submitErr(tradeID string) error {
	f.t.Helper()
	var row schema.Trade
	require.NoError(f.t, f.db.First(&row, "id = ?", tradeID).Error)
	_, err := f.submit.ExecuteActivity(f.a.SubmitOrder, workflows.SubmitInput{TradeID: tradeID,
		ClientOrderID: trade.ClientOrderID(row.WorkflowID, "entry")})
	return err
}

func (f *haltFixture) row(tradeID string) schema.Trade {
	f.t.Helper()
	var row schema.Trade
	require.NoError(f.t, f.db.First(&row, "id = ?", tradeID).Error)
	return row
}

// actions is the trade's timeline, oldest first.
func (f *haltFixture) actions(tradeID string) []string {
	f.t.Helper()
	var rows []schema.AuditLog
	require.NoError(f.t, f.db.Where("resource_id = ?", tradeID).Order("seq").Find(&rows).Error)
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Action)
	}
	return out
}

// events are the trader's outbox event types, oldest first.
func (f *haltFixture) events() []string {
	f.t.Helper()
	var rows []schema.OutboxEvent
	require.NoError(f.t, f.db.Where("user_id = ?", f.user).Order("seq").Find(&rows).Error)
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Type)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// A halted trade tried again N times: every re-check runs the rules and
// reserves its exposure while it stays market_halted with the halt's
// message; MarkHalted releases the reservation each time; the timeline and
// the event stream hold one TRADE_HALTED and nothing else until the broker
// takes the order (SPEC edge case 1, invariant 2).
func TestHaltedRetriesAreQuiet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		id := f.trade("AAPL", signal.QtyFixed, 10, f.now)
		res := f.prepare(id, false)
		require.True(t, res.MarketOpen)
		require.Equal(t, "10", res.Quantity.String())
		require.Equal(t, "1000", f.row(id).ReservedNotional.String())

		require.NoError(t, f.engine.SetHalted("AAPL", true))
		f.submitHalted(id)
		halted := f.row(id)
		require.Equal(t, string(trade.StatusHalted), halted.Status)
		require.Equal(t, risk.HaltedMessage("AAPL"), halted.ErrorMessage)
		require.True(t, halted.ReservedNotional.IsZero())
		timeline, events := f.actions(id), f.events()
		require.Equal(t, []string{audit.ActionTradeSized, audit.ActionTradeHalted}, timeline)

		const retries = 5
		for i := range retries {
			res := f.prepare(id, true)
			require.True(t, res.MarketOpen, "retry %d", i)
			require.False(t, res.Rejected || res.Noop, "retry %d: %+v", i, res)
			row := f.row(id)
			require.Equal(t, string(trade.StatusHalted), row.Status, "retry %d", i)
			require.Equal(t, risk.HaltedMessage("AAPL"), row.ErrorMessage, "retry %d", i)
			require.Equal(t, "1000", row.ReservedNotional.String(), "retry %d: reserved before submission", i)

			f.submitHalted(id)
			row = f.row(id)
			require.Equal(t, string(trade.StatusHalted), row.Status, "retry %d", i)
			require.True(t, row.ReservedNotional.IsZero(), "retry %d: the reservation is held while the trade waits", i)
		}
		require.Equal(t, timeline, f.actions(id), "retries during the halt are recorded")
		require.Equal(t, events, f.events(), "retries during the halt are announced")
		require.Equal(t, retries+1, f.engine.PlaceCalls(f.accountOf(id)))

		// The halt ends: the re-check is quiet again, the broker takes it.
		require.NoError(t, f.engine.SetHalted("AAPL", false))
		f.prepare(id, true)
		require.NoError(t, f.submitErr(id))
		done := f.row(id)
		require.Equal(t, string(trade.StatusSubmitted), done.Status)
		require.True(t, done.ReservedNotional.IsZero())
		require.Equal(t, []string{audit.ActionTradeSized, audit.ActionTradeHalted, audit.ActionTradeSubmitted}, f.actions(id))
		ev := f.events()
		require.Equal(t, 1, count(ev, realtime.EventTradeQueued), "%v", ev)
		require.Equal(t, 1, count(ev, realtime.EventTradeUpdated), "%v", ev)

		v, err := audit.Verify(f.ctx, db, f.user)
		require.NoError(t, err)
		require.True(t, v.Valid)
	})
}

// A re-check during a halt that sizes the order differently (here a dollar
// amount at a new price) records the new size once, still market_halted
// with the halt's message; the same size again records nothing.
func TestHaltedRecheckRecordsSizeChangeOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		id := f.trade("AAPL", signal.QtyDollarAmount, 2000, f.now)
		require.Equal(t, "20", f.prepare(id, false).Quantity.String())
		require.NoError(t, f.engine.SetHalted("AAPL", true))
		f.submitHalted(id)

		f.feed.Set("AAPL", decimal.NewFromInt(200))
		for i := range 3 {
			res := f.prepare(id, true)
			require.Equal(t, "10", res.Quantity.String(), "retry %d", i)
			row := f.row(id)
			require.Equal(t, string(trade.StatusHalted), row.Status)
			require.Equal(t, risk.HaltedMessage("AAPL"), row.ErrorMessage)
			require.Equal(t, "10", row.Quantity.String())
			require.Equal(t, "2000", row.ReservedNotional.String())
			f.submitHalted(id)
			require.True(t, f.row(id).ReservedNotional.IsZero())
		}
		require.Equal(t, []string{audit.ActionTradeSized, audit.ActionTradeHalted, audit.ActionTradeSized}, f.actions(id))
		var last schema.AuditLog
		require.NoError(t, db.Where("resource_id = ?", id).Order("seq DESC").First(&last).Error)
		var details map[string]any
		require.NoError(t, json.Unmarshal([]byte(last.Details), &details))
		require.Equal(t, string(trade.StatusHalted), details["status"])
		require.Equal(t, "20", details["previousQuantity"])
		require.Equal(t, "10", details["quantity"])
		require.Contains(t, details["message"], "halted")
		require.Equal(t, 2, count(f.events(), realtime.EventTradeUpdated))
	})
}

// Invariant 2 across a halt: between its re-check and the broker's answer
// a market_halted trade's reservation and quantity count against the
// trader's other orders (buying power, max position); once MarkHalted has
// released them, they do not.
func TestHaltedRecheckReservationCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		f := newHaltFixture(t, db, 100_000)
		// A: 60 AAPL ($6,000 of the $10,000 max position).
		a := f.trade("AAPL", signal.QtyFixed, 60, f.now.Add(-time.Hour))
		f.prepare(a, false)
		require.NoError(t, f.engine.SetHalted("AAPL", true))
		f.submitHalted(a)
		f.prepare(a, true) // re-checked, about to be sent

		// B: 60 AAPL more would exceed the max position with A: reduced.
		b := f.trade("AAPL", signal.QtyFixed, 60, f.now.Add(-30*time.Minute))
		res := f.prepare(b, false)
		require.False(t, res.Rejected, "%+v", res)
		require.Equal(t, "40", res.Quantity.String(), "A's quantity counts while it holds its reservation")
		require.NoError(t, f.a.CancelQueued(f.ctx, workflows.TradeRef{TradeID: b}))

		// C: buying power. $100,000 less A's $6,000 reserved.
		c := f.trade("MSFT", signal.QtyFixed, 950, f.now.Add(-20*time.Minute))
		require.NoError(t, db.Create(&schema.RiskSettings{UserID: f.user, MaxPositionPct: decimal.NewFromInt(100),
			DailyLossLimitPct: decimal.NewFromInt(5), DailyLossLimitAmount: decimal.Zero, CircuitBreakerPct: decimal.NewFromInt(8),
			StopLossPct: decimal.NewFromInt(2), UpdatedAt: f.now}).Error)
		res = f.prepare(c, false)
		require.True(t, res.Rejected, "A's reservation counts against buying power: %+v", res)

		// The halt goes on: A releases; D sized as if A were not there.
		f.submitHalted(a)
		require.True(t, f.row(a).ReservedNotional.IsZero())
		d := f.trade("MSFT", signal.QtyFixed, 950, f.now.Add(-10*time.Minute))
		res = f.prepare(d, false)
		require.False(t, res.Rejected, "%+v", res)
		require.Equal(t, "950", res.Quantity.String())
		require.Equal(t, string(trade.StatusHalted), f.row(a).Status)
	})
}

// accountOf is the paper account of the trade's connection.
func (f *haltFixture) accountOf(tradeID string) string {
	f.t.Helper()
	var conn schema.BrokerConnection
	require.NoError(f.t, f.db.First(&conn, "id = ?", f.row(tradeID).BrokerConnectionID).Error)
	var creds broker.Credentials
	require.NoError(f.t, json.Unmarshal(conn.Credentials, &creds))
	return creds[paper.CredentialAccountID]
}
