// Package stripe is the Stripe billing provider, through stripe-go/v76 (the
// product card's pinned SDK): Checkout Sessions for sign-up, the Customer
// Portal for card changes and cancellation, subscription updates with
// proration, invoices, refunds, and signed webhooks.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	stripe "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tradeexec/tradeexec/internal/billing"
)

// Tolerance is how old a webhook's signed timestamp may be (Stripe's
// library default, 5 minutes): a replayed old delivery is refused.
const Tolerance = 5 * time.Minute

// Config configures the provider.
type Config struct {
	SecretKey     string // sk_live_… / sk_test_…; never logged
	WebhookSecret string // whsec_…
	Prices        billing.PriceMap
	// APIBase overrides https://api.stripe.com (stripe-mock in tests and
	// dev: http://127.0.0.1:12111).
	APIBase    string
	HTTPClient *http.Client
}

// Provider is the Stripe implementation of billing.Provider.
type Provider struct {
	api    *client.API
	cfg    Config
	prices billing.PriceMap
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretKey == "" || cfg.WebhookSecret == "" {
		return nil, errors.New("stripe: secret key and webhook secret are required")
	}
	for _, t := range []billing.Tier{billing.Basic, billing.Pro, billing.Premium} {
		if cfg.Prices[t] == "" {
			return nil, fmt.Errorf("stripe: no price id configured for the %s plan", t)
		}
	}
	bc := &stripe.BackendConfig{HTTPClient: cfg.HTTPClient, LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}}
	if cfg.APIBase != "" {
		bc.URL = stripe.String(cfg.APIBase)
	}
	if bc.HTTPClient == nil {
		bc.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	api := &client.API{}
	api.Init(cfg.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	return &Provider{api: api, cfg: cfg, prices: cfg.Prices}, nil
}

// Name implements billing.Provider.
func (p *Provider) Name() string { return "stripe" }

// Checkout creates a Checkout Session in subscription mode. The user id
// travels as client_reference_id and as the subscription's metadata, so
// every later event names the trader.
func (p *Provider) Checkout(ctx context.Context, req billing.CheckoutRequest) (string, error) {
	price, ok := p.prices[req.Tier]
	if !ok || price == "" {
		return "", billing.ErrUnknownPrice
	}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(string(stripe.CheckoutSessionModeSubscription)),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(req.SuccessURL),
		CancelURL:         stripe.String(req.CancelURL),
		ClientReferenceID: stripe.String(req.UserID),
		SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: map[string]string{"user_id": req.UserID}},
	}
	if req.CustomerID != "" {
		params.Customer = stripe.String(req.CustomerID)
	} else if req.Email != "" {
		params.CustomerEmail = stripe.String(req.Email)
	}
	params.Context = ctx
	s, err := p.api.CheckoutSessions.New(params)
	if err != nil {
		return "", wrap(err)
	}
	return s.URL, nil
}

// PortalURL creates a Customer Portal session.
func (p *Provider) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	params := &stripe.BillingPortalSessionParams{Customer: stripe.String(customerID), ReturnURL: stripe.String(returnURL)}
	params.Context = ctx
	s, err := p.api.BillingPortalSessions.New(params)
	if err != nil {
		return "", wrap(err)
	}
	return s.URL, nil
}

func (p *Provider) item(ctx context.Context, subscriptionID string) (*stripe.Subscription, *stripe.SubscriptionItem, error) {
	params := &stripe.SubscriptionParams{}
	params.Context = ctx
	sub, err := p.api.Subscriptions.Get(subscriptionID, params)
	if err != nil {
		return nil, nil, wrap(err)
	}
	if sub.Items == nil || len(sub.Items.Data) == 0 {
		return nil, nil, fmt.Errorf("stripe: subscription %s has no item", subscriptionID)
	}
	return sub, sub.Items.Data[0], nil
}

func (p *Provider) currentTier(it *stripe.SubscriptionItem) billing.Tier {
	if it.Price == nil {
		return ""
	}
	t, _ := p.prices.TierOf(it.Price.ID)
	return t
}

// PreviewChange asks Stripe for the upcoming invoice of the change with
// immediate proration; a downgrade costs nothing now.
func (p *Provider) PreviewChange(ctx context.Context, subscriptionID string, to billing.Tier) (int64, error) {
	price, ok := p.prices[to]
	if !ok || price == "" {
		return 0, billing.ErrUnknownPrice
	}
	sub, it, err := p.item(ctx, subscriptionID)
	if err != nil {
		return 0, err
	}
	if to.Rank() <= p.currentTier(it).Rank() {
		return 0, nil
	}
	params := &stripe.InvoiceUpcomingParams{
		Customer:                      stripe.String(sub.Customer.ID),
		Subscription:                  stripe.String(subscriptionID),
		SubscriptionItems:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(it.ID), Price: stripe.String(price)}},
		SubscriptionProrationBehavior: stripe.String("always_invoice"),
	}
	params.Context = ctx
	inv, err := p.api.Invoices.Upcoming(params)
	if err != nil {
		return 0, wrap(err)
	}
	return inv.AmountDue, nil
}

// ChangePlan: an upgrade swaps the price with always_invoice (the prorated
// difference is charged at once); a downgrade swaps it without proration,
// so the cheaper price applies from the next renewal while tradeexec keeps
// the paid plan until the period ends (FR-064).
func (p *Provider) ChangePlan(ctx context.Context, subscriptionID string, to billing.Tier) error {
	price, ok := p.prices[to]
	if !ok || price == "" {
		return billing.ErrUnknownPrice
	}
	_, it, err := p.item(ctx, subscriptionID)
	if err != nil {
		return err
	}
	behaviour := "none"
	if to.Rank() > p.currentTier(it).Rank() {
		behaviour = "always_invoice"
	}
	params := &stripe.SubscriptionParams{
		Items:             []*stripe.SubscriptionItemsParams{{ID: stripe.String(it.ID), Price: stripe.String(price)}},
		ProrationBehavior: stripe.String(behaviour),
		PaymentBehavior:   stripe.String("error_if_incomplete"),
	}
	params.Context = ctx
	_, err = p.api.Subscriptions.Update(subscriptionID, params)
	return wrap(err)
}

// CancelAtPeriodEnd implements billing.Provider.
func (p *Provider) CancelAtPeriodEnd(ctx context.Context, subscriptionID string) (time.Time, error) {
	params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
	params.Context = ctx
	sub, err := p.api.Subscriptions.Update(subscriptionID, params)
	if err != nil {
		return time.Time{}, wrap(err)
	}
	return time.Unix(sub.CurrentPeriodEnd, 0).UTC(), nil
}

// CancelNow implements billing.Provider.
func (p *Provider) CancelNow(ctx context.Context, subscriptionID string) error {
	params := &stripe.SubscriptionCancelParams{}
	params.Context = ctx
	_, err := p.api.Subscriptions.Cancel(subscriptionID, params)
	return wrap(err)
}

// Invoices implements billing.Provider.
func (p *Provider) Invoices(ctx context.Context, customerID string) ([]billing.Invoice, error) {
	params := &stripe.InvoiceListParams{Customer: stripe.String(customerID)}
	params.Context = ctx
	params.Limit = stripe.Int64(24)
	params.Single = true
	it := p.api.Invoices.List(params)
	var out []billing.Invoice
	for it.Next() {
		out = append(out, invoiceOf(it.Invoice()))
	}
	if err := it.Err(); err != nil {
		return nil, wrap(err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

func invoiceOf(in *stripe.Invoice) billing.Invoice {
	out := billing.Invoice{ID: in.ID, Number: in.Number, Status: string(in.Status), AmountCents: in.AmountDue,
		PaidCents: in.AmountPaid, Currency: string(in.Currency), Created: time.Unix(in.Created, 0).UTC(), URL: in.HostedInvoiceURL}
	if in.Lines != nil {
		for _, l := range in.Lines.Data {
			out.Lines = append(out.Lines, billing.Line{Description: l.Description, AmountCents: l.Amount, Proration: l.Proration})
		}
	}
	return out
}

// Refund refunds an invoice's payment (its PaymentIntent).
func (p *Provider) Refund(ctx context.Context, invoiceID string, amountCents int64) error {
	if amountCents <= 0 {
		return fmt.Errorf("stripe: refund amount must be positive")
	}
	gp := &stripe.InvoiceParams{}
	gp.Context = ctx
	inv, err := p.api.Invoices.Get(invoiceID, gp)
	if err != nil {
		return wrap(err)
	}
	if inv.PaymentIntent == nil || inv.PaymentIntent.ID == "" {
		return fmt.Errorf("stripe: invoice %s has no payment to refund", invoiceID)
	}
	if amountCents > inv.AmountPaid {
		return fmt.Errorf("stripe: refund of %s exceeds the %s paid", billing.FormatCents(amountCents), billing.FormatCents(inv.AmountPaid))
	}
	params := &stripe.RefundParams{PaymentIntent: stripe.String(inv.PaymentIntent.ID), Amount: stripe.Int64(amountCents)}
	params.Context = ctx
	_, err = p.api.Refunds.New(params)
	return wrap(err)
}

// RetryInvoice pays an open invoice now with the customer's default
// payment method. A card error is an unpaid outcome, not an error.
func (p *Provider) RetryInvoice(ctx context.Context, _ string, invoiceID string) (bool, error) {
	params := &stripe.InvoicePayParams{}
	params.Context = ctx
	inv, err := p.api.Invoices.Pay(invoiceID, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && (se.Type == stripe.ErrorTypeCard || se.Code == stripe.ErrorCodeInvoicePaymentIntentRequiresAction) {
			return false, nil
		}
		if errors.As(err, &se) && se.Code == stripe.ErrorCodeInvoiceNotEditable {
			return false, nil
		}
		return false, wrap(err)
	}
	return inv.Status == stripe.InvoiceStatusPaid, nil
}

// wrap maps transport failures and 5xx answers to billing.ErrUnavailable
// (a provider outage is retried, never a plan change).
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) {
		if se.HTTPStatusCode >= 500 || se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == 0 {
			return fmt.Errorf("%w: stripe %d %s", billing.ErrUnavailable, se.HTTPStatusCode, se.Code)
		}
		return fmt.Errorf("stripe: %s (%s)", se.Msg, se.Code)
	}
	return fmt.Errorf("%w: %v", billing.ErrUnavailable, err)
}

// ParseWebhook verifies the Stripe-Signature header (HMAC-SHA256 with the
// endpoint secret, timestamp within Tolerance) and normalizes the event.
func (p *Provider) ParseWebhook(payload []byte, header http.Header, now time.Time) (billing.Event, error) {
	sig := header.Get("Stripe-Signature")
	if sig == "" {
		return billing.Event{}, billing.ErrBadSignature
	}
	// stripe-go checks the timestamp against the wall clock; the tolerance
	// is applied here against now as well, so tests can pin the time.
	ev, err := webhook.ConstructEventWithOptions(payload, sig, p.cfg.WebhookSecret,
		webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true})
	if err != nil {
		return billing.Event{}, billing.ErrBadSignature
	}
	if err := checkTimestamp(sig, now); err != nil {
		return billing.Event{}, err
	}
	return p.normalize(ev)
}

func (p *Provider) tierOf(priceID string) (billing.Tier, error) {
	t, ok := p.prices.TierOf(priceID)
	if !ok {
		return "", fmt.Errorf("%w %q", billing.ErrUnknownPrice, priceID)
	}
	return t, nil
}

func (p *Provider) normalize(ev stripe.Event) (billing.Event, error) {
	out := billing.Event{Provider: "stripe", ID: ev.ID, RawType: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC()}
	if ev.Data == nil {
		return out, fmt.Errorf("stripe: event %s has no data", ev.ID)
	}
	raw := ev.Data.Raw
	switch ev.Type {
	case "checkout.session.completed":
		var s stripe.CheckoutSession
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, err
		}
		out.Type = billing.EventCheckoutCompleted
		out.UserID = s.ClientReferenceID
		if s.Customer != nil {
			out.CustomerID = s.Customer.ID
		}
		if s.Subscription != nil {
			out.SubscriptionID = s.Subscription.ID
		}
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var s stripe.Subscription
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, err
		}
		out.Type = billing.EventSubscriptionUpdated
		if ev.Type == "customer.subscription.deleted" {
			out.Type = billing.EventSubscriptionDeleted
		}
		out.SubscriptionID = s.ID
		out.UserID = s.Metadata["user_id"]
		if s.Customer != nil {
			out.CustomerID = s.Customer.ID
		}
		out.Status = string(s.Status)
		out.CancelAtPeriodEnd = s.CancelAtPeriodEnd
		out.CurrentPeriodStart = time.Unix(s.CurrentPeriodStart, 0).UTC()
		out.CurrentPeriodEnd = time.Unix(s.CurrentPeriodEnd, 0).UTC()
		if s.Items != nil && len(s.Items.Data) > 0 && s.Items.Data[0].Price != nil {
			out.PriceID = s.Items.Data[0].Price.ID
			t, err := p.tierOf(out.PriceID)
			if err != nil {
				return out, err
			}
			out.Tier = t
		}
	case "invoice.paid", "invoice.payment_failed", "invoice.upcoming":
		var in stripe.Invoice
		if err := json.Unmarshal(raw, &in); err != nil {
			return out, err
		}
		out.Type = billing.EventInvoicePaid
		out.AmountCents = in.AmountPaid
		if ev.Type == "invoice.payment_failed" {
			out.Type = billing.EventPaymentFailed
			out.AmountCents = in.AmountDue
		}
		if ev.Type == "invoice.upcoming" {
			out.Type = billing.EventRenewalUpcoming
			out.AmountCents = in.AmountDue
			out.CurrentPeriodEnd = time.Unix(in.PeriodEnd, 0).UTC() // the renewal date
		}
		out.InvoiceID = in.ID
		out.Currency = string(in.Currency)
		out.BillingReason = string(in.BillingReason)
		if in.Customer != nil {
			out.CustomerID = in.Customer.ID
		}
		if in.Subscription != nil {
			out.SubscriptionID = in.Subscription.ID
		}
		// The subscription's metadata (user_id, set at checkout) is copied
		// onto its invoices: an invoice event names the trader even when
		// it arrives before the subscription's own events.
		if in.SubscriptionDetails != nil {
			out.UserID = in.SubscriptionDetails.Metadata["user_id"]
		}
		if in.Lines != nil {
			for _, l := range in.Lines.Data {
				if l.Proration {
					out.Proration = true
				}
				if l.Price != nil && !l.Proration && out.PriceID == "" {
					out.PriceID = l.Price.ID
				}
			}
		}
		if out.PriceID != "" {
			t, err := p.tierOf(out.PriceID)
			if err != nil {
				return out, err
			}
			out.Tier = t
		}
	case "charge.refunded":
		var c stripe.Charge
		if err := json.Unmarshal(raw, &c); err != nil {
			return out, err
		}
		out.Type = billing.EventChargeRefunded
		out.AmountCents = c.AmountRefunded
		out.Currency = string(c.Currency)
		if c.Customer != nil {
			out.CustomerID = c.Customer.ID
		}
		if c.Invoice != nil {
			out.InvoiceID = c.Invoice.ID
		}
	default:
		return out, billing.ErrIgnoredEvent
	}
	return out, nil
}
