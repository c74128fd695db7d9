package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/ledger"
	"github.com/tradeexec/tradeexec/internal/mail"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Billing is the activity struct of the billing workflows. Provider is nil
// when BILLING_PROVIDER=none (then no provider event can arrive and no
// dunning starts).
type Billing struct {
	DB        *gorm.DB
	Ledger    *ledger.Applier
	Provider  billing.Provider
	Mail      mail.Sender
	Temporal  client.Client
	TaskQueue string
	PublicURL string
	Log       *zap.Logger
	// DunningDay shortens the dunning's days for tests (0: 24h).
	DunningDay time.Duration
}

// ApplyBillingEvent applies a stored provider event (idempotent).
func (b *Billing) ApplyBillingEvent(ctx context.Context, in workflows.BillingEventInput) (workflows.BillingOutcome, error) {
	o, err := b.Ledger.Apply(ctx, in.EventRowID)
	if err != nil {
		return workflows.BillingOutcome{}, err
	}
	out := workflows.BillingOutcome{UserID: o.UserID, Note: o.Note}
	for _, f := range o.FollowUps {
		out.FollowUps = append(out.FollowUps, workflows.BillingFollowUp{Kind: f.Kind, MailKind: f.MailKind, MailData: f.MailData,
			SubscriptionID: f.SubscriptionID, InvoiceID: f.InvoiceID, AmountCents: f.AmountCents, Tier: string(f.Tier)})
	}
	return out, nil
}

// SendBillingMail renders and sends one mail to the trader's address (read
// now, so it never enters a workflow history). A trader without an e-mail
// address (Discord-only) gets none; the dashboard event still tells them.
func (b *Billing) SendBillingMail(ctx context.Context, in workflows.BillingMail) error {
	var u schema.User
	if err := b.DB.WithContext(ctx).Select("id", "email", "display_name").Where("id = ?", in.UserID).Take(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	if u.Email == nil || *u.Email == "" || b.Mail == nil {
		b.Log.Info("billing mail not sent: no address", zap.String("user_id", in.UserID), zap.String("kind", in.Kind))
		return nil
	}
	data := map[string]string{"Name": u.DisplayName, "URL": b.PublicURL + "/dashboard#/billing"}
	if data["Name"] == "" {
		data["Name"] = "trader"
	}
	for k, v := range in.Data {
		data[k] = v
	}
	m, err := mail.Render(in.Kind, *u.Email, data)
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), "BAD_TEMPLATE", err)
	}
	if err := b.Mail.Send(ctx, m); err != nil {
		return fmt.Errorf("billing mail %s: %w", in.Kind, err)
	}
	return nil
}

// StartDunning starts the subscription's DunningWorkflow; one already
// running for it is kept (a second failed-payment event for the same
// unpaid period changes nothing).
func (b *Billing) StartDunning(ctx context.Context, in workflows.DunningInput) error {
	in.DayLength = b.DunningDay
	_, err := b.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.DunningWorkflowID(in.Provider, in.SubscriptionID),
		TaskQueue:                b.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		Memo:                     map[string]any{"note": "Dunning of invoice " + in.InvoiceID},
	}, workflows.DunningWorkflowName, in)
	return err
}

// StopDunning tells a running DunningWorkflow that the invoice is paid.
func (b *Billing) StopDunning(ctx context.Context, in workflows.DunningInput) error {
	if in.SubscriptionID == "" {
		return nil
	}
	err := b.Temporal.SignalWorkflow(ctx, workflows.DunningWorkflowID(in.Provider, in.SubscriptionID), "", workflows.SignalPaymentSucceeded, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// InvoiceUnpaid reports whether the subscription still waits for the
// payment of in.InvoiceID (an invoice.paid may have been applied first).
func (b *Billing) InvoiceUnpaid(ctx context.Context, in workflows.DunningInput) (bool, error) {
	return ledger.InvoiceUnpaid(ctx, b.DB, in.UserID, in.Provider, in.SubscriptionID, in.InvoiceID)
}

// RetryInvoice asks the provider to collect the unpaid invoice now; one
// already paid (invoice.paid applied meanwhile) is not charged again.
func (b *Billing) RetryInvoice(ctx context.Context, in workflows.DunningInput) (bool, error) {
	if unpaid, err := b.InvoiceUnpaid(ctx, in); err != nil || !unpaid {
		return !unpaid, err
	}
	if b.Provider == nil || b.Provider.Name() != in.Provider {
		// The provider was switched meanwhile: the old one cannot be
		// asked; the invoice stays unpaid and dunning runs its course.
		return false, nil
	}
	return b.Provider.RetryInvoice(ctx, in.SubscriptionID, in.InvoiceID)
}

// SuspendAfterDunning moves the trader to Free (unless paid meanwhile) and
// ends the subscription at the provider so it stops charging.
func (b *Billing) SuspendAfterDunning(ctx context.Context, in workflows.DunningInput) (workflows.SuspendOutcome, error) {
	r, err := b.Ledger.Suspend(ctx, in.UserID, in.Provider, in.SubscriptionID, in.InvoiceID)
	if err != nil {
		return workflows.SuspendOutcome{}, err
	}
	if !r.Suspended {
		return workflows.SuspendOutcome{}, nil
	}
	b.Log.Warn("Subscription suspended: User "+in.UserID, zap.String("user_id", in.UserID),
		zap.String("previous_plan", r.Previous.Name), zap.Int("paused_connections", r.Paused))
	if b.Provider != nil && b.Provider.Name() == in.Provider {
		if err := b.Provider.CancelNow(ctx, in.SubscriptionID); err != nil && errors.Is(err, billing.ErrUnavailable) {
			return workflows.SuspendOutcome{}, err // retried: the suspension above is already recorded, idempotently
		} else if err != nil {
			b.Log.Warn("billing: cancel at provider after suspension", zap.String("user_id", in.UserID), zap.Error(err))
		}
	}
	return workflows.SuspendOutcome{Suspended: true, Previous: r.Previous.Name, Changes: r.Changes}, nil
}
