package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// A TradingView `"action":"cancel"` cancels the trader's open orders in the
// symbol: one queued for the open (market closed) and one limit order
// working at the broker far from the price. The trader's filled position
// keeps its stop-loss, an order in another symbol keeps working, another
// trader's orders in the same symbol are untouched (until their own cancel),
// and a second delivery of the same alert does nothing more.
func TestCancelSignalCancelsOpenOrders(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		var open atomic.Bool
		cal := paper.CalendarFunc(func(now time.Time, class signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
			if class == signal.AssetCrypto || open.Load() {
				return true, now, now.Add(6 * time.Hour)
			}
			return false, now.Add(time.Hour), now.Add(7 * time.Hour)
		})
		h := newHarness(t, db, d, harnessOptions{calendar: cal})
		other := h.newPaperTrader()

		// Market closed: one queued order each.
		queued := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"cx-queued"}`))
		otherQueued := h.accepted(other.post(h, `{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"cx-queued"}`))
		h.waitRow(queued, "queued")
		h.waitRow(otherQueued, "queued")

		// Market open: working limit orders far below the price (AAPL 180),
		// a filled AAPL position with its stop, a working MSFT order.
		open.Store(true)
		working := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","price":100,"id":"cx-working"}`))
		otherWorking := h.accepted(other.post(h, `{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","price":100,"id":"cx-working"}`))
		msft := h.accepted(h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":1,"type":"limit","price":100,"id":"cx-msft"}`))
		h.waitRow(working, "submitted")
		h.waitRow(otherWorking, "submitted")
		h.waitRow(msft, "submitted")
		filled := h.buyFilled("AAPL", 1, "cx-filled")
		// Its workflow is done once the stop is placed and recorded.
		require.NoError(t, h.temporal.GetWorkflow(context.Background(), h.trade(filled).WorkflowID, "").Get(context.Background(), nil))
		require.Len(t, h.workingStops("AAPL"), 1, "no stop-loss on the AAPL position")
		stopBefore := h.workingStops("AAPL")[0].ID

		cancelBody := `{"ticker":"AAPL","action":"cancel","id":"cx-cancel"}`
		r := h.postWebhook(cancelBody)
		cancelID := h.accepted(r)
		body := h.waitStatus(cancelID, 30*time.Second, "cancelled", "rejected")
		ct := body["trade"].(map[string]any)
		require.Equal(t, "cancelled", ct["status"], body)
		require.Equal(t, "Cancelled 2 open AAPL orders.", ct["message"])
		require.Equal(t, h.demo.ConnectionID, h.trade(cancelID).BrokerConnectionID)

		// The queued order was cancelled in its workflow, never sent.
		q := h.trade(queued)
		require.Equal(t, "cancelled", q.Status)
		require.Equal(t, "Order cancelled before submission.", q.ErrorMessage)
		require.Empty(t, q.BrokerOrderID)

		// The working order was cancelled at the broker by its own workflow.
		w := h.trade(working)
		require.Equal(t, "cancelled", w.Status)
		require.True(t, w.FilledQuantity.IsZero())
		require.Equal(t, broker.StatusCancelled, h.brokerOrder(h.demo.UserID, h.demo.ConnectionID, w.BrokerOrderID).Status)
		steps := h.timeline(working)
		require.Contains(t, steps, audit.ActionOrderCancelRequested)
		require.Equal(t, audit.ActionOrderCancelled, steps[len(steps)-1])

		// Untouched: the filled position and its stop, the MSFT order.
		require.Equal(t, "filled", h.trade(filled).Status)
		stops := h.workingStops("AAPL")
		require.Len(t, stops, 1)
		require.Equal(t, stopBefore, stops[0].ID)
		m := h.trade(msft)
		require.Equal(t, "submitted", m.Status)
		require.Equal(t, broker.StatusNew, h.brokerOrder(h.demo.UserID, h.demo.ConnectionID, m.BrokerOrderID).Status)

		// Untouched: the other trader's orders in AAPL.
		require.Equal(t, "queued", h.trade(otherQueued).Status)
		ow := h.trade(otherWorking)
		require.Equal(t, "submitted", ow.Status)
		require.Equal(t, broker.StatusNew, h.brokerOrder(other.userID, other.connectionID, ow.BrokerOrderID).Status)
		for _, a := range h.actions(other.userID) {
			require.NotEqual(t, audit.ActionOrderCancelled, a)
			require.NotEqual(t, audit.ActionOrderCancelRequested, a)
		}

		// Each cancelled order and the cancel itself announced trade.cancelled.
		cancelledEvents := 0
		for _, e := range h.eventTypes(h.demo.UserID) {
			if e == realtime.EventTradeCancelled {
				cancelledEvents++
			}
		}
		require.Equal(t, 3, cancelledEvents)

		// Second delivery of the same alert: the same trade, nothing more.
		auditBefore, eventsBefore, ordersBefore := h.actions(h.demo.UserID), h.eventTypes(h.demo.UserID), h.orderCount()
		again := h.postWebhook(cancelBody)
		require.Equal(t, http.StatusAccepted, again.Status, again.Raw)
		require.Equal(t, true, again.Body["duplicate"], again.Raw)
		require.Equal(t, cancelID, again.Body["tradeId"])
		time.Sleep(500 * time.Millisecond)
		require.Equal(t, tradeActions(auditBefore), tradeActions(h.actions(h.demo.UserID)))
		require.Equal(t, tradeEvents(eventsBefore), tradeEvents(h.eventTypes(h.demo.UserID)))
		require.Equal(t, ordersBefore, h.orderCount())
		require.Equal(t, "submitted", h.trade(msft).Status)
		require.Equal(t, "submitted", h.trade(otherWorking).Status)

		// A new cancel finds nothing left to cancel.
		next := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"cancel","id":"cx-cancel-2"}`))
		nb := h.waitStatus(next, 30*time.Second, "cancelled", "rejected")
		require.Equal(t, "No open AAPL orders to cancel.", nb["trade"].(map[string]any)["message"])

		// The other trader's cancel reaches only their own orders; the
		// working ones left end, so no AwaitFill outlives the test.
		oc := h.accepted(other.post(h, `{"ticker":"AAPL","action":"cancel","id":"cx-cancel"}`))
		require.Equal(t, "cancelled", h.waitRow(oc, "cancelled").Status)
		require.Equal(t, "Cancelled 2 open AAPL orders.", h.trade(oc).ErrorMessage)
		require.Equal(t, "cancelled", h.trade(otherQueued).Status)
		require.Equal(t, "cancelled", h.trade(otherWorking).Status)
		require.Equal(t, "submitted", h.trade(msft).Status)
		mc := h.accepted(h.postWebhook(`{"ticker":"MSFT","action":"cancel","id":"cx-cancel-msft"}`))
		require.Equal(t, "Cancelled 1 open MSFT order.", h.waitRow(mc, "cancelled").ErrorMessage)
		require.Equal(t, "cancelled", h.trade(msft).Status)

		verifyAudit(t, h, h.demo.UserID, other.userID)
		if d == store.SQLite {
			h.recordHistory(h.trade(cancelID).WorkflowID, "trade_cancel_signal")
			h.recordHistory(w.WorkflowID, "trade_working_cancelled")
		}
	})
}

// paperTrader is a second trader with a paper account, its own webhook
// token and default risk settings.
type paperTrader struct {
	userID, connectionID, account, webhookToken string
}

func (p paperTrader) post(h *harness, body string) response {
	return h.do(http.MethodPost, h.stack.URL+"/webhooks/tradingview/"+p.webhookToken, "", []byte(body), "application/json")
}

func (h *harness) newPaperTrader() paperTrader {
	h.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	p := paperTrader{userID: uuid.NewString(), connectionID: uuid.NewString(), account: uuid.NewString()}
	email := p.userID + "@example.test"
	require.NoError(h.t, h.engine.CreateAccount(ctx, p.account, app.DemoCash))
	blob, ver, err := h.keyring.EncryptJSON(p.userID, p.connectionID, broker.Credentials{"account_id": p.account})
	require.NoError(h.t, err)
	p.webhookToken, err = app.NewToken()
	require.NoError(h.t, err)
	def := risk.DefaultSettings()
	require.NoError(h.t, h.db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&schema.User{ID: p.userID, Email: &email, Role: "trader", DisplayName: "Other Trader",
			SubscriptionTier: "premium", SubscriptionStatus: "active", CreatedAt: now}).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.BrokerConnection{ID: p.connectionID, UserID: p.userID, BrokerType: "paper", Label: "Paper trading",
			Paper: true, IsActive: true, Credentials: blob, KeyVersion: ver, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			return err
		}
		if err := tx.Create(&schema.RiskSettings{UserID: p.userID, MaxPositionPct: def.MaxPositionPct, DailyLossLimitPct: def.DailyLossLimitPct,
			DailyLossLimitAmount: def.DailyLossLimitAmount, CircuitBreakerPct: def.CircuitBreakerPct, StopLossPct: def.StopLossPct,
			DefaultStockConnection: &p.connectionID, DefaultCryptoConnection: &p.connectionID, UpdatedAt: now}).Error; err != nil {
			return err
		}
		return tx.Create(&schema.WebhookToken{ID: uuid.NewString(), UserID: p.userID, TokenHash: api.HashToken(p.webhookToken), CreatedAt: now}).Error
	}))
	return p
}

// accepted checks a webhook answer and returns its trade id.
func (h *harness) accepted(r response) string {
	h.t.Helper()
	require.Equal(h.t, http.StatusAccepted, r.Status, r.Raw)
	id, _ := r.Body["tradeId"].(string)
	require.NotEmpty(h.t, id, r.Raw)
	return id
}

// waitRow waits for a trade (of any trader) to reach a status in the
// database.
func (h *harness) waitRow(tradeID, status string) schema.Trade {
	h.t.Helper()
	var tr schema.Trade
	require.Eventually(h.t, func() bool {
		tr = h.trade(tradeID)
		return tr.Status == status
	}, 20*time.Second, 25*time.Millisecond, "trade %s did not reach %s", tradeID, status)
	return tr
}

// brokerOrder asks the trader's broker for an order.
func (h *harness) brokerOrder(userID, connectionID, brokerOrderID string) broker.Order {
	h.t.Helper()
	ctx := context.Background()
	conn, err := h.stack.Resolver.Load(ctx, userID, connectionID)
	require.NoError(h.t, err)
	b, err := h.stack.Resolver.Open(ctx, conn)
	require.NoError(h.t, err)
	o, err := b.GetOrderStatus(ctx, brokerOrderID)
	require.NoError(h.t, err)
	return o
}

// timeline lists the audit actions of a trade, oldest first.
func (h *harness) timeline(tradeID string) []string {
	h.t.Helper()
	var rows []schema.AuditLog
	require.NoError(h.t, h.db.Where("resource_id = ?", tradeID).Order("seq").Find(&rows).Error)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Action
	}
	return out
}

// tradeActions keeps the audit actions a signal or a cancel writes.
func tradeActions(actions []string) []string {
	var out []string
	for _, a := range actions {
		switch a {
		case audit.ActionSignalReceived, audit.ActionTradeCreated, audit.ActionOrderCancelled, audit.ActionOrderCancelRequested,
			audit.ActionTradeSubmitted, audit.ActionTradeExecuted, audit.ActionTradeRejected, audit.ActionTradeQueued:
			out = append(out, a)
		}
	}
	return out
}

// tradeEvents keeps the trade.* events (portfolio and quote events come
// from the account guard's own polls).
func tradeEvents(types []string) []string {
	var out []string
	for _, t := range types {
		if strings.HasPrefix(t, "trade.") {
			out = append(out, t)
		}
	}
	return out
}
