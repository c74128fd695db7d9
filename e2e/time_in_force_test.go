package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// A webhook's timeInForce is executed where the trader's broker takes it
// and refused (400, the field and the broker named, nothing stored or sent)
// where it does not — per broker, against each broker's fake.
func TestTimeInForcePerBroker(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		h := newBrokerHarness(t, db, d)
		market, limit := `"type":"market"`, `"type":"limit","limitPrice":43000`
		cases := map[string]struct{ ok, order, refused, refusedOrder string }{
			"alpaca":   {ok: "fok", order: market}, // takes all six
			"ibkr":     {ok: "ioc", order: market, refused: "fok", refusedOrder: market},
			"schwab":   {ok: "fok", order: market, refused: "opg", refusedOrder: market},
			"paper":    {ok: "fok", order: market, refused: "cls", refusedOrder: market},
			"coinbase": {ok: "ioc", order: market, refused: "fok", refusedOrder: limit},
			"kraken":   {ok: "ioc", order: limit, refused: "fok", refusedOrder: limit},
			"binance":  {ok: "fok", order: limit, refused: "ioc", refusedOrder: market},
		}
		for i, b := range spineBrokers() {
			c := cases[b.name]
			t.Run(b.name, func(t *testing.T) {
				h.t = t
				connID := b.connect(h)
				h.setDefault(b.class, connID)
				ticker, qty := "AAPL", "5"
				if b.class == "crypto" {
					ticker, qty = "BTCUSD", "0.01"
				}
				r := h.postWebhook(fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,%s,"timeInForce":%q,"id":"tif-ok-%d"}`, ticker, qty, c.order, c.ok, i))
				require.Equal(t, http.StatusAccepted, r.Status, r.Raw)
				body := h.waitStatus(r.Body["tradeId"].(string), 30*time.Second, "filled", "rejected", "cancelled")
				tr := body["trade"].(map[string]any)
				require.Equal(t, "filled", tr["status"], "%s %s: %v", b.name, c.ok, tr)
				if c.refused == "" {
					return
				}
				var before, after int64
				require.NoError(t, db.Model(&schema.Trade{}).Count(&before).Error)
				r = h.postWebhook(fmt.Sprintf(`{"ticker":%q,"action":"buy","quantity":%s,%s,"timeInForce":%q,"id":"tif-no-%d"}`, ticker, qty, c.refusedOrder, c.refused, i))
				require.Equal(t, http.StatusBadRequest, r.Status, r.Raw)
				require.Equal(t, "timeInForce", r.Body["field"], r.Raw)
				require.Contains(t, r.Raw, "does not execute timeInForce")
				require.Contains(t, r.Raw, tradeDisplayName(b.name))
				require.NoError(t, db.Model(&schema.Trade{}).Count(&after).Error)
				require.Equal(t, before, after, "nothing was stored, so nothing reaches %s", b.name)
			})
		}
	})
}

func tradeDisplayName(b string) string { return trade.BrokerDisplayName(b) }
