package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/app"
	"github.com/tradeexec/tradeexec/internal/apptest"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/polar"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Polar end to end: its Standard Webhooks deliveries (signed by the fake
// as Polar signs them) move the plan, and dunning asks Polar whether the
// subscription is paid up again (Polar retries payments itself).
func TestBillingPolarWebhooksAndDunning(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		const tok, whs = "polar_oat_e2e", "polar_whs_e2e"
		fake := polar.NewFake(tok)
		t.Cleanup(fake.Close)
		prods := billing.PriceMap{billing.Basic: uuid.NewString(), billing.Pro: uuid.NewString(), billing.Premium: uuid.NewString()}
		p, err := polar.New(polar.Config{AccessToken: tok, WebhookSecret: whs, Products: prods, APIBase: fake.URL()})
		require.NoError(t, err)
		env := apptest.Start(t, db, d, apptest.Options{Log: zap.NewNop(),
			Billing: app.BillingOptions{Provider: p, DunningDay: 300 * time.Millisecond}})
		b := &billingEnv{t: t, env: env, db: db}
		b.newTrader("u-polar", "polar@example.com")

		send := func(msgID, typ string, data any) (int, string) {
			body, h := fake.Event(whs, msgID+"-"+string(d), typ, data, time.Now())
			req, err := http.NewRequest(http.MethodPost, env.URL()+"/webhooks/polar", bytes.NewReader(body))
			require.NoError(t, err)
			req.Header = h
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(raw)
		}
		sub, _ := fake.AddSubscription("u-polar", prods[billing.Pro], 9900, time.Now().AddDate(0, 1, 0))
		code, body := send("m1", "subscription.created", fake.Subscription(sub))
		require.Equal(t, http.StatusOK, code, body)
		order := fake.AddOrder(sub, 9900, "subscription_create")
		code, body = send("m2", "order.paid", fake.OrderObject(order))
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-polar", 20*time.Second, func(u schema.User) bool { return u.SubscriptionTier == "pro" && u.SubscriptionStatus == "active" })

		// Forged: another secret.
		forged, h := fake.Event("not-the-secret", "m3", "subscription.revoked", fake.Subscription(sub), time.Now())
		req, _ := http.NewRequest(http.MethodPost, env.URL()+"/webhooks/polar", bytes.NewReader(forged))
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)

		// Renewal fails; Polar's own retry succeeds before our day-3 look.
		fake.SetStatus(sub, "past_due")
		code, body = send("m4", "subscription.past_due", fake.Subscription(sub))
		require.Equal(t, http.StatusOK, code, body)
		b.waitUser("u-polar", 20*time.Second, func(u schema.User) bool { return u.SubscriptionStatus == "past_due" && u.SubscriptionTier == "pro" })
		b.waitWorkflow(workflows.DunningWorkflowID("polar", sub))
		fake.SetStatus(sub, "active")
		var res workflows.DunningResult
		run := env.Temporal.GetWorkflow(context.Background(), workflows.DunningWorkflowID("polar", sub), "")
		require.NoError(t, run.Get(context.Background(), &res))
		require.Equal(t, "recovered", res.Outcome)
		require.Equal(t, "pro", b.user("u-polar").SubscriptionTier)
	})
}
