package activities

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

type fanoutFixture struct {
	db     *gorm.DB
	source sources.Source
	n      int
}

// trader creates a user (ids sort by creation order) following the source.
func (f *fanoutFixture) trader(t *testing.T, status string, brokers []string, sz sources.Sizing, shadow bool, discord bool) string {
	t.Helper()
	f.n++
	id := fmt.Sprintf("00000000-0000-0000-0000-%012d", f.n)
	now := time.Now().UTC()
	u := schema.User{ID: id, DisplayName: "T", SubscriptionStatus: status, CreatedAt: now}
	if discord {
		did := fmt.Sprintf("2000000000000000%02d", f.n)
		u.DiscordID = &did
	}
	require.NoError(t, f.db.Create(&u).Error)
	for _, b := range brokers {
		require.NoError(t, f.db.Create(&schema.BrokerConnection{ID: uuid.NewString(), UserID: id, BrokerType: b,
			IsActive: true, CreatedAt: now, UpdatedAt: now}).Error)
	}
	_, err := sources.Follow(context.Background(), f.db, id, f.source.ID, sz, shadow)
	require.NoError(t, err)
	return id
}

func newFanoutFixture(t *testing.T, db *gorm.DB) *fanoutFixture {
	owner := schema.User{ID: "ffffffff-0000-0000-0000-000000000000", CreatedAt: time.Now().UTC()}
	require.NoError(t, db.Create(&owner).Error)
	src, err := sources.Register(context.Background(), db, sources.RegisterInput{GuildID: "100000000000000001", ChannelID: "100000000000000002",
		Name: "Alpha calls", OwnerUserID: owner.ID, RegisteredBy: "100000000000000003", Mode: sources.ModeStrict,
		SummaryReplies: true, Verified: true})
	require.NoError(t, err)
	return &fanoutFixture{db: db, source: src}
}

func buyLegs(t *testing.T) []signal.Leg {
	s, err := signal.ParseDiscord("/buy AAPL 10")
	require.NoError(t, err)
	return signal.SingleLeg(s)
}

func TestFanoutPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFanoutFixture(t, db)
		ok1 := f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, true)
		half := f.trader(t, "trial", []string{"alpaca"}, sources.Sizing{Mode: sources.SizingMultiplier, Multiplier: decimal.RequireFromString("0.5")}, false, false)
		noBroker := f.trader(t, "active", []string{"kraken"}, sources.DefaultSizing(), false, true)
		lapsed := f.trader(t, "cancelled", []string{"paper"}, sources.DefaultSizing(), false, true)
		shadow := f.trader(t, "active", []string{"paper", "alpaca"}, sources.Sizing{Mode: sources.SizingFixedAmount, FixedAmount: decimal.NewFromInt(250)}, true, true)

		a := &Signals{DB: db, TaskQueue: "q"}
		legs := buyLegs(t)
		const msg = "1300000000000000001"
		in := workflows.FanoutPageInput{SourceID: f.source.ID, MessageID: msg, Legs: legs, Limit: 3}
		p1, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.False(t, p1.Done)
		require.Equal(t, noBroker, p1.Next)
		require.Len(t, p1.Trades, 2)
		require.Equal(t, []workflows.FanoutSkip{{UserID: noBroker, Reason: "No active broker connection for stocks. Connect one in Settings → Brokers."}}, p1.Skipped)
		require.Equal(t, ok1, p1.Trades[0].UserID)
		require.True(t, p1.Trades[0].Signal.Quantity.Equal(decimal.NewFromInt(10)))
		require.Equal(t, half, p1.Trades[1].UserID)
		require.True(t, p1.Trades[1].Signal.Quantity.Equal(decimal.NewFromInt(5)))
		for _, tr := range p1.Trades {
			require.Equal(t, trade.WorkflowID(tr.SignalID, tr.UserID), tr.WorkflowID)
			require.Equal(t, tr.UserID+":"+msg, tr.Signal.ExternalID)
		}

		in.After = p1.Next
		p2, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.True(t, p2.Done)
		require.Len(t, p2.Trades, 1)
		require.Equal(t, shadow, p2.Trades[0].UserID)
		require.Equal(t, "paper", p2.Trades[0].Signal.Broker)
		require.Equal(t, signal.QtyDollarAmount, p2.Trades[0].Signal.QuantityType)
		require.Len(t, p2.Skipped, 1)
		require.Equal(t, lapsed, p2.Skipped[0].UserID)

		// A retried page records nothing new and returns the same trades.
		in.After = ""
		again, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.Equal(t, p1.Trades[0].TradeID, again.Trades[0].TradeID)
		require.Equal(t, p1.Trades[1].WorkflowID, again.Trades[1].WorkflowID)
		var trades, skipsAudited, dms int64
		db.Model(&schema.Trade{}).Count(&trades)
		db.Model(&schema.AuditLog{}).Where("action = ?", sources.ActionSignalSkipped).Count(&skipsAudited)
		db.Model(&schema.DiscordNotification{}).Where("kind = ?", sources.KindSkipped).Count(&dms)
		require.EqualValues(t, 3, trades)
		require.EqualValues(t, 2, skipsAudited)
		require.EqualValues(t, 2, dms, "both skipped traders have Discord linked")

		// A follower whose trade was recorded, then lost their broker, still
		// gets the recorded trade on a retry (never stranded).
		require.NoError(t, db.Model(&schema.BrokerConnection{}).Where("user_id = ?", ok1).Update("is_active", false).Error)
		retry, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.Equal(t, p1.Trades[0].TradeID, retry.Trades[0].TradeID)
	})
}

func TestFanoutPageSplitsLegs(t *testing.T) {
	db, _ := storetest.Open(t)
	f := newFanoutFixture(t, db)
	u := f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false)
	// Split legs (recorded before ladders) still fan out one trade each.
	ff, err := signal.ParseFreeform("BTC/USDT LONG Entry 42000 SL 41000 TP 43000")
	require.NoError(t, err)
	var legs []signal.Leg
	for i, tp := range []string{"43000", "44500"} {
		s := ff.Signal
		s.TakeProfitPrice = decimal.RequireFromString(tp)
		legs = append(legs, signal.Leg{Key: fmt.Sprintf("tp%d", i+1), Signal: s, Share: decimal.NewFromInt(50)})
	}
	a := &Signals{DB: db, TaskQueue: "q"}
	p, err := a.FanoutPage(context.Background(), workflows.FanoutPageInput{SourceID: f.source.ID, MessageID: "1300000000000000002", Legs: legs, Limit: 10})
	require.NoError(t, err)
	require.Len(t, p.Trades, 2)
	require.Equal(t, u+":1300000000000000002/tp1", p.Trades[0].Signal.ExternalID)
	require.Equal(t, signal.QtyPercentOfEquity, p.Trades[0].Signal.QuantityType)
	require.True(t, p.Trades[0].Signal.Quantity.Equal(decimal.NewFromInt(5)), "half of the default 10%% max position")
	require.NotEqual(t, p.Trades[0].WorkflowID, p.Trades[1].WorkflowID)
}

func TestFinishSignalQueuesSummaryOnce(t *testing.T) {
	db, _ := storetest.Open(t)
	ctx := context.Background()
	f := newFanoutFixture(t, db)
	a := &Signals{DB: db, TaskQueue: "q"}
	in := workflows.FinishSignalInput{SourceID: f.source.ID, MessageID: "1300000000000000003", ChannelID: "100000000000000002", Followers: 212, Skipped: 3}
	require.NoError(t, a.FinishSignal(ctx, in))
	require.NoError(t, a.FinishSignal(ctx, in))
	var rows []schema.DiscordNotification
	require.NoError(t, db.Where("kind = ?", sources.KindSummary).Find(&rows).Error)
	require.Len(t, rows, 1)
	require.Equal(t, "Executed for 212 followers, 3 skipped", rows[0].Content)
	require.Equal(t, "1300000000000000003", rows[0].ReplyTo)
	require.Equal(t, "Executed for 1 follower", SummaryText(1, 0))
}

// A multi-entry message gives each follower one limit trade per entry
// price, the position shared by the follower's own entry strategy.
func TestFanoutPageEntryLadderByStrategy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		f := newFanoutFixture(t, db)
		even := f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false) // no settings row: even
		dec := f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false)
		inc := f.trader(t, "active", []string{"paper"}, sources.DefaultSizing(), false, false)
		for u, strategy := range map[string]string{dec: "decreasing", inc: "increasing"} {
			d := risk.DefaultSettings()
			require.NoError(t, db.Create(&schema.RiskSettings{UserID: u, MaxPositionPct: d.MaxPositionPct, DailyLossLimitPct: d.DailyLossLimitPct,
				CircuitBreakerPct: d.CircuitBreakerPct, StopLossPct: d.StopLossPct, LadderStop: d.LadderStop, TrailAfterTarget: 1,
				LadderTrailPct: d.LadderTrailPct, EntryStrategy: strategy, MaxAlertLagSeconds: 60, ApprovalTimeoutSeconds: 300,
				UpdatedAt: time.Now().UTC()}).Error)
		}
		ff, err := signal.ParseFreeform("BTC/USDT LONG Entry: 41000 - 42000 - 41500 SL 40000 TP1 44000 TP2 45000")
		require.NoError(t, err)
		legs := ff.Legs()
		require.Len(t, legs, 3)

		a := &Signals{DB: db, TaskQueue: "q"}
		const msg = "1300000000000000009"
		in := workflows.FanoutPageInput{SourceID: f.source.ID, MessageID: msg, Legs: legs, Limit: 10}
		p, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.Empty(t, p.Skipped)
		require.Len(t, p.Trades, 9)

		// Percent of equity: the default 10% max position × the leg's share.
		want := map[string][]string{
			even: {"3.33334", "3.33333", "3.33333"},
			dec:  {"5.00001", "3.33333", "1.66666"},
			inc:  {"1.66667", "3.33333", "5"},
		}
		prices := []string{"42000", "41500", "41000"}
		got := map[string][]signal.Signal{}
		for _, tr := range p.Trades {
			got[tr.UserID] = append(got[tr.UserID], tr.Signal)
		}
		for u, qtys := range want {
			sigs := got[u]
			require.Len(t, sigs, 3, u)
			for i, s := range sigs {
				require.Equal(t, fmt.Sprintf("%s:%s/e%d", u, msg, i+1), s.ExternalID)
				require.Equal(t, signal.OrderLimit, s.OrderType)
				require.True(t, s.LimitPrice.Equal(decimal.RequireFromString(prices[i])), "%s leg %d price %s", u, i+1, s.LimitPrice)
				require.True(t, s.StopLossPrice.Equal(decimal.NewFromInt(40000)))
				require.Len(t, s.TakeProfitTargets, 2)
				require.Equal(t, signal.QtyPercentOfEquity, s.QuantityType)
				require.True(t, s.Quantity.Equal(decimal.RequireFromString(qtys[i])), "%s leg %d: %s%% of equity, want %s", u, i+1, s.Quantity, qtys[i])
			}
		}

		// A retried page records nothing new (one trade per follower and leg).
		again, err := a.FanoutPage(ctx, in)
		require.NoError(t, err)
		require.Len(t, again.Trades, 9)
		for i := range p.Trades {
			require.Equal(t, p.Trades[i].TradeID, again.Trades[i].TradeID)
		}
		var n int64
		require.NoError(t, db.Model(&schema.Trade{}).Count(&n).Error)
		require.EqualValues(t, 9, n)
	})
}
