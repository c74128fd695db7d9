package portfolio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/portfolio"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func setup(t *testing.T, db *gorm.DB) (user, conn string) {
	t.Helper()
	user, conn = uuid.NewString(), uuid.NewString()
	now := time.Now().UTC()
	must(t, db.Create(&schema.User{ID: user, Role: "trader", CreatedAt: now}).Error)
	must(t, db.Create(&schema.BrokerConnection{ID: conn, UserID: user, BrokerType: "paper", IsActive: true, CreatedAt: now, UpdatedAt: now}).Error)
	return user, conn
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newEvents(t *testing.T, db *gorm.DB, user string, after *int64) []string {
	t.Helper()
	evs, err := realtime.EventsSince(context.Background(), db, user, *after, 0)
	must(t, err)
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
		*after = e.Seq
	}
	return out
}

func TestSyncEmitsOnlyChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		user, conn := setup(t, db)
		t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
		aapl := broker.Position{Symbol: "AAPL", Quantity: d("100"), AvgEntryPrice: d("180"), CurrentPrice: d("180"), UnrealizedPnL: d("0")}
		bal := broker.Balance{Currency: "USD", Cash: d("32000"), Equity: d("50000"), BuyingPower: d("64000")}
		var seq int64
		steps := []struct {
			name string
			pos  []broker.Position
			bal  broker.Balance
			want string
		}{
			{"first sync", []broker.Position{aapl}, bal, "[portfolio.positionAdded portfolio.balanceChanged]"},
			{"nothing changed", []broker.Position{aapl}, bal, "[]"},
			{"price moved", []broker.Position{{Symbol: "AAPL", Quantity: d("100"), AvgEntryPrice: d("180"), CurrentPrice: d("181"), UnrealizedPnL: d("100")}},
				broker.Balance{Currency: "USD", Cash: d("32000"), Equity: d("50100"), BuyingPower: d("64000")}, "[market.quote portfolio.balanceChanged]"},
			{"outside deposit", []broker.Position{{Symbol: "AAPL", Quantity: d("100"), AvgEntryPrice: d("180"), CurrentPrice: d("181"), UnrealizedPnL: d("100")}},
				broker.Balance{Currency: "USD", Cash: d("37000"), Equity: d("55100"), BuyingPower: d("74000")}, "[portfolio.balanceChanged]"},
			{"closed", nil, broker.Balance{Currency: "USD", Cash: d("55100"), Equity: d("55100"), BuyingPower: d("110200")}, "[portfolio.positionClosed portfolio.balanceChanged]"},
		}
		for i, s := range steps {
			must(t, portfolio.Sync(ctx, db, user, conn, s.pos, s.bal, t0.Add(time.Duration(i)*time.Minute)))
			if got := fmt.Sprint(newEvents(t, db, user, &seq)); got != s.want {
				t.Errorf("%s: events %s, want %s", s.name, got, s.want)
			}
		}
		sum, pos, err := portfolio.Read(ctx, db, user)
		must(t, err)
		if !sum.Cash.Equal(d("55100")) || !sum.Value.Equal(d("55100")) || len(pos) != 0 || len(sum.Accounts) != 1 {
			t.Fatalf("summary %+v positions %d", sum, len(pos))
		}
		// Equity curve: a point at most every 5 minutes.
		curve, err := portfolio.EquityCurve(ctx, db, user, t0.Add(-time.Hour))
		must(t, err)
		if len(curve) != 1 || !curve[0].Equity.Equal(d("50000")) {
			t.Fatalf("curve %+v", curve)
		}
		must(t, portfolio.Sync(ctx, db, user, conn, nil, broker.Balance{Currency: "USD", Cash: d("60000"), Equity: d("60000"), BuyingPower: d("1")}, t0.Add(10*time.Minute)))
		curve, err = portfolio.EquityCurve(ctx, db, user, t0.Add(-time.Hour))
		must(t, err)
		if len(curve) != 2 || !curve[1].Equity.Equal(d("60000")) {
			t.Fatalf("curve %+v", curve)
		}
	})
}

func TestSnapshotCarriesSeqAndState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		user, conn := setup(t, db)
		must(t, portfolio.Sync(ctx, db, user, conn,
			[]broker.Position{{Symbol: "MSFT", Quantity: d("3"), AvgEntryPrice: d("200"), CurrentPrice: d("210"), UnrealizedPnL: d("30")}},
			broker.Balance{Currency: "USD", Cash: d("1000"), Equity: d("1630"), BuyingPower: d("1000")}, time.Now()))
		now := time.Now().UTC()
		for i, st := range []string{"queued", "filled"} {
			sig := schema.Signal{ID: uuid.NewString(), Source: "dashboard", ExternalID: uuid.NewString(), UserID: user, ReceivedAt: now}
			must(t, db.Create(&sig).Error)
			must(t, db.Create(&schema.Trade{ID: uuid.NewString(), SignalID: sig.ID, UserID: user, Symbol: "MSFT", AssetClass: "stock",
				Side: "buy", OrderType: "market", Status: st, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}).Error)
		}
		st, seq, err := portfolio.Snapshot(ctx, db, user)
		must(t, err)
		if seq != 2 || len(st.Positions) != 1 || len(st.PendingOrders) != 1 || len(st.RecentTrades) != 2 || !st.Portfolio.UnrealizedPnL.Equal(d("30")) {
			b, _ := json.Marshal(st)
			t.Fatalf("seq %d state %s", seq, b)
		}
		if st.RecentTrades[0].Status != "filled" {
			t.Error("recent trades not newest first")
		}
	})
}
