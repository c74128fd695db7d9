package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Webhook in → order at the paper broker → trade filled → stop-loss placed →
// audit chain verifies → outbox events present, in order.
func TestWebhookToFilledOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":5,"type":"market","id":"alert-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tradeID := r.Body["tradeId"].(string)
		require.NotEmpty(t, r.Body["signalId"])

		body := h.waitStatus(tradeID, 20*time.Second, "filled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "5", tr["filledQuantity"])
		require.Equal(t, "180", tr["fillPrice"])
		require.Equal(t, "paper", tr["broker"])

		// The stop-loss follows the fill: -2% of $180 = $176.40.
		require.Eventually(t, func() bool { return h.trade(tradeID).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)
		stored := h.trade(tradeID)
		require.True(t, stored.StopLossPrice.Decimal.Equal(decimal.RequireFromString("176.40")), stored.StopLossPrice.Decimal.String())
		require.Equal(t, 2, h.orderCount(), "entry + stop-loss")

		// Timeline from the audit log.
		body = h.getTrade(tradeID).Body
		var actions []string
		for _, s := range body["timeline"].([]any) {
			actions = append(actions, s.(map[string]any)["action"].(string))
		}
		require.Subset(t, actions, []string{audit.ActionTradeCreated, audit.ActionTradeSized, audit.ActionTradeSubmitted, audit.ActionTradeExecuted, audit.ActionStopLossPlaced})

		res, err := audit.Verify(context.Background(), db, h.demo.UserID)
		require.NoError(t, err)
		require.True(t, res.Valid, "%+v", res)

		evs, err := realtime.EventsSince(context.Background(), db, h.demo.UserID, 0, 100)
		require.NoError(t, err)
		var types []string
		for i, e := range evs {
			require.Equal(t, int64(i+1), e.Seq, "gapless per-user sequence")
			types = append(types, e.Type)
		}
		require.Less(t, indexOf(types, realtime.EventTradeSubmitted), indexOf(types, realtime.EventTradeFilled), "%v", types)
		require.GreaterOrEqual(t, indexOf(types, realtime.EventTradeSubmitted), 0, "%v", types)

		// Support staff find it in Temporal by search attributes.
		// (The workflow completes once the account guard has been told of
		// the fill, which runs beside the stop-loss placement.)
		var wf *workflowservice.DescribeWorkflowExecutionResponse
		require.Eventually(t, func() bool {
			var err error
			wf, err = h.temporal.DescribeWorkflowExecution(context.Background(), tr["workflowId"].(string), "")
			return err == nil && wf.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
		}, 10*time.Second, 20*time.Millisecond)
		sa := wf.WorkflowExecutionInfo.SearchAttributes.IndexedFields
		for _, k := range []string{"UserId", "Symbol", "Broker", "SignalSource", "TradeStatus"} {
			require.Contains(t, sa, k)
		}
		require.Contains(t, string(sa["TradeStatus"].Data), "filled")
		require.Contains(t, string(sa["Broker"].Data), "paper")
		// Its shape (workflows.TradeShape): one workflow task, no version
		// marker, one search-attribute upsert (status and broker).
		shape := map[string]int{}
		it := h.temporal.GetWorkflowHistory(context.Background(), tr["workflowId"].(string), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			name := ev.GetEventType().String()
			if m := ev.GetMarkerRecordedEventAttributes(); m != nil {
				name += "/" + m.GetMarkerName()
			}
			shape[name]++
		}
		require.Equal(t, 1, shape["WorkflowTaskCompleted"], "%v", shape)
		require.Zero(t, shape["MarkerRecorded/Version"], "%v", shape)
		require.Equal(t, 1, shape["UpsertWorkflowSearchAttributes"], "%v", shape)
		if d == store.SQLite {
			h.recordHistory(tr["workflowId"].(string), "trade_filled")
			// The account guard the fill started: its first check and
			// stop reconciliation, then the wait for the next poll.
			h.waitGuardIdle(workflows.GuardWorkflowID(h.demo.ConnectionID))
			h.recordHistory(workflows.GuardWorkflowID(h.demo.ConnectionID), "guard_after_fill")
		}
	})
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

// Invariant 1: the same alert delivered 20 times at once yields one order.
func TestDuplicateAlertYieldsOneOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		const n = 20
		var wg sync.WaitGroup
		ids := make([]string, n)
		codes := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// A 503 stored nothing: its redelivery is one more copy.
				r := h.deliverWebhook(`{"ticker":"MSFT","action":"buy","quantity":3,"type":"market","id":"dup-42"}`, time.Minute)
				codes[i] = r.Status
				if id, ok := r.Body["tradeId"].(string); ok {
					ids[i] = id
				}
			}(i)
		}
		wg.Wait()
		for i := 0; i < n; i++ {
			require.Equal(t, http.StatusAccepted, codes[i], "delivery %d", i)
			require.Equal(t, ids[0], ids[i], "every delivery maps to one trade")
		}
		h.waitStatus(ids[0], 20*time.Second, "filled")
		require.Eventually(t, func() bool { return h.trade(ids[0]).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, 2, h.orderCount(), "one entry order + its stop-loss, never a second entry")
		var trades int64
		require.NoError(t, db.Model(&schema.Trade{}).Count(&trades).Error)
		require.EqualValues(t, 1, trades)
	})
}

// Invariant 1: a worker killed in the middle of SubmitOrder, after the order
// reached the broker but before it was recorded, and a new worker picking
// up the retry: exactly one entry order. The paper broker takes a second
// order under the same client order id (as brokers that do not
// de-duplicate do), so SubmitOrder's lookup is what keeps it single.
func TestWorkerKilledDuringSubmitYieldsOneOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{timeouts: workflowsTimeouts(3 * time.Second)})
		block := make(chan struct{})
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{Block: block, BlockAfterCreate: true, Duplicates: paper.DuplicatesAccept})

		r := h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":2,"type":"market","id":"crash-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tradeID := r.Body["tradeId"].(string)
		require.Eventually(t, func() bool { return h.engine.PlaceCalls(h.demo.PaperAccount) >= 1 }, 15*time.Second, 10*time.Millisecond)

		// Kill the worker while SubmitOrder is inside the broker call.
		h.stack.Stop()
		close(block)
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{Duplicates: paper.DuplicatesAccept})
		// The interrupted call created the order. (A paper order's steps
		// are local activities of one workflow task, which the stopping
		// worker may finish itself — placing the stop too — or leave to
		// the next worker; either way one entry, checked below.)
		require.GreaterOrEqual(t, h.orderCount(), 1, "the interrupted call created the order")

		h.start(h.stack.Trading.Log)
		h.waitStatus(tradeID, 30*time.Second, "filled")
		require.Eventually(t, func() bool { return h.trade(tradeID).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, 2, h.orderCount(), "the retry found the order by client id: one entry + one stop")
	})
}

// Invariant 1 when the broker's answers never come back in time: every
// PlaceOrder (entry and stop) is accepted by the broker and then hangs
// past the activity's start-to-close timeout. The broker does not
// de-duplicate by client order id; each retry finds the order its timed
// out attempt placed: one entry and one stop.
func TestSubmitTimedOutAfterAcceptYieldsOneOrderEach(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{timeouts: workflowsTimeouts(2 * time.Second)})
		never := make(chan struct{})
		defer close(never)
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{Block: never, BlockAfterCreate: true, Duplicates: paper.DuplicatesAccept})

		r := h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":2,"type":"market","id":"timeout-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tradeID := r.Body["tradeId"].(string)
		h.waitStatus(tradeID, 30*time.Second, "filled")
		require.Eventually(t, func() bool { return h.trade(tradeID).StopLossOrderID != "" }, 30*time.Second, 20*time.Millisecond)
		require.Equal(t, 2, h.orderCount(), "one entry + one stop, whatever the timed out attempts left at the broker")
		require.Equal(t, 2, h.engine.PlaceCalls(h.demo.PaperAccount), "the retries placed nothing")
	})
}

// US-006 #1: $10,000 account, AAPL 100 @ $180 = $18,000 → 5 shares.
func TestPositionSizing(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{cash: decimal.NewFromInt(10_000)})
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":100,"type":"market","id":"size-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "filled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "5", tr["filledQuantity"])
		require.Equal(t, "100", tr["requestedQuantity"])
		require.Equal(t, "Position size reduced to 5 shares (10% max rule)", tr["sizingNote"])
	})
}

// US-001 #2: a $50,000 order with $20,000 of buying power is refused before
// submission with the seed's exact message.
func TestInsufficientBuyingPower(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		require.NoError(t, db.Model(&schema.RiskSettings{}).Where("user_id = ?", h.demo.UserID).
			Update("max_position_pct", decimal.NewFromInt(100)).Error)
		// $100,000 cash: 400 MSFT @ $200 leaves $20,000 cash, equity $100,000.
		r := h.postWebhook(`{"ticker":"MSFT","action":"buy","quantity":400,"type":"market","id":"bp-0"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		msft := r.Body["tradeId"].(string)
		h.waitStatus(msft, 20*time.Second, "filled")
		require.Eventually(t, func() bool { return h.trade(msft).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)

		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":250,"type":"limit","price":200,"id":"bp-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "rejected", "filled", "submitted")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "rejected", tr["status"], "%v", tr)
		require.Equal(t, "Insufficient buying power: $20,000 available, $50,000 required", tr["message"])
		require.Equal(t, 2, h.orderCount(), "MSFT entry + its stop; nothing for AAPL")
	})
}

// A closed market queues the order on a durable timer; the trader cancels it
// from the API and no order ever reaches the broker.
func TestQueuedOrderCancelledFromAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		closed := paper.CalendarFunc(func(now time.Time, class signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
			if class == signal.AssetCrypto {
				return true, now, time.Time{}
			}
			return false, now.Add(time.Hour), now.Add(7 * time.Hour)
		})
		h := newHarness(t, db, d, harnessOptions{calendar: closed})
		r := h.postWebhook(`{"ticker":"SPY","action":"buy","quantity":1,"type":"market","id":"q-1"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		tradeID := r.Body["tradeId"].(string)
		body := h.waitStatus(tradeID, 20*time.Second, "queued")
		tr := body["trade"].(map[string]any)
		require.NotEmpty(t, tr["queuedUntil"])
		require.Contains(t, tr["message"], "Order queued for ")
		require.Contains(t, tr["message"], " ET")

		c := h.do(http.MethodPost, h.stack.URL+"/api/v1/trades/"+tradeID+"/cancel", h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusAccepted, c.Status, c.Raw)
		h.waitStatus(tradeID, 20*time.Second, "cancelled")
		require.Equal(t, 0, h.orderCount())

		if d == store.SQLite {
			h.recordHistory(tr["workflowId"].(string), "trade_queued_cancelled")
		}
		again := h.do(http.MethodPost, h.stack.URL+"/api/v1/trades/"+tradeID+"/cancel", h.demo.APIToken, nil, "")
		require.Equal(t, http.StatusConflict, again.Status, again.Raw)
	})
}

// Bad input: a precise 400, nothing stored, nothing started.
func TestWebhookRejectsBadPayloads(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	cases := []struct {
		body, field string
	}{
		{`{"ticker":"TSLA","action":"buy","quantity":-5,"type":"market"}`, "quantity"},
		{`{"action":"buy","quantity":5}`, "ticker"},
		{`{"ticker":"TSLA","action":"hold","quantity":5}`, "action"},
		{`{"ticker":"TSLA","action":"buy","quantity":5,"type":"limit"}`, "limitPrice"},
		{`not json`, ""},
	}
	for _, c := range cases {
		r := h.postWebhook(c.body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s → %s", c.body, r.Raw)
		require.Equal(t, "invalid_signal", r.Body["error"], r.Raw)
		if c.field != "" {
			require.Contains(t, fmt.Sprint(r.Body["field"])+fmt.Sprint(r.Body["message"]), c.field, r.Raw)
		}
		require.NotContains(t, strings.ToLower(r.Raw), "gorm")
	}
	var n int64
	require.NoError(t, h.db.Model(&schema.Signal{}).Count(&n).Error)
	require.Zero(t, n)

	// text/plain works the same (TradingView sends that).
	r := h.do(http.MethodPost, h.webhookURL(), "", []byte(`{"ticker":"BTCUSD","action":"buy","quantity":0.5,"type":"market"}`), "text/plain")
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "filled", "rejected")
	require.Equal(t, "BTC-USD", body["trade"].(map[string]any)["symbol"])

	// Unknown token: 404, no detail.
	bad := h.do(http.MethodPost, h.stack.URL+"/webhooks/tradingview/"+strings.Repeat("x", 43), "", []byte(`{}`), "application/json")
	require.Equal(t, http.StatusNotFound, bad.Status)

	// Another user's token cannot read this trade: API requires a bearer.
	un := h.do(http.MethodGet, h.stack.URL+"/api/v1/trades", "", nil, "")
	require.Equal(t, http.StatusUnauthorized, un.Status)
}

// Invariant 4: no credential in the workflow history, the logs or the API.
func TestNoCredentialLeaks(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"type":"market","id":"leak-1","passphrase":"hunter2-secret"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	body := h.waitStatus(r.Body["tradeId"].(string), 20*time.Second, "filled")
	wfID := body["trade"].(map[string]any)["workflowId"].(string)
	require.Eventually(t, func() bool { return h.trade(r.Body["tradeId"].(string)).StopLossOrderID != "" }, 10*time.Second, 20*time.Millisecond)

	secrets := []string{h.demo.WebhookToken, h.demo.APIToken, h.demo.PaperAccount, "hunter2-secret"}
	iter := h.temporal.GetWorkflowHistory(context.Background(), wfID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var history strings.Builder
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		b, _ := json.Marshal(ev)
		history.Write(b)
		// And decrypted, as support staff read it through the codec.
		require.NoError(t, testenv.Decrypt(ev))
		b, _ = json.Marshal(ev)
		history.Write(b)
	}
	var logs strings.Builder
	for _, e := range h.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		logs.WriteString(e.Message)
		logs.Write(b)
	}
	api := h.getTrade(r.Body["tradeId"].(string)).Raw + h.do(http.MethodGet, h.stack.URL+"/api/v1/trades", h.demo.APIToken, nil, "").Raw
	for _, s := range secrets {
		require.NotContains(t, history.String(), s, "history leaks a secret")
		require.NotContains(t, logs.String(), s, "logs leak a secret")
		require.NotContains(t, api, s, "API leaks a secret")
	}
	require.NotEmpty(t, history.String())
	require.NotEmpty(t, logs.String())
}

// Issue 13 #6: an alert id longer than its column — a number, which the
// schema's maxLength does not bound — is a 400 naming the field, never a
// 500 with the database's error, on SQLite and PostgreSQL.
func TestOverlongAlertIDIsRefused(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"id":` + strings.Repeat("9", 170) + `}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, "id", r.Body["field"])
		require.NotContains(t, strings.ToLower(r.Raw), "sqlstate")
	})
}

// /live answers without I/O (liveness); /ready and /health check the
// database and Temporal (readiness).
func TestLivenessAndReadiness(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	for _, path := range []string{"/live", "/ready", "/health"} {
		r := h.do(http.MethodGet, h.stack.URL+path, "", nil, "")
		require.Equal(t, http.StatusOK, r.Status, path+": "+r.Raw)
	}
	require.Equal(t, "alive", h.do(http.MethodGet, h.stack.URL+"/live", "", nil, "").Body["status"])
	sqlDB, err := h.db.DB()
	require.NoError(t, err)
	require.NoError(t, sqlDB.Close()) // the database goes away
	r := h.do(http.MethodGet, h.stack.URL+"/ready", "", nil, "")
	require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
	require.Equal(t, "unreachable", r.Body["database"])
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, h.stack.URL+"/live", "", nil, "").Status, "liveness does not depend on the database")
	// SIGTERM: the api answers not-ready (draining) while it still serves,
	// so the balancer stops sending before the listener closes.
	h.stack.API.SetDraining()
	r = h.do(http.MethodGet, h.stack.URL+"/ready", "", nil, "")
	require.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
	require.Equal(t, "draining", r.Body["status"])
	require.Equal(t, http.StatusOK, h.do(http.MethodGet, h.stack.URL+"/live", "", nil, "").Status)
}

// Refuse, never ignore: a time in force the trader's broker (here the
// paper broker, which runs no auctions) does not execute is refused with
// the field named instead of sending the order without it.
func TestUnexecutedOrderFieldsAreRefusedAtTheWebhook(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	for body, field := range map[string]string{
		`{"ticker":"AAPL","action":"buy","quantity":1,"timeInForce":"opg"}`: "timeInForce",
	} {
		r := h.postWebhook(body)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
		require.Equal(t, field, r.Body["field"], r.Raw)
	}
	var n int64
	require.NoError(t, h.db.Model(&schema.Trade{}).Count(&n).Error)
	require.Zero(t, n, "nothing was stored or sent")
}
