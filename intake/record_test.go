package intake

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Record stores a page of (signal, trade) pairs in one transaction; a
// second delivery of the same page creates nothing and returns the same
// ids (invariant 1).
func TestRecordBatchIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		var reqs []Request
		for i := 0; i < 3; i++ {
			u := schema.User{ID: uuid.NewString(), CreatedAt: time.Now().UTC()}
			if err := db.Create(&u).Error; err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, Request{UserID: u.ID, Signal: signal.Signal{
				Source: signal.SourceDiscord, ExternalID: u.ID + ":123456789012345678", Symbol: "AAPL", AssetClass: signal.AssetStock,
				Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: decimal.NewFromInt(1), QuantityType: signal.QtyFixed,
				OrderType: signal.OrderMarket, Text: "/buy AAPL 1",
			}})
		}
		committed := 0
		svc := &Service{DB: db, TaskQueue: "q", Committed: func(string) { committed++ }}
		first, err := svc.Record(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		second, err := svc.Record(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range reqs {
			if first[i].Duplicate || !second[i].Duplicate || first[i].TradeID != second[i].TradeID || first[i].SignalID != second[i].SignalID {
				t.Fatalf("result %d: first %+v second %+v", i, first[i], second[i])
			}
			if first[i].WorkflowID != trade.WorkflowID(first[i].SignalID, reqs[i].UserID) {
				t.Fatalf("workflow id %q", first[i].WorkflowID)
			}
		}
		var trades int64
		db.Model(&schema.Trade{}).Count(&trades)
		if trades != 3 || committed != 6 {
			t.Fatalf("trades = %d, committed calls = %d", trades, committed)
		}
		bad := append([]Request(nil), reqs...)
		bad[1].Signal.ExternalID = ""
		if _, err := svc.Record(ctx, bad); err == nil {
			t.Fatal("a request without external id was recorded")
		}
	})
}

// A trade written for a signal whose row was there already still gets its
// start request: accepting it is durable like any other.
func TestNewTradeOfAnExistingSignalGetsItsStartRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		ctx := context.Background()
		u := schema.User{ID: uuid.NewString(), CreatedAt: time.Now().UTC()}
		require.NoError(t, db.Create(&u).Error)
		sig := signal.Signal{Source: signal.SourceDiscord, ExternalID: u.ID + ":987654321098765432", Symbol: "AAPL", AssetClass: signal.AssetStock,
			Action: signal.ActionBuy, Side: signal.SideBuy, Quantity: decimal.NewFromInt(1), QuantityType: signal.QtyFixed,
			OrderType: signal.OrderMarket, Text: "/buy AAPL 1"}
		payload, err := json.Marshal(sig)
		require.NoError(t, err)
		require.NoError(t, db.Create(&schema.Signal{ID: uuid.NewString(), Source: string(sig.Source), ExternalID: sig.ExternalID,
			UserID: u.ID, Symbol: "AAPL", Payload: string(payload), ReceivedAt: time.Now()}).Error)
		svc := &Service{DB: db, TaskQueue: "q"}
		res, err := svc.Record(ctx, []Request{{UserID: u.ID, Signal: sig}})
		require.NoError(t, err)
		require.True(t, res[0].Duplicate, "the signal was there")
		var n int64
		require.NoError(t, db.Model(&schema.WorkflowStart{}).Where("workflow_id = ?", res[0].WorkflowID).Count(&n).Error)
		require.EqualValues(t, 1, n, "the new trade has its start request")
	})
}
