package performance

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func TestSourceName(t *testing.T) {
	channel := map[string]string{"s1": "alpha-signals"}
	leader := map[string]string{"l1": "Alice"}
	for _, tc := range []struct{ key, want string }{
		{"discord:s1", "alpha-signals"},
		{"discord:gone", "Discord channel (removed)"},
		{"copy:l1", "Copy: Alice"},
		{"copy:gone", "Copy: leader no longer listed"},
		{"tradingview", "TradingView webhook"},
		{"dashboard", "Dashboard"},
		{"discord", "Discord"},
		{"copy", "Copy trading"},
		{"", "Unknown source"},
		{"other", "other"},
	} {
		require.Equal(t, tc.want, sourceName(tc.key, channel, leader), tc.key)
	}
}

func TestDiscordMessageIDAndKind(t *testing.T) {
	for _, tc := range []struct{ user, ext, want string }{
		{"u1", "u1:123", "123"},
		{"u1", "u1:123/tp2", "123"},
		{"u1", "u2:123", ""}, // another follower's key
		{"u1", "tp:abc", ""}, // an exit the platform sent
		{"u1", "u1:", ""},    // no message
	} {
		require.Equal(t, tc.want, DiscordMessageID(tc.user, tc.ext), tc.ext)
	}
	for _, tc := range []struct{ key, want string }{
		{"discord:s1", "discord"}, {"copy:l1", "copy"}, {"tradingview", "tradingview"}, {"dashboard", "dashboard"},
	} {
		require.Equal(t, tc.want, SourceKind(tc.key), tc.key)
	}
}

// Performance per individual source: two Discord channels, the webhook and
// a copy leader give four source rows with their names and figures; the
// backfill replays them under the same keys; names are read when read (a
// renamed channel shows its new name, a deleted one a label); another
// trader's source is never listed.
func TestPerformanceByIndividualSource(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		user, provider, leader, other := newUser(t, db), newUser(t, db), newUser(t, db), newUser(t, db)
		now := time.Now().UTC().Truncate(time.Second)
		source := func(owner, name string) string {
			id := uuid.NewString()
			require.NoError(t, db.Create(&schema.DiscordSource{ID: id, GuildID: "g", ChannelID: uuid.NewString()[:30], Name: name, OwnerUserID: owner,
				ParseMode: "strict", Status: "active", RegisteredByDiscordID: "r", CreatedAt: now, UpdatedAt: now}).Error)
			return id
		}
		message := func(sourceID string) string {
			id := uuid.NewString()[:18]
			require.NoError(t, db.Create(&schema.DiscordMessage{ID: uuid.NewString(), MessageID: id, SourceID: sourceID, GuildID: "g", ChannelID: "c",
				AuthorID: "a", Content: "/buy", Status: "fired", PostedAt: now, ReceivedAt: now}).Error)
			return id
		}
		s1, s2, s3 := source(provider, "alpha-signals"), source(provider, "beta-calls"), source(provider, "gamma-private")
		require.NoError(t, db.Create(&schema.CopyLeader{UserID: leader, AllowCopy: true, Visibility: "public", DisplayName: "Alice", CreatedAt: now, UpdatedAt: now}).Error)
		n := 0
		// trade stores a filled trade (and its signal) and records its fill.
		trade := func(owner, kind, ext, symbol, side, qty, price string) string {
			n++
			at := now.Add(time.Duration(n) * time.Minute)
			sid, id := uuid.NewString(), uuid.NewString()
			if ext == "" {
				ext = sid
			}
			require.NoError(t, db.Create(&schema.Signal{ID: sid, Source: kind, ExternalID: ext, UserID: owner, Symbol: symbol, Payload: "{}", ReceivedAt: at}).Error)
			require.NoError(t, db.Create(&schema.Trade{ID: id, SignalID: sid, UserID: owner, Source: kind, Symbol: symbol, AssetClass: "stock", Side: side,
				OrderType: "market", BrokerConnectionID: "c", RequestedQuantity: d(qty), Quantity: d(qty), FilledQuantity: d(qty),
				FillPrice: decimal.NewNullDecimal(d(price)), ReservedNotional: d("0"), Status: "filled", FilledAt: &at, CreatedAt: at, UpdatedAt: at}).Error)
			record(t, db, FillEvent{UserID: owner, ConnectionID: "c", Symbol: symbol, Source: kind, TradeID: id, Side: side,
				Quantity: d(qty), Notional: d(qty).Mul(d(price)), At: at})
			return id
		}
		m1, m2, m3 := message(s1), message(s2), message(s3)
		trade(user, "discord", user+":"+m1, "AAPL", "buy", "1", "100")
		trade(user, "dashboard", "", "AAPL", "sell", "1", "110") // +10 to alpha-signals
		trade(user, "discord", user+":"+m2+"/tp1", "MSFT", "buy", "2", "50")
		trade(user, "dashboard", "", "MSFT", "sell", "2", "45") // −10 to beta-calls
		trade(user, "tradingview", "", "TSLA", "buy", "1", "200")
		trade(user, "tradingview", "", "TSLA", "sell", "1", "230") // +30 to the webhook
		copied := trade(user, "copy", "", "NVDA", "buy", "2", "100")
		trade(user, "copy", "", "NVDA", "sell", "1", "105") // +5 to Alice, 1 still open
		// The copy order that names the leader (written with the trade in
		// intake's transaction; here its lot was opened before it existed,
		// so the copy entry is replayed by the backfill below).
		fillID := uuid.NewString()
		require.NoError(t, db.Create(&schema.CopyFill{ID: fillID, FillID: "trade:" + fillID, LeaderID: leader, TradeID: uuid.NewString(), Kind: "entry",
			Symbol: "NVDA", AssetClass: "stock", Side: "buy", Quantity: d("1"), Price: d("100"), LeaderEquity: d("1000"), PositionBefore: d("0"),
			ExitFraction: d("0"), CreatedAt: now}).Error)
		require.NoError(t, db.Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: fillID, FollowerID: user, LeaderID: leader, Symbol: "NVDA",
			Side: "buy", Quantity: d("2"), Status: "filled", TradeID: copied, AllocationPct: d("0"), CreatedAt: now}).Error)
		// Another trader on a channel the user does not follow.
		trade(other, "discord", other+":"+m3, "AAPL", "buy", "1", "100")
		trade(other, "dashboard", "", "AAPL", "sell", "1", "90")

		type row struct {
			key, name, kind string
			closed          int64
			realized        string
			open            int
		}
		want := []row{
			{"discord:" + s1, "alpha-signals", "discord", 1, "10", 0},
			{"discord:" + s2, "beta-calls", "discord", 1, "-10", 0},
			{"copy:" + leader, "Copy: Alice", "copy", 1, "5", 1},
			{"tradingview", "TradingView webhook", "tradingview", 1, "30", 0},
		}
		check := func(want []row) {
			t.Helper()
			s, err := Read(ctx, db, user)
			require.NoError(t, err)
			got := make([]row, len(s.BySource))
			for i, f := range s.BySource {
				got[i] = row{f.Key, f.Name, f.Kind, f.ClosedTrades, f.RealizedPnL.String(), f.OpenLots}
			}
			require.Equal(t, want, got)
			require.True(t, s.Overall.RealizedPnL.Equal(d("35")), "overall %s", s.Overall.RealizedPnL)
		}
		// Before the backfill the copy entry's lot was opened without its
		// copy order: it is under the kind.
		check([]row{want[0], want[1], {"copy", "Copy trading", "copy", 1, "5", 1}, want[3]})
		ran, err := Backfill(ctx, db)
		require.NoError(t, err)
		require.True(t, ran)
		check(want)
		ran, err = Backfill(ctx, db)
		require.NoError(t, err)
		require.False(t, ran)

		// A fill recorded now resolves the copy order at once.
		trade(user, "copy", "", "NVDA", "sell", "1", "90") // −10 on the open lot
		want[2].closed, want[2].realized, want[2].open = 2, "-5", 0
		s, err := Read(ctx, db, user)
		require.NoError(t, err)
		require.Equal(t, "copy:"+leader, s.BySource[2].Key)
		require.Equal(t, int64(2), s.BySource[2].ClosedTrades)

		// Names are resolved when read.
		require.NoError(t, db.Model(&schema.DiscordSource{}).Where("id = ?", s1).Update("name", "alpha-pro").Error)
		require.NoError(t, db.Where("source_id = ?", s2).Delete(&schema.DiscordMessage{}).Error)
		require.NoError(t, db.Where("id = ?", s2).Delete(&schema.DiscordSource{}).Error)
		s, err = Read(ctx, db, user)
		require.NoError(t, err)
		names := map[string]string{}
		for _, f := range s.BySource {
			names[f.Key] = f.Name
		}
		require.Equal(t, map[string]string{"discord:" + s1: "alpha-pro", "discord:" + s2: "Discord channel (removed)",
			"copy:" + leader: "Copy: Alice", "tradingview": "TradingView webhook"}, names)
		// The other trader sees their own channel only.
		s, err = Read(ctx, db, other)
		require.NoError(t, err)
		require.Len(t, s.BySource, 1)
		require.Equal(t, "gamma-private", s.BySource[0].Name)
	})
}

// A database rebuilt under the 0036 marker (its source scope keyed by
// kind) is rebuilt once more under BackfillName: the kind rows go.
func TestBackfillRerunsAfter0037(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		user := newUser(t, db)
		now := time.Now().UTC()
		require.NoError(t, db.Create(&schema.PerformanceBackfill{Name: "rebuild-0036", DoneAt: now}).Error)
		require.NoError(t, db.Create(&schema.PerformanceStat{UserID: user, Scope: ScopeSource, ScopeKey: "discord", ClosedTrades: 1, GrossProfit: d("0"),
			GrossLoss: d("0"), Realized: d("1"), LargestWin: d("0"), LargestLoss: d("0"), Peak: d("0"), MaxDrawdown: d("0"), SumReturn: d("0"), UpdatedAt: now}).Error)
		ran, err := Backfill(ctx, db)
		require.NoError(t, err)
		require.True(t, ran, "a database backfilled before 0037 must be rebuilt")
		s, err := Read(ctx, db, user)
		require.NoError(t, err)
		require.Empty(t, s.BySource)
	})
}
