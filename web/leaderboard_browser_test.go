package web_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/leaderboard"
	lt "github.com/tradeexec/tradeexec/internal/leaderboard/leaderboardtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/web"
)

// Community → Leaderboards in Chromium: the public opted-in leaders
// ranked (a private one never shown), re-ranked by another order, and the
// selected leader's equity curve drawn.
func TestLeaderboardViewInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium` (apt-get install chromium)")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{})

	now := time.Now().UTC()
	leader := func(name, vis, exit string) string {
		id := lt.User(t, db, name)
		lt.Profile(t, db, id, true, vis, name)
		lt.Connection(t, db, id, "10000", now.Add(-100*24*time.Hour))
		lt.Fill(t, db, id, now.Add(-3*24*time.Hour), "TSLA", "buy", "20", "250")
		lt.Fill(t, db, id, now.Add(-2*24*time.Hour), "TSLA", "sell", "20", exit)
		return id
	}
	top := leader("TradeMaster", "public", "275")
	second := leader("AlphaSeeker", "public", "260")
	leader("HiddenWhale", "private", "500")
	for i := 0; i < 3; i++ {
		lt.Follow(t, db, lt.User(t, db, "fan"), second, "active")
	}
	_, err = leaderboard.Refresh(context.Background(), db, now)
	require.NoError(t, err)

	b := newBrowser(t)
	b.run("sign in",
		chromedp.Navigate(env.URL()+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), env.Demo.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitText(`[data-testid=live-status]`, "Live")
	require.Equal(t, 1, b.evalInt(`document.querySelectorAll('nav a[href="#/leaderboards"]').length`))
	b.run("open the leaderboards", chromedp.Click(chromedp.CSS(`nav a[href="#/leaderboards"]`)))
	b.waitFor("two ranked leaders", `document.querySelectorAll('[data-testid=leaderboard-table] tbody tr').length === 2`)
	b.waitFor("TradeMaster first by return",
		`document.querySelector('[data-testid=leaderboard-table] tbody tr').dataset.leaderId === '`+top+`'`)
	b.waitText(`[data-testid=leaderboard-table]`, "+5.00%")
	b.waitText(`[data-testid=leaderboard-table]`, "Portfolio") // SPEC US-011 #3: return, trades, portfolio size
	b.waitFor("the private leader is not shown", `!document.body.textContent.includes('HiddenWhale')`)
	b.waitText(`[data-testid=leader-equity]`, "TradeMaster")
	b.waitFor("the curve is drawn", `document.querySelector('[data-testid=leader-equity] canvas') !== null`)

	b.run("rank by followers", chromedp.SetValue(chromedp.CSS(`[data-testid=leaderboard-sort]`), "followers"))
	b.eval(`document.querySelector('[data-testid=leaderboard-sort]').dispatchEvent(new Event('change', {bubbles: true}))`)
	b.waitFor("AlphaSeeker first by followers",
		`document.querySelector('[data-testid=leaderboard-table] tbody tr').dataset.leaderId === '`+second+`'`)
	b.run("select AlphaSeeker", chromedp.Click(chromedp.CSS(`[data-leader-id="`+second+`"]`)))
	b.waitText(`[data-testid=leader-equity]`, "AlphaSeeker")
	b.screenshot("leaderboard")
	b.assertNoErrors()
}
