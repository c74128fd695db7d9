package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Kraken spot has no native exit pair: the take-profit is emulated
// server-side (activities/takeprofit.go) next to the stop-loss order that
// rests at Kraken; the take-profit's exit lifts that stop. Counts are read
// from the Kraken fake's own book.

// krakenBook counts the account's orders at the Kraken fake by
// "<type>/<ordertype>/<status>".
func krakenBook(h *brokerHarness, apiKey string) map[string]int {
	out := map[string]int{}
	for _, o := range h.fakes.kraken.Orders(apiKey) {
		out[o.Type+"/"+o.OrderType+"/"+o.Status]++
	}
	return out
}

// connectKraken connects a Kraken account as the crypto default and
// returns its API key.
func connectKraken(h *brokerHarness) string {
	h.t.Helper()
	c := h.fakes.kraken.NewAccount(decimal.NewFromInt(100_000))
	r := h.connectBroker("kraken", c)
	require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
	h.setDefault("crypto", connectionID(h.t, r))
	return c["api_key"]
}

// krakenPct is the 42150 entry moved by p percent.
func krakenPct(p int64) decimal.Decimal {
	return decimal.NewFromInt(42150).Mul(decimal.NewFromInt(100 + p)).Div(decimal.NewFromInt(100)).Round(1)
}

func krakenWebhook(id string) string {
	return `{"ticker":"BTCUSD","action":"buy","quantity":0.01,"takeProfit":{"percent":5},"stopLoss":{"type":"stop","percent":2},"id":"` + id + `"}`
}

// takeProfitTaken waits for the take-profit to be filled by one exit and
// checks Kraken's book: the entry, the stop cancelled once, one exit sell.
func takeProfitTaken(t *testing.T, h *brokerHarness, key, id string) {
	t.Helper()
	tp := h.waitTakeProfit(id, "filled")
	exits := h.takeProfitExits(id)
	require.Len(t, exits, 1, "one exit takes the profit")
	require.Equal(t, exits[0].ID, tp["exitTradeId"])
	h.waitStatus(exits[0].ID, 30*time.Second, "filled")
	want := map[string]int{"buy/market/closed": 1, "sell/stop-loss/canceled": 1, "sell/market/closed": 1}
	require.Eventually(t, func() bool { return h.fakes.kraken.Cancels(key) == 1 }, 20*time.Second, 50*time.Millisecond,
		"the stop cancelled: %v", krakenBook(h, key))
	require.Equal(t, want, krakenBook(h, key))
	time.Sleep(time.Second) // nothing more is sent, nothing cancelled again
	require.Equal(t, want, krakenBook(h, key))
	require.Equal(t, 1, h.fakes.kraken.Cancels(key), "the stop was cancelled exactly once")
	require.Len(t, h.takeProfitExits(id), 1)
}

func TestEmulatedTakeProfitAtKraken(t *testing.T) {
	t.Run("take-profit exit fires once and cancels the stop once", func(t *testing.T) {
		eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
			h := newBrokerHarness(t, db, d)
			key := connectKraken(h)
			r := h.postWebhook(krakenWebhook("kr-tp"))
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			id := r.Body["tradeId"].(string)
			h.waitStatus(id, 30*time.Second, "filled")
			h.waitTakeProfitMode(id, "emulated")
			h.waitTakeProfit(id, "armed")
			require.Equal(t, map[string]int{"buy/market/closed": 1, "sell/stop-loss/open": 1}, krakenBook(h, key))

			h.fakes.kraken.SetPrice("BTC-USD", krakenPct(4)) // not yet
			time.Sleep(500 * time.Millisecond)
			require.Empty(t, h.takeProfitExits(id))
			require.Equal(t, map[string]int{"buy/market/closed": 1, "sell/stop-loss/open": 1}, krakenBook(h, key))

			h.fakes.kraken.SetPrice("BTC-USD", krakenPct(7))
			takeProfitTaken(t, h, key, id)
			timeline := h.getTrade(id).Raw
			require.Contains(t, timeline, "TAKE_PROFIT_ARMED")
			require.Contains(t, timeline, "TAKE_PROFIT_FILLED")
		})
	})
	t.Run("restart between the fill and arming doubles nothing", func(t *testing.T) {
		eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
			h := newBrokerHarness(t, db, d)
			key := connectKraken(h)
			// The stop (placed before the take-profit is armed) is not taken
			// until the restart.
			h.fakes.kraken.FailNextStops(1 << 20)
			r := h.postWebhook(krakenWebhook("kr-restart"))
			require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
			id := r.Body["tradeId"].(string)
			h.waitStatus(id, 30*time.Second, "filled")
			time.Sleep(time.Second) // PlaceStopLoss is retrying
			var tr schema.Trade
			require.NoError(t, h.db.First(&tr, "id = ?", id).Error)
			require.Empty(t, tr.TakeProfitStatus, "not armed yet")
			require.Equal(t, map[string]int{"buy/market/closed": 1}, krakenBook(h, key))
			h.stack.Stop()
			h.fakes.kraken.FailNextStops(0)
			h.fakes.kraken.DropNextResponse() // the stop is made, its answer lost
			h.restartApp()
			h.waitTakeProfit(id, "armed")
			require.Equal(t, map[string]int{"buy/market/closed": 1, "sell/stop-loss/open": 1}, krakenBook(h, key), "exactly one stop")
			h.fakes.kraken.SetPrice("BTC-USD", krakenPct(7))
			takeProfitTaken(t, h, key, id)
		})
	})
}
