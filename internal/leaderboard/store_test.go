package leaderboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/leaderboard"
	lt "github.com/tradeexec/tradeexec/internal/leaderboard/leaderboardtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

var asOf = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return asOf.Add(-time.Duration(n) * 24 * time.Hour) }

type world struct {
	alpha, beta, noEquity                     string // public, opted in
	private, followersOnly, notOptedIn, other string
	follower                                  string // follows followersOnly
}

// seed: alpha +2% five days ago (2 followers, one stopped follow), beta
// +5% twenty days ago (1 paused follower), private +50%, followers-only
// +40%, a public leader who does not allow copying +30%, a public leader
// without any equity known.
func seed(t *testing.T, db *gorm.DB) world {
	w := world{}
	mk := func(name string, allow bool, vis string) string {
		id := lt.User(t, db, name)
		lt.Profile(t, db, id, allow, vis, name)
		return id
	}
	roundTrip := func(id string, ago int, exit string) {
		lt.Connection(t, db, id, "10000", daysAgo(120))
		lt.Fill(t, db, id, daysAgo(ago), "AAPL", "buy", "10", "100")
		lt.Fill(t, db, id, daysAgo(ago-1), "AAPL", "sell", "10", exit)
	}
	w.alpha = mk("Alpha", true, "public")
	roundTrip(w.alpha, 5, "120")
	w.beta = mk("Beta", true, "public")
	roundTrip(w.beta, 20, "150")
	w.private = mk("Hidden", true, "private")
	roundTrip(w.private, 5, "600")
	w.followersOnly = mk("Club", true, "followers")
	roundTrip(w.followersOnly, 5, "500")
	w.notOptedIn = mk("NoCopy", false, "public")
	roundTrip(w.notOptedIn, 5, "400")
	w.noEquity = mk("Fresh", true, "public")
	lt.Fill(t, db, w.noEquity, daysAgo(3), "AAPL", "buy", "1", "100")
	w.other = lt.User(t, db, "Viewer")
	w.follower = lt.User(t, db, "Member")
	f2, f3 := lt.User(t, db, "F2"), lt.User(t, db, "F3")
	lt.Follow(t, db, w.follower, w.alpha, "active")
	lt.Follow(t, db, f2, w.alpha, "active")
	lt.Follow(t, db, f3, w.alpha, "stopped")
	lt.Follow(t, db, f2, w.beta, "paused")
	lt.Follow(t, db, w.follower, w.followersOnly, "active")
	lt.Follow(t, db, f3, w.private, "active")
	return w
}

func ids(p leaderboard.Page) []string {
	out := []string{}
	for _, r := range p.Entries {
		out = append(out, r.LeaderID)
	}
	return out
}

func TestRefreshAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		w := seed(t, db)
		res, err := leaderboard.Refresh(ctx, db, asOf)
		require.NoError(t, err)
		require.Equal(t, leaderboard.RefreshResult{Leaders: 3, Entries: 6, Unranked: 3}, res)
		again, err := leaderboard.Refresh(ctx, db, asOf)
		require.NoError(t, err)
		require.Equal(t, res, again, "idempotent")
		var n int64
		require.NoError(t, db.Table("leaderboard_entries").Count(&n).Error)
		require.EqualValues(t, 6, n)

		list := func(p leaderboard.Period, s leaderboard.Sort, page, size int) leaderboard.Page {
			pg, err := leaderboard.List(ctx, db, leaderboard.Query{Period: p, Sort: s, Page: page, PageSize: size})
			require.NoError(t, err)
			return pg
		}
		p30 := list(leaderboard.Period30d, leaderboard.SortReturn, 1, 10)
		require.Equal(t, []string{w.beta, w.alpha}, ids(p30))
		require.EqualValues(t, 2, p30.Total)
		require.Equal(t, 1, p30.Entries[0].Rank)
		require.True(t, decimal.RequireFromString("5").Equal(p30.Entries[0].ReturnPct), p30.Entries[0].ReturnPct.String())
		require.True(t, decimal.RequireFromString("100").Equal(p30.Entries[0].WinRatePct))
		require.Equal(t, 1, p30.Entries[0].Followers, "a paused follow still follows")
		require.Equal(t, 1, p30.Entries[0].Trades)
		require.Equal(t, "Beta", p30.Entries[0].DisplayName)
		// SPEC US-011 #3's portfolio column: starting equity + what the
		// window realized (the curve's last point).
		for _, e := range p30.Entries {
			eq, err := leaderboard.Equity(ctx, db, e.LeaderID, e.LeaderID, leaderboard.Period30d, asOf)
			require.NoError(t, err)
			last := eq.Points[len(eq.Points)-1].Equity
			require.True(t, e.PortfolioValue.IsPositive(), e.LeaderID)
			require.True(t, last.Round(2).Equal(e.PortfolioValue), "%s: portfolio %s, curve ends at %s", e.DisplayName, e.PortfolioValue, last)
		}
		require.Equal(t, 2, p30.Entries[1].Followers, "a stopped follow does not count")
		require.True(t, asOf.Equal(*p30.AsOf))

		require.Equal(t, []string{w.alpha, w.beta}, ids(list(leaderboard.Period7d, leaderboard.SortReturn, 1, 10)), "beta's trade is older than 7 days")
		require.Equal(t, []string{w.alpha, w.beta}, ids(list(leaderboard.Period90d, leaderboard.SortFollowers, 1, 10)))
		// Paging: rank continues across pages.
		pg := list(leaderboard.Period90d, leaderboard.SortReturn, 2, 1)
		require.Equal(t, []string{w.alpha}, ids(pg))
		require.Equal(t, 2, pg.Entries[0].Rank)
		require.EqualValues(t, 2, pg.Total)
		require.Empty(t, list(leaderboard.Period90d, leaderboard.SortReturn, 3, 1).Entries)

		// Private, followers-only and not opted-in leaders never appear.
		for _, p := range leaderboard.Periods {
			for _, s := range []leaderboard.Sort{leaderboard.SortReturn, leaderboard.SortWinRate, leaderboard.SortDrawdown,
				leaderboard.SortSharpe, leaderboard.SortFollowers} {
				got := ids(list(p, s, 1, 100))
				for _, hidden := range []string{w.private, w.followersOnly, w.notOptedIn, w.noEquity} {
					require.NotContains(t, got, hidden, "%s %s", p, s)
				}
			}
		}
		// A leader who turns private leaves the board at once, before the
		// next refresh.
		lt.Profile(t, db, w.alpha, true, "private", "Alpha")
		require.Equal(t, []string{w.beta}, ids(list(leaderboard.Period30d, leaderboard.SortReturn, 1, 10)))
		lt.Profile(t, db, w.beta, false, "public", "Beta")
		require.Empty(t, list(leaderboard.Period30d, leaderboard.SortReturn, 1, 10).Entries)
	})
}

func TestDrawdownSortIsSmallestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		mk := func(name, exit string) string {
			id := lt.User(t, db, name)
			lt.Profile(t, db, id, true, "public", name)
			lt.Connection(t, db, id, "1000", daysAgo(100))
			lt.Fill(t, db, id, daysAgo(3), "X", "buy", "1", "100")
			lt.Fill(t, db, id, daysAgo(2), "X", "sell", "1", exit)
			return id
		}
		small, big, none := mk("Small", "90"), mk("Big", "20"), mk("None", "110")
		_, err := leaderboard.Refresh(ctx, db, asOf)
		require.NoError(t, err)
		pg, err := leaderboard.List(ctx, db, leaderboard.Query{Period: leaderboard.Period7d, Sort: leaderboard.SortDrawdown})
		require.NoError(t, err)
		require.Equal(t, []string{none, small, big}, ids(pg))
		require.True(t, decimal.RequireFromString("8").Equal(pg.Entries[2].MaxDrawdownPct), pg.Entries[2].MaxDrawdownPct.String())
		require.Equal(t, leaderboard.DefaultPageSize, pg.PageSize)
	})
}

func TestEquityRespectsPrivacy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		w := seed(t, db)
		eq, err := leaderboard.Equity(ctx, db, w.other, w.alpha, leaderboard.Period7d, asOf)
		require.NoError(t, err)
		require.Len(t, eq.Points, 7)
		require.True(t, decimal.RequireFromString("10000").Equal(eq.Points[0].Equity))
		require.True(t, decimal.RequireFromString("10200").Equal(eq.Points[6].Equity))
		require.True(t, decimal.RequireFromString("2").Equal(eq.ReturnPct))

		for name, c := range map[string]struct{ viewer, leader string }{
			"private":                   {w.other, w.private},
			"private, even to follower": {w.follower, w.private},
			"followers-only, stranger":  {w.other, w.followersOnly},
			"not opted in":              {w.other, w.notOptedIn},
			"unknown":                   {w.other, "00000000-0000-0000-0000-000000000000"},
			"no profile at all":         {w.other, w.follower},
		} {
			_, err := leaderboard.Equity(ctx, db, c.viewer, c.leader, leaderboard.Period30d, asOf)
			require.ErrorIs(t, err, leaderboard.ErrProfilePrivate, name)
		}
		_, err = leaderboard.Equity(ctx, db, w.follower, w.followersOnly, leaderboard.Period30d, asOf)
		require.NoError(t, err, "a follower sees a followers-only leader")
		// A follow request not yet approved (or denied) is not a follower.
		for _, st := range []string{"pending", "denied"} {
			asker := lt.User(t, db, "Asker-"+st)
			lt.Follow(t, db, asker, w.followersOnly, st)
			_, err = leaderboard.Equity(ctx, db, asker, w.followersOnly, leaderboard.Period30d, asOf)
			require.ErrorIs(t, err, leaderboard.ErrProfilePrivate, st)
		}
		_, err = leaderboard.Equity(ctx, db, w.private, w.private, leaderboard.Period30d, asOf)
		require.NoError(t, err, "a leader sees their own curve")
	})
}
