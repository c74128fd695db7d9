package web_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/internal/analytics"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
)

// The Analytics view in Chromium: hidden from a trader (no menu entry, the
// route refuses); an administrator sees the revenue, cohort, CLV and churn
// tables with their CSV downloads.
func TestAnalyticsViewInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium` (apt-get install chromium)")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{})
	ctx := context.Background()
	_, err = analytics.Generate(ctx, db, analytics.GenOptions{Seed: 5, Traders: 60, Start: "2026-01", Months: 6})
	require.NoError(t, err)
	_, err = analytics.Refresh(ctx, db, time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	// A churn score as the nightly churn-scoring run stores it.
	require.NoError(t, db.Create(&schema.ChurnScore{UserID: env.Demo.UserID, ModelVersion: 1, Score: 0.83, HighRisk: true, Paying: true,
		Plan: "pro", Reasons: `[{"feature":"days_since_activity","value":21,"contribution":1.4},{"feature":"failed_payments_90d","value":2,"contribution":0.9}]`,
		Features: `{}`, ScoredAt: time.Now().UTC()}).Error)

	b := newBrowser(t)
	signIn := func() {
		b.run("sign in",
			chromedp.Navigate(env.URL()+"/dashboard"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), env.Demo.Password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		)
		b.waitText(`[data-testid=live-status]`, "Live")
	}
	signIn()
	require.Zero(t, b.evalInt(`document.querySelectorAll('nav a[href="#/analytics"]').length`))
	b.run("analytics as a trader", chromedp.Navigate(env.URL()+"/dashboard#/analytics"))
	b.waitText(`[data-testid=analytics-refused]`, "for administrators")

	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", env.Demo.UserID).Update("role", "admin").Error)
	b.run("sign out", chromedp.Click(chromedp.CSS(`header button.link`)))
	signIn()
	b.waitFor("the Analytics menu entry", `document.querySelector('nav a[href="#/analytics"]')`)
	b.run("analytics", chromedp.Navigate(env.URL()+"/dashboard#/analytics"))
	b.waitFor("six months of revenue", `document.querySelectorAll('[data-testid=analytics-revenue] tbody tr').length === 6`)
	b.waitFor("the cohorts", `document.querySelectorAll('[data-testid=analytics-cohorts] tbody tr').length > 0`)
	b.waitFor("CLV per plan", `[...document.querySelectorAll('[data-testid=analytics-clv] tbody tr')].some(r => r.textContent.startsWith('plan'))`)
	b.waitFor("the highest CLV traders", `document.querySelectorAll('[data-testid=analytics-trader-clv] tbody tr').length > 0 && document.querySelector('[data-testid="analytics-csv-clv/traders"]').getAttribute('href') === '/api/v1/admin/analytics/clv/traders?format=csv'`)
	b.waitFor("the churn scores with their reasons", `[...document.querySelectorAll('[data-testid=analytics-churn] tbody tr')].some(r => r.textContent.includes('0.83') && r.textContent.includes('days_since_activity, failed_payments_90d'))`)
	// FR-041/042: the latest month by plan tier with its growth; FR-048:
	// the MRR line chart has a point per month, the cohort heatmap colours
	// its Month 0…12 cells, the risk histogram counts the scored trader.
	b.waitFor("MRR by tier and growth", `/MRR \$[\d,.]+ \(.*(basic|pro|premium) \$/.test(document.querySelector('[data-testid=analytics-summary]').textContent) && /% MoM$/.test(document.querySelector('[data-testid=analytics-growth]').textContent)`)
	b.waitFor("the MRR trend chart", `document.querySelectorAll('[data-testid=analytics-mrr-chart] circle').length === 6 && document.querySelector('[data-testid=analytics-mrr-chart] polyline').getAttribute('points').split(' ').length === 6`)
	b.waitFor("the cohort heatmap", `[...document.querySelectorAll('[data-testid=analytics-cohorts] thead th')].map(h => h.textContent).slice(2).join('|') === 'Month 0|Month 1|Month 2|Month 3|Month 6|Month 12' && [...document.querySelectorAll('[data-testid=analytics-cohorts] td[data-pct]')].some(td => td.style.background.includes('rgba') && /^\d+ \(\d+\.\d%\)$/.test(td.textContent))`)
	b.waitFor("the churn risk histogram", `[...document.querySelectorAll('[data-testid=analytics-risk-histogram] rect')].map(r => r.dataset.count).join(',') === '0,0,0,0,0,0,0,0,1,0'`)
	b.waitFor("the financial report export", `document.querySelector('[data-testid=analytics-export]').getAttribute('href').startsWith('/api/v1/admin/analytics/report?quarter=')`)
	for _, table := range []string{"revenue", "cohorts", "clv", "churn"} {
		b.waitFor("the "+table+" CSV link", `document.querySelector('[data-testid=analytics-csv-`+table+`]').getAttribute('href') === '/api/v1/admin/analytics/`+table+`?format=csv'`)
	}
	b.screenshot("analytics")
}
