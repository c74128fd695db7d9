package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/ledger"
	"github.com/tradeexec/tradeexec/internal/billing/stripe"
	"github.com/tradeexec/tradeexec/internal/billing/stripemock"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/internal/mail/mailtest"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

const e2eWebhookSecret = "whsec_e2e_0123456789"

// billingEnv runs the system with the Stripe provider against stripe-mock
// (Stripe's own API fake, validating every request against Stripe's
// OpenAPI spec), a real SMTP inbox, and dunning days shortened to 300 ms.
type billingEnv struct {
	t      *testing.T
	sub    string // this run's subscription id (workflow ids are per subscription; the dev server is shared)
	trader string // the trader of this run's invoices (subscription metadata copied onto invoices)
	env    *apptest.Env
	inbox  *mailtest.Inbox
	db     *gorm.DB
}

func newBillingEnv(t *testing.T, db *gorm.DB, d store.Dialect) *billingEnv {
	t.Helper()
	sm, err := stripemock.Start()
	require.NoError(t, err, "stripe-mock is required (make bin/stripe-mock)")
	t.Cleanup(sm.Stop)
	p, err := stripe.New(stripe.Config{SecretKey: "sk_test_e2e", WebhookSecret: e2eWebhookSecret, APIBase: sm.URL,
		Prices: billing.PriceMap{billing.Basic: "price_basic", billing.Pro: "price_pro", billing.Premium: "price_premium"}})
	require.NoError(t, err)
	inbox := mailtest.Start(t)
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Host: inbox.Host, Port: inbox.Port, From: "billing@tradeexec.test", TLS: mail.TLSNone})
	require.NoError(t, err)
	env := apptest.Start(t, db, d, apptest.Options{Log: zap.NewNop(),
		Billing: app.BillingOptions{Provider: p, Mail: sender, DunningDay: 300 * time.Millisecond}})
	return &billingEnv{t: t, env: env, inbox: inbox, db: db, sub: "sub_" + uuid.NewString()[:8]}
}

func (b *billingEnv) newTrader(id, email string) {
	b.t.Helper()
	b.trader = id
	require.NoError(b.t, b.db.Create(&schema.User{ID: id, Email: &email, DisplayName: "Ada", Role: "trader",
		SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
}

// post sends a Stripe event, signed as Stripe signs (the test builds the
// documented event envelope; stripe-go's own helper computes the
// signature).
func (b *billingEnv) post(id, typ, object string, secret string) (int, string) {
	b.t.Helper()
	id = id + "_" + b.sub // event ids are global at Stripe; the dev server is shared by the tests
	payload := []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":%d,"livemode":false,"pending_webhooks":1,"type":%q,"data":{"object":%s}}`,
		id, time.Now().Unix(), typ, object))
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	req, err := http.NewRequest(http.MethodPost, b.env.URL()+"/webhooks/stripe", bytes.NewReader(payload))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sp.Header)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// waitWorkflow waits until a workflow exists (follow-ups start it
// asynchronously after the event is applied).
func (b *billingEnv) waitWorkflow(id string) {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		_, err := b.env.Temporal.DescribeWorkflowExecution(context.Background(), id, "")
		return err == nil
	}, 20*time.Second, 25*time.Millisecond, "workflow %s never started", id)
}

// record writes a finished workflow's history for the replay tests
// (TRADEEXEC_RECORD_HISTORY=1).
func (b *billingEnv) record(workflowID, name string) {
	(&harness{t: b.t, temporal: b.env.Temporal}).recordHistory(workflowID, name)
}

func (b *billingEnv) user(id string) schema.User {
	var u schema.User
	require.NoError(b.t, b.db.Where("id = ?", id).Take(&u).Error)
	return u
}

func (b *billingEnv) waitUser(id string, timeout time.Duration, ok func(schema.User) bool) schema.User {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		u := b.user(id)
		if ok(u) {
			return u
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("user %s: tier %s status %s", id, u.SubscriptionTier, u.SubscriptionStatus)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (b *billingEnv) auditCount(userID, action string) int64 {
	var n int64
	require.NoError(b.t, b.db.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ?", userID, action).Count(&n).Error)
	return n
}

func (b *billingEnv) subscriptionObject(userID, price string) string {
	now := time.Now().Unix()
	return fmt.Sprintf(`{"id":%q,"object":"subscription","status":"active","customer":"cus_e2e","current_period_start":%d,"current_period_end":%d,
"cancel_at_period_end":false,"metadata":{"user_id":%q},"items":{"object":"list","data":[{"id":"si_e2e","object":"subscription_item","price":{"id":%q,"object":"price"}}]}}`,
		b.sub, now, now+30*86400, userID, price)
}

func (b *billingEnv) invoiceObject(id, price string, amount int64, reason string, paid bool) string {
	paidAmt, due := int64(0), amount
	if paid {
		paidAmt = amount
	}
	return fmt.Sprintf(`{"id":%q,"object":"invoice","amount_due":%d,"amount_paid":%d,"billing_reason":%q,"currency":"usd","customer":"cus_e2e",
"subscription":%q,"subscription_details":{"metadata":{"user_id":%q}},"status":"open","lines":{"object":"list","data":[{"id":"il_1","object":"line_item","amount":%d,"description":"1 × plan","proration":false,"price":{"id":%q,"object":"price"}}]}}`,
		id, due, paidAmt, reason, b.sub, b.trader, amount, price)
}

func TestBillingSignUpThenDunningMovesToFree(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		b := newBillingEnv(t, db, d)
		b.newTrader("u-bill", "ada@example.com")

		// Sign-up: checkout completed, subscription created, first invoice paid.
		code, body := b.post("evt_co", "checkout.session.completed",
			`{"id":"cs_1","object":"checkout.session","client_reference_id":"u-bill","customer":"cus_e2e","subscription":"`+b.sub+`","mode":"subscription"}`, e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		code, body = b.post("evt_sub", "customer.subscription.created", b.subscriptionObject("u-bill", "price_pro"), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		code, body = b.post("evt_paid1", "invoice.paid", b.invoiceObject("in_1", "price_pro", 9900, "subscription_create", true), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-bill", 20*time.Second, func(u schema.User) bool { return u.SubscriptionTier == "pro" && u.SubscriptionStatus == "active" })
		m, ok := b.inbox.WaitFor("ada@example.com", "Welcome to Pro Plan", 20*time.Second)
		require.True(t, ok, "no welcome mail; inbox %v", b.inbox.Mails())
		require.Contains(t, m.Data, "$99")

		// A redelivered event changes nothing.
		code, body = b.post("evt_paid1", "invoice.paid", b.invoiceObject("in_1", "price_pro", 9900, "subscription_create", true), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		require.Contains(t, body, "duplicate")
		require.EqualValues(t, 1, b.auditCount("u-bill", ledger.ActionSubscriptionCharged))

		// Unsigned/wrongly signed → 400, audited, plan untouched.
		code, _ = b.post("evt_forged", "customer.subscription.deleted", b.subscriptionObject("u-bill", "price_pro"), "whsec_attacker")
		require.Equal(t, http.StatusBadRequest, code)
		require.EqualValues(t, 1, b.auditCount(audit.SystemUserID, ledger.ActionBillingWebhookRejected))
		// An unknown price is refused.
		code, _ = b.post("evt_gold", "customer.subscription.updated", b.subscriptionObject("u-bill", "price_gold"), e2eWebhookSecret)
		require.Equal(t, http.StatusBadRequest, code)
		require.Equal(t, "pro", b.user("u-bill").SubscriptionTier)

		// Renewal fails: grace period, retries on (shortened) days 3, 5, 7
		// against stripe-mock (its invoice stays unpaid), then Free.
		code, body = b.post("evt_fail", "invoice.payment_failed", b.invoiceObject("in_2", "price_pro", 9900, "subscription_cycle", false), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-bill", 20*time.Second, func(u schema.User) bool { return u.SubscriptionStatus == "past_due" && u.SubscriptionTier == "pro" })
		_, ok = b.inbox.WaitFor("ada@example.com", "Payment failed: Update card", 20*time.Second)
		require.True(t, ok, "no payment-failed mail")

		b.waitWorkflow(workflows.DunningWorkflowID("stripe", b.sub))
		u := b.waitUser("u-bill", 60*time.Second, func(u schema.User) bool { return u.SubscriptionTier == "free" })
		require.Equal(t, "active", u.SubscriptionStatus, "Free is an active plan: paper trading goes on")
		_, ok = b.inbox.WaitFor("ada@example.com", "Subscription suspended", 20*time.Second)
		require.True(t, ok, "no suspension mail")
		require.EqualValues(t, 1, b.auditCount("u-bill", ledger.ActionSubscriptionSuspended))
		retries := 0
		for _, m := range b.inbox.Mails() {
			if m.Subject() == "Payment failed again: Update card" {
				retries++
			}
		}
		require.Equal(t, 2, retries, "a mail after each of the first two failed retries")

		var res workflows.DunningResult
		run := b.env.Temporal.GetWorkflow(context.Background(), workflows.DunningWorkflowID("stripe", b.sub), "")
		require.NoError(t, run.Get(context.Background(), &res))
		require.Equal(t, "suspended", res.Outcome)
		require.Equal(t, 3, res.Attempts)
		chain, err := audit.Verify(context.Background(), db, "u-bill")
		require.NoError(t, err)
		require.True(t, chain.Valid)
		if d == store.SQLite {
			b.record(workflows.DunningWorkflowID("stripe", b.sub), "billing_dunning_suspended")
			b.record(workflows.BillingEventWorkflowID("stripe", "evt_paid1_"+b.sub), "billing_event_invoice_paid")
			b.record(workflows.BillingEventWorkflowID("stripe", "evt_fail_"+b.sub), "billing_event_payment_failed")
		}
	})
}

func TestBillingPaymentDuringGraceEndsDunning(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		b := newBillingEnv(t, db, d)
		b.newTrader("u-grace", "grace@example.com")
		code, body := b.post("evt_s", "customer.subscription.created", b.subscriptionObject("u-grace", "price_premium"), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-grace", 20*time.Second, func(u schema.User) bool { return u.SubscriptionTier == "premium" })
		code, body = b.post("evt_f", "invoice.payment_failed", b.invoiceObject("in_9", "price_premium", 29900, "subscription_cycle", false), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-grace", 20*time.Second, func(u schema.User) bool { return u.SubscriptionStatus == "past_due" })
		b.waitWorkflow(workflows.DunningWorkflowID("stripe", b.sub))
		// The trader updates the card; Stripe collects and says so.
		code, body = b.post("evt_p", "invoice.paid", b.invoiceObject("in_9", "price_premium", 29900, "subscription_cycle", true), e2eWebhookSecret)
		require.Equal(t, http.StatusOK, code, body)

		var res workflows.DunningResult
		run := b.env.Temporal.GetWorkflow(context.Background(), workflows.DunningWorkflowID("stripe", b.sub), "")
		require.NoError(t, run.Get(context.Background(), &res))
		require.Equal(t, "recovered", res.Outcome)
		u := b.user("u-grace")
		require.Equal(t, "premium", u.SubscriptionTier)
		require.Equal(t, "active", u.SubscriptionStatus)
		require.EqualValues(t, 0, b.auditCount("u-grace", ledger.ActionSubscriptionSuspended))
		if d == store.SQLite {
			b.record(workflows.DunningWorkflowID("stripe", b.sub), "billing_dunning_recovered")
		}
	})
}
