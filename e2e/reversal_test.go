package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// TradersPost's order behaviour: a buy while short that goes through flat
// exits the short first; with reversals off nothing more happens, with
// reversals on the long entry is sent only once the exit has filled — two
// orders, never one that flips the position.
func TestBuyWhileShortExitsFirst(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newHarness(t, db, d, harnessOptions{})
		h.setRisk(map[string]any{"max_position_pct": decimal.NewFromInt(100)})
		shortFive := func(id string) {
			r := h.postWebhook(`{"ticker":"AAPL","action":"sell","quantity":5,"type":"market","id":"` + id + `"}`)
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
			require.True(t, h.account().Positions["AAPL"].Quantity.Equal(decimal.NewFromInt(-5)))
			// Opposite signals within the window conflict (SPEC edge case 6).
			time.Sleep(risk.ConcurrentWindow + 500*time.Millisecond)
		}
		shortFive("short-1")

		// Reversals off (the default): the buy of 10 only closes the short.
		r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":10,"type":"market","id":"rev-off"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		body := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled")
		tr := body["trade"].(map[string]any)
		require.Equal(t, "5", tr["filledQuantity"], "the exit is the short's 5, not the signal's 10")
		time.Sleep(1500 * time.Millisecond) // a relayed entry would be started by now
		require.True(t, h.account().Positions["AAPL"].Quantity.IsZero(), "flat: no long opened")
		var n int64
		require.NoError(t, db.Model(&schema.Trade{}).Where("user_id = ? AND symbol = ?", h.demo.UserID, "AAPL").Count(&n).Error)
		require.EqualValues(t, 2, n, "no entry trade with reversals off")
		var exit schema.Trade
		require.NoError(t, db.First(&exit, "id = ?", r.Body["tradeId"]).Error)
		require.Contains(t, exit.SizingNote, "reversals are off")
		time.Sleep(risk.ConcurrentWindow)

		// Reversals on: the exit fills, then the long of 10 is entered.
		put := h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"allowReversal":true}`), "application/json")
		require.Equal(t, http.StatusOK, put.Status, put.Raw)
		shortFive("short-2")
		r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":10,"type":"market","id":"rev-on"}`)
		require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
		exitID := r.Body["tradeId"].(string)
		body = h.waitStatus(exitID, 30*time.Second, "filled")
		require.Equal(t, "5", body["trade"].(map[string]any)["filledQuantity"])
		var entry schema.Trade
		require.Eventually(t, func() bool {
			return db.Joins("JOIN signals ON signals.id = trades.signal_id").
				Where("trades.user_id = ? AND signals.external_id = ?", h.demo.UserID, "reversal:"+exitID).Take(&entry).Error == nil
		}, 10*time.Second, 50*time.Millisecond, "the entry trade is recorded with the exit's fill")
		body = h.waitStatus(entry.ID, 30*time.Second, "filled")
		require.Equal(t, "10", body["trade"].(map[string]any)["filledQuantity"])
		require.Equal(t, "buy", body["trade"].(map[string]any)["side"])
		require.True(t, h.account().Positions["AAPL"].Quantity.Equal(decimal.NewFromInt(10)), "long 10 after the reversal")
		var exitRow schema.Trade
		require.NoError(t, db.First(&exitRow, "id = ?", exitID).Error)
		require.NotNil(t, exitRow.FilledAt)
		require.NotNil(t, entry.CreatedAt)
		require.False(t, entry.CreatedAt.Before(*exitRow.FilledAt), "the entry exists only after the exit filled")
		verifyAudit(t, h, h.demo.UserID)
	})
}

// A webhook alert older than the trader's own stale-alert limit is refused
// with the limit named; within it, it trades.
func TestStaleAlertLimitPerTrader(t *testing.T) {
	h := newHarness(t, openSQLite(t), store.SQLite, harnessOptions{})
	put := h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"maxAlertLagSeconds":10}`), "application/json")
	require.Equal(t, http.StatusOK, put.Status, put.Raw)
	old := time.Now().Add(-30 * time.Second).UTC().Format(time.RFC3339)
	r := h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"time":"` + old + `","id":"lag-1"}`)
	require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
	require.Equal(t, "time", r.Body["field"])
	require.Contains(t, r.Raw, "more than your limit of 10 seconds")
	bad := h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"maxAlertLagSeconds":3600}`), "application/json")
	require.Equal(t, http.StatusBadRequest, bad.Status, bad.Raw)
	require.Equal(t, "maxAlertLagSeconds", bad.Body["field"])
	put = h.do(http.MethodPut, h.stack.URL+"/api/v1/risk", h.demo.APIToken, []byte(`{"maxAlertLagSeconds":120}`), "application/json")
	require.Equal(t, http.StatusOK, put.Status, put.Raw)
	r = h.postWebhook(`{"ticker":"AAPL","action":"buy","quantity":1,"time":"` + old + `","id":"lag-2"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
}
