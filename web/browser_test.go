package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Debian's Chromium (`make chromium`); never a downloaded browser.
const chromiumPath = "/usr/bin/chromium"

// artefacts is where the screenshots of the main views are kept
// (gitignored).
var artefacts = filepath.Join("..", "test-artefacts", "browser")

// The dashboard in headless Chromium, end to end: sign in as the demo
// trader, post a TradingView webhook and watch the trade appear and fill
// without a reload, drop the socket, trade meanwhile and see the gap
// replayed on reconnect, cancel a queued order, and keep screenshots of the
// main views (desktop and phone width).
func TestDashboardInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium` (apt-get install chromium)")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))

	// Stocks closed (orders queue), crypto open (orders fill).
	cal := paper.CalendarFunc(func(now time.Time, class signal.AssetClass, _ bool) (bool, time.Time, time.Time) {
		if class == signal.AssetCrypto {
			return true, now, time.Time{}
		}
		return false, now.Add(2 * time.Hour), now.Add(9 * time.Hour)
	})
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{Calendar: cal})
	require.NotEmpty(t, env.Demo.Password, "the demo trader was just created, with a password")
	webhook := env.URL() + "/webhooks/tradingview/" + env.Demo.WebhookToken

	b := newBrowser(t)
	b.run("open and sign in",
		chromedp.Navigate(env.URL()+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), env.Demo.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitText(`[data-testid=live-status]`, "Live")

	// A webhook trade appears and fills without a reload.
	post(t, webhook, `{"ticker":"BTC-USD","action":"buy","quantity":"0.01","type":"market","id":"browser-1"}`)
	b.run("trades", chromedp.Navigate(env.URL()+"/dashboard#/trades"))
	b.waitFor("the BTC-USD trade filled", `document.querySelector('[data-testid=trades] tr[data-status=filled] td:nth-child(2)')?.textContent === 'BTC-USD'`)
	b.run("overview", chromedp.Navigate(env.URL()+"/dashboard#/"))
	b.waitFor("the position", `[...document.querySelectorAll('[data-testid=positions] td')].some(td => td.textContent === 'BTC-USD')`)
	b.waitFor("the portfolio value", `/\$[0-9]/.test(document.querySelector('[data-testid=portfolio-value]')?.textContent ?? '')`)
	b.waitFor("the performance panel", `[...document.querySelectorAll('[data-testid=perf-by-symbol] td')].some(td => td.textContent === 'BTC-USD') && [...document.querySelectorAll('[data-testid=perf-by-source] td')].some(td => td.textContent === 'TradingView webhook') && document.querySelector('[data-testid=perf-closed]')?.textContent === '0' && document.querySelector('[data-testid=perf-avg-return]')?.textContent === '—'`)
	b.screenshot("overview")

	// Kill the socket; a trade fills while the dashboard is offline; the
	// reconnect replays exactly the missed events.
	seqBefore := b.evalInt(`window.__tradeexec.live.seq`)
	b.eval(`window.__tradeexec.live.suspend()`)
	b.waitText(`[data-testid=banner]`, "Connection lost")
	r := post(t, webhook, `{"ticker":"BTC-USD","action":"buy","quantity":"0.004","type":"market","id":"browser-2"}`)
	tradeID := between(r, `"tradeId":"`, `"`)
	waitDB(t, db, tradeID, "filled")
	missed, err := realtime.LastSeq(context.Background(), db, env.Demo.UserID)
	require.NoError(t, err)
	require.Greater(t, missed, int64(seqBefore), "events were written while offline")
	b.eval(`window.__tradeexec.live.resume()`)
	b.waitText(`[data-testid=banner]`, "Reconnected. Syncing portfolio…")
	b.screenshot("reconnected")
	b.waitFor("every missed event applied", fmt.Sprintf(`window.__tradeexec.live.seq >= %d`, missed))
	require.Equal(t, 1, b.evalInt(`window.__tradeexec.state().trades.filter(t => t.id === '`+tradeID+`' && t.status === 'filled').length`),
		"the trade filled while offline is shown after the replay")

	// A stock order queues (market closed); cancel it from the dashboard.
	r = post(t, webhook, `{"ticker":"SPY","action":"buy","quantity":1,"type":"market","id":"browser-3"}`)
	queuedID := between(r, `"tradeId":"`, `"`)
	b.waitFor("the queued order", `!!document.querySelector('[data-testid=queued-orders] li[data-trade-id="`+queuedID+`"] [data-testid=cancel-order]')`)
	b.screenshot("queued")
	b.run("cancel", chromedp.Click(chromedp.CSS(`[data-testid=queued-orders] li[data-trade-id="`+queuedID+`"] [data-testid=cancel-order]`)))
	b.waitFor("the order gone", `!document.querySelector('[data-testid=queued-orders] li[data-trade-id="`+queuedID+`"]')`)
	waitDB(t, db, queuedID, "cancelled")

	// The other views, then the phone width.
	b.run("history", chromedp.Navigate(env.URL()+"/dashboard#/trades"))
	b.waitFor("the cancelled order in the history", `!!document.querySelector('[data-testid=trades] tr[data-trade-id="`+queuedID+`"][data-status=cancelled]')`)
	b.screenshot("trades")
	b.run("timeline", chromedp.Navigate(env.URL()+"/dashboard#/trades/"+tradeID))
	b.waitFor("the timeline", `document.querySelectorAll('[data-testid=timeline] li').length >= 3`)
	b.screenshot("trade-timeline")
	views := []struct{ name, ready string }{
		{"brokers", `[...document.querySelectorAll('.connections li')].some(li => li.textContent.includes('Paper trading'))`},
		{"risk", `document.querySelector('form input')?.value === '10'`},
		{"signals", `document.querySelector('[data-testid=tv-template]')?.textContent.includes('{{ticker}}') && document.body.textContent.includes('webhook URL was created')`},
	}
	for _, v := range views {
		b.run(v.name, chromedp.Navigate(env.URL()+"/dashboard#/"+v.name))
		b.waitFor("the "+v.name+" view", v.ready)
		b.screenshot(v.name)
	}
	b.run("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), chromedp.Navigate(env.URL()+"/dashboard#/"))
	b.waitFor("the portfolio value", `/\$[0-9]/.test(document.querySelector('[data-testid=portfolio-value]')?.textContent ?? '')`)
	require.LessOrEqual(t, b.evalInt(`document.documentElement.scrollWidth`), 375, "no horizontal scrolling at phone width")
	b.screenshot("overview-phone")

	// Sign out: the socket closes and the sign-in page returns.
	b.run("sign out", chromedp.Click(chromedp.CSS(`button.link`)))
	b.waitFor("the sign-in page", `!!document.querySelector('input[name=email]')`)
	b.assertNoErrors()
}

// browser drives one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.addError("exception: " + msg)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, fmt.Sprint(a.Value)+a.Description)
				}
				b.addError("console.error: " + strings.Join(parts, " "))
			}
		}
	}))
	return b
}

func (b *browser) addError(s string) {
	b.mu.Lock()
	b.errors = append(b.errors, s)
	b.mu.Unlock()
}

func (b *browser) assertNoErrors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(b.t, b.errors, "the page logged errors")
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...), what)
}

func (b *browser) eval(js string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](`(`+js+`, null)`))
	require.NoError(b.t, err, js)
}

func (b *browser) evalInt(js string) int {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](js))
	require.NoError(b.t, err, js)
	return int(v)
}

// waitFor polls a JavaScript condition until it holds (30 s at most).
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.screenshot("failed")
	toasts, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('.toasts')?.textContent ?? ''`))
	b.t.Fatalf("timed out waiting for %s (notifications: %q)", what, toasts)
}

func (b *browser) waitText(sel, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, sel),
		fmt.Sprintf(`(document.querySelector(%q)?.textContent ?? '').includes(%q)`, sel, text))
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(artefacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, buf.String())
	return buf.String()
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

func waitDB(t *testing.T, db *gorm.DB, tradeID, status string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var tr schema.Trade
		if db.Take(&tr, "id = ?", tradeID).Error == nil && tr.Status == status {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	var tr schema.Trade
	_ = db.Take(&tr, "id = ?", tradeID).Error
	t.Fatalf("trade %s never reached %s: %s %q", tradeID, status, tr.Status, tr.ErrorMessage)
}
