package web_test

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
)

// The Copy trading page in Chromium: the trader opts in as a public
// leader, finds a public leader and copies them, and sees a skipped copy
// with its reason.
func TestCopyTradingPageInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium` (apt-get install chromium)")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{})
	now := time.Now().UTC()
	leader := uuid.NewString()
	require.NoError(t, db.Create(&schema.User{ID: leader, DisplayName: "L", Role: "trader", CreatedAt: now}).Error)
	require.NoError(t, db.Create(&schema.CopyLeader{UserID: leader, AllowCopy: true, Visibility: "public", DisplayName: "TradeMaster",
		CreatedAt: now, UpdatedAt: now}).Error)
	fill := schema.CopyFill{ID: uuid.NewString(), FillID: "trade:" + uuid.NewString(), LeaderID: leader, Kind: "entry", Symbol: "TSLA",
		AssetClass: "stock", Side: "buy", Quantity: decimal.NewFromInt(20), Price: decimal.NewFromInt(250), LeaderEquity: decimal.NewFromInt(100000),
		PositionBefore: decimal.Zero, ExitFraction: decimal.Zero, CreatedAt: now}
	require.NoError(t, db.Create(&fill).Error)
	require.NoError(t, db.Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: fill.ID, FollowerID: env.Demo.UserID, LeaderID: leader,
		Symbol: "TSLA", Side: "buy", Quantity: decimal.Zero, Status: "skipped", CreatedAt: now,
		Reason: "Copy of TSLA skipped: your size is 0.4 shares, below the broker's minimum order of 1 shares."}).Error)

	// A copy sent (SPEC US-011 #2's dashboard line) and a follow request
	// waiting for the demo trader's approval.
	require.NoError(t, db.Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: fill.ID, FollowerID: env.Demo.UserID, LeaderID: leader,
		Symbol: "NVDA", Side: "buy", Quantity: decimal.NewFromInt(1), Status: "filled", AllocationPct: decimal.NewFromInt(5), CreatedAt: now}).Error)
	asker := uuid.NewString()
	require.NoError(t, db.Create(&schema.User{ID: asker, DisplayName: "Asker", Role: "trader", CreatedAt: now}).Error)
	request := schema.CopyFollow{ID: uuid.NewString(), FollowerID: asker, LeaderID: env.Demo.UserID, SizingMode: "proportional",
		Multiplier: decimal.Zero, FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero, Status: "pending",
		CreatedAt: now, UpdatedAt: now}
	require.NoError(t, db.Create(&request).Error)

	b := newBrowser(t)
	b.run("sign in",
		chromedp.Navigate(env.URL()+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), env.Demo.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitText(`[data-testid=live-status]`, "Live")
	b.waitFor("the Copy trading menu entry", `document.querySelector('nav a[href="#/copy"]')`)
	b.run("copy page", chromedp.Navigate(env.URL()+"/dashboard#/copy"))
	b.waitFor("the settings form", `document.querySelector('[data-testid=copy-settings] input[name=displayName]')`)

	b.run("opt in",
		chromedp.Click(chromedp.CSS(`input[name=allowCopy]`)),
		chromedp.SetValue(chromedp.CSS(`select[name=visibility]`), "public"),
		chromedp.SendKeys(chromedp.CSS(`input[name=displayName]`), "DemoLeader"),
	)
	b.eval(`document.querySelector('select[name=visibility]').dispatchEvent(new Event('change', {bubbles: true}))`)
	b.run("save", chromedp.Click(chromedp.CSS(`[data-testid=copy-settings] button[type=submit]`)))
	deadline := time.Now().Add(20 * time.Second)
	var row schema.CopyLeader
	for time.Now().Before(deadline) {
		if db.Where("user_id = ? AND allow_copy = ? AND visibility = ?", env.Demo.UserID, true, "public").Take(&row).Error == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, "DemoLeader", row.DisplayName)

	b.waitText(`[data-testid=copy-leaders]`, "TradeMaster")
	b.run("copy TradeMaster", chromedp.Click(chromedp.CSS(`[data-testid=copy-follow]`)))
	b.waitText(`[data-testid=copy-follows]`, "TradeMaster")
	var f schema.CopyFollow
	require.NoError(t, db.Where("follower_id = ? AND leader_id = ?", env.Demo.UserID, leader).Take(&f).Error)
	require.Equal(t, "proportional", f.SizingMode)
	b.waitText(`[data-testid=copy-activity]`, "below the broker's minimum order")
	b.waitText(`[data-testid=copy-activity]`, "Copy Trade: NVDA +1 share (5% allocation)")
	b.waitText(`[data-testid=copy-requests]`, "Asker")
	b.run("approve the request", chromedp.Click(chromedp.CSS(`[data-testid=copy-requests] button`)))
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		require.NoError(t, db.Where("id = ?", request.ID).Take(&request).Error)
		if request.Status == "active" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, "active", request.Status)
	b.screenshot("copy_trading")
	b.assertNoErrors()
}
