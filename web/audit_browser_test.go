package web_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
)

// The Audit view in Chromium: hidden from a trader (no menu entry, the
// route refuses, the API answers 403); for an administrator the filters,
// three cursor pages without a repeat, a bad filter's sentence, the CSV
// export of the filtered entries and the compliance reports.
func TestAuditViewInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium` (apt-get install chromium)")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{})

	suspect := uuid.NewString()
	base := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
		for i := 0; i < 60; i++ {
			if _, err := audit.Append(tx, audit.Entry{UserID: suspect, Action: audit.ActionLoginFailed, ResourceType: "User", Status: audit.StatusFailure,
				IPAddress: "203.0.113.9", ErrorMessage: "wrong password", At: base.Add(time.Duration(i) * time.Minute)}); err != nil {
				return err
			}
			if _, err := audit.Append(tx, audit.Entry{UserID: suspect, Action: audit.ActionLoginSuccess, At: base.Add(time.Duration(i)*time.Minute + time.Second)}); err != nil {
				return err
			}
		}
		return nil
	}))
	_, _, err = compliance.Generate(context.Background(), db, "2026-11", nil, time.Now())
	require.NoError(t, err)

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
	fetchStatus := func(path string) {
		b.eval(fmt.Sprintf(`window.__got = '', fetch(%q, {credentials: 'same-origin'}).then(r => r.text().then(t => window.__got = r.status + '|' + t))`, path))
		b.waitFor("the fetch of "+path, `window.__got !== ''`)
	}

	// A trader: no menu entry, the route refuses, the API too.
	signIn()
	require.Zero(t, b.evalInt(`document.querySelectorAll('nav a[href="#/audit"]').length`))
	b.run("audit as a trader", chromedp.Navigate(env.URL()+"/dashboard#/audit"))
	b.waitText(`[data-testid=audit-refused]`, "for administrators")
	fetchStatus("/api/v1/admin/audit?user_id=" + suspect)
	b.waitFor("a 403 without entries", `window.__got.startsWith('403|') && !window.__got.includes('203.0.113.9')`)

	// The same person made an administrator signs in again.
	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", env.Demo.UserID).Update("role", "admin").Error)
	b.run("sign out", chromedp.Click(chromedp.CSS(`header button.link`)))
	signIn()
	b.waitFor("the Audit menu entry", `document.querySelector('nav a[href="#/audit"]')`)
	b.run("audit", chromedp.Navigate(env.URL()+"/dashboard#/audit"))
	b.waitFor("the entries", `document.querySelectorAll('[data-testid=audit-entries] tbody tr').length > 0`)
	b.waitFor("the compliance report", `document.querySelector('[data-testid=compliance-reports] tr[data-period="2026-11"]')`)

	b.run("filter",
		chromedp.SendKeys(chromedp.CSS(`input[name=user_id]`), suspect),
		chromedp.SendKeys(chromedp.CSS(`input[name=action]`), audit.ActionLoginFailed),
		chromedp.SetValue(chromedp.CSS(`select[name=limit]`), "25"),
		chromedp.Click(chromedp.CSS(`[data-testid=audit-apply]`)),
	)
	rowsOf := `[...document.querySelectorAll('[data-testid=audit-entries] tbody tr')]`
	b.waitFor("page 1: 25 failed logins", rowsOf+`.length === 25 && `+rowsOf+`.every(r => r.dataset.action === 'LOGIN_FAILED')`)
	b.screenshot("audit")
	b.eval(`window.__seen = ` + rowsOf + `.map(r => r.dataset.entryId)`)
	for _, p := range []struct{ page, rows int }{{2, 25}, {3, 10}} {
		b.run(fmt.Sprintf("page %d", p.page), chromedp.Click(chromedp.CSS(`[data-testid=audit-next]`)))
		b.waitText(`[data-testid=audit-page]`, fmt.Sprintf("Page %d", p.page))
		b.waitFor(fmt.Sprintf("page %d: %d new entries", p.page, p.rows),
			fmt.Sprintf(`%s.length === %d && %s.every(r => !window.__seen.includes(r.dataset.entryId))`, rowsOf, p.rows, rowsOf))
		b.eval(`window.__seen.push(...` + rowsOf + `.map(r => r.dataset.entryId))`)
	}
	require.Equal(t, 60, b.evalInt(`new Set(window.__seen).size`))
	require.Equal(t, 1, b.evalInt(`document.querySelector('[data-testid=audit-next]').disabled ? 1 : 0`))

	// The CSV export link carries the filters and streams the 60 entries.
	href, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=audit-export-csv]').getAttribute('href')`))
	require.NoError(t, err)
	require.Contains(t, href, "format=csv")
	require.Contains(t, href, "user_id="+suspect)
	fetchStatus(href)
	b.waitFor("the CSV", `window.__got.startsWith('200|Timestamp,UserID,Seq,Action')`)
	require.Equal(t, 62, b.evalInt(`window.__got.split('\n').length`), "header, 60 rows, final newline")

	// A bad filter is answered with its sentence.
	b.eval(`[['from', '2026-11-05T09:00:00'], ['to', '2026-11-04T09:00:00']].forEach(([n, v]) => {
		const el = document.querySelector('input[name=' + n + ']');
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, v);
		el.dispatchEvent(new Event('input', { bubbles: true }));
	})`)
	b.run("bad range", chromedp.Click(chromedp.CSS(`[data-testid=audit-apply]`)))
	b.waitText(`[data-testid=audit-error]`, "from must be before to.")
	b.assertNoErrors()
}
