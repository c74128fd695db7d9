// Package ledger records billing provider events once and applies them to
// subscriptions and users, with their audit entries and dashboard events,
// in one transaction.
package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/experiments"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Audit actions of billing (FR-052).
const (
	ActionSubscriptionCreated         = "SUBSCRIPTION_CREATED"
	ActionSubscriptionChanged         = "SUBSCRIPTION_CHANGED"
	ActionSubscriptionCharged         = "SUBSCRIPTION_CHARGED"
	ActionSubscriptionPaymentFailed   = "SUBSCRIPTION_PAYMENT_FAILED"
	ActionSubscriptionCancelScheduled = "SUBSCRIPTION_CANCEL_SCHEDULED"
	ActionSubscriptionCancelled       = "SUBSCRIPTION_CANCELLED"
	ActionSubscriptionSuspended       = "SUBSCRIPTION_SUSPENDED"
	ActionSubscriptionRefunded        = "SUBSCRIPTION_REFUNDED"
	ActionBillingWebhookRejected      = "BILLING_WEBHOOK_REJECTED"
)

// EventPlanChanged is the outbox event a trader's dashboard receives when
// the plan or its status changes.
const EventPlanChanged = "billing.planChanged"

// Follow-up kinds an applied event asks for.
const (
	FollowMail         = "mail"
	FollowStartDunning = "start_dunning"
	FollowStopDunning  = "stop_dunning"
)

// FollowUp is work that must happen after an event is applied, outside the
// database transaction (mail, dunning).
type FollowUp struct {
	Kind string `json:"kind"`
	// Mail: the template and its fields (all strings, safe for a history).
	MailKind string            `json:"mailKind,omitempty"`
	MailData map[string]string `json:"mailData,omitempty"`
	// Dunning: the subscription and the unpaid invoice.
	SubscriptionID string       `json:"subscriptionId,omitempty"`
	InvoiceID      string       `json:"invoiceId,omitempty"`
	AmountCents    int64        `json:"amountCents,omitempty"`
	Tier           billing.Tier `json:"tier,omitempty"`
}

// Outcome is what applying one event did.
type Outcome struct {
	UserID    string     `json:"userId,omitempty"`
	Note      string     `json:"note"` // for the Temporal UI: "Pro plan charged $99"
	FollowUps []FollowUp `json:"followUps,omitempty"`
}

// Record stores a verified event once (unique on provider + event id) and
// returns its row; processed reports that an earlier delivery was already
// applied, so this one changes nothing.
func Record(ctx context.Context, db *gorm.DB, ev billing.Event, now time.Time) (row schema.BillingEvent, processed bool, err error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return row, false, err
	}
	row = schema.BillingEvent{ID: uuid.NewString(), Provider: ev.Provider, EventID: ev.ID, Type: ev.Type,
		Payload: string(payload), CreatedAt: ev.Created.UTC(), ReceivedAt: now.UTC()}
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		ins := row
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&ins).Error; err != nil {
			return err
		}
		var got schema.BillingEvent // a fresh value: Take would add a non-zero primary key to the condition
		if err := tx.Where("provider = ? AND event_id = ?", ev.Provider, ev.ID).Take(&got).Error; err != nil {
			return err
		}
		row = got
		return nil
	})
	if err != nil {
		return row, false, fmt.Errorf("billing: record event: %w", err)
	}
	return row, row.ProcessedAt != nil, nil
}

// Applier applies stored events to subscriptions and users.
type Applier struct {
	DB        *gorm.DB
	PublicURL string // for links in mails: PublicURL + /dashboard#/billing
	Now       func() time.Time
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

func (a *Applier) billingURL() string { return a.PublicURL + "/dashboard#/billing" }

// ErrUnknownCustomer: an event names no user tradeexec knows. Within
// UnknownCustomerPatience of the event's creation it is an error (retried:
// the event naming the trader may arrive later); after it the event is
// kept as ignored and changes nothing.
var ErrUnknownCustomer = errors.New("billing: event names no known trader")

// UnknownCustomerPatience bounds how long an event for an unknown
// customer is retried.
const UnknownCustomerPatience = 10 * time.Minute

// Apply applies the stored event rowID in one transaction (subscription,
// user plan, audit entry, dashboard event) and returns the follow-ups. It
// is idempotent: a second call returns the outcome stored by the first.
func (a *Applier) Apply(ctx context.Context, rowID string) (Outcome, error) {
	var out Outcome
	err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		var row schema.BillingEvent
		q := tx
		if tx.Dialector.Name() == "postgres" {
			q = tx.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		if err := q.Where("id = ?", rowID).Take(&row).Error; err != nil {
			return fmt.Errorf("billing: event %s: %w", rowID, err)
		}
		if row.ProcessedAt != nil {
			return json.Unmarshal([]byte(row.Outcome), &out)
		}
		var ev billing.Event
		if err := json.Unmarshal([]byte(row.Payload), &ev); err != nil {
			return fmt.Errorf("billing: event %s payload: %w", rowID, err)
		}
		o, err := a.apply(tx, ev)
		if errors.Is(err, ErrUnknownCustomer) && a.now().Sub(ev.Created) < UnknownCustomerPatience {
			// Providers do not promise order: the event that names the
			// trader (checkout, subscription) may still be on its way.
			// The step fails and is retried; after the patience, the event
			// is kept as ignored.
			return err
		} else if errors.Is(err, ErrUnknownCustomer) {
			o = Outcome{Note: "ignored: the event names no known trader"}
		} else if err != nil {
			return err
		}
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		now := a.now()
		if err := tx.Model(&schema.BillingEvent{}).Where("id = ?", rowID).
			Updates(map[string]any{"processed_at": now, "outcome": string(b)}).Error; err != nil {
			return err
		}
		out = o
		return nil
	})
	return out, err
}

// subscriptionFor finds (or, for a checkout, creates) the subscription row
// an event is about: by the provider's subscription id, else by the user
// id the event carries.
func (a *Applier) subscriptionFor(tx *gorm.DB, ev billing.Event) (schema.Subscription, schema.User, error) {
	var sub schema.Subscription
	var user schema.User
	found := false
	if ev.SubscriptionID != "" {
		err := tx.Where("billing_provider = ? AND billing_provider_subscription_id = ?", ev.Provider, ev.SubscriptionID).Take(&sub).Error
		if err == nil {
			found = true
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return sub, user, err
		}
	}
	if !found && ev.CustomerID != "" {
		err := tx.Where("billing_provider = ? AND billing_provider_customer_id = ?", ev.Provider, ev.CustomerID).
			Order("created_at DESC").Take(&sub).Error
		if err == nil {
			found = true
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return sub, user, err
		}
	}
	if !found && ev.UserID != "" {
		err := tx.Where("user_id = ?", ev.UserID).Take(&sub).Error
		if err == nil {
			found = true
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return sub, user, err
		}
	}
	userID := sub.UserID
	if !found {
		userID = ev.UserID
	}
	if userID == "" {
		return sub, user, ErrUnknownCustomer
	}
	// The trader's row is locked first: two events of one new subscriber
	// (checkout and subscription.created arrive together) are applied one
	// after the other, and the second finds the row the first created.
	uq := tx
	if tx.Dialector.Name() == "postgres" {
		uq = tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	if err := uq.Where("id = ?", userID).Take(&user).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return sub, user, ErrUnknownCustomer
		}
		return sub, user, err
	}
	if found {
		// Read again under the lock: a concurrent event may have changed it.
		id := sub.ID
		sub = schema.Subscription{}
		return sub, user, tx.Where("id = ?", id).Take(&sub).Error
	}
	if !found {
		err := tx.Where("user_id = ?", userID).Take(&sub).Error
		if err == nil {
			return sub, user, nil
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return sub, user, err
		}
		now := a.now()
		sub = schema.Subscription{ID: uuid.NewString(), UserID: user.ID, Plan: string(billing.Free), Status: "incomplete",
			CurrentPeriodStart: now, CurrentPeriodEnd: now, CreatedAt: now}
	}
	return sub, user, nil
}

func (a *Applier) apply(tx *gorm.DB, ev billing.Event) (Outcome, error) {
	sub, user, err := a.subscriptionFor(tx, ev)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{UserID: user.ID}
	if ev.Type == billing.EventRenewalUpcoming {
		// Nothing changes: the trader is told (FR-067).
		if sub.BillingProviderSubscriptionID != ev.SubscriptionID || sub.Status == "cancelled" || sub.CancelAtPeriodEnd || sub.BillingProvider != ev.Provider {
			out.Note = "ignored: no renewal to announce"
			return out, nil
		}
		out.Note = "renewal announced"
		out.FollowUps = append(out.FollowUps, a.mail(user, "renewal_upcoming", map[string]string{
			"Plan": billing.PlanFor(billing.Tier(user.SubscriptionTier)).Name, "Amount": billing.FormatCents(ev.AmountCents),
			"Date": ev.CurrentPeriodEnd.Format("January 2, 2006")}))
		return out, nil
	}
	// A provider switch (SPEC US-012 #4) happens through a checkout at the
	// new provider (or its first active subscription event, newer than
	// anything applied); from then on the old provider's events — a late
	// renewal, the old subscription's cancellation — change nothing.
	if sub.BillingProvider != "" && ev.Provider != sub.BillingProvider {
		switching := ev.Type == billing.EventCheckoutCompleted ||
			(ev.Type == billing.EventSubscriptionUpdated && activeStatus(ev.Status) && (sub.LastEventAt == nil || ev.Created.After(*sub.LastEventAt)))
		if !switching {
			out.Note = "ignored: event of the previous provider (" + sub.BillingProvider + ")"
			return out, nil
		}
	}
	// Out-of-order delivery: an event older than the newest one applied
	// changes nothing (providers do not promise order).
	if sub.LastEventAt != nil && ev.Created.Before(*sub.LastEventAt) && ev.Type == billing.EventSubscriptionUpdated {
		out.Note = "ignored: older than the subscription's newest event"
		return out, nil
	}
	sub.BillingProvider = ev.Provider
	if ev.CustomerID != "" {
		sub.BillingProviderCustomerID = ev.CustomerID
	}
	if ev.SubscriptionID != "" {
		sub.BillingProviderSubscriptionID = ev.SubscriptionID
	}
	if sub.LastEventAt == nil || ev.Created.After(*sub.LastEventAt) {
		t := ev.Created
		sub.LastEventAt = &t
	}
	now := a.now()
	sub.UpdatedAt = &now
	userBefore := user
	plan := billing.PlanFor(billing.Tier(user.SubscriptionTier))
	entry := audit.Entry{UserID: user.ID, ResourceType: "subscription", ResourceID: sub.ID, Status: audit.StatusSuccess,
		Details: map[string]any{"provider": ev.Provider, "event": ev.ID}, At: now}

	switch ev.Type {
	case billing.EventCheckoutCompleted:
		entry.Action = ActionSubscriptionCreated
		out.Note = "checkout completed"
		// A checkout is the upgrade prompt experiment's conversion
		// (counted for exposed users only, once).
		if err := experiments.Convert(tx, experiments.UpgradePrompt, user.ID, now); err != nil && !errors.Is(err, experiments.ErrUnknownExperiment) {
			return Outcome{}, err
		}
	case billing.EventSubscriptionUpdated:
		old := billing.Tier(sub.Plan)
		sub.Plan = string(ev.Tier)
		sub.PriceID = ev.PriceID
		sub.Status = ev.Status
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = ev.CurrentPeriodStart, ev.CurrentPeriodEnd
		wasCancelling := sub.CancelAtPeriodEnd
		sub.CancelAtPeriodEnd = ev.CancelAtPeriodEnd
		entry.Action = ActionSubscriptionChanged
		entry.Details["plan"] = string(ev.Tier)
		entry.Details["status"] = ev.Status
		// An upgrade takes effect at once (its prorated invoice follows); a
		// downgrade only at the next renewal's paid invoice (FR-064).
		if ev.Tier.Rank() > billing.Tier(user.SubscriptionTier).Rank() && activeStatus(ev.Status) {
			user.SubscriptionTier = string(ev.Tier)
		}
		if ev.Status == "past_due" {
			user.SubscriptionStatus = "past_due"
		} else if activeStatus(ev.Status) && user.SubscriptionStatus != "past_due" {
			user.SubscriptionStatus = "active"
		}
		end := ev.CurrentPeriodEnd
		user.SubscriptionRenewalDate = &end
		out.Note = fmt.Sprintf("subscription %s: %s → %s (%s)", ev.SubscriptionID, old, ev.Tier, ev.Status)
		// A downgrade scheduled now is announced now (SPEC edge case 8:
		// the trader keeps the paid plan until the renewal and is warned
		// which live connections the smaller plan will pause).
		if cur := billing.PlanFor(billing.Tier(user.SubscriptionTier)); ev.Tier.Rank() < cur.Tier.Rank() && old != ev.Tier && activeStatus(ev.Status) {
			var live int64
			if err := tx.Model(&schema.BrokerConnection{}).Where("user_id = ? AND paper = ? AND is_active = ? AND broker_type <> ?",
				user.ID, false, true, "paper").Count(&live).Error; err != nil {
				return out, err
			}
			next := billing.PlanFor(ev.Tier)
			changes := "- your live broker connections stay active"
			if next.LiveBrokers != billing.Unlimited && int(live) > next.LiveBrokers {
				changes = fmt.Sprintf("- %d of your %d live broker connections will be paused (not deleted): the oldest %d keep trading",
					int(live)-next.LiveBrokers, live, next.LiveBrokers)
			}
			out.FollowUps = append(out.FollowUps, a.mail(user, "downgrade_scheduled", map[string]string{
				"Plan": cur.Name, "NewPlan": next.Name, "Date": end.Format("January 2, 2006"), "Changes": changes}))
		}
		if ev.CancelAtPeriodEnd && !wasCancelling {
			entry.Action = ActionSubscriptionCancelScheduled
			out.Note = "cancellation scheduled for " + end.Format("Jan 2, 2006")
			out.FollowUps = append(out.FollowUps, a.mail(user, "cancel_scheduled", map[string]string{
				"Plan": billing.PlanFor(billing.Tier(user.SubscriptionTier)).Name, "Date": end.Format("January 2, 2006")}))
		}
	case billing.EventSubscriptionDeleted:
		sub.Status = "cancelled"
		sub.CancelledAt = &now
		sub.FailedInvoiceID = ""
		// The trader is now on Free, which is active (paper trading goes
		// on); the subscription row keeps the cancellation.
		user.SubscriptionTier = string(billing.Free)
		user.SubscriptionStatus = "active"
		user.SubscriptionRenewalDate = nil
		entry.Action = ActionSubscriptionCancelled
		entry.Details["previousPlan"] = plan.Name
		out.Note = "subscription ended: now on the Free plan"
		out.FollowUps = append(out.FollowUps, FollowUp{Kind: FollowStopDunning, SubscriptionID: sub.BillingProviderSubscriptionID})
		if userBefore.SubscriptionTier != string(billing.Free) {
			out.FollowUps = append(out.FollowUps, a.mail(user, "downgraded", map[string]string{
				"Plan": plan.Name, "Changes": "- " + FreeChanges}))
		}
	case billing.EventInvoicePaid:
		if ev.Tier != "" {
			sub.Plan = string(ev.Tier)
			user.SubscriptionTier = string(ev.Tier)
		}
		sub.Status = "active"
		sub.FailedInvoiceID = ""
		user.SubscriptionStatus = "active"
		entry.Action = ActionSubscriptionCharged
		entry.Details["amountCents"] = ev.AmountCents
		entry.Details["currency"] = ev.Currency
		entry.Details["invoice"] = ev.InvoiceID
		entry.Details["plan"] = string(ev.Tier)
		newPlan := billing.PlanFor(billing.Tier(user.SubscriptionTier))
		amount := billing.FormatCents(ev.AmountCents)
		out.Note = fmt.Sprintf("%s plan charged %s", newPlan.Name, amount)
		out.FollowUps = append(out.FollowUps, FollowUp{Kind: FollowStopDunning, SubscriptionID: sub.BillingProviderSubscriptionID})
		switch {
		case ev.BillingReason == "subscription_create":
			renew := "your next renewal"
			if user.SubscriptionRenewalDate != nil {
				renew = user.SubscriptionRenewalDate.Format("January 2, 2006")
			}
			out.FollowUps = append(out.FollowUps, a.mail(user, "welcome", map[string]string{
				"Plan": newPlan.Name, "Amount": amount, "Date": renew, "Features": features(newPlan)}))
		case ev.Proration:
			out.FollowUps = append(out.FollowUps, a.mail(user, "receipt", map[string]string{
				"Summary": fmt.Sprintf("Upgraded to %s: %s charged (prorated)", newPlan.Name, amount), "Invoice": ev.InvoiceID}))
		default:
			out.FollowUps = append(out.FollowUps, a.mail(user, "receipt", map[string]string{
				"Summary": fmt.Sprintf("Payment received: %s for your %s plan", amount, newPlan.Name), "Invoice": ev.InvoiceID}))
		}
	case billing.EventPaymentFailed:
		sub.Status = "past_due"
		sub.FailedInvoiceID = ev.InvoiceID
		user.SubscriptionStatus = "past_due"
		entry.Action = ActionSubscriptionPaymentFailed
		entry.Status = audit.StatusFailure
		entry.Details["amountCents"] = ev.AmountCents
		entry.Details["invoice"] = ev.InvoiceID
		out.Note = fmt.Sprintf("payment of %s failed: dunning started", billing.FormatCents(ev.AmountCents))
		out.FollowUps = append(out.FollowUps, FollowUp{Kind: FollowStartDunning, SubscriptionID: sub.BillingProviderSubscriptionID,
			InvoiceID: ev.InvoiceID, AmountCents: ev.AmountCents, Tier: billing.Tier(user.SubscriptionTier)})
	case billing.EventChargeRefunded:
		entry.Action = ActionSubscriptionRefunded
		entry.Details["amountCents"] = ev.AmountCents
		entry.Details["invoice"] = ev.InvoiceID
		out.Note = fmt.Sprintf("refund of %s", billing.FormatCents(ev.AmountCents))
		out.FollowUps = append(out.FollowUps, a.mail(user, "receipt", map[string]string{
			"Summary": fmt.Sprintf("Refund issued: %s", billing.FormatCents(ev.AmountCents)), "Invoice": ev.InvoiceID}))
	default:
		return out, fmt.Errorf("billing: event type %q not handled", ev.Type)
	}

	if err := tx.Save(&sub).Error; err != nil {
		return out, fmt.Errorf("billing: save subscription: %w", err)
	}
	entry.ResourceID = sub.ID
	if err := tx.Model(&schema.User{}).Where("id = ?", user.ID).Updates(map[string]any{
		"subscription_tier": user.SubscriptionTier, "subscription_status": user.SubscriptionStatus,
		"subscription_renewal_date": user.SubscriptionRenewalDate}).Error; err != nil {
		return out, fmt.Errorf("billing: update user: %w", err)
	}
	if _, err := audit.Append(tx, entry); err != nil {
		return out, err
	}
	if userBefore.SubscriptionTier != user.SubscriptionTier || userBefore.SubscriptionStatus != user.SubscriptionStatus {
		if _, err := realtime.AppendEvent(tx, user.ID, EventPlanChanged, map[string]any{
			"plan": user.SubscriptionTier, "status": user.SubscriptionStatus, "previousPlan": userBefore.SubscriptionTier}); err != nil {
			return out, err
		}
	}
	return out, nil
}

func activeStatus(s string) bool { return s == "active" || s == "trialing" }

// mail builds a mail follow-up to the trader (none when the account has
// no e-mail address, e.g. Discord-only: the dashboard event still tells).
func (a *Applier) mail(u schema.User, kind string, data map[string]string) FollowUp {
	if data == nil {
		data = map[string]string{}
	}
	data["Name"] = displayName(u)
	data["URL"] = a.billingURL()
	if _, ok := data["Amount"]; !ok {
		data["Amount"] = ""
	}
	// The address is looked up when the mail is sent: it stays out of the
	// event's outcome and the workflow history.
	return FollowUp{Kind: FollowMail, MailKind: kind, MailData: data}
}

func displayName(u schema.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return "trader"
}

func features(p billing.Plan) string {
	switch {
	case p.LiveBrokers == billing.Unlimited:
		return "Unlimited live broker connections, analytics, ML features and priority support."
	case p.LiveBrokers == 1:
		return "1 live broker connection."
	default:
		return fmt.Sprintf("%d live broker connections and analytics.", p.LiveBrokers)
	}
}

// FreeChanges says what moving to the Free plan changes.
const FreeChanges = "live broker connections are paused (not deleted): trades go only to your paper account until you subscribe again"

// SuspendResult is what the end of dunning changed.
type SuspendResult struct {
	Suspended bool         // false: the invoice was paid meanwhile, nothing changed
	Previous  billing.Plan // the plan the trader had
	Paused    int          // live broker connections now paused by the Free plan
	Changes   string       // the list a trader reads in the mail
}

// Suspend moves the trader to the Free plan after dunning gave up on
// invoiceID (SPEC US-012 #3): plan Free (active: paper trading goes on), the
// subscription cancelled, audit entry,
// dashboard event — unless the invoice was paid meanwhile. Live broker
// connections are not touched: the Free plan's limit pauses them
// (CheckTradeThrough), they are never deleted, and positions stay as
// they are.
func (a *Applier) Suspend(ctx context.Context, userID, provider, subscriptionID, invoiceID string) (SuspendResult, error) {
	var res SuspendResult
	err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		var sub schema.Subscription
		err := tx.Where("user_id = ? AND billing_provider = ? AND billing_provider_subscription_id = ?", userID, provider, subscriptionID).Take(&sub).Error
		if err != nil {
			return fmt.Errorf("billing: suspend: subscription: %w", err)
		}
		if sub.FailedInvoiceID != invoiceID {
			res = SuspendResult{}
			return nil
		}
		var u schema.User
		if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil {
			return err
		}
		var live int64
		if err := tx.Model(&schema.BrokerConnection{}).Where("user_id = ? AND paper = ? AND is_active = ?", userID, false, true).
			Count(&live).Error; err != nil {
			return err
		}
		res.Paused = int(live)
		res.Suspended = true
		res.Changes = "- your plan is now Free (paper trading only)"
		if live > 0 {
			res.Changes += fmt.Sprintf("\n- %d live broker connection(s) paused (not deleted): new signals trade on your paper account", live)
		}
		// sub.Plan keeps the plan paid for; a retried call after the
		// suspension was recorded answers the same and writes nothing.
		res.Previous = billing.PlanFor(billing.Tier(sub.Plan))
		if sub.Status == "cancelled" {
			return nil
		}
		now := a.now()
		sub.Status = "cancelled"
		sub.CancelledAt = &now
		sub.UpdatedAt = &now
		if err := tx.Save(&sub).Error; err != nil {
			return err
		}
		if err := tx.Model(&schema.User{}).Where("id = ?", userID).Updates(map[string]any{
			"subscription_tier": string(billing.Free), "subscription_status": "active", "subscription_renewal_date": nil}).Error; err != nil {
			return err
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: userID, Action: ActionSubscriptionSuspended, ResourceType: "subscription",
			ResourceID: sub.ID, Status: audit.StatusSuccess, At: now, Details: map[string]any{
				"previousPlan": res.Previous.Name, "invoice": invoiceID, "pausedConnections": live, "reason": "payment failed after 3 retries"}}); err != nil {
			return err
		}
		_, err = realtime.AppendEvent(tx, userID, EventPlanChanged, map[string]any{
			"plan": string(billing.Free), "status": "active", "previousPlan": u.SubscriptionTier, "pausedConnections": live})
		return err
	})
	return res, err
}

// Account is a trader's billing state as the Billing view shows it.
type Account struct {
	Plan              billing.Plan `json:"-"`
	Tier              billing.Tier `json:"plan"`
	PlanName          string       `json:"planName"`
	Status            string       `json:"status"`
	RenewalDate       *time.Time   `json:"renewalDate,omitempty"`
	CancelAtPeriodEnd bool         `json:"cancelAtPeriodEnd"`
	// PendingPlan: a downgrade that applies at the renewal.
	PendingPlan    billing.Tier `json:"pendingPlan,omitempty"`
	Provider       string       `json:"provider,omitempty"`
	CustomerID     string       `json:"-"`
	SubscriptionID string       `json:"-"`
	LiveBrokers    int          `json:"liveBrokers"`
	LiveLimit      int          `json:"liveBrokerLimit"` // -1: unlimited
	PastDue        bool         `json:"pastDue"`
}

// AccountOf reads the trader's plan, subscription and usage.
func AccountOf(ctx context.Context, db *gorm.DB, userID string) (Account, error) {
	var u schema.User
	if err := db.WithContext(ctx).Where("id = ?", userID).Take(&u).Error; err != nil {
		return Account{}, err
	}
	p := billing.PlanFor(billing.Tier(u.SubscriptionTier))
	a := Account{Plan: p, Tier: p.Tier, PlanName: p.Name, Status: u.SubscriptionStatus, RenewalDate: u.SubscriptionRenewalDate,
		LiveLimit: p.LiveBrokers, PastDue: u.SubscriptionStatus == "past_due"}
	var sub schema.Subscription
	err := db.WithContext(ctx).Where("user_id = ?", userID).Take(&sub).Error
	switch {
	case err == nil:
		a.Provider, a.CustomerID, a.SubscriptionID = sub.BillingProvider, sub.BillingProviderCustomerID, sub.BillingProviderSubscriptionID
		a.CancelAtPeriodEnd = sub.CancelAtPeriodEnd && sub.Status != "cancelled"
		if sub.Status != "cancelled" && billing.Tier(sub.Plan).Rank() < p.Tier.Rank() {
			a.PendingPlan = billing.Tier(sub.Plan)
		}
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return Account{}, err
	}
	var live int64
	if err := db.WithContext(ctx).Model(&schema.BrokerConnection{}).Where("user_id = ? AND paper = ? AND is_active = ?", userID, false, true).
		Count(&live).Error; err != nil {
		return Account{}, err
	}
	a.LiveBrokers = int(live)
	return a, nil
}

// InvoiceUnpaid reports whether the subscription still waits for the
// payment of invoiceID.
func InvoiceUnpaid(ctx context.Context, db *gorm.DB, userID, provider, subscriptionID, invoiceID string) (bool, error) {
	var sub schema.Subscription
	err := db.WithContext(ctx).Where("user_id = ? AND billing_provider = ? AND billing_provider_subscription_id = ?", userID, provider, subscriptionID).
		Take(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return sub.FailedInvoiceID == invoiceID && sub.Status != "cancelled", nil
}
