package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// The trade path's less travelled branches, each run for real and (with
// TRADEEXEC_RECORD_HISTORY=1, on SQLite) recorded for the replay tests in
// workflows/.

// Every SubmitOrder attempt fails without an answer while the order is at
// the broker (the first attempt's answer never comes back, the retries
// cannot look it up): the workflow asks once more after a grace period
// (versionConfirmSubmit), finds the order and goes on to the fill and the
// stop — one order, not a rejected trade.
func TestSubmitConfirmedAfterEveryAttemptFailed(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{timeouts: workflowsTimeouts(2 * time.Second)})
		never := make(chan struct{})
		defer close(never)
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{Block: never, BlockAfterCreate: true, Duplicates: paper.DuplicatesAccept})
		tradeID := h.accepted(h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":2,"type":"market","id":"confirm-found"}`))
		require.Eventually(t, func() bool { return h.orderCount() == 1 }, 15*time.Second, 5*time.Millisecond)
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{FailFind: 2, Duplicates: paper.DuplicatesAccept})

		body := h.waitStatus(tradeID, 40*time.Second, "filled", "rejected", "cancelled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "filled", tr["status"], "%v", tr)
		waitStopLoss(t, db, tradeID)
		require.NoError(t, h.temporal.GetWorkflow(context.Background(), h.trade(tradeID).WorkflowID, "").Get(context.Background(), nil))
		require.Equal(t, 2, h.orderCount(), "one entry + its stop")
		require.Equal(t, 2, h.engine.PlaceCalls(h.demo.PaperAccount))
		if d == store.SQLite {
			h.recordHistory(h.trade(tradeID).WorkflowID, "trade_confirm_submit_found")
		}
	})
}

// Every SubmitOrder attempt fails before reaching the broker: after the
// grace period the broker is asked, has no such order, and the trade is
// rejected with the broker's reason.
func TestSubmitNeverReachedTheBrokerIsRejected(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{FailPlace: 3})
		tradeID := h.accepted(h.postWebhook(`{"ticker":"TSLA","action":"buy","quantity":2,"type":"market","id":"confirm-missing"}`))
		body := h.waitStatus(tradeID, 40*time.Second, "filled", "rejected", "cancelled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "rejected", tr["status"], "%v", tr)
		require.Equal(t, "Paper broker temporarily unavailable. Order not submitted.", tr["message"])
		require.Equal(t, 0, h.orderCount())
		require.Equal(t, 3, h.engine.PlaceCalls(h.demo.PaperAccount))
		if d == store.SQLite {
			h.recordHistory(h.trade(tradeID).WorkflowID, "trade_confirm_submit_not_found")
		}
	})
}

// A limit order that fills in parts: one share per matching pass, the
// price moving away after the first and back later. The trade goes
// submitted → partial_fill → filled, then its stop covers all of it.
func TestPartialFillsThenFilled(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		open := paper.CalendarFunc(func(now time.Time, _ signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
			return true, now, now.Add(6 * time.Hour)
		})
		h := newHarness(t, db, d, harnessOptions{calendar: open})
		// AAPL at 180, a buy limit at 185: the placement's pass fills 1.
		// The price moves above the limit inside that placement, before
		// the engine's next pass, so the rest waits however slowly this
		// test runs.
		h.engine.SetLiquidity("AAPL", decimal.NewFromInt(1))
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{AfterCreate: func() { h.feed.Set("AAPL", decimal.NewFromInt(200)) }})
		tradeID := h.accepted(h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":3,"type":"limit","price":185,"id":"partial-1"}`))

		p := h.waitRow(tradeID, "partial_fill")
		require.Equal(t, "1", p.FilledQuantity.String(), "filled %s of 3", p.FilledQuantity)
		require.Equal(t, 1, h.engine.PlaceCalls(h.demo.PaperAccount))
		h.engine.InjectFaults(h.demo.PaperAccount, paper.Faults{})
		h.feed.Set("AAPL", decimal.NewFromInt(180))

		body := h.waitStatus(tradeID, 30*time.Second, "filled", "rejected", "cancelled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "filled", tr["status"], "%v", tr)
		require.Equal(t, "3", tr["filledQuantity"])
		require.Contains(t, h.timeline(tradeID), audit.ActionTradePartialFill)
		waitStopLoss(t, db, tradeID)
		require.NoError(t, h.temporal.GetWorkflow(context.Background(), h.trade(tradeID).WorkflowID, "").Get(context.Background(), nil))
		stops := h.workingStops("AAPL")
		require.Len(t, stops, 1)
		require.Equal(t, "3", stops[0].Quantity.String())
		if d == store.SQLite {
			h.recordHistory(h.trade(tradeID).WorkflowID, "trade_partial_fill")
		}
	})
}

// A channel signal (SignalWorkflow, started as the Discord bot starts it)
// fans out to the source's followers a page at a time, continuing as new
// between pages: the follower with a broker gets one trade, filled; the
// one without an active plan is skipped; the outcome is recorded once.
func TestChannelSignalFansOutAcrossRuns(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		ctx := context.Background()
		now := time.Now().UTC()
		owner := uuid.NewString()
		require.NoError(t, db.Create(&schema.User{ID: owner, DisplayName: "Provider", SubscriptionStatus: "active", CreatedAt: now}).Error)
		src, err := sources.Register(ctx, db, sources.RegisterInput{GuildID: "100000000000000001", ChannelID: "100000000000000002",
			Name: "Alpha calls", OwnerUserID: owner, RegisteredBy: "100000000000000003", Mode: sources.ModeStrict, SummaryReplies: true, Verified: true})
		require.NoError(t, err)
		_, err = sources.Follow(ctx, db, h.demo.UserID, src.ID, sources.DefaultSizing(), false)
		require.NoError(t, err)
		lapsed := uuid.NewString()
		require.NoError(t, db.Create(&schema.User{ID: lapsed, DisplayName: "Lapsed", SubscriptionStatus: "cancelled", CreatedAt: now}).Error)
		_, err = sources.Follow(ctx, db, lapsed, src.ID, sources.DefaultSizing(), false)
		require.NoError(t, err)

		sig, err := signal.ParseDiscord("/buy AAPL 2")
		require.NoError(t, err)
		sig.Text = "/buy AAPL 2"
		// A Discord snowflake of its own: workflow ids outlive the test's
		// database on the shared Temporal server.
		messageID := strconv.FormatInt(1_300_000_000_000_000_000+time.Now().UnixNano()%1_000_000_000_000_000, 10)
		id := workflows.SignalWorkflowID(signal.SourceDiscord, messageID)
		run, err := h.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: id, TaskQueue: h.queue,
			WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
			WorkflowExecutionErrorWhenAlreadyStarted: true,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				workflows.SASignalSource.ValueSet(string(signal.SourceDiscord)), workflows.SASymbol.ValueSet("AAPL")),
			Memo: map[string]any{"signal": sig.Text, "sourceId": src.ID, "source": src.Name, "messageId": messageID},
		}, workflows.SignalWorkflowName, workflows.SignalInput{SourceID: src.ID, MessageID: messageID, ChannelID: "100000000000000002",
			Legs: signal.SingleLeg(sig), PageSize: 1, PagesPerRun: 1, Timeouts: h.opts.timeouts})
		require.NoError(t, err)
		var res workflows.SignalResult
		require.NoError(t, h.temporal.GetWorkflow(ctx, id, "").Get(ctx, &res))
		require.Equal(t, workflows.SignalResult{Followers: 1, Skipped: 1}, res)

		var trades []schema.Trade
		require.NoError(t, db.Where("user_id = ?", h.demo.UserID).Find(&trades).Error)
		require.Len(t, trades, 1)
		h.waitStatus(trades[0].ID, 20*time.Second, "filled")
		waitStopLoss(t, db, trades[0].ID)
		require.NoError(t, db.Where("user_id = ?", lapsed).Find(&trades).Error)
		require.Empty(t, trades)

		d2, err := h.temporal.DescribeWorkflowExecution(ctx, id, "")
		require.NoError(t, err)
		last := d2.GetWorkflowExecutionInfo().GetExecution().GetRunId()
		require.NotEqual(t, run.GetRunID(), last, "the fan-out continued as new")
		if d == store.SQLite {
			h.recordChain(id, run.GetRunID(), "signal_fanout")
		}
	})
}
