package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/store"
)

// The native exit pair at each broker fake that has one: the fake's own
// book is read (its orders, not what the adapter was told).

type pairBroker struct {
	name, class    string
	ticker, qty    string
	entry          decimal.Decimal // the fake's price at the entry
	takeProfitPct  int64           // signal's takeProfit percent
	stopPct        int64           // signal's stopLoss percent
	connect        func(h *brokerHarness) string
	setPrice       func(h *brokerHarness, p decimal.Decimal)
	legs           func(h *brokerHarness) map[string]int // "take_profit/<status>", "stop_loss/<status>"
	pairs          func(h *brokerHarness) int
	failPairs      func(h *brokerHarness, n int) // the next n pair submissions fail (503)
	dropNextAnswer func(h *brokerHarness)        // the next order submission is made, its answer lost
}

func pairBrokers() []pairBroker {
	cash := decimal.NewFromInt(100_000)
	var alpacaKey, coinbaseKey string
	return []pairBroker{{
		name: "alpaca", class: "stocks", ticker: "AAPL", qty: "5", entry: decimal.NewFromInt(190), takeProfitPct: 5, stopPct: 2,
		connect: func(h *brokerHarness) string {
			key, secret := h.fakes.alpaca.CreateAccount(cash)
			alpacaKey = key
			r := h.connectBroker("alpaca", h.fakes.alpaca.Credentials(key, secret))
			require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
			return connectionID(h.t, r)
		},
		setPrice: func(h *brokerHarness, p decimal.Decimal) { h.fakes.alpaca.SetPrice("AAPL", p) },
		legs: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.alpaca.Book(alpacaKey).Orders {
				switch {
				case o.OrderClass != "oco":
				case o.Side == "sell" && o.Type == "limit":
					out["take_profit/"+o.Status]++
				case o.Side == "sell" && o.Type == "stop":
					out["stop_loss/"+o.Status]++
				}
			}
			return out
		},
		pairs:          func(h *brokerHarness) int { return h.fakes.alpaca.OCOCount(alpacaKey) },
		failPairs:      func(h *brokerHarness, n int) { h.fakes.alpaca.FailNextOCO(n) },
		dropNextAnswer: func(h *brokerHarness) { h.fakes.alpaca.DropNextOrderResponse() },
	}, {
		name: "coinbase", class: "crypto", ticker: "BTCUSD", qty: "0.01", entry: decimal.NewFromInt(42150), takeProfitPct: 5, stopPct: 2,
		connect: func(h *brokerHarness) string {
			c := h.fakes.coinbase.NewAccount(cash)
			coinbaseKey = c["api_key"]
			r := h.connectBroker("coinbase", c)
			require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
			return connectionID(h.t, r)
		},
		setPrice: func(h *brokerHarness, p decimal.Decimal) { h.fakes.coinbase.SetPrice("BTC-USD", p.Round(2)) },
		// One order is both legs: its state says which side executed.
		legs: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for state, n := range h.fakes.coinbase.BracketStates(coinbaseKey) {
				switch state {
				case "OPEN/STOP_PENDING":
					out["take_profit/new"] += n
					out["stop_loss/new"] += n
				case "FILLED/STOP_PENDING":
					out["take_profit/filled"] += n
					out["stop_loss/canceled"] += n
				case "FILLED/STOP_TRIGGERED":
					out["stop_loss/filled"] += n
					out["take_profit/canceled"] += n
				default:
					out[state] += n
				}
			}
			return out
		},
		pairs:          func(h *brokerHarness) int { return h.fakes.coinbase.BracketCount(coinbaseKey) },
		failPairs:      func(h *brokerHarness, n int) { h.fakes.coinbase.FailNextBracket(n) },
		dropNextAnswer: func(h *brokerHarness) { h.fakes.coinbase.DropNextResponse() },
	}}
}

func (b pairBroker) webhook(id string) string {
	return fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,"takeProfit":{"percent":%d},"stopLoss":{"type":"stop","percent":%d},"id":%q}`,
		b.ticker, b.qty, b.takeProfitPct, b.stopPct, id)
}

func (b pairBroker) pct(p int64) decimal.Decimal {
	return b.entry.Mul(decimal.NewFromInt(100 + p)).Div(decimal.NewFromInt(100))
}

func TestExitPairAtBrokerFakes(t *testing.T) {
	for _, b := range pairBrokers() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("take-profit fill cancels the stop once", func(t *testing.T) {
				h := newBrokerHarness(t, openSQLite(t), store.SQLite)
				h.setDefault(b.class, b.connect(h))
				r := h.postWebhook(b.webhook("bp-tp"))
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				id := r.Body["tradeId"].(string)
				h.waitStatus(id, 30*time.Second, "filled")
				h.waitTakeProfitMode(id, "native")
				require.Equal(t, 1, b.pairs(h))
				legs := b.legs(h)
				require.Equal(t, 2, legs["take_profit/new"]+legs["stop_loss/new"]+legs["take_profit/open"]+legs["stop_loss/open"], "%v", legs)
				b.setPrice(h, b.pct(b.takeProfitPct+2))
				h.waitTakeProfit(id, "filled")
				legs = b.legs(h)
				require.Equal(t, 1, legs["take_profit/filled"], "%v", legs)
				require.Equal(t, 1, legs["stop_loss/canceled"]+legs["stop_loss/cancelled"], "the fake cancelled the stop once: %v", legs)
				require.Equal(t, 1, b.pairs(h), "one pair")
				require.Empty(t, h.takeProfitExits(id))
				require.Contains(t, h.getTrade(id).Raw, "TAKE_PROFIT_FILLED")
			})
			t.Run("stop fill cancels the take-profit", func(t *testing.T) {
				h := newBrokerHarness(t, openSQLite(t), store.SQLite)
				h.setDefault(b.class, b.connect(h))
				r := h.postWebhook(b.webhook("bp-sl"))
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				id := r.Body["tradeId"].(string)
				h.waitStatus(id, 30*time.Second, "filled")
				h.waitTakeProfitMode(id, "native")
				b.setPrice(h, b.pct(-b.stopPct-3))
				h.waitTakeProfit(id, "cancelled")
				legs := b.legs(h)
				require.Equal(t, 1, legs["stop_loss/filled"], "%v", legs)
				require.Equal(t, 1, legs["take_profit/canceled"]+legs["take_profit/cancelled"], "%v", legs)
				require.Empty(t, h.takeProfitExits(id))
			})
			t.Run("restart between the fill and the pair places one pair", func(t *testing.T) {
				h := newBrokerHarness(t, openSQLite(t), store.SQLite)
				h.setDefault(b.class, b.connect(h))
				b.failPairs(h, 1<<20)
				r := h.postWebhook(b.webhook("bp-restart"))
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				id := r.Body["tradeId"].(string)
				h.waitStatus(id, 30*time.Second, "filled")
				time.Sleep(time.Second) // PlaceExitPair is retrying
				require.Zero(t, b.pairs(h))
				h.stack.Stop()
				b.failPairs(h, 0)
				b.dropNextAnswer(h) // the pair is made, its answer lost
				h.restartApp()
				h.waitTakeProfitMode(id, "native")
				require.Equal(t, 1, b.pairs(h), "exactly one pair: %v", b.legs(h))
				b.setPrice(h, b.pct(b.takeProfitPct+2))
				h.waitTakeProfit(id, "filled")
				legs := b.legs(h)
				require.Equal(t, 1, legs["take_profit/filled"], "%v", legs)
				require.Equal(t, 1, legs["stop_loss/canceled"]+legs["stop_loss/cancelled"], "%v", legs)
			})
		})
	}
}

// Alpaca takes OCO orders for equities only: a crypto position's pair is
// refused and the take-profit is emulated, the reason on the timeline.
func TestExitPairRefusedByAlpacaFallsBackToEmulation(t *testing.T) {
	h := newBrokerHarness(t, openSQLite(t), store.SQLite)
	b := pairBrokers()[0]
	h.setDefault("crypto", b.connect(h))
	r := h.postWebhook(`{"ticker":"BTCUSD","action":"buy","quantity":0.01,"takeProfit":{"percent":5},"stopLoss":{"type":"stop","percent":2},"id":"bp-crypto"}`)
	require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
	id := r.Body["tradeId"].(string)
	h.waitStatus(id, 30*time.Second, "filled")
	h.waitTakeProfitMode(id, "emulated")
	h.waitTakeProfit(id, "armed")
	raw := h.getTrade(id).Raw
	require.Contains(t, raw, "Alpaca refused the pair")
	require.Zero(t, b.pairs(h))
}
