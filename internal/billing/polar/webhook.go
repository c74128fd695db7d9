package polar

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/billing"
)

// Tolerance of a webhook's timestamp (Polar's SDKs: 5 minutes).
const Tolerance = 5 * time.Minute

// Sign computes the Standard Webhooks signature header value that Polar
// sends (HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" keyed
// by the endpoint secret's bytes, as Polar's SDKs verify it). The fake uses
// it to sign the events it sends.
func Sign(secret, msgID string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s.%d.", msgID, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks the webhook-id, webhook-timestamp and webhook-signature
// headers (several space-separated signatures may be sent during a secret
// rotation; one matching v1 signature suffices).
func (p *Provider) verify(body []byte, h http.Header, now time.Time) (string, error) {
	id, tsRaw, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsRaw == "" || sigs == "" {
		return "", billing.ErrBadSignature
	}
	f, err := strconv.ParseFloat(tsRaw, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", billing.ErrBadSignature
	}
	ts := time.Unix(int64(math.Floor(f)), 0)
	if d := now.Sub(ts); d > Tolerance || d < -Tolerance {
		return "", billing.ErrBadSignature
	}
	want, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(Sign(p.cfg.WebhookSecret, id, ts, body), "v1,"))
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return id, nil
		}
	}
	return "", billing.ErrBadSignature
}

// envelope is a Polar webhook payload: {"type", "timestamp", "data"}.
type envelope struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// ParseWebhook verifies a delivery and normalizes the event. The event id
// is the webhook-id header (the same on every redelivery of a message).
func (p *Provider) ParseWebhook(payload []byte, header http.Header, now time.Time) (billing.Event, error) {
	id, err := p.verify(payload, header, now)
	if err != nil {
		return billing.Event{}, err
	}
	var env envelope
	if err := json.Unmarshal(payload, &env); err != nil {
		return billing.Event{}, fmt.Errorf("polar: event body: %w", err)
	}
	out := billing.Event{Provider: "polar", ID: id, RawType: env.Type, Created: env.Timestamp.UTC()}
	switch env.Type {
	case "checkout.updated":
		var c checkout
		if err := json.Unmarshal(env.Data, &c); err != nil {
			return out, err
		}
		if c.Status != "succeeded" {
			return out, billing.ErrIgnoredEvent
		}
		out.Type = billing.EventCheckoutCompleted
		out.UserID, out.CustomerID, out.SubscriptionID = c.ExternalCustomerID, c.CustomerID, c.SubscriptionID
	case "subscription.created", "subscription.updated", "subscription.active", "subscription.canceled",
		"subscription.uncanceled", "subscription.cycled", "subscription.revoked", "subscription.past_due":
		var s subscription
		if err := json.Unmarshal(env.Data, &s); err != nil {
			return out, err
		}
		out.SubscriptionID, out.CustomerID, out.UserID = s.ID, s.CustomerID, s.Customer.ExternalID
		out.Status, out.CancelAtPeriodEnd = s.Status, s.CancelAtPeriodEnd
		out.CurrentPeriodStart, out.CurrentPeriodEnd = s.CurrentPeriodStart.UTC(), s.CurrentPeriodEnd.UTC()
		out.PriceID, out.AmountCents, out.Currency = s.ProductID, s.Amount, s.Currency
		t, ok := p.cfg.Products.TierOf(s.ProductID)
		if !ok {
			return out, fmt.Errorf("%w %q", billing.ErrUnknownPrice, s.ProductID)
		}
		out.Tier = t
		switch {
		case env.Type == "subscription.revoked" || s.Status == "canceled" && !s.CancelAtPeriodEnd:
			out.Type = billing.EventSubscriptionDeleted
		case env.Type == "subscription.past_due":
			// Polar names no unpaid order here; the subscription stands for
			// it (dunning asks Polar whether it is paid up again).
			out.Type, out.InvoiceID = billing.EventPaymentFailed, "subscription:"+s.ID
		default:
			out.Type = billing.EventSubscriptionUpdated
		}
	case "order.paid", "order.refunded":
		var o order
		if err := json.Unmarshal(env.Data, &o); err != nil {
			return out, err
		}
		out.InvoiceID, out.CustomerID, out.UserID = o.ID, o.CustomerID, o.Customer.ExternalID
		out.Currency, out.BillingReason = o.Currency, o.BillingReason
		if o.SubscriptionID != nil {
			out.SubscriptionID = *o.SubscriptionID
		}
		if env.Type == "order.refunded" {
			out.Type, out.AmountCents = billing.EventChargeRefunded, o.RefundedAmount
			break
		}
		if o.SubscriptionID == nil {
			return out, billing.ErrIgnoredEvent // a one-time purchase: not a plan
		}
		out.Type, out.AmountCents = billing.EventInvoicePaid, o.TotalAmount
		out.Proration = o.BillingReason == "subscription_update"
		if o.ProductID != nil {
			out.PriceID = *o.ProductID
			t, ok := p.cfg.Products.TierOf(*o.ProductID)
			if !ok {
				return out, fmt.Errorf("%w %q", billing.ErrUnknownPrice, *o.ProductID)
			}
			out.Tier = t
		}
	default:
		return out, billing.ErrIgnoredEvent
	}
	return out, nil
}
