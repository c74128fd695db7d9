package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/leaderboard"
	lt "github.com/tradeexec/tradeexec/internal/leaderboard/leaderboardtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
)

func (e *cancelEnv) get(token, path string) (int, map[string]any, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	var body map[string]any
	require.NoError(e.t, json.Unmarshal(raw, &body), string(raw))
	return res.StatusCode, body, string(raw)
}

func (e *cancelEnv) token(userID string) string {
	e.t.Helper()
	tok, err := e.auth.IssueScriptToken(context.Background(), userID)
	require.NoError(e.t, err)
	return tok.AccessToken
}

func leaderIDs(body map[string]any) []string {
	out := []string{}
	for _, r := range body["entries"].([]any) {
		out = append(out, r.(map[string]any)["leaderId"].(string))
	}
	return out
}

func TestLeaderboardsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newCancelEnv(t, db)
		now := time.Now().UTC()
		leader := func(name string, allow bool, vis, exit string) string {
			id := lt.User(t, db, name)
			lt.Profile(t, db, id, allow, vis, name)
			lt.Connection(t, db, id, "10000", now.Add(-100*24*time.Hour))
			lt.Fill(t, db, id, now.Add(-3*24*time.Hour), "TSLA", "buy", "20", "250")
			lt.Fill(t, db, id, now.Add(-2*24*time.Hour), "TSLA", "sell", "20", exit)
			return id
		}
		top := leader("TradeMaster", true, "public", "275")  // +5%
		next := leader("AlphaSeeker", true, "public", "260") // +2%
		hidden := leader("Hidden", true, "private", "400")
		club := leader("Club", true, "followers", "400")
		noCopy := leader("NoCopy", false, "public", "400")
		viewer, member := lt.User(t, db, "Viewer"), lt.User(t, db, "Member")
		lt.Follow(t, db, member, club, "active")
		lt.Follow(t, db, member, hidden, "active")
		_, err := leaderboard.Refresh(context.Background(), db, now)
		require.NoError(t, err)
		vt, mt := e.token(viewer), e.token(member)

		status, body, raw := e.get(vt, "/api/v1/leaderboards?period=7d")
		require.Equal(t, http.StatusOK, status, raw)
		require.Equal(t, []string{top, next}, leaderIDs(body))
		first := body["entries"].([]any)[0].(map[string]any)
		require.Equal(t, "TradeMaster", first["displayName"])
		require.Equal(t, "5", first["returnPct"])
		require.EqualValues(t, 1, first["rank"])
		require.NotContains(t, raw, "@example.test", "no e-mail")
		require.Equal(t, "30d", mustGet(t, e, vt, "/api/v1/leaderboards")["period"], "default period")

		// Private, followers-only (even to a follower) and not opted-in
		// leaders never appear, whatever the sort, period or page.
		for _, q := range []string{"period=7d", "period=30d&sort=winrate", "period=90d&sort=drawdown", "sort=sharpe&page_size=100",
			"sort=followers", "page=2&page_size=1"} {
			for _, tok := range []string{vt, mt} {
				status, body, raw := e.get(tok, "/api/v1/leaderboards?"+q)
				require.Equal(t, http.StatusOK, status, raw)
				for _, id := range []string{hidden, club, noCopy} {
					require.NotContains(t, leaderIDs(body), id, q)
				}
			}
		}
		status, body, _ = e.get(vt, "/api/v1/leaderboards?period=7d&page=2&page_size=1")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, []string{next}, leaderIDs(body))
		require.EqualValues(t, 2, body["total"])
		require.EqualValues(t, 2, body["entries"].([]any)[0].(map[string]any)["rank"])

		for q, field := range map[string]string{"period=1y": "period", "period=": "period", "sort=best": "sort", "page=0": "page",
			"page=x": "page", "page_size=101": "page_size", "page_size=0": "page_size", "page_size=-5": "page_size"} {
			status, body, raw := e.get(vt, "/api/v1/leaderboards?"+q)
			require.Equal(t, http.StatusBadRequest, status, q)
			require.Equal(t, "invalid_request", body["error"], raw)
			require.Equal(t, field, body["field"], raw)
			require.NotEmpty(t, body["message"])
		}
	})
}

func mustGet(t *testing.T, e *cancelEnv, tok, path string) map[string]any {
	status, body, raw := e.get(tok, path)
	require.Equal(t, http.StatusOK, status, raw)
	return body
}

func TestLeaderEquityAPIRespectsPrivacy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newCancelEnv(t, db)
		now := time.Now().UTC()
		leader := func(name string, allow bool, vis string) string {
			id := lt.User(t, db, name)
			lt.Profile(t, db, id, allow, vis, name)
			lt.Connection(t, db, id, "100000", now.Add(-100*24*time.Hour))
			lt.Fill(t, db, id, now.Add(-3*24*time.Hour), "NVDA", "buy", "50", "500")
			lt.Fill(t, db, id, now.Add(-2*24*time.Hour), "NVDA", "sell", "50", "520")
			return id
		}
		pub, hidden, club, noCopy := leader("Pub", true, "public"), leader("Hidden", true, "private"),
			leader("Club", true, "followers"), leader("NoCopy", false, "public")
		viewer, member := lt.User(t, db, "Viewer"), lt.User(t, db, "Member")
		lt.Follow(t, db, member, club, "active")
		vt, mt := e.token(viewer), e.token(member)

		body := mustGet(t, e, vt, "/api/v1/leaders/"+pub+"/equity?period=7d")
		pts := body["points"].([]any)
		require.Len(t, pts, 7)
		require.Equal(t, "100000", pts[0].(map[string]any)["equity"])
		require.Equal(t, "101000", pts[6].(map[string]any)["equity"])
		require.Equal(t, "1", body["returnPct"])
		require.Len(t, mustGet(t, e, vt, "/api/v1/leaders/"+pub+"/equity")["points"], 30, "default 30d")

		for name, c := range map[string]struct{ tok, id string }{
			"private":               {vt, hidden},
			"private to a follower": {mt, hidden},
			"followers-only":        {vt, club},
			"not opted in":          {vt, noCopy},
			"no profile":            {vt, member},
			"unknown":               {vt, "7a1f3c56-0000-4000-8000-000000000000"},
			"not an id":             {vt, "not-an-id"},
		} {
			status, body, raw := e.get(c.tok, "/api/v1/leaders/"+c.id+"/equity?period=7d")
			require.Equal(t, http.StatusNotFound, status, "%s: %s", name, raw)
			require.Equal(t, "not_found", body["error"], name)
			require.Equal(t, "Profile Private", body["message"], name)
		}
		require.Len(t, mustGet(t, e, mt, "/api/v1/leaders/"+club+"/equity?period=7d")["points"], 7, "a follower sees a followers-only leader")
		require.Len(t, mustGet(t, e, e.token(hidden), "/api/v1/leaders/"+hidden+"/equity?period=7d")["points"], 7, "the leader sees their own")
		status, body, _ := e.get(vt, "/api/v1/leaders/"+pub+"/equity?period=1d")
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "period", body["field"])
	})
}
