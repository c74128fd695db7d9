package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func newBillingEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(DunningWorkflow, workflow.RegisterOptions{Name: DunningWorkflowName})
	env.RegisterWorkflowWithOptions(BillingEventWorkflow, workflow.RegisterOptions{Name: BillingEventWorkflowName})
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActApplyBillingEvent, func(context.Context, BillingEventInput) (BillingOutcome, error) { return BillingOutcome{}, nil })
	reg(ActSendBillingMail, func(context.Context, BillingMail) error { return nil })
	reg(ActStartDunning, func(context.Context, DunningInput) error { return nil })
	reg(ActStopDunning, func(context.Context, DunningInput) error { return nil })
	reg(ActRetryInvoice, func(context.Context, DunningInput) (bool, error) { return false, nil })
	reg(ActSuspendAfterDunning, func(context.Context, DunningInput) (SuspendOutcome, error) { return SuspendOutcome{}, nil })
	reg(ActInvoiceUnpaid, func(context.Context, DunningInput) (bool, error) { return true, nil })
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

var dunningIn = DunningInput{UserID: "u1", Provider: "stripe", SubscriptionID: "sub_1", InvoiceID: "in_1", AmountCents: 9900, Tier: "pro"}

func TestDunningRetriesOnDays3_5_7ThenSuspends(t *testing.T) {
	env := newBillingEnv(t)
	env.OnActivity(ActInvoiceUnpaid, mock.Anything, dunningIn).Return(true, nil).Once()
	var start time.Time
	var retries []time.Duration
	var mails []BillingMail
	env.OnActivity(ActSendBillingMail, mock.Anything, mock.Anything).Return(func(_ context.Context, m BillingMail) error {
		if start.IsZero() {
			start = env.Now()
		}
		mails = append(mails, m)
		return nil
	})
	env.OnActivity(ActRetryInvoice, mock.Anything, dunningIn).Return(func(context.Context, DunningInput) (bool, error) {
		retries = append(retries, env.Now().Sub(start))
		return false, nil
	}).Times(3)
	env.OnActivity(ActSuspendAfterDunning, mock.Anything, dunningIn).Return(SuspendOutcome{Suspended: true, Previous: "Pro", Changes: "- x"}, nil).Once()

	env.ExecuteWorkflow(DunningWorkflow, dunningIn)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res DunningResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "suspended", res.Outcome)

	day := 24 * time.Hour
	require.Len(t, retries, 3)
	for i, want := range []time.Duration{3 * day, 5 * day, 7 * day} {
		require.InDelta(t, want.Seconds(), retries[i].Seconds(), 1, "retry %d", i+1)
	}
	kinds := []string{}
	for _, m := range mails {
		kinds = append(kinds, m.Kind)
	}
	require.Equal(t, []string{"payment_failed", "dunning_retry", "dunning_retry", "downgraded"}, kinds)
	require.Equal(t, "$99", mails[0].Data["Amount"])
	require.Equal(t, "Pro", mails[0].Data["Plan"])
	require.Contains(t, mails[0].Data["RetryDates"], " and ")
	require.Equal(t, "1", mails[1].Data["Attempt"])
	require.Equal(t, "Pro", mails[3].Data["Plan"])
	keys := map[string]bool{}
	for _, m := range mails {
		require.False(t, keys[m.Key], "mail key %s used twice", m.Key)
		keys[m.Key] = true
	}
}

func TestDunningEndsWhenTheInvoiceIsPaid(t *testing.T) {
	env := newBillingEnv(t)
	env.OnActivity(ActInvoiceUnpaid, mock.Anything, dunningIn).Return(true, nil).Once()
	env.OnActivity(ActSendBillingMail, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(ActRetryInvoice, mock.Anything, dunningIn).Return(false, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalPaymentSucceeded, nil) }, 4*24*time.Hour)

	env.ExecuteWorkflow(DunningWorkflow, dunningIn)
	require.NoError(t, env.GetWorkflowError())
	var res DunningResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "recovered", res.Outcome)
	require.Equal(t, 1, res.Attempts)
	env.AssertNotCalled(t, ActSuspendAfterDunning, mock.Anything, mock.Anything)
}

func TestDunningEndsWhenARetryPays(t *testing.T) {
	env := newBillingEnv(t)
	env.OnActivity(ActInvoiceUnpaid, mock.Anything, dunningIn).Return(true, nil).Once()
	env.OnActivity(ActSendBillingMail, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(ActRetryInvoice, mock.Anything, dunningIn).Return(false, nil).Once()
	env.OnActivity(ActRetryInvoice, mock.Anything, dunningIn).Return(true, nil).Once()

	env.ExecuteWorkflow(DunningWorkflow, dunningIn)
	var res DunningResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "recovered", res.Outcome)
	require.Equal(t, 2, res.Attempts)
	env.AssertNotCalled(t, ActSuspendAfterDunning, mock.Anything, mock.Anything)
}

func TestDunningOfAnInvoicePaidMeanwhileSendsNothing(t *testing.T) {
	env := newBillingEnv(t)
	env.OnActivity(ActInvoiceUnpaid, mock.Anything, dunningIn).Return(false, nil).Once()
	env.ExecuteWorkflow(DunningWorkflow, dunningIn)
	var res DunningResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "recovered", res.Outcome)
	env.AssertNotCalled(t, ActSendBillingMail, mock.Anything, mock.Anything)
	env.AssertNotCalled(t, ActRetryInvoice, mock.Anything, mock.Anything)
}

func TestBillingEventWorkflowRunsTheFollowUps(t *testing.T) {
	env := newBillingEnv(t)
	in := BillingEventInput{EventRowID: "r1", Provider: "stripe", EventID: "evt_1"}
	env.OnActivity(ActApplyBillingEvent, mock.Anything, in).Return(BillingOutcome{UserID: "u1", Note: "n", FollowUps: []BillingFollowUp{
		{Kind: BillingFollowStartDunning, SubscriptionID: "sub_1", InvoiceID: "in_1", AmountCents: 9900, Tier: "pro"},
		{Kind: BillingFollowMail, MailKind: "receipt", MailData: map[string]string{"Summary": "s"}},
	}}, nil).Once()
	env.OnActivity(ActStartDunning, mock.Anything, dunningIn).Return(nil).Once()
	env.OnActivity(ActSendBillingMail, mock.Anything, BillingMail{UserID: "u1", Kind: "receipt", Data: map[string]string{"Summary": "s"}, Key: "stripe/evt_1/1"}).Return(nil).Once()

	env.ExecuteWorkflow(BillingEventWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
}
