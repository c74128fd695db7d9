package web_test

import (
	"io"
	"mime/quotedprintable"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/stripe"
	"github.com/tradeexec/tradeexec/internal/billing/stripemock"
	"github.com/tradeexec/tradeexec/internal/experiments"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/mail/mailtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/web"
)

// Settings → Billing in Chromium with the Stripe provider against
// stripe-mock: the plan and its usage, an upgrade whose prorated amount is
// shown before it is confirmed, and the confirmation's answer.
func TestBillingViewInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium`")
	require.NoError(t, os.MkdirAll(artefacts, 0o755))
	sm, err := stripemock.Start()
	require.NoError(t, err, "stripe-mock is required (make bin/stripe-mock)")
	t.Cleanup(sm.Stop)
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_browser", WebhookSecret: "whsec_browser", APIBase: sm.URL,
		Prices: billing.PriceMap{billing.Basic: "price_basic", billing.Pro: "price_pro", billing.Premium: "price_premium"}})
	require.NoError(t, err)

	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{Billing: app.BillingOptions{Provider: p}})
	// The demo trader (created on Premium) starts on the free plan here.
	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", env.Demo.UserID).Update("subscription_tier", "free").Error)
	b := newBrowser(t)
	b.run("sign in",
		chromedp.Navigate(env.URL()+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), env.Demo.Password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitText(`[data-testid=live-status]`, "Live")

	// On the free plan: the upgrade prompt in the trader's variant of the
	// experiment, its exposure recorded.
	b.run("billing (free)", chromedp.Navigate(env.URL()+"/dashboard#/billing"))
	variant := experiments.Assign(experiments.UpgradePrompt, env.Demo.UserID,
		[]experiments.Variant{{Name: "control", Weight: 50}, {Name: "missed-trades", Weight: 50}})
	b.waitFor("the upgrade prompt", `document.querySelector('[data-testid=upgrade-prompt]')?.dataset.variant === '`+variant+`' && document.querySelector('[data-testid=upgrade-prompt] button')?.textContent === 'Upgrade to Basic'`)
	b.screenshot("billing-upgrade-prompt")
	var exposed []schema.ExperimentExposure
	require.NoError(t, db.Where("user_id = ?", env.Demo.UserID).Find(&exposed).Error)
	require.Len(t, exposed, 1)
	require.Equal(t, variant, exposed[0].Variant)

	// The demo trader subscribed to Basic at Stripe (stripe-mock answers
	// for any subscription id).
	now := time.Now().UTC()
	renew := now.AddDate(0, 0, 15)
	require.NoError(t, db.Model(&schema.User{}).Where("id = ?", env.Demo.UserID).
		Updates(map[string]any{"subscription_tier": "basic", "subscription_renewal_date": renew}).Error)
	require.NoError(t, db.Create(&schema.Subscription{ID: "s-browser", UserID: env.Demo.UserID, Plan: "basic", Status: "active",
		BillingProvider: "stripe", BillingProviderCustomerID: "cus_123", BillingProviderSubscriptionID: "sub_123",
		CurrentPeriodStart: now.AddDate(0, 0, -15), CurrentPeriodEnd: renew, CreatedAt: now}).Error)

	b.run("billing", chromedp.Navigate(env.URL()+"/dashboard#/"), chromedp.Navigate(env.URL()+"/dashboard#/billing"))
	b.waitFor("the plan", `document.querySelector('.billing-plan strong')?.textContent === 'Basic'`)
	b.waitFor("the usage", `document.querySelector('.billing-usage')?.textContent === '0 of 1'`)
	b.waitFor("the invoices from Stripe", `document.body.textContent.includes('Invoices')`)
	b.screenshot("billing")

	b.run("upgrade", chromedp.Click(chromedp.CSS(`button[data-plan=premium]`)))
	b.waitFor("the prorated preview", `/^Upgrade to Premium now: \$[0-9.]+ charged today \(prorated\)\.$/.test(document.querySelector('.billing-preview p')?.textContent ?? '')`)
	b.screenshot("billing-preview")
	b.run("confirm", chromedp.Click(chromedp.CSS(`.billing-preview button`)))
	b.waitFor("the confirmation", `document.body.textContent.includes('Upgrade to Premium requested')`)
	b.assertNoErrors()
}

// Password reset in Chromium: "Forgot your password?", the mailed link
// (read from a real SMTP inbox), a new password, then sign-in with it.
func TestPasswordResetInBrowser(t *testing.T) {
	require.True(t, web.Built(), "the dashboard is not built: run `make web`")
	_, err := os.Stat(chromiumPath)
	require.NoError(t, err, "Chromium is missing: run `make chromium`")
	inbox := mailtest.Start(t)
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: inbox.Host, Port: inbox.Port, From: "security@tradeexec.test", TLS: mail.TLSNone})
	require.NoError(t, err)
	db := storetest.OpenSQLite(t)
	env := apptest.Start(t, db, store.SQLite, apptest.Options{Billing: app.BillingOptions{Mail: sender}})

	b := newBrowser(t)
	b.run("forgot",
		chromedp.Navigate(env.URL()+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="#/forgot"]`)),
		chromedp.Click(chromedp.CSS(`a[href="#/forgot"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitFor("the answer", `document.querySelector('[data-testid=reset-sent]')?.textContent.startsWith('If an account exists')`)
	m, ok := inbox.WaitFor(env.Demo.Email, "Reset your tradeexec password", 20*time.Second)
	require.True(t, ok, "no reset mail")
	body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(m.Data)))
	require.NoError(t, err)
	link := regexp.MustCompile(`/dashboard#/reset\?token=[A-Za-z0-9_%-]+`).FindString(string(body))
	require.NotEmpty(t, link, "no link in %s", body)

	const newPassword = "Brand-New-Horse-42"
	b.run("reset",
		chromedp.Navigate(env.URL()+link),
		chromedp.WaitVisible(chromedp.CSS(`input[name=new-password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=new-password]`), newPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitFor("the confirmation", `document.querySelector('[data-testid=reset-done]')?.textContent.includes('Your password was reset')`)
	b.screenshot("password-reset")
	b.run("sign in with it",
		chromedp.Navigate(env.URL()+"/dashboard#/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), env.Demo.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), newPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	)
	b.waitText(`[data-testid=live-status]`, "Live")
	b.assertNoErrors()
}
