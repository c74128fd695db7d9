package polar

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/internal/billing"
)

const (
	token  = "polar_oat_test"
	secret = "polar_whs_test_secret"
)

var products = billing.PriceMap{billing.Basic: uuid.NewString(), billing.Pro: uuid.NewString(), billing.Premium: uuid.NewString()}

func newPolar(t *testing.T, now time.Time) (*Provider, *Fake) {
	t.Helper()
	f := NewFake(token)
	t.Cleanup(f.Close)
	p, err := New(Config{AccessToken: token, WebhookSecret: secret, Products: products, APIBase: f.URL(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return p, f
}

func TestProviderAgainstTheFake(t *testing.T) {
	now := time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)
	p, f := newPolar(t, now)
	ctx := context.Background()

	url, err := p.Checkout(ctx, billing.CheckoutRequest{UserID: "u1", Email: "a@b.c", Tier: billing.Pro, SuccessURL: "https://x/ok", CancelURL: "https://x/back"})
	if err != nil || url == "" {
		t.Fatalf("checkout %q %v", url, err)
	}
	sub, cus := f.AddSubscription("u1", products[billing.Basic], 4900, now.Add(15*24*time.Hour))
	if u, err := p.PortalURL(ctx, cus, "https://x/back"); err != nil || u == "" {
		t.Fatalf("portal %q %v", u, err)
	}
	// SPEC US-012 #2: Basic → Premium with 15 days left: $274.50.
	c, err := p.PreviewChange(ctx, sub, billing.Premium)
	if err != nil || c != 27450 {
		t.Fatalf("preview %d %v", c, err)
	}
	if err := p.ChangePlan(ctx, sub, billing.Premium); err != nil {
		t.Fatal(err)
	}
	if s := f.Subscription(sub); s.ProductID != products[billing.Premium] || s.LastProration != "invoice" {
		t.Fatalf("upgrade: %+v", s)
	}
	if err := p.ChangePlan(ctx, sub, billing.Basic); err != nil {
		t.Fatal(err)
	}
	if s := f.Subscription(sub); s.LastProration != "next_period" {
		t.Fatalf("downgrade proration %q (FR-064: at renewal)", s.LastProration)
	}
	end, err := p.CancelAtPeriodEnd(ctx, sub)
	if err != nil || !end.Equal(now.Add(15*24*time.Hour)) {
		t.Fatalf("cancel at period end %v %v", end, err)
	}
	order := f.AddOrder(sub, 4900, "subscription_cycle")
	inv, err := p.Invoices(ctx, cus)
	if err != nil || len(inv) != 1 || inv[0].ID != order || inv[0].AmountCents != 4900 || inv[0].Number != "INV-0001" {
		t.Fatalf("invoices %+v %v", inv, err)
	}
	if err := p.Refund(ctx, order, 1000); err != nil {
		t.Fatal(err)
	}
	if r := f.Refunds(); len(r) != 1 || r[0].Amount != 1000 || r[0].Reason != "customer_request" {
		t.Fatalf("refunds %+v", r)
	}
	if err := p.Refund(ctx, order, 10_000); err == nil {
		t.Fatal("a refund above the order's balance was accepted")
	}
	f.SetStatus(sub, "past_due")
	if paid, err := p.RetryInvoice(ctx, sub, "subscription:"+sub); err != nil || paid {
		t.Fatalf("past_due: paid=%v %v", paid, err)
	}
	f.SetStatus(sub, "active")
	if paid, err := p.RetryInvoice(ctx, sub, ""); err != nil || !paid {
		t.Fatalf("active again: paid=%v %v", paid, err)
	}
	if err := p.CancelNow(ctx, sub); err != nil || f.Subscription(sub).Status != "canceled" {
		t.Fatalf("revoke: %v", err)
	}
}

func TestWrongTokenAndOutage(t *testing.T) {
	f := NewFake("other-token")
	t.Cleanup(f.Close)
	p, err := New(Config{AccessToken: token, WebhookSecret: secret, Products: products, APIBase: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Invoices(context.Background(), uuid.NewString()); err == nil || errors.Is(err, billing.ErrUnavailable) {
		t.Fatalf("401 must be an error, not an outage: %v", err)
	}
	p2, _ := New(Config{AccessToken: token, WebhookSecret: secret, Products: products, APIBase: "http://127.0.0.1:1",
		HTTPClient: &http.Client{Timeout: time.Second}})
	if _, err := p2.Invoices(context.Background(), "x"); !errors.Is(err, billing.ErrUnavailable) {
		t.Fatalf("outage: %v", err)
	}
}

func TestWebhooks(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p, f := newPolar(t, now)
	sub, cus := f.AddSubscription("u1", products[billing.Pro], 9900, now.AddDate(0, 1, 0))

	body, h := f.Event(secret, "msg_1", "subscription.updated", f.Subscription(sub), now)
	ev, err := p.ParseWebhook(body, h, now)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "msg_1" || ev.Type != billing.EventSubscriptionUpdated || ev.Tier != billing.Pro || ev.UserID != "u1" ||
		ev.CustomerID != cus || ev.SubscriptionID != sub || ev.Status != "active" {
		t.Fatalf("%+v", ev)
	}

	order := f.AddOrder(sub, 9900, "subscription_create")
	body, h = f.Event(secret, "msg_2", "order.paid", f.OrderObject(order), now)
	ev, err = p.ParseWebhook(body, h, now)
	if err != nil || ev.Type != billing.EventInvoicePaid || ev.AmountCents != 9900 || ev.InvoiceID != order || ev.Tier != billing.Pro ||
		ev.BillingReason != "subscription_create" || ev.UserID != "u1" {
		t.Fatalf("%+v %v", ev, err)
	}

	f.SetStatus(sub, "past_due")
	body, h = f.Event(secret, "msg_3", "subscription.past_due", f.Subscription(sub), now)
	ev, err = p.ParseWebhook(body, h, now)
	if err != nil || ev.Type != billing.EventPaymentFailed || ev.InvoiceID != "subscription:"+sub {
		t.Fatalf("%+v %v", ev, err)
	}
	body, h = f.Event(secret, "msg_4", "subscription.revoked", f.Subscription(sub), now)
	if ev, err = p.ParseWebhook(body, h, now); err != nil || ev.Type != billing.EventSubscriptionDeleted {
		t.Fatalf("%+v %v", ev, err)
	}
	body, h = f.Event(secret, "msg_5", "benefit.created", map[string]any{"id": "b"}, now)
	if _, err = p.ParseWebhook(body, h, now); !errors.Is(err, billing.ErrIgnoredEvent) {
		t.Fatalf("ignored type: %v", err)
	}

	// Signatures: wrong secret, stale, future, tampered body, missing headers.
	good, gh := f.Event(secret, "msg_6", "subscription.updated", f.Subscription(sub), now)
	cases := map[string]func() ([]byte, http.Header){
		"wrong secret": func() ([]byte, http.Header) {
			return f.Event("other", "msg_6", "subscription.updated", f.Subscription(sub), now)
		},
		"stale": func() ([]byte, http.Header) {
			return f.Event(secret, "msg_6", "subscription.updated", f.Subscription(sub), now.Add(-6*time.Minute))
		},
		"future": func() ([]byte, http.Header) {
			return f.Event(secret, "msg_6", "subscription.updated", f.Subscription(sub), now.Add(6*time.Minute))
		},
		"tampered":   func() ([]byte, http.Header) { return append(append([]byte{}, good[:len(good)-1]...), ' ', '}'), gh },
		"no headers": func() ([]byte, http.Header) { return good, http.Header{} },
		"other msg id": func() ([]byte, http.Header) {
			h := gh.Clone()
			h.Set("webhook-id", "msg_7")
			return good, h
		},
	}
	for name, mk := range cases {
		b, h := mk()
		if _, err := p.ParseWebhook(b, h, now); !errors.Is(err, billing.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A rotation sends two signatures; one valid suffices.
	h2 := gh.Clone()
	h2.Set("webhook-signature", "v1,AAAA "+gh.Get("webhook-signature"))
	if _, err := p.ParseWebhook(good, h2, now); err != nil {
		t.Errorf("rotation: %v", err)
	}

	// An unknown product is refused.
	other, _ := f.AddSubscription("u2", uuid.NewString(), 100, now.AddDate(0, 1, 0))
	body, h = f.Event(secret, "msg_8", "subscription.created", f.Subscription(other), now)
	if _, err := p.ParseWebhook(body, h, now); !errors.Is(err, billing.ErrUnknownPrice) {
		t.Errorf("unknown product: %v", err)
	}
}

func TestFakeRefusesMalformedRequests(t *testing.T) {
	f := NewFake(token)
	t.Cleanup(f.Close)
	bad, err := New(Config{AccessToken: token, WebhookSecret: secret, APIBase: f.URL(),
		Products: billing.PriceMap{billing.Basic: "basic", billing.Pro: "pro", billing.Premium: "premium"}})
	if err != nil {
		t.Fatal(err)
	}
	// Polar's product ids are UUIDs: a wrong id is a 422, as at Polar.
	if _, err := bad.Checkout(context.Background(), billing.CheckoutRequest{UserID: "u", Tier: billing.Pro}); err == nil {
		t.Fatal("a non-UUID product was accepted")
	}
}
