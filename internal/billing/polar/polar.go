// Package polar is the Polar billing provider: a thin client of Polar's
// REST API (no maintained Go SDK is served: github.com/polarsource/polar-go
// is refused by the module proxy) and its Standard Webhooks signatures.
// Wire types follow Polar's OpenAPI (docs/openapi/2026-04.openapi.json in
// polarsource/polar).
package polar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/billing"
)

// DefaultAPIBase is Polar's production API; the sandbox is
// https://sandbox-api.polar.sh.
const DefaultAPIBase = "https://api.polar.sh"

// Config configures the provider.
type Config struct {
	AccessToken   string // organization access token; never logged
	WebhookSecret string
	// Products maps tiers to Polar product ids.
	Products   billing.PriceMap
	APIBase    string
	HTTPClient *http.Client
	Now        func() time.Time // tests pin the clock of the preview
}

// Provider is the Polar implementation of billing.Provider.
type Provider struct {
	cfg  Config
	base string
	http *http.Client
}

// New builds the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.AccessToken == "" || cfg.WebhookSecret == "" {
		return nil, errors.New("polar: access token and webhook secret are required")
	}
	for _, t := range []billing.Tier{billing.Basic, billing.Pro, billing.Premium} {
		if cfg.Products[t] == "" {
			return nil, fmt.Errorf("polar: no product id configured for the %s plan", t)
		}
	}
	p := &Provider{cfg: cfg, base: strings.TrimRight(cfg.APIBase, "/"), http: cfg.HTTPClient}
	if p.base == "" {
		p.base = DefaultAPIBase
	}
	if p.http == nil {
		p.http = &http.Client{Timeout: 30 * time.Second}
	}
	return p, nil
}

// Name implements billing.Provider.
func (p *Provider) Name() string { return "polar" }

func (p *Provider) now() time.Time {
	if p.cfg.Now != nil {
		return p.cfg.Now()
	}
	return time.Now()
}

// apiError is Polar's error body ({"error": "...", "detail": ...}).
type apiError struct {
	Error  string          `json:"error"`
	Detail json.RawMessage `json:"detail"`
}

func (p *Provider) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.AccessToken)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: polar %s %s: %v", billing.ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return fmt.Errorf("%w: polar %s %s: %d", billing.ErrUnavailable, method, path, resp.StatusCode)
	}
	if resp.StatusCode >= 300 {
		var e apiError
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("polar: %s %s: %d %s", method, path, resp.StatusCode, e.Error)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("polar: %s %s: decode: %w", method, path, err)
	}
	return nil
}

// Wire types (Polar's names).
type checkoutCreate struct {
	Products           []string          `json:"products"`
	SuccessURL         string            `json:"success_url,omitempty"`
	ReturnURL          string            `json:"return_url,omitempty"`
	CustomerEmail      string            `json:"customer_email,omitempty"`
	CustomerID         string            `json:"customer_id,omitempty"`
	ExternalCustomerID string            `json:"external_customer_id,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
}

type checkout struct {
	ID                 string `json:"id"`
	URL                string `json:"url"`
	Status             string `json:"status"`
	CustomerID         string `json:"customer_id"`
	ExternalCustomerID string `json:"external_customer_id"`
	SubscriptionID     string `json:"subscription_id"`
}

type customerSession struct {
	CustomerPortalURL string `json:"customer_portal_url"`
}

type customerRef struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
}

type subscription struct {
	ID                 string         `json:"id"`
	Status             string         `json:"status"`
	Amount             int64          `json:"amount"`
	Currency           string         `json:"currency"`
	CurrentPeriodStart time.Time      `json:"current_period_start"`
	CurrentPeriodEnd   time.Time      `json:"current_period_end"`
	CancelAtPeriodEnd  bool           `json:"cancel_at_period_end"`
	CustomerID         string         `json:"customer_id"`
	ProductID          string         `json:"product_id"`
	Metadata           map[string]any `json:"metadata"`
	Customer           customerRef    `json:"customer"`
}

type order struct {
	ID             string      `json:"id"`
	CreatedAt      time.Time   `json:"created_at"`
	Status         string      `json:"status"`
	Paid           bool        `json:"paid"`
	TotalAmount    int64       `json:"total_amount"`
	RefundedAmount int64       `json:"refunded_amount"`
	Currency       string      `json:"currency"`
	BillingReason  string      `json:"billing_reason"`
	InvoiceNumber  *string     `json:"invoice_number"`
	CustomerID     string      `json:"customer_id"`
	ProductID      *string     `json:"product_id"`
	SubscriptionID *string     `json:"subscription_id"`
	Customer       customerRef `json:"customer"`
	Description    string      `json:"description"`
}

type orderList struct {
	Items []order `json:"items"`
}

// Checkout implements billing.Provider: the trader's user id is the
// customer's external id, so every later event names the trader.
func (p *Provider) Checkout(ctx context.Context, req billing.CheckoutRequest) (string, error) {
	product, ok := p.cfg.Products[req.Tier]
	if !ok || product == "" {
		return "", billing.ErrUnknownPrice
	}
	in := checkoutCreate{Products: []string{product}, SuccessURL: req.SuccessURL, ReturnURL: req.CancelURL,
		Metadata: map[string]string{"user_id": req.UserID}}
	if req.CustomerID != "" {
		in.CustomerID = req.CustomerID
	} else {
		in.ExternalCustomerID = req.UserID
		in.CustomerEmail = req.Email
	}
	var out checkout
	if err := p.call(ctx, http.MethodPost, "/v1/checkouts/", in, &out); err != nil {
		return "", err
	}
	return out.URL, nil
}

// PortalURL creates a customer session and returns its portal URL.
func (p *Provider) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	var out customerSession
	if err := p.call(ctx, http.MethodPost, "/v1/customer-sessions/", map[string]string{"customer_id": customerID, "return_url": returnURL}, &out); err != nil {
		return "", err
	}
	return out.CustomerPortalURL, nil
}

func (p *Provider) subscription(ctx context.Context, id string) (subscription, error) {
	var s subscription
	err := p.call(ctx, http.MethodGet, "/v1/subscriptions/"+url.PathEscape(id), nil, &s)
	return s, err
}

// PreviewChange: Polar has no preview endpoint; the amount shown is FR-063's
// (new price − old price × days remaining / 30). Polar's own proration with
// proration_behavior=invoice is by time too and may differ by cents.
func (p *Provider) PreviewChange(ctx context.Context, subscriptionID string, to billing.Tier) (int64, error) {
	if p.cfg.Products[to] == "" {
		return 0, billing.ErrUnknownPrice
	}
	s, err := p.subscription(ctx, subscriptionID)
	if err != nil {
		return 0, err
	}
	from, _ := p.cfg.Products.TierOf(s.ProductID)
	if to.Rank() <= from.Rank() {
		return 0, nil
	}
	pr, err := billing.ProrateUpgrade(from, to, billing.DaysRemaining(p.now(), s.CurrentPeriodEnd))
	if err != nil {
		return 0, err
	}
	return pr.ChargeCents, nil
}

// ChangePlan: an upgrade with proration_behavior=invoice (charged now), a
// downgrade with next_period (applies at renewal, FR-064).
func (p *Provider) ChangePlan(ctx context.Context, subscriptionID string, to billing.Tier) error {
	product := p.cfg.Products[to]
	if product == "" {
		return billing.ErrUnknownPrice
	}
	s, err := p.subscription(ctx, subscriptionID)
	if err != nil {
		return err
	}
	from, _ := p.cfg.Products.TierOf(s.ProductID)
	behaviour := "next_period"
	if to.Rank() > from.Rank() {
		behaviour = "invoice"
	}
	return p.call(ctx, http.MethodPatch, "/v1/subscriptions/"+url.PathEscape(subscriptionID),
		map[string]string{"product_id": product, "proration_behavior": behaviour}, nil)
}

// CancelAtPeriodEnd implements billing.Provider.
func (p *Provider) CancelAtPeriodEnd(ctx context.Context, subscriptionID string) (time.Time, error) {
	var s subscription
	if err := p.call(ctx, http.MethodPatch, "/v1/subscriptions/"+url.PathEscape(subscriptionID),
		map[string]bool{"cancel_at_period_end": true}, &s); err != nil {
		return time.Time{}, err
	}
	return s.CurrentPeriodEnd.UTC(), nil
}

// CancelNow revokes the subscription at once.
func (p *Provider) CancelNow(ctx context.Context, subscriptionID string) error {
	return p.call(ctx, http.MethodDelete, "/v1/subscriptions/"+url.PathEscape(subscriptionID), nil, nil)
}

// Invoices lists the customer's orders (Polar's invoices), newest first.
func (p *Provider) Invoices(ctx context.Context, customerID string) ([]billing.Invoice, error) {
	q := url.Values{"customer_id": {customerID}, "limit": {"24"}, "sorting": {"-created_at"}}
	var out orderList
	if err := p.call(ctx, http.MethodGet, "/v1/orders/?"+q.Encode(), nil, &out); err != nil {
		return nil, err
	}
	inv := make([]billing.Invoice, 0, len(out.Items))
	for _, o := range out.Items {
		i := billing.Invoice{ID: o.ID, Status: o.Status, AmountCents: o.TotalAmount, Currency: o.Currency, Created: o.CreatedAt.UTC(),
			Lines: []billing.Line{{Description: o.Description, AmountCents: o.TotalAmount, Proration: o.BillingReason == "subscription_update"}}}
		if o.Paid {
			i.PaidCents = o.TotalAmount - o.RefundedAmount
		}
		if o.InvoiceNumber != nil {
			i.Number = *o.InvoiceNumber
		}
		inv = append(inv, i)
	}
	return inv, nil
}

// Refund refunds part or all of an order.
func (p *Provider) Refund(ctx context.Context, invoiceID string, amountCents int64) error {
	if amountCents <= 0 {
		return fmt.Errorf("polar: refund amount must be positive")
	}
	return p.call(ctx, http.MethodPost, "/v1/refunds/", map[string]any{"order_id": invoiceID, "reason": "customer_request", "amount": amountCents}, nil)
}

// RetryInvoice: Polar retries a failed renewal by itself and has no
// endpoint to charge now; the retry asks whether the subscription is paid
// up again (active), which is what dunning needs to know.
func (p *Provider) RetryInvoice(ctx context.Context, subscriptionID, _ string) (bool, error) {
	s, err := p.subscription(ctx, subscriptionID)
	if err != nil {
		return false, err
	}
	return s.Status == "active" || s.Status == "trialing", nil
}
