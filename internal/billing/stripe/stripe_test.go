package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/stripemock"
)

const whsec = "whsec_test_0123456789abcdef"

var prices = billing.PriceMap{billing.Basic: "price_basic", billing.Pro: "price_pro", billing.Premium: "price_premium"}

var mockURL string

func TestMain(m *testing.M) {
	srv, err := stripemock.Start()
	if err != nil {
		// Never skip: a green run without the Stripe fake would be a lie.
		fmt.Fprintln(os.Stderr, "stripe tests need stripe-mock:", err)
		os.Exit(1)
	}
	mockURL = srv.URL
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

func newProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: "sk_test_123", WebhookSecret: whsec, Prices: prices, APIBase: mockURL})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The calls are validated by stripe-mock against Stripe's OpenAPI spec: a
// parameter Stripe does not know fails here.
func TestProviderCallsAreValidStripeRequests(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	url, err := p.Checkout(ctx, billing.CheckoutRequest{UserID: "u1", Email: "a@b.c", Tier: billing.Pro,
		SuccessURL: "http://localhost/dashboard#/billing?ok=1", CancelURL: "http://localhost/dashboard#/billing"})
	if err != nil || url == "" {
		t.Fatalf("checkout: %q %v", url, err)
	}
	if _, err := p.Checkout(ctx, billing.CheckoutRequest{UserID: "u1", Tier: billing.Free}); !errors.Is(err, billing.ErrUnknownPrice) {
		t.Fatalf("checkout for Free: %v", err)
	}
	if u, err := p.PortalURL(ctx, "cus_123", "http://localhost/dashboard#/billing"); err != nil || u == "" {
		t.Fatalf("portal: %q %v", u, err)
	}
	if _, err := p.PreviewChange(ctx, "sub_123", billing.Premium); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if err := p.ChangePlan(ctx, "sub_123", billing.Premium); err != nil {
		t.Fatalf("change: %v", err)
	}
	if err := p.ChangePlan(ctx, "sub_123", billing.Tier("gold")); !errors.Is(err, billing.ErrUnknownPrice) {
		t.Fatalf("unknown plan: %v", err)
	}
	if end, err := p.CancelAtPeriodEnd(ctx, "sub_123"); err != nil || end.IsZero() {
		t.Fatalf("cancel at period end: %v %v", end, err)
	}
	if err := p.CancelNow(ctx, "sub_123"); err != nil {
		t.Fatalf("cancel now: %v", err)
	}
	inv, err := p.Invoices(ctx, "cus_123")
	if err != nil || len(inv) == 0 {
		t.Fatalf("invoices: %v %v", inv, err)
	}
	if _, err := p.RetryInvoice(ctx, "sub_123", "in_123"); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestProviderOutageIsUnavailable(t *testing.T) {
	p, err := New(Config{SecretKey: "sk_test_123", WebhookSecret: whsec, Prices: prices, APIBase: "http://127.0.0.1:1",
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Invoices(context.Background(), "cus_123"); !errors.Is(err, billing.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestNewRefusesMissingPrices(t *testing.T) {
	if _, err := New(Config{SecretKey: "sk", WebhookSecret: "wh", Prices: billing.PriceMap{billing.Basic: "p"}}); err == nil {
		t.Fatal("accepted a price map without pro/premium")
	}
}

// event builds a Stripe event body in the documented shape
// (https://docs.stripe.com/api/events/object).
func event(id, typ, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2023-10-16","created":1764720000,"livemode":false,"pending_webhooks":1,"type":%q,"data":{"object":%s}}`, id, typ, object))
}

func sign(t *testing.T, payload []byte, secret string, at time.Time) http.Header {
	t.Helper()
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at})
	h := http.Header{}
	h.Set("Stripe-Signature", sp.Header)
	return h
}

const invoiceFailed = `{"id":"in_1","object":"invoice","amount_due":9900,"amount_paid":0,"attempt_count":1,"billing_reason":"subscription_cycle",
 "currency":"usd","customer":"cus_9","subscription":"sub_9","status":"open",
 "lines":{"object":"list","data":[{"id":"il_1","object":"line_item","amount":9900,"description":"1 × Pro","proration":false,"price":{"id":"price_pro","object":"price"}}]}}`

func TestParseWebhook(t *testing.T) {
	p := newProvider(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	body := event("evt_1", "invoice.payment_failed", invoiceFailed)

	ev, err := p.ParseWebhook(body, sign(t, body, whsec, now.Add(-time.Minute)), now)
	if err != nil {
		t.Fatal(err)
	}
	want := billing.Event{Provider: "stripe", ID: "evt_1", Type: billing.EventPaymentFailed, RawType: "invoice.payment_failed",
		Created: time.Unix(1764720000, 0).UTC(), CustomerID: "cus_9", SubscriptionID: "sub_9", InvoiceID: "in_1",
		PriceID: "price_pro", Tier: billing.Pro, AmountCents: 9900, Currency: "usd", BillingReason: "subscription_cycle"}
	if fmt.Sprintf("%+v", ev) != fmt.Sprintf("%+v", want) {
		t.Fatalf("event\n got %+v\nwant %+v", ev, want)
	}

	cases := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"unsigned", http.Header{}, body, billing.ErrBadSignature},
		{"wrong secret", sign(t, body, "whsec_other", now), body, billing.ErrBadSignature},
		{"stale (6 min old)", sign(t, body, whsec, now.Add(-6*time.Minute)), body, billing.ErrBadSignature},
		{"from the future", sign(t, body, whsec, now.Add(6*time.Minute)), body, billing.ErrBadSignature},
		{"body changed after signing", sign(t, body, whsec, now), []byte(strings.Replace(string(body), "9900", "1", 1)), billing.ErrBadSignature},
	}
	for _, c := range cases {
		if _, err := p.ParseWebhook(c.body, c.header, now); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}

	unknown := event("evt_2", "customer.subscription.updated",
		`{"id":"sub_9","object":"subscription","status":"active","customer":"cus_9","current_period_start":1764720000,"current_period_end":1767312000,"cancel_at_period_end":false,"metadata":{"user_id":"u1"},"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","price":{"id":"price_gold","object":"price"}}]}}`)
	if _, err := p.ParseWebhook(unknown, sign(t, unknown, whsec, now), now); !errors.Is(err, billing.ErrUnknownPrice) {
		t.Errorf("unknown price: %v", err)
	}
	ignored := event("evt_3", "customer.created", `{"id":"cus_9","object":"customer"}`)
	if _, err := p.ParseWebhook(ignored, sign(t, ignored, whsec, now), now); !errors.Is(err, billing.ErrIgnoredEvent) {
		t.Errorf("ignored type: %v", err)
	}
}

func TestParseSubscriptionAndCheckoutEvents(t *testing.T) {
	p := newProvider(t)
	now := time.Unix(1764720000, 0).UTC()
	sub := event("evt_4", "customer.subscription.updated",
		`{"id":"sub_9","object":"subscription","status":"active","customer":"cus_9","current_period_start":1764720000,"current_period_end":1767312000,"cancel_at_period_end":true,"metadata":{"user_id":"u1"},"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","price":{"id":"price_premium","object":"price"}}]}}`)
	ev, err := p.ParseWebhook(sub, sign(t, sub, whsec, now), now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != billing.EventSubscriptionUpdated || ev.Tier != billing.Premium || ev.UserID != "u1" || !ev.CancelAtPeriodEnd ||
		!ev.CurrentPeriodEnd.Equal(time.Unix(1767312000, 0)) || ev.Status != "active" {
		t.Fatalf("%+v", ev)
	}
	co := event("evt_5", "checkout.session.completed",
		`{"id":"cs_1","object":"checkout.session","client_reference_id":"u1","customer":"cus_9","subscription":"sub_9","mode":"subscription"}`)
	ev, err = p.ParseWebhook(co, sign(t, co, whsec, now), now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != billing.EventCheckoutCompleted || ev.UserID != "u1" || ev.CustomerID != "cus_9" || ev.SubscriptionID != "sub_9" {
		t.Fatalf("%+v", ev)
	}
}
