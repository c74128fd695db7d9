package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/tradeexec/tradeexec/internal/billing"
)

// Billing workflows: one BillingEventWorkflow per provider webhook event
// (id billing-event/<provider>/<event id>, so a redelivery starts nothing),
// and one DunningWorkflow per unpaid subscription (id dunning/<provider>/<subscription id>).
const (
	BillingEventWorkflowName = "BillingEventWorkflow"
	DunningWorkflowName      = "DunningWorkflow"

	ActApplyBillingEvent      = "ApplyBillingEvent"
	ActSendBillingMail        = "SendBillingMail"
	ActStartDunning           = "StartDunning"
	ActStopDunning            = "StopDunning"
	ActRetryInvoice           = "RetryInvoice"
	ActSuspendAfterDunning    = "SuspendAfterDunning"
	ActInvoiceUnpaid          = "InvoiceUnpaid"
	SignalPaymentSucceeded    = "payment-succeeded"
	BillingFollowMail         = "mail"
	BillingFollowStartDunning = "start_dunning"
	BillingFollowStopDunning  = "stop_dunning"
)

// DunningRetryDays are the days after the failed payment when the charge
// is retried (FR-065); after the last one the trader moves to Free.
var DunningRetryDays = []int{3, 5, 7}

// BillingEventWorkflowID is the workflow id of a provider event.
func BillingEventWorkflowID(provider, eventID string) string {
	return "billing-event/" + provider + "/" + eventID
}

// DunningWorkflowID is the workflow id of a subscription's dunning.
func DunningWorkflowID(provider, subscriptionID string) string {
	return "dunning/" + provider + "/" + subscriptionID
}

// BillingEventInput names a stored event (billing_events row).
type BillingEventInput struct {
	EventRowID string `json:"eventRowId"`
	Provider   string `json:"provider"`
	EventID    string `json:"eventId"`
}

// BillingFollowUp mirrors billing.FollowUp (no address, no card data).
type BillingFollowUp struct {
	Kind           string            `json:"kind"`
	MailKind       string            `json:"mailKind,omitempty"`
	MailData       map[string]string `json:"mailData,omitempty"`
	SubscriptionID string            `json:"subscriptionId,omitempty"`
	InvoiceID      string            `json:"invoiceId,omitempty"`
	AmountCents    int64             `json:"amountCents,omitempty"`
	Tier           string            `json:"tier,omitempty"`
}

// BillingOutcome is what applying an event did.
type BillingOutcome struct {
	UserID    string            `json:"userId,omitempty"`
	Note      string            `json:"note"`
	FollowUps []BillingFollowUp `json:"followUps,omitempty"`
}

// BillingMail asks for one mail to a trader; the address is read when it
// is sent.
type BillingMail struct {
	UserID string            `json:"userId"`
	Kind   string            `json:"kind"`
	Data   map[string]string `json:"data"`
	// Key makes the send idempotent across activity retries.
	Key string `json:"key"`
}

// DunningInput is an unpaid subscription invoice.
type DunningInput struct {
	UserID         string `json:"userId"`
	Provider       string `json:"provider"`
	SubscriptionID string `json:"subscriptionId"`
	InvoiceID      string `json:"invoiceId"`
	AmountCents    int64  `json:"amountCents"`
	Tier           string `json:"tier"`
	// DayLength is 24h; tests shorten it to run the whole grace period.
	DayLength time.Duration `json:"dayLength,omitempty"`
}

// DunningResult says how dunning ended.
type DunningResult struct {
	Outcome  string `json:"outcome"` // recovered | suspended
	Attempts int    `json:"attempts"`
	Note     string `json:"note"`
}

// SuspendOutcome is what SuspendAfterDunning changed.
type SuspendOutcome struct {
	Suspended bool   `json:"suspended"`
	Previous  string `json:"previous"`
	Changes   string `json:"changes"`
}

// billingActivityOptions: provider and mail outages are retried for a day
// (a provider outage never changes a plan; Stripe retries its webhook too).
func billingActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{"UNKNOWN_EVENT"}},
	})
}

// BillingEventWorkflow applies one verified provider event, then runs the
// follow-ups it asks for. Applying is one transaction, idempotent (the
// stored outcome is returned again), so a crash anywhere loses nothing and
// doubles nothing.
func BillingEventWorkflow(ctx workflow.Context, in BillingEventInput) (BillingOutcome, error) {
	ctx = billingActivityOptions(ctx)
	var out BillingOutcome
	if err := workflow.ExecuteActivity(ctx, ActApplyBillingEvent, in).Get(ctx, &out); err != nil {
		return out, err
	}
	for i, f := range out.FollowUps {
		var err error
		switch f.Kind {
		case BillingFollowMail:
			err = workflow.ExecuteActivity(ctx, ActSendBillingMail, BillingMail{UserID: out.UserID, Kind: f.MailKind, Data: f.MailData,
				Key: fmt.Sprintf("%s/%s/%d", in.Provider, in.EventID, i)}).Get(ctx, nil)
		case BillingFollowStartDunning:
			err = workflow.ExecuteActivity(ctx, ActStartDunning, DunningInput{UserID: out.UserID, Provider: in.Provider,
				SubscriptionID: f.SubscriptionID, InvoiceID: f.InvoiceID, AmountCents: f.AmountCents, Tier: f.Tier}).Get(ctx, nil)
		case BillingFollowStopDunning:
			err = workflow.ExecuteActivity(ctx, ActStopDunning, DunningInput{UserID: out.UserID, Provider: in.Provider,
				SubscriptionID: f.SubscriptionID}).Get(ctx, nil)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// DunningWorkflow is the 7-day grace period of a failed payment (SPEC
// US-012 #3, FR-065): a mail now, retries on day 3, 5 and 7 (durable
// timers), a mail after each failed retry, then the move to Free. A paid
// invoice — the payment-succeeded signal, sent when invoice.paid arrives,
// or a retry that succeeds — ends it at once.
func DunningWorkflow(ctx workflow.Context, in DunningInput) (DunningResult, error) {
	ctx = billingActivityOptions(ctx)
	start := workflow.Now(ctx)
	paid := workflow.GetSignalChannel(ctx, SignalPaymentSucceeded)
	dayLength := 24 * time.Hour
	if in.DayLength > 0 {
		dayLength = in.DayLength
	}
	day := func(d int) time.Time { return start.Add(time.Duration(d) * dayLength) }
	last := day(DunningRetryDays[len(DunningRetryDays)-1])
	amount := billing.FormatCents(in.AmountCents)
	mail := func(kind string, data map[string]string, step int) error {
		data["Amount"] = amount
		data["Plan"] = billing.PlanFor(billing.Tier(in.Tier)).Name
		data["Date"] = last.Format("Jan 2")
		return workflow.ExecuteActivity(ctx, ActSendBillingMail, BillingMail{UserID: in.UserID, Kind: kind, Data: data,
			Key: fmt.Sprintf("%s/%d", workflow.GetInfo(ctx).WorkflowExecution.ID, step)}).Get(ctx, nil)
	}
	// The failure may have been cured before this run started (an
	// invoice.paid processed first): then there is nothing to dun.
	var unpaid bool
	if err := workflow.ExecuteActivity(ctx, ActInvoiceUnpaid, in).Get(ctx, &unpaid); err != nil {
		return DunningResult{}, err
	}
	if !unpaid {
		return DunningResult{Outcome: "recovered", Note: "invoice paid before dunning started"}, nil
	}
	if err := mail("payment_failed", map[string]string{"RetryDates": retryDates(day, 0)}, 0); err != nil {
		return DunningResult{}, err
	}
	for i, d := range DunningRetryDays {
		wait := day(d).Sub(workflow.Now(ctx))
		recovered := false
		timerCtx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(workflow.NewTimer(timerCtx, wait), func(workflow.Future) {})
		sel.AddReceive(paid, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); recovered = true })
		sel.Select(ctx)
		cancel()
		if recovered {
			return DunningResult{Outcome: "recovered", Attempts: i, Note: "invoice paid"}, nil
		}
		var ok bool
		if err := workflow.ExecuteActivity(ctx, ActRetryInvoice, in).Get(ctx, &ok); err != nil {
			return DunningResult{}, err
		}
		if ok {
			return DunningResult{Outcome: "recovered", Attempts: i + 1, Note: fmt.Sprintf("retry on day %d paid the invoice", d)}, nil
		}
		if paid.ReceiveAsync(nil) {
			return DunningResult{Outcome: "recovered", Attempts: i + 1, Note: "invoice paid"}, nil
		}
		if i < len(DunningRetryDays)-1 {
			if err := mail("dunning_retry", map[string]string{"Attempt": fmt.Sprint(i + 1), "RetryDates": retryDates(day, i+1)}, i+1); err != nil {
				return DunningResult{}, err
			}
		}
	}
	var s SuspendOutcome
	if err := workflow.ExecuteActivity(ctx, ActSuspendAfterDunning, in).Get(ctx, &s); err != nil {
		return DunningResult{}, err
	}
	if !s.Suspended {
		return DunningResult{Outcome: "recovered", Attempts: len(DunningRetryDays), Note: "invoice paid before the move to Free"}, nil
	}
	if err := workflow.ExecuteActivity(ctx, ActSendBillingMail, BillingMail{UserID: in.UserID, Kind: "downgraded",
		Data: map[string]string{"Plan": s.Previous, "Changes": s.Changes},
		Key:  workflow.GetInfo(ctx).WorkflowExecution.ID + "/suspended"}).Get(ctx, nil); err != nil {
		return DunningResult{}, err
	}
	return DunningResult{Outcome: "suspended", Attempts: len(DunningRetryDays), Note: "moved to the Free plan after 3 failed retries"}, nil
}

// retryDates lists the retry days from index i on: "Dec 6, Dec 8 and Dec 10".
func retryDates(day func(int) time.Time, from int) string {
	var parts []string
	for _, d := range DunningRetryDays[from:] {
		parts = append(parts, day(d).Format("Jan 2"))
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	s := parts[0]
	for _, p := range parts[1 : len(parts)-1] {
		s += ", " + p
	}
	return s + " and " + parts[len(parts)-1]
}
