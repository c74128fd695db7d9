package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// submitLadder records a channel signal with a take-profit ladder for the
// demo trader, the way a free-form message's fan-out does (intake), and
// returns its trade id.
func (h *harness) submitLadder(externalID, message string, qty int64) string {
	return h.submitLadderFrom("", externalID, message, qty)
}

// submitLadderFrom is submitLadder for a signal of a channel source (its
// subscription's settings apply).
func (h *harness) submitLadderFrom(sourceID, externalID, message string, qty int64) string {
	h.t.Helper()
	f, err := signal.ParseFreeform(message)
	require.NoError(h.t, err, message)
	legs := f.Legs()
	require.Len(h.t, legs, 1, "one entry for the whole position")
	sig := legs[0].Signal
	require.True(h.t, sig.HasLadder(), "%+v", sig)
	sig.ExternalID = externalID
	sig.Quantity, sig.QuantityType = decimal.NewFromInt(qty), signal.QtyFixed
	sig.Broker = "paper"
	svc := &intake.Service{DB: h.db, Temporal: h.temporal, TaskQueue: h.queue, Timeouts: h.opts.timeouts, StartWait: 5 * time.Second}
	res, err := svc.Submit(context.Background(), intake.Request{UserID: h.demo.UserID, Signal: sig, SourceID: sourceID})
	require.NoError(h.t, err)
	return res.TradeID
}

// ladderExits are the exits recorded for tradeID's ladder legs.
func (h *harness) ladderExits(tradeID string) []schema.Trade {
	h.t.Helper()
	var out []schema.Trade
	require.NoError(h.t, h.db.Joins("JOIN signals ON signals.id = trades.signal_id").
		Where("signals.external_id LIKE ?", "takeprofit:"+tradeID+":tp%").Order("trades.created_at").Find(&out).Error)
	return out
}

// ladderLegs are the legs as the trade detail API shows them.
func (h *harness) ladderLegs(tradeID string) []map[string]any {
	h.t.Helper()
	r := h.getTrade(tradeID)
	require.Equal(h.t, http.StatusOK, r.Status, r.Raw)
	raw, _ := r.Body["takeProfitLegs"].([]any)
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		out[i] = x.(map[string]any)
	}
	return out
}

// waitLeg waits until leg n (1-based) of the ladder is in state.
func (h *harness) waitLeg(tradeID string, n int, state string) map[string]any {
	h.t.Helper()
	var legs []map[string]any
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		legs = h.ladderLegs(tradeID)
		if len(legs) >= n && legs[n-1]["status"] == state {
			return legs[n-1]
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("TP%d of %s never %s: %v; workflow %s", n, tradeID, state, legs, h.describeWorkflow(tradeID))
	return nil
}

// auditCount counts the trade's timeline entries with action.
func (h *harness) auditCount(tradeID, action string) int {
	h.t.Helper()
	var n int64
	require.NoError(h.t, h.db.Model(&schema.AuditLog{}).Where("resource_id = ? AND action = ?", tradeID, action).Count(&n).Error)
	return int(n)
}

// eventCount counts the trader's events of type typ.
func (h *harness) eventCount(typ string) int {
	n := 0
	for _, e := range h.eventTypes(h.demo.UserID) {
		if e == typ {
			n++
		}
	}
	return n
}

// A 3-leg ladder fills leg by leg as the price walks: each leg sells its
// third, the legs sum to the position, the stop-loss moves to breakeven
// once after TP1 and then covers what is left, and the position ends flat
// with the stop cancelled.
func TestTakeProfitLadderFillsLegByLegAndMovesTheStopToBreakeven(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "ladder_stop": "breakeven"})
		h.feed.Set("AAPL", decimal.NewFromInt(180))
		id := h.submitLadder("ladder-1", "$AAPL long SL 171 TP1 185 TP2 190 TP3 195", 9)
		h.waitStatus(id, 30*time.Second, "filled")
		h.waitTakeProfit(id, "armed")
		legs := h.ladderLegs(id)
		require.Len(t, legs, 3)
		sum := decimal.Zero
		for i, want := range []string{"185", "190", "195"} {
			require.Equal(t, want, legs[i]["target"])
			require.Equal(t, "3", legs[i]["quantity"])
			require.Equal(t, "armed", legs[i]["status"])
			sum = sum.Add(decimal.RequireFromString(legs[i]["quantity"].(string)))
		}
		require.True(t, sum.Equal(decimal.NewFromInt(9)), "legs sum to the position")
		require.Equal(t, "breakeven", legs[0]["stopMove"])
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "active" }, 30*time.Second, 50*time.Millisecond)
		require.Equal(t, "171", h.stopRow("AAPL").StopPrice.Decimal.String())

		h.feed.Set("AAPL", decimal.NewFromInt(186)) // TP1
		h.waitLeg(id, 1, "filled")
		require.Eventually(t, func() bool { return h.auditCount(id, "STOP_LOSS_MOVED") == 1 }, 30*time.Second, 50*time.Millisecond)
		require.Eventually(t, func() bool {
			row := h.stopRow("AAPL")
			return row.Status == "active" && row.StopPrice.Decimal.Equal(decimal.NewFromInt(180)) && row.Quantity.Equal(decimal.NewFromInt(6))
		}, 30*time.Second, 50*time.Millisecond, "the stop covers the 6 left at breakeven 180: %+v", h.stopRow("AAPL"))
		require.Equal(t, "armed", h.ladderLegs(id)[1]["status"], "TP2 waits for its target")
		require.True(t, h.position("AAPL").Equal(decimal.NewFromInt(6)))

		h.feed.Set("AAPL", decimal.NewFromInt(191)) // TP2
		h.waitLeg(id, 2, "filled")
		require.Eventually(t, func() bool {
			row := h.stopRow("AAPL")
			return row.Status == "active" && row.StopPrice.Decimal.Equal(decimal.NewFromInt(180)) && row.Quantity.Equal(decimal.NewFromInt(3))
		}, 30*time.Second, 50*time.Millisecond, "the breakeven stop stays on the 3 left: %+v", h.stopRow("AAPL"))

		h.feed.Set("AAPL", decimal.NewFromInt(196)) // TP3
		h.waitLeg(id, 3, "filled")
		h.waitTakeProfit(id, "filled")
		// One FILLED exit per leg. Under load a leg's exit can be refused
		// once (the previous exit's workflow re-placing the stop on the
		// shares left, after this exit lifted it) and is then re-armed
		// (DESIGN §8 Take-profit ladder): such an exit fills nothing.
		filled := 0
		for _, x := range h.ladderExits(id) {
			h.waitStatus(x.ID, 30*time.Second, "filled", "rejected", "cancelled")
			switch q := h.trade(x.ID).FilledQuantity; {
			case q.IsZero():
			case q.Equal(decimal.NewFromInt(3)):
				filled++
			default:
				t.Fatalf("exit %s filled %s, want a leg's 3 or nothing", x.ID, q)
			}
		}
		require.Equal(t, 3, filled, "one filled exit per leg")
		require.True(t, h.position("AAPL").IsZero(), "flat")
		require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "closed" }, 30*time.Second, 50*time.Millisecond, "the stop is cancelled")
		sells := h.sells()
		require.Equal(t, 3, sells["market/filled"], "three legs sold: %v", sells)
		require.Zero(t, sells["stop/filled"], "the stop never executed: %v", sells)
		require.Equal(t, 1, h.auditCount(id, "STOP_LOSS_MOVED"), "the stop moved once")
		require.Equal(t, 3, h.eventCount("trade.takeProfitPlaced"), "one placed event per leg")
		require.Equal(t, 3, h.eventCount("trade.takeProfitFilled"), "one filled event per leg")
		timeline := h.getTrade(id).Raw
		require.Contains(t, timeline, "Take-profit ladder armed for AAPL: TP1 3 shares at $185.00, TP2 3 shares at $190.00, TP3 3 shares at $195.00")
		require.Contains(t, timeline, "TP1 filled: stop-loss moved to breakeven $180.00 (sell 6 AAPL)")
		h.recordDone(d, id, "trade_take_profit_ladder")
		verifyAudit(t, h, h.demo.UserID)
	})
}

// A leg whose share rounds below the broker's minimum order (one whole
// share at the paper broker) is merged into its neighbour, and the
// timeline says so; the legs still sum to the position.
func TestTakeProfitLadderMergesALegBelowTheMinimum(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	h.feed.Set("MSFT", decimal.NewFromInt(200))
	id := h.submitLadder("ladder-2", "$MSFT long SL 190 TP1 205 TP2 210 TP3 215", 2)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	legs := h.ladderLegs(id)
	require.Len(t, legs, 3)
	require.Equal(t, "1", legs[0]["quantity"])
	require.Equal(t, "1", legs[1]["quantity"])
	require.Equal(t, "merged", legs[2]["status"])
	require.Equal(t, float64(2), legs[2]["mergedInto"])
	require.Equal(t, "0", legs[2]["quantity"])
	require.Contains(t, h.getTrade(id).Raw, "TP3 merged into TP2 (its share would be below the broker's minimum order of 1 shares)")
	require.Eventually(t, func() bool { return h.stopRow("MSFT").Status == "active" }, 30*time.Second, 50*time.Millisecond)

	h.feed.Set("MSFT", decimal.NewFromInt(220)) // past every target at once: one leg after the other
	h.waitTakeProfit(id, "filled")
	exits := h.ladderExits(id)
	require.Len(t, exits, 2, "the merged leg has no exit")
	require.True(t, h.position("MSFT").IsZero())
	require.Equal(t, 2, h.sells()["market/filled"])
	require.Equal(t, 2, h.eventCount("trade.takeProfitPlaced"), "no placed event for the merged leg")
}

// The worker and API stop between two legs and the price passes the next
// target meanwhile: after the restart the watch resumes from the leg rows,
// the second leg is sold once and the first is never sold again.
func TestTakeProfitLadderSurvivesARestartBetweenLegs(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "ladder_stop": "breakeven"})
	h.feed.Set("TSLA", decimal.NewFromInt(250))
	id := h.submitLadder("ladder-3", "$TSLA long SL 240 TP1 255 (50%) TP2 260 (50%)", 4)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	h.feed.Set("TSLA", decimal.NewFromInt(256))
	h.waitLeg(id, 1, "filled")
	require.Eventually(t, func() bool { return h.auditCount(id, "STOP_LOSS_MOVED") == 1 }, 30*time.Second, 50*time.Millisecond)
	h.stack.Stop()
	h.feed.Set("TSLA", decimal.NewFromInt(262)) // TP2 reached while nothing runs
	h.start(zap.NewNop())
	h.waitTakeProfit(id, "filled")
	exits := h.ladderExits(id)
	require.Len(t, exits, 2, "one exit per leg, none doubled")
	ext := map[string]bool{}
	for _, x := range exits {
		var s schema.Signal
		require.NoError(t, h.db.Where("id = ?", x.SignalID).Take(&s).Error)
		ext[strings.TrimPrefix(s.ExternalID, "takeprofit:"+id+":")] = true
		h.waitStatus(x.ID, 30*time.Second, "filled")
	}
	require.Equal(t, map[string]bool{"tp1": true, "tp2": true}, ext)
	require.True(t, h.position("TSLA").IsZero())
	require.Equal(t, 2, h.sells()["market/filled"])
	require.Equal(t, 1, h.auditCount(id, "STOP_LOSS_MOVED"))
}

// The stop move is the trader's setting (PUT /api/v1/risk, validated) and a
// channel subscription overrides it (PATCH ladderStop: a mode, null follows
// the trader again, absent keeps it).
func TestLadderStopSettingAndSubscriptionOverride(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	risk := func(body string) response {
		return h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(body), "application/json")
	}
	r := risk(`{"ladderStop":"moon"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Contains(t, r.Raw, "ladderStop")
	r = risk(`{"ladderStop":"trail","trailAfterTarget":0}`)
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Contains(t, r.Raw, "trailAfterTarget")
	r = risk(`{"ladderStop":"none","breakevenOffsetPct":"0.5"}`)
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	require.Equal(t, "none", r.Body["settings"].(map[string]any)["ladderStop"])

	now := time.Now().UTC()
	src := schema.DiscordSource{ID: uuid.NewString(), GuildID: "100000000000000001", ChannelID: "100000000000000077", Name: "ladders",
		OwnerUserID: h.demo.UserID, ParseMode: "freeform", Status: "active", RegisteredByDiscordID: "100000000000000009", CreatedAt: now, UpdatedAt: now}
	require.NoError(t, h.db.Create(&src).Error)
	f := h.do(http.MethodPost, h.stack.URL+"/api/v1/subscriptions", h.demo.APIToken, []byte(`{"sourceId":"`+src.ID+`"}`), "application/json")
	require.Equal(t, http.StatusOK, f.Status, f.Raw)
	subURL := h.stack.URL + "/api/v1/subscriptions/" + f.Body["subscription"].(map[string]any)["id"].(string)
	patch := func(body string) response {
		return h.do(http.MethodPatch, subURL, h.demo.APIToken, []byte(body), "application/json")
	}
	p := patch(`{"ladderStop":"sideways"}`)
	require.Equal(t, http.StatusBadRequest, p.Status, p.Raw)
	require.Contains(t, p.Raw, "ladderStop")
	p = patch(`{"ladderStop":"breakeven"}`)
	require.Equal(t, http.StatusOK, p.Status, p.Raw)
	require.Equal(t, "breakeven", p.Body["subscription"].(map[string]any)["ladderStop"])
	p = patch(`{"shadow":false}`)
	require.Equal(t, "breakeven", p.Body["subscription"].(map[string]any)["ladderStop"], "absent keeps it")

	h.feed.Set("AAPL", decimal.NewFromInt(180))
	id := h.submitLadderFrom(src.ID, "ladder-sub-1", "$AAPL long SL 171 TP1 185 TP2 190", 4)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	legs := h.ladderLegs(id)
	require.Equal(t, "breakeven", legs[0]["stopMove"], "the subscription overrides the trader's none")
	require.Equal(t, "180.9", legs[0]["stopPrice"], "entry 180 + the trader's 0.5% offset")

	p = patch(`{"ladderStop":null}`)
	require.Equal(t, http.StatusOK, p.Status, p.Raw)
	require.Nil(t, p.Body["subscription"].(map[string]any)["ladderStop"])
	h.feed.Set("MSFT", decimal.NewFromInt(200))
	id = h.submitLadderFrom(src.ID, "ladder-sub-2", "$MSFT long SL 190 TP1 205 TP2 210", 4)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	legs = h.ladderLegs(id)
	require.Nil(t, legs[0]["stopMove"], "null follows the trader's none again")
}

// Trail after TPk: once TP1 filled, the stop on what is left becomes a
// trailing stop at the trader's distance (once), and the last leg still
// takes its profit.
func TestTakeProfitLadderTrailsTheStopAfterTP1(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100), "ladder_stop": "trail", "trail_after_target": 1,
		"ladder_trail_pct": decimal.NewFromInt(2)})
	h.feed.Set("AAPL", decimal.NewFromInt(180))
	id := h.submitLadder("ladder-trail", "$AAPL long SL 171 TP1 185 TP2 195", 4)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	require.Equal(t, "trail", h.ladderLegs(id)[0]["stopMove"])
	require.Eventually(t, func() bool { return h.stopRow("AAPL").Status == "active" }, 30*time.Second, 50*time.Millisecond)
	h.feed.Set("AAPL", decimal.NewFromInt(186))
	h.waitLeg(id, 1, "filled")
	require.Eventually(t, func() bool {
		row := h.stopRow("AAPL")
		return row.Status == "active" && row.TrailPercent.Valid && row.TrailPercent.Decimal.Equal(decimal.NewFromInt(2)) && row.Quantity.Equal(decimal.NewFromInt(2))
	}, 30*time.Second, 50*time.Millisecond, "a 2%% trailing stop on the 2 left: %+v", h.stopRow("AAPL"))
	require.Contains(t, h.getTrade(id).Raw, "TP1 filled: stop-loss moved to a trailing stop 2% behind the price")
	h.feed.Set("AAPL", decimal.NewFromInt(196))
	h.waitTakeProfit(id, "filled")
	require.True(t, h.position("AAPL").IsZero())
	require.Equal(t, 1, h.auditCount(id, "STOP_LOSS_MOVED"))
	require.Len(t, h.ladderExits(id), 2)
}

// A dashboard order may carry a ladder (POST /api/v1/orders
// takeProfitTargets); a ladder that does not add up is refused with a 400
// naming the field.
func TestDashboardOrderWithALadder(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
	h.feed.Set("MSFT", decimal.NewFromInt(200))
	order := func(body string) response {
		return h.do(http.MethodPost, h.stack.URL+"/api/v1/orders", h.demo.APIToken, []byte(body), "application/json")
	}
	bad := order(`{"symbol":"MSFT","side":"buy","quantity":"4","orderType":"market","takeProfitTargets":[{"price":"210","share":"60"},{"price":"220","share":"60"}],"idempotencyKey":"ladder-dash-0"}`)
	require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	require.Contains(t, bad.Raw, "takeProfitTargets")
	require.Contains(t, bad.Raw, "sum to 100%")
	ok := order(`{"symbol":"MSFT","side":"buy","quantity":"4","orderType":"market","stopLossPercent":"5","takeProfitTargets":[{"percent":"5","share":"75"},{"percent":"10","share":"25"}],"idempotencyKey":"ladder-dash-1"}`)
	require.Equal(t, http.StatusAccepted, ok.Status, ok.Raw)
	id := ok.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfit(id, "armed")
	legs := h.ladderLegs(id)
	require.Len(t, legs, 2)
	require.Equal(t, "210", legs[0]["target"], "5% above the 200 fill")
	require.Equal(t, "3", legs[0]["quantity"])
	require.Equal(t, "220", legs[1]["target"])
	require.Equal(t, "1", legs[1]["quantity"])
}
