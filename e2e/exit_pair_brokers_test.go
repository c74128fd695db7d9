package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

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
	// outside, when set, counts the fake's orders that are not legs of a
	// pair by "<side>/<status>" (legStatus): the entry, and a stop the
	// account guard placed while the pair was delayed (replaced by it).
	outside func(h *brokerHarness) map[string]int
}

// legStatus names a leg's status at a fake the way legs() reports it:
// new, filled or canceled.
func legStatus(s string) string {
	switch strings.ToUpper(s) {
	case "SUBMITTED", "PRESUBMITTED", "PENDINGSUBMIT", "WORKING", "PENDING_ACTIVATION", "QUEUED", "ACCEPTED", "NEW", "PENDING_NEW", "HELD", "OPEN":
		return "new"
	case "FILLED":
		return "filled"
	case "CANCELLED", "CANCELED":
		return "canceled"
	}
	return strings.ToLower(s)
}

func pairBrokers() []pairBroker {
	cash := decimal.NewFromInt(100_000)
	var alpacaKey, coinbaseKey, ibkrBase, binanceKey string
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
		outside: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.alpaca.Book(alpacaKey).Orders {
				if o.OrderClass != "oco" {
					out[o.Side+"/"+legStatus(o.Status)]++
				}
			}
			return out
		},
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
	}, {
		// One OCA group: a LMT take-profit and a STP stop, isSingleGroup.
		name: "ibkr", class: "stocks", ticker: "AAPL", qty: "5", entry: decimal.NewFromInt(190), takeProfitPct: 5, stopPct: 2,
		connect: func(h *brokerHarness) string {
			acct, base := h.fakes.ibkr.NewAccount(cash)
			ibkrBase = base
			r := h.connectBroker("ibkr", map[string]string{"account_id": acct, "base_url": base})
			require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
			return connectionID(h.t, r)
		},
		setPrice: func(h *brokerHarness, p decimal.Decimal) { h.fakes.ibkr.SetPrice("AAPL", p.Round(2)) },
		legs: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.ibkr.Orders(ibkrBase) {
				switch {
				case o.OCAGroup == "":
				case o.Side == "SELL" && o.Type == "LMT":
					out["take_profit/"+legStatus(o.Status)]++
				case o.Side == "SELL" && o.Type == "STP":
					out["stop_loss/"+legStatus(o.Status)]++
				default:
					out["other/"+o.Type+"/"+o.Status]++
				}
			}
			return out
		},
		pairs: func(h *brokerHarness) int {
			groups := map[string]bool{}
			for _, o := range h.fakes.ibkr.Orders(ibkrBase) {
				if o.OCAGroup != "" {
					groups[o.OCAGroup] = true
				}
			}
			return len(groups)
		},
		failPairs:      func(h *brokerHarness, n int) { h.fakes.ibkr.FailNextGroups(n) },
		dropNextAnswer: func(h *brokerHarness) { h.fakes.ibkr.DropNextResponse() },
		outside: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.ibkr.Orders(ibkrBase) {
				if o.OCAGroup == "" {
					out[strings.ToLower(o.Side)+"/"+legStatus(o.Status)]++
				}
			}
			return out
		},
	}, {
		// One OCO order strategy: a LIMIT and a STOP child order.
		name: "schwab", class: "stocks", ticker: "AAPL", qty: "5", entry: decimal.NewFromInt(190), takeProfitPct: 5, stopPct: 2,
		connect: func(h *brokerHarness) string {
			q, _ := h.connectSchwab(cash, "")
			require.Equal(h.t, "connected", q.Get("status"), q.Encode())
			return q.Get("connection")
		},
		setPrice: func(h *brokerHarness, p decimal.Decimal) { h.fakes.schwab.SetPrice("AAPL", p.Round(2)) },
		legs: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, oco := range h.fakes.schwab.OCOs() {
				for _, o := range oco {
					switch {
					case o.Instruction == "SELL" && o.OrderType == "LIMIT":
						out["take_profit/"+legStatus(o.Status)]++
					case o.Instruction == "SELL" && o.OrderType == "STOP":
						out["stop_loss/"+legStatus(o.Status)]++
					default:
						out["other/"+o.OrderType+"/"+o.Status]++
					}
				}
			}
			return out
		},
		pairs:          func(h *brokerHarness) int { return len(h.fakes.schwab.OCOs()) },
		failPairs:      func(h *brokerHarness, n int) { h.fakes.schwab.FailNextOCO(n) },
		dropNextAnswer: func(h *brokerHarness) { h.fakes.schwab.DropNextResponse() },
		outside: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.schwab.Singles() {
				out[strings.ToLower(o.Instruction)+"/"+legStatus(o.Status)]++
			}
			return out
		},
	}, {
		// One OCO order list: a LIMIT_MAKER above, a stop below.
		name: "binance", class: "crypto", ticker: "BTCUSD", qty: "0.01", entry: decimal.NewFromInt(42150), takeProfitPct: 5, stopPct: 2,
		connect: func(h *brokerHarness) string {
			c := h.fakes.binance.NewAccount(cash)
			binanceKey = c["api_key"]
			r := h.connectBroker("binance", c)
			require.Equal(h.t, http.StatusCreated, r.Status, r.Raw)
			return connectionID(h.t, r)
		},
		setPrice: func(h *brokerHarness, p decimal.Decimal) { h.fakes.binance.SetPrice("BTC-USD", p.Round(2)) },
		legs: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, list := range h.fakes.binance.OrderLists(binanceKey) {
				for _, o := range list {
					switch {
					case o.Side == "SELL" && o.Type == "LIMIT_MAKER":
						out["take_profit/"+legStatus(o.Status)]++
					case o.Side == "SELL" && (o.Type == "STOP_LOSS" || o.Type == "STOP_LOSS_LIMIT"):
						out["stop_loss/"+legStatus(o.Status)]++
					default:
						out["other/"+o.Type+"/"+o.Status]++
					}
				}
			}
			return out
		},
		pairs:          func(h *brokerHarness) int { return len(h.fakes.binance.OrderLists(binanceKey)) },
		failPairs:      func(h *brokerHarness, n int) { h.fakes.binance.FailNextOrderLists(n) },
		dropNextAnswer: func(h *brokerHarness) { h.fakes.binance.DropNextResponse() },
		outside: func(h *brokerHarness) map[string]int {
			out := map[string]int{}
			for _, o := range h.fakes.binance.Singles(binanceKey) {
				out[strings.ToLower(o.Side)+"/"+legStatus(o.Status)]++
			}
			return out
		},
	}}
}

func (b pairBroker) webhook(id string) string {
	return fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,"takeProfit":{"percent":%d},"stopLoss":{"type":"stop","percent":%d},"id":%q}`,
		b.ticker, b.qty, b.takeProfitPct, b.stopPct, id)
}

func (b pairBroker) pct(p int64) decimal.Decimal {
	return b.entry.Mul(decimal.NewFromInt(100 + p)).Div(decimal.NewFromInt(100))
}

// requireBook checks that outside the pair the fake holds the filled entry
// and nothing working (exact: the entry alone, unless a stop was replaced).
func (b pairBroker) requireBook(h *brokerHarness, exact bool) {
	h.t.Helper()
	if b.outside == nil {
		return
	}
	out := b.outside(h)
	h.t.Logf("%s book outside the pair: %v", b.name, out)
	if exact {
		require.Equal(h.t, map[string]int{"buy/filled": 1}, out, "the %s book outside the pair", b.name)
		return
	}
	require.Equal(h.t, 1, out["buy/filled"], "one entry in the %s book: %v", b.name, out)
	require.Zero(h.t, out["buy/new"]+out["sell/new"], "nothing working outside the pair in the %s book: %v", b.name, out)
}

func TestExitPairAtBrokerFakes(t *testing.T) {
	for _, b := range pairBrokers() {
		t.Run(b.name, func(t *testing.T) {
			t.Run("take-profit fill cancels the stop once", func(t *testing.T) {
				eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
					h := newBrokerHarness(t, db, d)
					h.setDefault(b.class, b.connect(h))
					r := h.postWebhook(b.webhook("bp-tp"))
					require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
					id := r.Body["tradeId"].(string)
					h.waitStatus(id, 30*time.Second, "filled")
					h.waitTakeProfitMode(id, "native")
					require.Equal(t, 1, b.pairs(h))
					legs := b.legs(h)
					require.Equal(t, 2, legs["take_profit/new"]+legs["stop_loss/new"]+legs["take_profit/open"]+legs["stop_loss/open"], "%v", legs)
					b.requireBook(h, true)
					b.setPrice(h, b.pct(b.takeProfitPct+2))
					h.waitTakeProfit(id, "filled")
					legs = b.legs(h)
					require.Equal(t, 1, legs["take_profit/filled"], "%v", legs)
					require.Equal(t, 1, legs["stop_loss/canceled"]+legs["stop_loss/cancelled"], "the fake cancelled the stop once: %v", legs)
					require.Equal(t, 1, b.pairs(h), "one pair")
					b.requireBook(h, true)
					time.Sleep(500 * time.Millisecond) // nothing more is sent after the fill
					require.Equal(t, legs, b.legs(h))
					b.requireBook(h, true)
					require.Empty(t, h.takeProfitExits(id))
					require.Contains(t, h.getTrade(id).Raw, "TAKE_PROFIT_FILLED")
				})
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
				b.requireBook(h, true)
			})
			t.Run("restart between the fill and the pair places one pair", func(t *testing.T) {
				eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
					h := newBrokerHarness(t, db, d)
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
					b.requireBook(h, false)
					b.setPrice(h, b.pct(b.takeProfitPct+2))
					h.waitTakeProfit(id, "filled")
					legs := b.legs(h)
					require.Equal(t, 1, legs["take_profit/filled"], "%v", legs)
					require.Equal(t, 1, legs["stop_loss/canceled"]+legs["stop_loss/cancelled"], "%v", legs)
				})
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
