package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
)

// errorRecorder collects the violations a check reports instead of failing
// the test with them.
type errorRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *errorRecorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *errorRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// A channel signal's fan-out may still run when a round's check starts
// (settle waits only for the webhooks' trades): its trades are recorded
// and their orders placed while the check reads. A trade committed and
// submitted between the check's reads of the database and of the broker
// is no orphan; an entry order whose client order id no trade carries is
// one, and its report names the signal that derives the id.
//
// Mutation tried: snapshot reading the trades before the books (as the
// check did when it reported the orphans of seed 923131995, round 28)
// reports the fan-out's order as an orphan, and this test fails.
func TestCheckCountsATradeSubmittedWhileItReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		c := newCheckCluster(t, db, d)
		tr := c.traders[0]
		b, err := alpaca.New(broker.Config{Paper: true, Credentials: c.fake.Credentials(tr.KeyID, tr.Secret)}, alpaca.Options{AllowCustomURLs: true})
		require.NoError(t, err)
		c.fake.SetPrice("MSFT", decimal.NewFromInt(100))
		place := func(clientOrderID string) {
			t.Helper()
			_, err := b.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: clientOrderID, Symbol: "MSFT", AssetClass: signal.AssetStock,
				Side: signal.SideBuy, Type: signal.OrderMarket, Quantity: decimal.NewFromInt(2),
				TimeInForce: broker.TimeInForceFor("", signal.AssetStock)})
			require.NoError(t, err)
		}
		// What the fan-out does for one follower: the signal, trade and
		// start request in one transaction (intake.Service.Record), then
		// the TradeWorkflow's SubmitOrder places the order.
		svc := &intake.Service{DB: db, TaskQueue: "chaos-check"}
		fanout := func(messageID string) {
			t.Helper()
			res, err := svc.Record(ctx, []intake.Request{{UserID: tr.UserID, Signal: signal.Signal{
				Source: signal.SourceDiscord, ExternalID: tr.UserID + ":" + messageID, Symbol: "MSFT", AssetClass: signal.AssetStock,
				Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: decimal.NewFromInt(2), QuantityType: signal.QtyFixed,
				OrderType: signal.OrderMarket, Text: "/buy MSFT 2 @market"}}})
			require.NoError(t, err)
			var row schema.Trade
			require.NoError(t, db.Take(&row, "id = ?", res[0].TradeID).Error)
			place(row.ClientOrderID)
		}

		rec := &errorRecorder{}
		v := newViolations(rec)
		betweenReads = func() { fanout("m-late") }
		c.check(1, nil, v)
		betweenReads = nil
		require.Empty(t, rec.all(), "a trade recorded and submitted while the check read is no violation")
		require.Len(t, c.fake.Book(tr.KeyID).Orders, 1, "the fan-out's order reached the broker")

		// Real orphans: an entry order of a signal whose trade row is
		// missing, and one whose client order id no signal derives.
		sig := schema.Signal{ID: uuid.NewString(), Source: string(signal.SourceDiscord), ExternalID: tr.UserID + ":m-lost",
			UserID: tr.UserID, Symbol: "MSFT", Payload: "{}", ReceivedAt: time.Now().UTC()}
		require.NoError(t, db.Create(&sig).Error)
		lostWF := trade.WorkflowID(sig.ID, tr.UserID)
		place(trade.ClientOrderID(lostWF, "entry"))
		place(trade.ClientOrderID("trade/no-such-signal/"+tr.UserID, "entry"))
		c.check(2, nil, v)
		got := rec.all()
		require.Len(t, got, 2, "both orphans are reported: %v", got)
		joined := strings.Join(got, "\n")
		require.Contains(t, joined, "its workflow "+lostWF+" is of signal "+sig.ID)
		require.Contains(t, joined, "none of the 2 stored signals derives it")
		for _, m := range got {
			require.Contains(t, m, "belongs to no trade")
		}
	})
}

// newCheckCluster is the part of a cluster the checks read: the database,
// the Alpaca fake and one steady trader (no Temporal, worker or API).
func newCheckCluster(t *testing.T, db *gorm.DB, d store.Dialect) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), dialect: d, db: db}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c.keySpec = "1:" + base64.StdEncoding.EncodeToString(key)
	var err error
	c.keyring, err = vault.ParseKeyring(c.keySpec)
	require.NoError(t, err)
	c.fake = alpaca.NewFake()
	t.Cleanup(c.fake.Close)
	c.fake.SetMarketOpen(true)
	c.proxy = newFaultProxy(c.fake.URL(), proxyHold, 1)
	t.Cleanup(c.proxy.Close)
	c.traders = []*trader{c.newTrader(context.Background(), false)}
	return c
}
