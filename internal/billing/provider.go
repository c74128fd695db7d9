package billing

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Provider is a billing provider (FR-061): Stripe or Polar behind one
// interface, chosen by BILLING_PROVIDER. Amounts are integer minor units.
type Provider interface {
	// Name is "stripe" or "polar".
	Name() string
	// Checkout starts a subscription to tier and returns the URL of the
	// provider's hosted payment page.
	Checkout(ctx context.Context, req CheckoutRequest) (url string, err error)
	// PortalURL is the provider's hosted page where the customer changes
	// the card or cancels.
	PortalURL(ctx context.Context, customerID, returnURL string) (string, error)
	// PreviewChange is what changing subscriptionID to tier costs now
	// (cents; 0 for a downgrade, which takes effect at renewal).
	PreviewChange(ctx context.Context, subscriptionID string, to Tier) (int64, error)
	// ChangePlan moves subscriptionID to tier: an upgrade at once with a
	// prorated charge, a downgrade at the end of the period (FR-063/064).
	ChangePlan(ctx context.Context, subscriptionID string, to Tier) error
	// CancelAtPeriodEnd schedules the cancellation (SPEC US-012 #5) and
	// returns the end of the paid period.
	CancelAtPeriodEnd(ctx context.Context, subscriptionID string) (time.Time, error)
	// CancelNow ends a subscription at once (after dunning gives up).
	CancelNow(ctx context.Context, subscriptionID string) error
	// Invoices lists the customer's invoices, newest first.
	Invoices(ctx context.Context, customerID string) ([]Invoice, error)
	// Refund refunds amountCents of an invoice (admins only, FR-068).
	Refund(ctx context.Context, invoiceID string, amountCents int64) error
	// RetryInvoice tries to collect the subscription's unpaid invoice now
	// (Stripe: pays the invoice; Polar, which retries by itself: reports
	// whether the subscription is paid up again); paid reports the outcome
	// (a declined card is paid=false, err=nil).
	RetryInvoice(ctx context.Context, subscriptionID, invoiceID string) (paid bool, err error)
	// ParseWebhook verifies a webhook delivery's signature (with a
	// tolerance on its timestamp) and returns the normalized event.
	ParseWebhook(payload []byte, header http.Header, now time.Time) (Event, error)
}

// CheckoutRequest asks for a hosted checkout page.
type CheckoutRequest struct {
	UserID     string
	Email      string
	CustomerID string // the existing customer at this provider, if any
	Tier       Tier
	SuccessURL string
	CancelURL  string
}

// Invoice is one invoice as the Billing view lists it (FR-066).
type Invoice struct {
	ID          string    `json:"id"`
	Number      string    `json:"number"`
	Status      string    `json:"status"` // draft | open | paid | void | uncollectible
	AmountCents int64     `json:"amountCents"`
	PaidCents   int64     `json:"paidCents"`
	Currency    string    `json:"currency"`
	Created     time.Time `json:"created"`
	URL         string    `json:"url"` // the provider's hosted invoice page
	Lines       []Line    `json:"lines"`
}

// Line is one line of an invoice: a charge or a prorated credit (negative).
type Line struct {
	Description string `json:"description"`
	AmountCents int64  `json:"amountCents"`
	Proration   bool   `json:"proration"`
}

// Event types, normalized across providers (FR-070 and what keeps the
// subscription row true).
const (
	EventCheckoutCompleted   = "checkout.completed"
	EventSubscriptionUpdated = "subscription.updated" // created or changed
	EventSubscriptionDeleted = "subscription.deleted"
	EventInvoicePaid         = "invoice.paid"
	EventPaymentFailed       = "invoice.payment_failed"
	EventChargeRefunded      = "charge.refunded"
	// EventRenewalUpcoming: a renewal in a few days (FR-067; Stripe's
	// invoice.upcoming, sent 3 days ahead by default).
	EventRenewalUpcoming = "invoice.upcoming"
)

// Event is a verified provider event, reduced to what tradeexec uses. It is
// stored (billing_events.payload) and is safe to put in a workflow history:
// no card data, no secret.
type Event struct {
	Provider string    `json:"provider"`
	ID       string    `json:"id"`      // the provider's event id (idempotency key)
	Type     string    `json:"type"`    // one of the Event* constants
	RawType  string    `json:"rawType"` // the provider's own name
	Created  time.Time `json:"created"`

	UserID         string `json:"userId,omitempty"` // from client_reference_id / metadata
	CustomerID     string `json:"customerId,omitempty"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
	InvoiceID      string `json:"invoiceId,omitempty"`
	// PriceID and Tier: the subscription's plan (Tier empty when the price
	// is not one of the configured plans — such an event is refused).
	PriceID            string    `json:"priceId,omitempty"`
	Tier               Tier      `json:"tier,omitempty"`
	Status             string    `json:"status,omitempty"` // subscription status at the provider
	CancelAtPeriodEnd  bool      `json:"cancelAtPeriodEnd,omitempty"`
	CurrentPeriodStart time.Time `json:"currentPeriodStart,omitzero"`
	CurrentPeriodEnd   time.Time `json:"currentPeriodEnd,omitzero"`
	AmountCents        int64     `json:"amountCents,omitempty"`
	Currency           string    `json:"currency,omitempty"`
	BillingReason      string    `json:"billingReason,omitempty"`
	Proration          bool      `json:"proration,omitempty"` // the invoice holds prorated lines
}

// Errors a provider returns.
var (
	// ErrBadSignature: the webhook is unsigned, wrongly signed or outside
	// the timestamp tolerance.
	ErrBadSignature = errors.New("billing: webhook signature invalid or stale")
	// ErrUnknownPrice: a price/product id that is not one of the plans.
	ErrUnknownPrice = errors.New("billing: unknown price")
	// ErrIgnoredEvent: a well-signed event of a type tradeexec does not use.
	ErrIgnoredEvent = errors.New("billing: event type not used")
	// ErrUnavailable: the provider could not be reached or answered 5xx; a
	// provider outage never changes a trader's plan.
	ErrUnavailable = errors.New("billing: provider unavailable")
)

// PriceMap maps the provider's price ids to tiers, both ways.
type PriceMap map[Tier]string

// TierOf returns the tier of a price id.
func (m PriceMap) TierOf(priceID string) (Tier, bool) {
	for t, id := range m {
		if id != "" && id == priceID {
			return t, true
		}
	}
	return "", false
}
