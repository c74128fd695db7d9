package api

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/ledger"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/workflows"
)

// Billing (Settings → Billing, SPEC US-012). Provider is nil when
// BILLING_PROVIDER=none: the view still answers (everyone on Free) and
// every change is refused with billingDisabled. Provider calls happen here
// because they are the trader's own synchronous steps (a hosted page's
// URL, a preview); their outcome reaches the database only through the
// provider's signed webhook, processed by BillingEventWorkflow.
type Billing struct {
	Provider billing.Provider
	// WebhookTolerance is checked by the provider; Now pins the clock in
	// tests.
	Now func() time.Time
}

var (
	errBillingDisabled = &Error{Status: http.StatusConflict, Code: "billing_disabled",
		Message: "Subscriptions are not enabled on this server: every account is on the Free plan (paper trading)."}
	errBillingUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "billing_unavailable",
		Message: "Billing is temporarily unavailable. Your plan has not changed; please retry in a few minutes."}
	errNoSubscription = &Error{Status: http.StatusConflict, Code: "no_subscription",
		Message: "You have no paid subscription. Choose a plan to subscribe."}
	errBadWebhookSignature = &Error{Status: http.StatusBadRequest, Code: "invalid_signature",
		Message: "The webhook signature is missing, invalid or too old."}
	errUnknownPrice = &Error{Status: http.StatusBadRequest, Code: "unknown_price",
		Message: "The event names a price that is not one of this server's plans."}
)

// planLimit answers a refusal by the trader's plan (FR-069): 403 with the
// sentence naming the plan and the upgrade path.
func planLimit(le *billing.LimitError) *Error {
	return &Error{Status: http.StatusForbidden, Code: "plan_limit", Message: le.Message()}
}

func (s *Server) billingRoutes(r *gin.Engine, v1 apiRoutes) {
	if s.Billing == nil {
		s.Billing = &Billing{}
	}
	if p := s.Billing.Provider; p != nil {
		r.POST("/webhooks/"+p.Name(), s.billingWebhook)
	}
	v1.GET("/billing", allow(trader), s.billingAccount)
	v1.POST("/billing/checkout", allow(trader), s.billingCheckout)
	v1.POST("/billing/portal", allow(trader), s.billingPortal)
	v1.GET("/billing/preview", allow(trader), s.billingPreview)
	v1.POST("/billing/change", allow(trader), s.billingChange)
	v1.POST("/billing/cancel", allow(trader), s.billingCancel)
	v1.GET("/billing/invoices", allow(trader), s.billingInvoices)
	v1.POST("/admin/billing/refunds", allow(admin), s.billingRefund)
}

func (s *Server) billingNow() time.Time {
	if s.Billing != nil && s.Billing.Now != nil {
		return s.Billing.Now()
	}
	return time.Now()
}

type planView struct {
	Plan        billing.Tier `json:"plan"`
	Name        string       `json:"name"`
	PriceCents  int64        `json:"priceCents"`
	Price       string       `json:"price"`
	LiveBrokers int          `json:"liveBrokers"`
	Analytics   bool         `json:"analytics"`
}

// billingAccount: GET /api/v1/billing — plan, usage against its limits,
// the catalogue, and whether subscriptions are enabled.
func (s *Server) billingAccount(c *gin.Context) {
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	var plans []planView
	for _, p := range billing.Plans() {
		plans = append(plans, planView{Plan: p.Tier, Name: p.Name, PriceCents: p.PriceCents, Price: billing.FormatCents(p.PriceCents),
			LiveBrokers: p.LiveBrokers, Analytics: p.Analytics})
	}
	provider := ""
	if s.Billing.Provider != nil {
		provider = s.Billing.Provider.Name()
	}
	c.JSON(http.StatusOK, gin.H{"account": a, "plans": plans, "provider": provider, "enabled": provider != ""})
}

type planRequest struct {
	Plan string `json:"plan"`
}

func (s *Server) paidTier(c *gin.Context, raw string) (billing.Tier, bool) {
	t, err := billing.ParseTier(raw)
	if err != nil || t == billing.Free {
		s.fail(c, badRequest("plan", "plan must be basic, pro or premium."))
		return "", false
	}
	return t, true
}

func (s *Server) billingProvider(c *gin.Context) (billing.Provider, bool) {
	if s.Billing.Provider == nil {
		s.fail(c, errBillingDisabled)
		return nil, false
	}
	return s.Billing.Provider, true
}

func (s *Server) billingFail(c *gin.Context, err error) {
	switch {
	case errors.Is(err, billing.ErrUnavailable):
		s.log(c).Warn("billing provider unavailable", zap.Error(err))
		s.fail(c, errBillingUnavailable)
	case errors.Is(err, billing.ErrUnknownPrice):
		s.fail(c, badRequest("plan", "That plan is not offered on this server."))
	default:
		s.log(c).Error("billing provider call failed", zap.Error(err))
		s.fail(c, errBillingUnavailable)
	}
}

// billingCheckout: POST /api/v1/billing/checkout {"plan":"pro"} — the
// provider's hosted payment page for a new subscription.
func (s *Server) billingCheckout(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	var req planRequest
	if !s.bindJSON(c, &req) {
		return
	}
	tier, ok := s.paidTier(c, req.Plan)
	if !ok {
		return
	}
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	if a.SubscriptionID != "" && a.Tier != billing.Free && a.Provider == p.Name() {
		s.fail(c, &Error{Status: http.StatusConflict, Code: "already_subscribed",
			Message: "You already have the " + a.PlanName + " plan. Use Change plan to upgrade or downgrade."})
		return
	}
	email := ""
	if u, err := s.Auth.User(c.Request.Context(), c.GetString(ctxUserID)); err == nil {
		email = u.Email
	}
	customer := ""
	if a.Provider == p.Name() {
		customer = a.CustomerID // a provider switch starts a new customer at the new provider
	}
	url, err := p.Checkout(c.Request.Context(), billing.CheckoutRequest{UserID: c.GetString(ctxUserID), Email: email, CustomerID: customer,
		Tier: tier, SuccessURL: s.PublicURL + "/dashboard#/billing?checkout=done", CancelURL: s.PublicURL + "/dashboard#/billing"})
	if err != nil {
		s.billingFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": url})
}

// billingPortal: POST /api/v1/billing/portal — the provider's page for card
// changes and cancellation.
func (s *Server) billingPortal(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	if a.CustomerID == "" || a.Provider != p.Name() {
		s.fail(c, errNoSubscription)
		return
	}
	url, err := p.PortalURL(c.Request.Context(), a.CustomerID, s.PublicURL+"/dashboard#/billing")
	if err != nil {
		s.billingFail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": url})
}

func (s *Server) subscribedAccount(c *gin.Context, p billing.Provider) (ledger.Account, bool) {
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return a, false
	}
	if a.SubscriptionID == "" || a.Provider != p.Name() || a.Tier == billing.Free {
		s.fail(c, errNoSubscription)
		return a, false
	}
	return a, true
}

// billingPreview: GET /api/v1/billing/preview?plan=premium — what a change
// costs now, shown before the trader confirms.
func (s *Server) billingPreview(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	tier, ok := s.paidTier(c, c.Query("plan"))
	if !ok {
		return
	}
	a, ok := s.subscribedAccount(c, p)
	if !ok {
		return
	}
	if tier == a.Tier {
		s.fail(c, badRequest("plan", "You already have the "+a.PlanName+" plan."))
		return
	}
	cents, err := p.PreviewChange(c.Request.Context(), a.SubscriptionID, tier)
	if err != nil {
		s.billingFail(c, err)
		return
	}
	to := billing.PlanFor(tier)
	body := gin.H{"plan": tier, "chargeCents": cents, "charge": billing.FormatCents(cents)}
	if tier.Rank() > a.Tier.Rank() {
		body["effective"] = "now"
		body["message"] = "Upgrade to " + to.Name + " now: " + billing.FormatCents(cents) + " charged today (prorated)."
	} else {
		body["effective"] = "renewal"
		when := "your renewal date"
		if a.RenewalDate != nil {
			when = a.RenewalDate.Format("January 2, 2006")
		}
		body["message"] = "Downgrade to " + to.Name + " on " + when + "; you keep " + a.PlanName + " until then. Nothing is charged today."
	}
	c.JSON(http.StatusOK, body)
}

// billingChange: POST /api/v1/billing/change {"plan":"premium"}.
func (s *Server) billingChange(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	var req planRequest
	if !s.bindJSON(c, &req) {
		return
	}
	tier, ok := s.paidTier(c, req.Plan)
	if !ok {
		return
	}
	a, ok := s.subscribedAccount(c, p)
	if !ok {
		return
	}
	if tier == a.Tier {
		s.fail(c, badRequest("plan", "You already have the "+a.PlanName+" plan."))
		return
	}
	if err := p.ChangePlan(c.Request.Context(), a.SubscriptionID, tier); err != nil {
		s.billingFail(c, err)
		return
	}
	msg := "Upgrade to " + billing.PlanFor(tier).Name + " requested; it applies as soon as the payment is confirmed."
	if tier.Rank() < a.Tier.Rank() {
		msg = "Downgrade to " + billing.PlanFor(tier).Name + " scheduled for your renewal date; you keep " + a.PlanName + " until then."
	}
	c.JSON(http.StatusAccepted, gin.H{"message": msg})
}

// billingCancel: POST /api/v1/billing/cancel — at the end of the period
// (SPEC US-012 #5).
func (s *Server) billingCancel(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	a, ok := s.subscribedAccount(c, p)
	if !ok {
		return
	}
	end, err := p.CancelAtPeriodEnd(c.Request.Context(), a.SubscriptionID)
	if err != nil {
		s.billingFail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": a.PlanName + " access until " + end.UTC().Format("January 2, 2006") + ".", "accessUntil": end.UTC()})
}

// billingInvoices: GET /api/v1/billing/invoices.
func (s *Server) billingInvoices(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, c.GetString(ctxUserID))
	if err != nil {
		s.fail(c, err)
		return
	}
	if a.CustomerID == "" || a.Provider != p.Name() {
		c.JSON(http.StatusOK, gin.H{"invoices": []billing.Invoice{}})
		return
	}
	inv, err := p.Invoices(c.Request.Context(), a.CustomerID)
	if err != nil {
		s.billingFail(c, err)
		return
	}
	if inv == nil {
		inv = []billing.Invoice{}
	}
	c.JSON(http.StatusOK, gin.H{"invoices": inv})
}

type refundRequest struct {
	UserID      string `json:"userId"`
	InvoiceID   string `json:"invoiceId"`
	AmountCents int64  `json:"amountCents"`
	Reason      string `json:"reason"`
}

// billingRefund: POST /api/v1/admin/billing/refunds (FR-068, admins only,
// audited on the trader's chain with the admin's id). The refund's effect
// arrives as the provider's charge.refunded event.
func (s *Server) billingRefund(c *gin.Context) {
	p, ok := s.billingProvider(c)
	if !ok {
		return
	}
	var req refundRequest
	if !s.bindJSON(c, &req) {
		return
	}
	switch {
	case req.UserID == "" || len(req.UserID) > 36:
		s.fail(c, badRequest("userId", "userId is required."))
		return
	case req.InvoiceID == "" || len(req.InvoiceID) > 100:
		s.fail(c, badRequest("invoiceId", "invoiceId is required."))
		return
	case req.AmountCents <= 0 || req.AmountCents > 10_000_000:
		s.fail(c, badRequest("amountCents", "amountCents must be a positive amount in cents."))
		return
	case len(req.Reason) > 300:
		s.fail(c, badRequest("reason", "reason must have at most 300 characters."))
		return
	}
	a, err := ledger.AccountOf(c.Request.Context(), s.DB, req.UserID)
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && (a.CustomerID == "" || a.Provider != p.Name())) {
		s.fail(c, errNotFound)
		return
	} else if err != nil {
		s.fail(c, err)
		return
	}
	// The invoice must be this trader's: the refund is checked against
	// the customer's own invoices.
	inv, err := p.Invoices(c.Request.Context(), a.CustomerID)
	if err != nil {
		s.billingFail(c, err)
		return
	}
	found := false
	for _, i := range inv {
		if i.ID == req.InvoiceID {
			found = true
		}
	}
	if !found {
		s.fail(c, errNotFound)
		return
	}
	if err := p.Refund(c.Request.Context(), req.InvoiceID, req.AmountCents); err != nil {
		if errors.Is(err, billing.ErrUnavailable) {
			s.billingFail(c, err)
			return
		}
		s.fail(c, badRequest("amountCents", "The provider refused the refund: check the amount against what was paid."))
		return
	}
	cl := s.client(c)
	if err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: req.UserID, Action: "SUBSCRIPTION_REFUND_ISSUED", ResourceType: "invoice",
			ResourceID: req.InvoiceID, IPAddress: cl.IP, UserAgent: cl.UserAgent, Status: audit.StatusSuccess,
			Details: map[string]any{"amountCents": req.AmountCents, "adminId": c.GetString(ctxUserID), "reason": req.Reason}})
		return err
	}); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": "Refund of " + billing.FormatCents(req.AmountCents) + " issued."})
}

// billingWebhook: POST /webhooks/{stripe|polar}. Verified, then stored once
// per event id and processed by its own workflow; answered 200 only when
// the event is durably recorded and its workflow started (else 503, and the
// provider redelivers). Bad signatures are answered 400 and audited.
func (s *Server) billingWebhook(c *gin.Context) {
	p := s.Billing.Provider
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
	if err != nil {
		s.fail(c, errTooLarge)
		return
	}
	ev, err := p.ParseWebhook(body, c.Request.Header, s.billingNow())
	switch {
	case errors.Is(err, billing.ErrIgnoredEvent):
		c.JSON(http.StatusOK, gin.H{"received": true, "ignored": true})
		return
	case errors.Is(err, billing.ErrBadSignature), errors.Is(err, billing.ErrUnknownPrice):
		reason := "invalid or stale signature"
		ae := errBadWebhookSignature
		if errors.Is(err, billing.ErrUnknownPrice) {
			reason, ae = "unknown price id", errUnknownPrice
		}
		s.auditWebhookRejection(c, p.Name(), reason)
		s.fail(c, ae)
		return
	case err != nil:
		s.log(c).Warn("billing webhook not understood", zap.String("provider", p.Name()), zap.Error(err))
		s.auditWebhookRejection(c, p.Name(), "malformed event")
		s.fail(c, badRequest("", "The event could not be read."))
		return
	}
	ctx := c.Request.Context()
	row, processed, err := ledger.Record(ctx, s.DB, ev, s.billingNow())
	if err != nil {
		s.log(c).Error("billing webhook not recorded", zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	if processed {
		c.JSON(http.StatusOK, gin.H{"received": true, "duplicate": true})
		return
	}
	_, err = s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflows.BillingEventWorkflowID(ev.Provider, ev.ID),
		TaskQueue: s.TaskQueue,
		// A failed run (never expected: activities retry for a day) may be
		// run again by the provider's redelivery; a completed one never.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		Memo:                  map[string]any{"event": ev.RawType},
	}, workflows.BillingEventWorkflowName, workflows.BillingEventInput{EventRowID: row.ID, Provider: ev.Provider, EventID: ev.ID})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		s.log(c).Warn("billing event workflow not started; the provider will redeliver", zap.String("event", ev.ID), zap.Error(err))
		s.fail(c, errUnavailable)
		return
	}
	c.JSON(http.StatusOK, gin.H{"received": true})
}

func (s *Server) auditWebhookRejection(c *gin.Context, provider, reason string) {
	cl := s.client(c)
	err := store.InTx(c.Request.Context(), s.DB, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: ledger.ActionBillingWebhookRejected,
			ResourceType: "billing_webhook", ResourceID: provider, IPAddress: cl.IP, UserAgent: cl.UserAgent, Status: audit.StatusFailure,
			ErrorMessage: reason})
		return err
	})
	if err != nil {
		s.log(c).Error("audit of a rejected billing webhook failed", zap.Error(err))
	}
}
