package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// copyFollower is a paper trader with its own cash, API token and webhook.
type copyFollower struct {
	paperTrader
	token string
}

func (h *harness) newCopyFollower(cash int64) copyFollower {
	h.t.Helper()
	p := h.newPaperTrader()
	ctx := context.Background()
	// Replace the account by one with the cash asked for.
	p.account = uuid.NewString()
	require.NoError(h.t, h.engine.CreateAccount(ctx, p.account, decimal.NewFromInt(cash)))
	blob, ver, err := h.keyring.EncryptJSON(p.userID, p.connectionID, map[string]string{"account_id": p.account})
	require.NoError(h.t, err)
	require.NoError(h.t, h.db.Model(&schema.BrokerConnection{}).Where("id = ?", p.connectionID).
		Updates(map[string]any{"credentials": blob, "key_version": ver}).Error)
	h.setEquity(p.userID, p.connectionID, cash)
	tok, err := h.stack.Auth.IssueScriptToken(ctx, p.userID)
	require.NoError(h.t, err)
	return copyFollower{paperTrader: p, token: tok.AccessToken}
}

// setEquity stores the synced account value (what the account monitor
// writes) so proportional sizing knows it.
func (h *harness) setEquity(userID, connectionID string, equity int64) {
	h.t.Helper()
	now := time.Now().UTC()
	eq := decimal.NewFromInt(equity)
	require.NoError(h.t, h.db.Where("broker_connection_id = ?", connectionID).Delete(&schema.PortfolioBalance{}).Error)
	require.NoError(h.t, h.db.Create(&schema.PortfolioBalance{BrokerConnectionID: connectionID, UserID: userID, Cash: eq, Equity: eq,
		BuyingPower: eq, Currency: "USD", UpdatedAt: now}).Error)
}

func (h *harness) api(method, path, token string, body string) response {
	h.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return h.do(method, h.stack.URL+path, token, []byte(body), ct)
}

func (h *harness) brokerPosition(account, symbol string) decimal.Decimal {
	h.t.Helper()
	ps, err := h.engine.Broker(account).GetPositions(context.Background())
	require.NoError(h.t, err)
	for _, p := range ps {
		if p.Symbol == symbol {
			return p.Quantity
		}
	}
	return decimal.Zero
}

// copyOutcome waits until every active follower has an outcome for the
// leader's fill of trade tradeID and every copy order sent is final; it
// returns the outcomes by follower id.
func (h *harness) copyOutcome(tradeID string, followers int) (schema.CopyFill, map[string]schema.CopyOrder) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var fill schema.CopyFill
		if err := h.db.Where("fill_id = ?", "trade:"+tradeID).Take(&fill).Error; err == nil && fill.FannedOutAt != nil {
			var orders []schema.CopyOrder
			require.NoError(h.t, h.db.Where("copy_fill_id = ?", fill.ID).Find(&orders).Error)
			out := map[string]schema.CopyOrder{}
			final := true
			for _, o := range orders {
				out[o.FollowerID] = o
				if o.TradeID != "" {
					st := h.trade(o.TradeID).Status
					final = final && (st == "filled" || st == "rejected" || st == "cancelled" || st == "failed")
				}
			}
			if len(out) == followers && final {
				// The orders as they are now that every trade is final
				// (read before, a fill committed in between left them
				// "sent").
				orders = nil
				require.NoError(h.t, h.db.Where("copy_fill_id = ?", fill.ID).Find(&orders).Error)
				for _, o := range orders {
					out[o.FollowerID] = o
				}
				return fill, out
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("copies of trade %s not done", tradeID)
	return schema.CopyFill{}, nil
}

func (h *harness) copied(follower, symbol string) decimal.Decimal {
	var p schema.CopyPosition
	if err := h.db.Where("follower_id = ? AND symbol = ?", follower, symbol).Take(&p).Error; err != nil {
		return decimal.Zero
	}
	return p.Quantity
}

func (h *harness) notices(userID string) []string {
	h.t.Helper()
	var rows []schema.OutboxEvent
	require.NoError(h.t, h.db.Where("user_id = ? AND type = ?", userID, copytrade.EventNotice).Order("seq").Find(&rows).Error)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Payload
	}
	return out
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// SPEC US-011 #1/#2/#4: a leader with $100,000 and followers of $10,000,
// $25,000, $5,000 and $2,000 on the paper broker. Entry sized by equity
// (2, 5, 1 shares; the $2,000 follower skipped with the reason), the fill
// replayed after a restart copies once, exits close only copied shares, and
// the loss limit pauses copying and closes the copied position.
func TestCopyTradingLeaderAndFollowers(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		leader, lt := h.demo.UserID, h.demo.APIToken
		r := h.api(http.MethodPut, "/api/v1/copy/settings", lt, `{"allowCopy":true,"visibility":"public","displayName":"TradeMaster"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		h.setEquity(leader, h.demo.ConnectionID, 100_000)

		a, b, c, small := h.newCopyFollower(10_000), h.newCopyFollower(25_000), h.newCopyFollower(5_000), h.newCopyFollower(2_000)
		// B's own stop-loss 10% below: the loss limit, not the stop, closes B.
		require.NoError(t, db.Model(&schema.RiskSettings{}).Where("user_id = ?", b.userID).Update("stop_loss_pct", decimal.NewFromInt(10)).Error)
		// A holds 1 TSLA of its own before copying: never sold by a copy.
		own := h.accepted(a.post(h, `{"ticker":"TSLA","action":"buy","quantity":1,"type":"market","id":"a-own"}`))
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) && h.trade(own).Status != "filled" {
			time.Sleep(25 * time.Millisecond)
		}
		require.Equal(t, "filled", h.trade(own).Status)
		for _, f := range []copyFollower{a, b, c, small} {
			body := `{"leaderId":"` + leader + `","sizingMode":"proportional"}`
			if f.userID == b.userID {
				body = `{"leaderId":"` + leader + `","sizingMode":"proportional","lossLimit":"100"}`
			}
			r := h.api(http.MethodPost, "/api/v1/copy/follows", f.token, body)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}

		// US-011 #1: BUY TSLA 20 @ $250 (5% of $100,000).
		entry := h.buyFilled("TSLA", 20, "lead-1")
		fill, out := h.copyOutcome(entry, 4)
		require.Equal(t, copytrade.KindEntry, fill.Kind)
		h.recordHistory(workflows.SignalWorkflowID(signal.SourceCopy, fill.FillID), "signal_copy_fanout")
		for _, w := range []struct {
			f   copyFollower
			qty string
		}{{a, "2"}, {b, "5"}, {c, "1"}} {
			o := out[w.f.userID]
			require.Equal(t, copytrade.OrderFilled, o.Status, "%+v", o)
			require.True(t, dec(w.qty).Equal(o.Quantity), "%s copied %s, want %s", w.f.userID, o.Quantity, w.qty)
			require.True(t, dec(w.qty).Equal(h.copied(w.f.userID, "TSLA")))
			tr := h.trade(o.TradeID)
			require.Equal(t, string(signal.SourceCopy), tr.Source)
			require.Contains(t, strings.Join(h.notices(w.f.userID), "\n"), "Copied TradeMaster: TSLA +20 shares")
		}
		require.True(t, dec("3").Equal(h.brokerPosition(a.account, "TSLA")), "A: 1 own + 2 copied")
		require.True(t, dec("5").Equal(h.brokerPosition(b.account, "TSLA")))
		require.True(t, dec("1").Equal(h.brokerPosition(c.account, "TSLA")))
		// $2,000 × 5% = $100 = 0.4 share: skipped, with the reason, not silently.
		so := out[small.userID]
		require.Equal(t, copytrade.OrderSkipped, so.Status)
		require.Contains(t, so.Reason, "0.4 shares, below the broker's minimum order of 1 shares")
		act := h.api(http.MethodGet, "/api/v1/copy/activity", small.token, "")
		require.Equal(t, http.StatusOK, act.Status)
		require.Contains(t, act.Raw, "below the broker's minimum order")
		require.Contains(t, strings.Join(h.notices(small.userID), "\n"), "below the broker")
		require.True(t, h.brokerPosition(small.account, "TSLA").IsZero())

		// The same leader fill replayed after a crash copies once: the fill is
		// recorded once by its id, and a replayed fan-out (after a worker
		// restart) finds every follower's copy recorded.
		require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
			again, err := copytrade.RecordLeaderFill(tx, copytrade.LeaderFill{FillID: "trade:" + entry, LeaderID: leader, Symbol: "TSLA",
				AssetClass: "stock", Side: "buy", Quantity: dec("20"), Price: dec("250")}, time.Now().UTC())
			require.Nil(t, again)
			return err
		}))
		orders := func() int { // market orders (entries and exits; stops are not counted)
			n := 0
			for _, f := range []copyFollower{a, b, c, small} {
				st, err := h.engine.Account(context.Background(), f.account)
				require.NoError(t, err)
				for _, o := range st.Orders {
					if o.Type == signal.OrderMarket {
						n++
					}
				}
			}
			return n
		}
		before := orders()
		h.stack.Stop()
		h.start(zap.NewNop())
		run, err := h.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: "replay/" + fill.ID, TaskQueue: h.queue},
			workflows.SignalWorkflowName, workflows.SignalInput{MessageID: fill.FillID, CopyFillID: fill.ID,
				Legs: signal.SingleLeg(signal.Signal{Source: signal.SourceCopy, Symbol: "TSLA", AssetClass: signal.AssetStock,
					Side: signal.SideBuy, Action: signal.ActionBuy, Quantity: dec("20"), QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket})})
		require.NoError(t, err)
		var res workflows.SignalResult
		require.NoError(t, run.Get(context.Background(), &res))
		var n int64
		require.NoError(t, db.Model(&schema.CopyOrder{}).Where("copy_fill_id = ?", fill.ID).Count(&n).Error)
		require.EqualValues(t, 4, n)
		require.NoError(t, db.Model(&schema.Trade{}).Where("source = ?", "copy").Count(&n).Error)
		require.EqualValues(t, 3, n, "one trade per copying follower")
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, before, orders(), "no broker order from the replay")
		require.Equal(t, 4, before, "A's own entry and three copies")

		// Partial exit: the leader sells 10 of 20 (half): A 1 of 2, B 2 of 5
		// (rounded down), C's half share is skipped with the reason.
		// Opposite signals of one trader within 5 s are refused as conflicting
		// (FR, risk): the steps below leave that gap, for leader and followers.
		gap := func() { time.Sleep(5200 * time.Millisecond) }
		gap()
		r = h.postWebhook(`{"ticker":"TSLA","action":"sell","quantity":10,"type":"market","id":"lead-2"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		half := r.Body["tradeId"].(string)
		h.waitStatus(half, 20*time.Second, "filled")
		fill, out = h.copyOutcome(half, 4)
		require.Equal(t, copytrade.KindExit, fill.Kind)
		require.True(t, dec("0.5").Equal(fill.ExitFraction))
		require.True(t, dec("1").Equal(out[a.userID].Quantity))
		require.True(t, dec("2").Equal(out[b.userID].Quantity))
		require.Equal(t, copytrade.OrderSkipped, out[c.userID].Status)
		require.Contains(t, out[c.userID].Reason, "below the broker's minimum order")
		require.Contains(t, out[small.userID].Reason, "no copied position")
		require.True(t, dec("2").Equal(h.brokerPosition(a.account, "TSLA")))

		// Full exit: every copied share is closed, A's own share stays.
		gap()
		r = h.postWebhook(`{"ticker":"TSLA","action":"sell","quantity":10,"type":"market","id":"lead-3"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		full := r.Body["tradeId"].(string)
		h.waitStatus(full, 20*time.Second, "filled")
		fill, _ = h.copyOutcome(full, 4)
		require.Equal(t, copytrade.KindClose, fill.Kind)
		require.True(t, dec("1").Equal(h.brokerPosition(a.account, "TSLA")), "A's own position is untouched")
		require.True(t, h.brokerPosition(b.account, "TSLA").IsZero())
		require.True(t, h.brokerPosition(c.account, "TSLA").IsZero())
		require.True(t, h.copied(a.userID, "TSLA").IsZero())

		// US-011 #4: B's loss limit $100 pauses at $50. The leader buys 20
		// at $250 (B copies 5), then adds at $238: B's copy loss is 5 × $12
		// = $60 → paused, the 5 copied shares closed, B told; the add is
		// not copied for B.
		gap()
		entry2 := h.buyFilled("TSLA", 20, "lead-4")
		_, out = h.copyOutcome(entry2, 4)
		require.True(t, dec("5").Equal(out[b.userID].Quantity))
		gap()
		h.feed.Set("TSLA", dec("238"))
		add := h.buyFilled("TSLA", 4, "lead-5")
		fill, out = h.copyOutcome(add, 4)
		require.Equal(t, copytrade.KindAdd, fill.Kind)
		var follow schema.CopyFollow
		require.NoError(t, db.Where("follower_id = ? AND leader_id = ?", b.userID, leader).Take(&follow).Error)
		require.Equal(t, copytrade.StatusPaused, follow.Status)
		require.Contains(t, follow.StatusReason, "Copy trading paused: Loss limit approaching")
		bo := out[b.userID]
		require.Equal(t, "sell", bo.Side, "B's order for this fill is the close of the copied position")
		require.True(t, dec("5").Equal(bo.Quantity))
		deadline = time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) && !h.brokerPosition(b.account, "TSLA").IsZero() {
			time.Sleep(50 * time.Millisecond)
		}
		require.True(t, h.brokerPosition(b.account, "TSLA").IsZero(), "B's copied position closed: %+v", h.trade(bo.TradeID))
		require.Contains(t, strings.Join(h.notices(b.userID), "\n"), "Copy trading paused: Loss limit approaching")
		// A has no loss limit: still copying (this add is 0.4 share for A: skipped with the reason).
		require.Contains(t, out[a.userID].Reason, "below the broker's minimum order")
		// Paused: the next fill is not copied for B.
		next := h.buyFilled("TSLA", 4, "lead-6")
		_, out = h.copyOutcome(next, 3)
		_, has := out[b.userID]
		require.False(t, has)

		verifyAudit(t, h, leader, a.userID, b.userID, c.userID, small.userID)
	})
}

// Privacy (SPEC US-011 #5) on every copy endpoint: a followers-only or
// private leader is hidden from search, and its profile, follow and
// stats answer "Profile Private" — the same answer as for no such trader.
func TestCopyTradingPrivacyOnEveryEndpoint(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		pub, pubTok := h.newUser("trader")
		fo, foTok := h.newUser("trader")
		priv, privTok := h.newUser("trader")
		_, xTok := h.newUser("trader") // a non-follower
		_, fTok := h.newUser("trader") // follows the followers-only leader
		settings := func(tok, body string) {
			r := h.api(http.MethodPut, "/api/v1/copy/settings", tok, body)
			require.Equal(t, http.StatusOK, r.Status, r.Raw)
		}
		settings(pubTok, `{"allowCopy":true,"visibility":"public","displayName":"PublicPat"}`)
		settings(foTok, `{"allowCopy":true,"visibility":"followers","displayName":"FollowersFay"}`)
		settings(privTok, `{"allowCopy":true,"visibility":"private","displayName":"PrivatePia"}`)
		r := h.api(http.MethodPut, "/api/v1/copy/settings", pubTok, `{"visibility":"everyone"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

		// F follows the followers-only leader (by its link) before it was
		// visible to F.
		r = h.api(http.MethodPost, "/api/v1/copy/follows", fTok, `{"leaderId":"`+fo+`","sizingMode":"multiplier","multiplier":"0.5"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		followID := r.Body["follow"].(map[string]any)["id"].(string)
		// SPEC US-011 #5 "approved followers": the request is pending; F
		// sees that, and nothing of the leader yet.
		require.Equal(t, "pending", r.Body["follow"].(map[string]any)["status"], r.Raw)
		require.Contains(t, h.api(http.MethodGet, "/api/v1/copy/follows", fTok, "").Raw, `"status":"pending"`)
		pendingProfile := h.api(http.MethodGet, "/api/v1/copy/leaders/"+fo, fTok, "")
		require.Equal(t, http.StatusNotFound, pendingProfile.Status, pendingProfile.Raw)
		pendingCurve := h.api(http.MethodGet, "/api/v1/leaders/"+fo+"/equity?period=30d", fTok, "")
		require.Equal(t, http.StatusNotFound, pendingCurve.Status, pendingCurve.Raw)
		require.Equal(t, "Profile Private", pendingCurve.Body["message"])
		// A pending follow cannot make itself active.
		require.Equal(t, http.StatusBadRequest, h.api(http.MethodPatch, "/api/v1/copy/follows/"+followID, fTok, `{"status":"active"}`).Status)
		// Only the leader lists and decides the requests to them.
		req := h.api(http.MethodGet, "/api/v1/copy/requests", foTok, "")
		require.Equal(t, http.StatusOK, req.Status, req.Raw)
		require.Contains(t, req.Raw, followID)
		for _, tok := range []string{xTok, fTok, pubTok} {
			require.NotContains(t, h.api(http.MethodGet, "/api/v1/copy/requests", tok, "").Raw, followID)
			require.Equal(t, http.StatusNotFound, h.api(http.MethodPost, "/api/v1/copy/requests/"+followID+"/approve", tok, "").Status)
			require.Equal(t, http.StatusNotFound, h.api(http.MethodPost, "/api/v1/copy/requests/"+followID+"/deny", tok, "").Status)
		}
		ap := h.api(http.MethodPost, "/api/v1/copy/requests/"+followID+"/approve", foTok, "")
		require.Equal(t, http.StatusOK, ap.Status, ap.Raw)
		require.Equal(t, http.StatusNotFound, h.api(http.MethodPost, "/api/v1/copy/requests/"+followID+"/deny", foTok, "").Status, "decided once")
		var approvals int64
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ? AND resource_id = ?", fo, copytrade.ActionApproved, followID).
			Count(&approvals).Error)
		require.EqualValues(t, 1, approvals, "the approval is audited as the leader's")
		// A denied request stays hidden from the profile and the curve.
		deniedID, deniedTok := h.newUser("trader")
		r = h.api(http.MethodPost, "/api/v1/copy/follows", deniedTok, `{"leaderId":"`+fo+`","sizingMode":"proportional"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		dn := h.api(http.MethodPost, "/api/v1/copy/requests/"+r.Body["follow"].(map[string]any)["id"].(string)+"/deny", foTok, "")
		require.Equal(t, http.StatusOK, dn.Status, dn.Raw)
		require.Equal(t, http.StatusNotFound, h.api(http.MethodGet, "/api/v1/copy/leaders/"+fo, deniedTok, "").Status)
		require.Equal(t, http.StatusNotFound, h.api(http.MethodGet, "/api/v1/leaders/"+fo+"/equity?period=30d", deniedTok, "").Status)
		var denied schema.CopyFollow
		require.NoError(t, db.Where("follower_id = ? AND leader_id = ?", deniedID, fo).Take(&denied).Error)
		require.Equal(t, copytrade.StatusDenied, denied.Status)

		// Search: only the public leader, for everyone (also F).
		for _, tok := range []string{xTok, fTok} {
			for _, q := range []string{"", "Fay", "Pia", "Pat"} {
				s := h.api(http.MethodGet, "/api/v1/copy/leaders?q="+q, tok, "")
				require.Equal(t, http.StatusOK, s.Status, s.Raw)
				require.NotContains(t, s.Raw, "FollowersFay")
				require.NotContains(t, s.Raw, "PrivatePia")
				require.NotContains(t, s.Raw, fo)
				require.NotContains(t, s.Raw, priv)
				if q == "" || q == "Pat" {
					require.Contains(t, s.Raw, "PublicPat")
				}
			}
		}

		missing := h.api(http.MethodGet, "/api/v1/copy/leaders/"+uuid.NewString(), xTok, "")
		private := func(res response, what string) {
			t.Helper()
			require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", what, res.Raw)
			require.Equal(t, "Profile Private", res.Body["message"], what)
			require.Equal(t, missing.Raw, res.Raw, "%s: indistinguishable from no such trader", what)
		}
		// Profile: non-follower X sees neither hidden profile; F sees the
		// followers-only one; each leader sees their own.
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/"+fo, xTok, ""), "followers-only profile to a non-follower")
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/"+priv, xTok, ""), "private profile to a non-follower")
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/"+priv, fTok, ""), "private profile to another leader's follower")
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/not-an-id", xTok, ""), "a malformed id")
		require.Equal(t, http.StatusOK, h.api(http.MethodGet, "/api/v1/copy/leaders/"+pub, xTok, "").Status)
		ok := h.api(http.MethodGet, "/api/v1/copy/leaders/"+fo, fTok, "")
		require.Equal(t, http.StatusOK, ok.Status, ok.Raw)
		require.Contains(t, ok.Raw, `"fills30d"`)
		require.Equal(t, http.StatusOK, h.api(http.MethodGet, "/api/v1/copy/leaders/"+priv, privTok, "").Status)

		// Follow: a private leader cannot be followed, and says so as if absent.
		private(h.api(http.MethodPost, "/api/v1/copy/follows", xTok, `{"leaderId":"`+priv+`","sizingMode":"proportional"}`), "follow a private leader")
		private(h.api(http.MethodPost, "/api/v1/copy/follows", xTok, `{"leaderId":"`+uuid.NewString()+`","sizingMode":"proportional"}`), "follow nobody")
		r = h.api(http.MethodPost, "/api/v1/copy/follows", xTok, `{"leaderId":"`+pub+`","sizingMode":"martingale"}`)
		require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)

		// Another trader's follow: not found on PATCH and DELETE.
		require.Equal(t, http.StatusNotFound, h.api(http.MethodPatch, "/api/v1/copy/follows/"+followID, xTok, `{"status":"paused"}`).Status)
		require.Equal(t, http.StatusNotFound, h.api(http.MethodDelete, "/api/v1/copy/follows/"+followID, xTok, "").Status)
		// Lists are the caller's own.
		l := h.api(http.MethodGet, "/api/v1/copy/follows", xTok, "")
		require.Equal(t, http.StatusOK, l.Status)
		require.NotContains(t, l.Raw, followID)
		require.Contains(t, h.api(http.MethodGet, "/api/v1/copy/follows", fTok, "").Raw, followID)
		act := h.api(http.MethodGet, "/api/v1/copy/activity", xTok, "")
		require.Equal(t, http.StatusOK, act.Status)
		require.Equal(t, `{"activity":[]}`, act.Raw)
		// Settings are the caller's own.
		st := h.api(http.MethodGet, "/api/v1/copy/settings", xTok, "")
		require.NotContains(t, st.Raw, "FollowersFay")

		// One rule for the copy API and the leaderboards (issue 17 gap 7): a
		// public leader who stops allowing copy trading is hidden from both.
		settings(pubTok, `{"allowCopy":false}`)
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/"+pub, xTok, ""), "public profile not opted in, copy API")
		curve := h.api(http.MethodGet, "/api/v1/leaders/"+pub+"/equity?period=30d", xTok, "")
		require.Equal(t, http.StatusNotFound, curve.Status, curve.Raw)
		require.Equal(t, "Profile Private", curve.Body["message"])
		require.Equal(t, http.StatusOK, h.api(http.MethodGet, "/api/v1/copy/leaders/"+pub, pubTok, "").Status, "the leader sees their own")
		settings(pubTok, `{"allowCopy":true}`)

		// The leader turns private: the follower sees "Profile Private" too,
		// and cannot resume following.
		settings(foTok, `{"visibility":"private"}`)
		private(h.api(http.MethodGet, "/api/v1/copy/leaders/"+fo, fTok, ""), "private profile to its follower")
		r = h.api(http.MethodPatch, "/api/v1/copy/follows/"+followID, fTok, `{"status":"paused"}`)
		require.Equal(t, http.StatusOK, r.Status, r.Raw)
		private(h.api(http.MethodPatch, "/api/v1/copy/follows/"+followID, fTok, `{"status":"active"}`), "resume a private leader")
		require.Equal(t, http.StatusOK, h.api(http.MethodDelete, "/api/v1/copy/follows/"+followID, fTok, "").Status)
	})
}
