package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/workflows"
)

// A limit order working at the broker far from the price (AAPL 180, buy
// limit 100) is cancelled from the API: 202, the trade's workflow cancels
// its own order at the paper broker, and the trade ends `cancelled` with
// nothing filled; exactly one order ever existed (the entry; no stop-loss).
// Another trader cannot cancel it (404), a second cancel is refused (409),
// and the audit chain verifies.
func TestWorkingOrderCancelledFromAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		open := paper.CalendarFunc(func(now time.Time, _ signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
			return true, now, now.Add(6 * time.Hour)
		})
		h := newHarness(t, db, d, harnessOptions{calendar: open})
		_, otherToken := h.newUser("trader")

		tradeID := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"limit","price":100,"id":"api-cancel-working"}`))
		w := h.waitRow(tradeID, "submitted")
		require.NotEmpty(t, w.BrokerOrderID)
		require.Equal(t, broker.StatusNew, h.brokerOrder(h.demo.UserID, h.demo.ConnectionID, w.BrokerOrderID).Status)
		require.Equal(t, 1, h.orderCount())
		cancelURL := h.stack.URL + "/api/v1/trades/" + tradeID + "/cancel"

		// Strict isolation: another trader's cancel finds nothing.
		nf := h.do(http.MethodPost, cancelURL, otherToken, nil, "")
		require.Equal(t, http.StatusNotFound, nf.Status, nf.Raw)
		require.Equal(t, "submitted", h.trade(tradeID).Status)
		require.NotContains(t, h.timeline(tradeID), audit.ActionOrderCancelRequested)

		c := h.do(http.MethodPost, cancelURL, h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusAccepted, c.Status, c.Raw)
		require.Equal(t, "cancelling", c.Body["status"])
		require.Equal(t, tradeID, c.Body["tradeId"])
		require.Equal(t, "Cancel requested. The order is being cancelled at the broker.", c.Body["message"])

		body := h.waitStatus(tradeID, 20*time.Second, "cancelled", "filled", "rejected")
		require.Equal(t, "cancelled", body["trade"].(map[string]any)["status"], body)
		tr := h.trade(tradeID)
		require.True(t, tr.FilledQuantity.IsZero())
		require.True(t, tr.ReservedNotional.IsZero())
		require.Empty(t, tr.StopLossOrderID)
		require.Equal(t, w.BrokerOrderID, tr.BrokerOrderID)
		require.Equal(t, broker.StatusCancelled, h.brokerOrder(h.demo.UserID, h.demo.ConnectionID, tr.BrokerOrderID).Status)
		require.Equal(t, 1, h.orderCount(), "exactly one entry order, no second order and no stop")
		require.Empty(t, h.workingStops("AAPL"))
		require.True(t, h.position("AAPL").IsZero())

		steps := h.timeline(tradeID)
		requested := 0
		for _, s := range steps {
			if s == audit.ActionOrderCancelRequested {
				requested++
			}
		}
		require.Equal(t, 1, requested, steps)
		require.Equal(t, audit.ActionOrderCancelled, steps[len(steps)-1], steps)

		// The workflow ended with the trade.
		var res workflows.TradeResult
		require.NoError(t, h.temporal.GetWorkflow(context.Background(), tr.WorkflowID, "").Get(context.Background(), &res))
		require.Equal(t, "cancelled", res.Status)

		// The outcome reached the trader as the trade's own event.
		require.Contains(t, tradeEvents(h.eventTypes(h.demo.UserID)), realtime.EventTradeCancelled)

		// Ended: the existing 409.
		again := h.do(http.MethodPost, cancelURL, h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusConflict, again.Status, again.Raw)
		require.Equal(t, "not_cancellable", again.Body["error"])
		require.Equal(t, "Only open orders can be cancelled; this order is cancelled.", again.Body["message"])

		verifyAudit(t, h, h.demo.UserID)
	})
}

// A limit order that partly filled (2 of 10) and works on for the rest is
// cancelled from the API: the remainder is cancelled at the broker, the
// trade ends `filled` with the 2, and the position's stop-loss is placed
// for those 2 (the stop belongs to the position; the cancel never touches
// it).
func TestPartlyFilledOrderCancelledFromAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		open := paper.CalendarFunc(func(now time.Time, _ signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
			return true, now, now.Add(6 * time.Hour)
		})
		h := newHarness(t, db, d, harnessOptions{calendar: open})

		// AAPL at 180, a buy limit at 185 fills 2 per matching pass. The
		// placement's pass fills 2; the price moves above the limit inside
		// that placement, before the engine's next pass, so nothing more
		// fills and the rest keeps working.
		h.engine.SetLiquidity("AAPL", decimal.NewFromInt(2))
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{AfterCreate: func() { h.feed.Set("AAPL", decimal.NewFromInt(200)) }})
		tradeID := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":10,"type":"limit","price":185,"id":"api-cancel-partial"}`))

		p := h.waitRow(tradeID, "partial_fill")
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{})
		filled := p.FilledQuantity
		require.Equal(t, "2", filled.String(), "filled %s of 10", filled)

		c := h.do(http.MethodPost, h.stack.URL+"/api/v1/trades/"+tradeID+"/cancel", h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusAccepted, c.Status, c.Raw)
		require.Equal(t, "Cancel requested. The rest of the order is being cancelled at the broker; the quantity already filled stays in your position.",
			c.Body["message"])

		h.waitStatus(tradeID, 20*time.Second, "filled", "cancelled", "rejected")
		tr := h.trade(tradeID)
		require.Equal(t, "filled", tr.Status)
		require.True(t, tr.FilledQuantity.Equal(filled), "filled %s, then %s", filled, tr.FilledQuantity)
		o := h.brokerOrder(h.demo.UserID, h.demo.ConnectionID, tr.BrokerOrderID)
		require.Equal(t, broker.StatusCancelled, o.Status)
		require.True(t, o.FilledQuantity.Equal(filled))

		// The workflow goes on to the position's stop-loss, for what filled.
		require.NoError(t, h.temporal.GetWorkflow(context.Background(), tr.WorkflowID, "").Get(context.Background(), nil))
		stops := h.workingStops("AAPL")
		require.Len(t, stops, 1)
		require.True(t, stops[0].Quantity.Equal(filled), "stop for %s, filled %s", stops[0].Quantity, filled)
		require.Equal(t, 2, h.orderCount(), "one entry order and its stop")
		require.True(t, h.position("AAPL").Equal(filled))
		require.Contains(t, h.timeline(tradeID), audit.ActionOrderCancelRequested)

		// Filled: the stop is the position's, not this endpoint's.
		again := h.do(http.MethodPost, h.stack.URL+"/api/v1/trades/"+tradeID+"/cancel", h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusConflict, again.Status, again.Raw)
		require.Len(t, h.workingStops("AAPL"), 1)

		verifyAudit(t, h, h.demo.UserID)
		if d == store.SQLite {
			h.recordHistory(tr.WorkflowID, "trade_partial_fill_cancelled")
		}
	})
}
