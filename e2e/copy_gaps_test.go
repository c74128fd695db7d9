package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// copyFillNow records a leader fill the way the fill's transaction does
// (a stop or take-profit executed at the broker is one) and runs its copy
// fan-out, returning the copy fill.
func (h *harness) copyFillNow(f copytrade.LeaderFill) schema.CopyFill {
	h.t.Helper()
	var fill *schema.CopyFill
	require.NoError(h.t, store.InTx(context.Background(), h.db, func(tx *gorm.DB) error {
		var err error
		fill, err = copytrade.RecordLeaderFill(tx, f, time.Now().UTC())
		return err
	}))
	require.NotNil(h.t, fill)
	run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.SignalWorkflowID(signal.SourceCopy, fill.FillID), TaskQueue: h.queue},
		workflows.SignalWorkflowName, workflows.SignalInput{MessageID: fill.FillID, CopyFillID: fill.ID,
			Legs: signal.SingleLeg(signal.Signal{Source: signal.SourceCopy, ExternalID: fill.FillID, Symbol: fill.Symbol,
				AssetClass: signal.AssetClass(fill.AssetClass), Side: signal.Side(fill.Side), Action: signal.Action(fill.Side),
				Quantity: fill.Quantity, QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket})})
	require.NoError(h.t, err)
	require.NoError(h.t, run.Get(context.Background(), nil))
	return *fill
}

func (h *harness) waitBrokerPosition(account, symbol, want string) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !h.brokerPosition(account, symbol).Equal(dec(want)) {
		time.Sleep(50 * time.Millisecond)
	}
	require.True(h.t, dec(want).Equal(h.brokerPosition(account, symbol)), "%s %s: %s, want %s", account, symbol, h.brokerPosition(account, symbol), want)
}

// Issue 17's closing gaps on the paper broker: the follower dashboard's
// line (SPEC US-011 #2), unfollow keeping or closing copied positions, a
// leader's exit within 5 s of the entry copied (not refused as
// conflicting), a flip copied as a close with the opening part refused
// with its reason, and the loss limit reached by a price move alone
// (SPEC US-011 #4) — the leader never trades again.
func TestCopyTradingGaps(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		leader, lt := h.demo.UserID, h.demo.APIToken
		r := h.api(http.MethodPut, "/api/v1/copy/settings", lt, `{"allowCopy":true,"visibility":"public","displayName":"TradeMaster"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		h.setEquity(leader, h.demo.ConnectionID, 100_000)

		a, b, keep, closer := h.newCopyFollower(10_000), h.newCopyFollower(25_000), h.newCopyFollower(10_000), h.newCopyFollower(10_000)
		// A's own stop-loss far below (50%): the copy loss limit, not A's
		// stop, must act on the price move below.
		require.NoError(t, db.Model(&schema.RiskSettings{}).Where("user_id = ?", a.userID).Update("stop_loss_pct", dec("50")).Error)
		follows := map[string]string{}
		for _, f := range []copyFollower{a, b, keep, closer} {
			body := `{"leaderId":"` + leader + `","sizingMode":"proportional"}`
			if f.userID == a.userID {
				body = `{"leaderId":"` + leader + `","sizingMode":"proportional","lossLimit":"100"}`
			}
			r := h.api(http.MethodPost, "/api/v1/copy/follows", f.token, body)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
			require.Equal(t, "active", r.Body["follow"].(map[string]any)["status"], "a public leader's follow starts at once")
			follows[f.userID] = r.Body["follow"].(map[string]any)["id"].(string)
		}

		// US-011 #1/#2: BUY TSLA 20 @ $250 = 5% of $100,000.
		entry := h.buyFilled("TSLA", 20, "gap-1")
		_, out := h.copyOutcome(entry, 4)
		require.True(t, dec("5").Equal(out[b.userID].Quantity))
		act := h.api(http.MethodGet, "/api/v1/copy/activity", a.token, "")
		require.Equal(t, http.StatusOK, act.Status)
		require.Contains(t, act.Raw, "Copy Trade: TSLA +2 shares (5% allocation)", "SPEC US-011 #2's dashboard line")
		require.Contains(t, strings.Join(h.notices(a.userID), "\n"), "Copied TradeMaster: TSLA +20 shares", "SPEC US-011 #1's notification")

		// A pauses (so the flip below leaves its copy alone); one follower
		// unfollows keeping its copied shares, one closing them.
		r = h.api(http.MethodPatch, "/api/v1/copy/follows/"+follows[a.userID], a.token, `{"status":"paused"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		r = h.api(http.MethodDelete, "/api/v1/copy/follows/"+follows[keep.userID], keep.token, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.Contains(t, r.Raw, `"closePositions":false`)
		require.Contains(t, r.Raw, `"symbol":"TSLA"`)
		require.Equal(t, http.StatusBadRequest, h.api(http.MethodDelete, "/api/v1/copy/follows/"+follows[closer.userID]+"?closePositions=maybe", closer.token, "").Status)
		r = h.api(http.MethodDelete, "/api/v1/copy/follows/"+follows[closer.userID]+"?closePositions=true", closer.token, "")
		require.Equal(t, http.StatusOK, r.Status, r.Raw)

		// The leader's stop executes at the broker within 5 s of the entry,
		// and flips the position: long 20, sold 30 (short 10). B's copied 5
		// are closed — not refused by the 5-second conflicting-signal rule —
		// and the opening of the short is refused with the reason, told.
		var bEntry schema.Trade
		require.NoError(t, db.Where("id = ?", out[b.userID].TradeID).Take(&bEntry).Error)
		flip := h.copyFillNow(copytrade.LeaderFill{FillID: "stop:gap-flip:1", LeaderID: leader, ConnectionID: h.demo.ConnectionID, Symbol: "TSLA",
			AssetClass: "stock", Side: "sell", Quantity: dec("30"), Price: dec("250")})
		require.Equal(t, copytrade.KindClose, flip.Kind)
		var bo schema.CopyOrder
		require.NoError(t, db.Where("copy_fill_id = ? AND follower_id = ?", flip.ID, b.userID).Take(&bo).Error)
		require.Equal(t, "sell", bo.Side)
		require.True(t, dec("5").Equal(bo.Quantity))
		require.Contains(t, bo.Reason, "TradeMaster reversed TSLA to short 10 shares")
		var bExit schema.Trade
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			require.NoError(t, db.Where("id = ?", bo.TradeID).Take(&bExit).Error)
			if bExit.Status == "filled" || bExit.Status == "rejected" || bExit.Status == "failed" {
				break
			}
			time.Sleep(25 * time.Millisecond)
		}
		require.Less(t, bExit.CreatedAt.Sub(bEntry.CreatedAt), 5*time.Second, "the exit must come within the conflicting-signal window to test it")
		require.Equal(t, "filled", bExit.Status, "a copied exit is never refused as conflicting: %s", bExit.ErrorMessage)
		h.waitBrokerPosition(b.account, "TSLA", "0")
		require.Contains(t, strings.Join(h.notices(b.userID), "\n"), "reversed TSLA to short 10 shares")
		// The unfollowers: nothing of theirs was copied or closed by it.
		var n int64
		require.NoError(t, db.Model(&schema.CopyOrder{}).Where("copy_fill_id = ? AND follower_id IN ?", flip.ID,
			[]string{a.userID, keep.userID, closer.userID}).Count(&n).Error)
		require.Zero(t, n)
		h.waitBrokerPosition(keep.account, "TSLA", "2")
		require.True(t, h.copied(keep.userID, "TSLA").IsZero(), "released: the 2 shares are the trader's own now")
		h.waitBrokerPosition(closer.account, "TSLA", "0")

		// US-011 #4 by a price move alone: A resumes with its 2 copied
		// shares at $250; TSLA falls to $225 (−$50 = 50% of A's $100
		// limit); A's account guard looks — copying pauses, the copied
		// shares are closed, A is told. The leader does not trade.
		r = h.api(http.MethodPatch, "/api/v1/copy/follows/"+follows[a.userID], a.token, `{"status":"active"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		require.True(t, dec("2").Equal(h.copied(a.userID, "TSLA")))
		var leaderTrades int64
		require.NoError(t, db.Model(&schema.Trade{}).Where("user_id = ?", leader).Count(&leaderTrades).Error)
		h.feed.Set("TSLA", dec("225"))
		deadline = time.Now().Add(45 * time.Second)
		var follow schema.CopyFollow
		for time.Now().Before(deadline) {
			// Ask A's guard to look now (it also looks every poll).
			_ = h.temporal.SignalWorkflow(context.Background(), workflows.GuardWorkflowID(a.connectionID), "", workflows.SignalGuardCheck, nil)
			require.NoError(t, db.Where("id = ?", follows[a.userID]).Take(&follow).Error)
			if follow.Status == copytrade.StatusPaused && strings.HasPrefix(follow.StatusReason, "Copy trading paused") {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		require.Equal(t, copytrade.StatusPaused, follow.Status, follow.StatusReason)
		require.Contains(t, follow.StatusReason, "Copy trading paused: Loss limit approaching")
		require.Contains(t, strings.Join(h.notices(a.userID), "\n"), "Copy trading paused: Loss limit approaching")
		h.waitBrokerPosition(a.account, "TSLA", "0")
		var after int64
		require.NoError(t, db.Model(&schema.Trade{}).Where("user_id = ?", leader).Count(&after).Error)
		require.Equal(t, leaderTrades, after, "the leader did not trade")

		verifyAudit(t, h, leader, a.userID, b.userID, keep.userID, closer.userID)
	})
}
