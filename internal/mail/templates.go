package mail

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"
)

// Kinds of mail. Each has a subject and a plain-text body below; this file
// is the one place their words are written.
const (
	KindWelcome         = "welcome"
	KindReceipt         = "receipt"
	KindPaymentFailed   = "payment_failed"
	KindDunningRetry    = "dunning_retry"
	KindDowngraded      = "downgraded"
	KindCancelScheduled = "cancel_scheduled"
	KindDowngradeSched  = "downgrade_scheduled"
	KindRenewalUpcoming = "renewal_upcoming"
	KindNewSignIn       = "new_sign_in"
	KindPasswordReset   = "password_reset"
	KindWebhookLocked   = "webhook_locked"
	KindSecurityAlert   = "security_alert"
	KindChurnAlert      = "churn_alert"
)

type tmpl struct{ subject, body string }

var templates = map[string]tmpl{
	KindWelcome: {
		subject: "Welcome to {{.Plan}} Plan",
		body: `Hello {{.Name}},

Your {{.Plan}} plan is active: {{.Amount}} charged, renewing on {{.Date}}.
{{.Features}}

Manage your plan in Settings → Billing: {{.URL}}
`},
	KindReceipt: {
		subject: "{{.Summary}}",
		body: `Hello {{.Name}},

{{.Summary}}.
Invoice: {{.Invoice}}

Manage your plan in Settings → Billing: {{.URL}}
`},
	KindPaymentFailed: {
		subject: "Payment failed: Update card",
		body: `Hello {{.Name}},

We could not charge {{.Amount}} for your {{.Plan}} plan. Your plan stays active during a 7-day grace period.
We will retry the payment on {{.RetryDates}}. If every retry fails, your account moves to the Free plan on {{.Date}}:
live broker connections are paused (not deleted), open positions are not touched.

Update your card in Settings → Billing: {{.URL}}
`},
	KindDunningRetry: {
		subject: "Payment failed again: Update card",
		body: `Hello {{.Name}},

Retry {{.Attempt}} of 3 to charge {{.Amount}} for your {{.Plan}} plan failed.
{{if .RetryDates}}Next retry: {{.RetryDates}}. {{end}}Your account moves to the Free plan on {{.Date}} unless the payment succeeds.

Update your card in Settings → Billing: {{.URL}}
`},
	KindDowngraded: {
		subject: "Subscription suspended: moved to the Free plan",
		body: `Hello {{.Name}},

We could not collect the payment for your {{.Plan}} plan, so your account is now on the Free plan (paper trading only).
What changed:
{{.Changes}}
What did not change: your open positions, orders already at your broker, your settings and history.

Subscribe again in Settings → Billing to resume live trading: {{.URL}}
`},
	KindCancelScheduled: {
		subject: "{{.Plan}} access until {{.Date}}",
		body: `Hello {{.Name}},

Your subscription is cancelled. {{.Plan}} access continues until {{.Date}}; then your account moves to the Free plan. No refund is due (per terms).

Changed your mind? Resume in Settings → Billing: {{.URL}}
`},
	KindDowngradeSched: {
		subject: "Your plan becomes {{.NewPlan}} on {{.Date}}",
		body: `Hello {{.Name}},

You keep {{.Plan}} until {{.Date}}; then your plan becomes {{.NewPlan}}.
{{.Changes}}

Changed your mind? Manage your plan in Settings → Billing: {{.URL}}
`},
	KindRenewalUpcoming: {
		subject: "Your {{.Plan}} plan renews on {{.Date}}",
		body: `Hello {{.Name}},

Your {{.Plan}} plan renews on {{.Date}} for {{.Amount}}.

Manage your plan in Settings → Billing: {{.URL}}
`},
	KindNewSignIn: {
		subject: "New login detected from {{.Where}}",
		body: `Hello {{.Name}},

New login detected from {{.Where}} at {{.Date}}.
If this was not you, change your password and sign out every session in Settings → Security: {{.URL}}
`},
	KindWebhookLocked: {
		subject: "Your TradingView webhook URL is locked for 15 minutes",
		body: `Hello {{.Name}},

Your TradingView webhook URL received alerts with a wrong passphrase (last from {{.Where}} at {{.Date}}) and is locked for 15 minutes.
If these were not your alerts, someone knows the URL: create a new one in Settings → Signal sources: {{.URL}}
`},
	KindSecurityAlert: {
		subject: "SECURITY ALERT: {{.Summary}}",
		body: `Hello {{.Name}},

The audit log verification of {{.Date}} failed: {{.Summary}}.
{{.Details}}
Someone with access to the database may have altered or removed audit entries. Compare with the checkpoints in the audit object store (tradeexec audit verify) and see the alert in the admin dashboard: {{.URL}}
`},
	KindChurnAlert: {
		subject: "Churn risk: {{.Summary}}",
		body: `Hello {{.Name}},

The churn scoring of {{.Date}} found a {{.Summary}}.
{{.Details}}
See the churn scores in the admin dashboard: {{.URL}}
`},
	KindPasswordReset: {
		subject: "Reset your tradeexec password",
		body: `Hello {{.Name}},

Someone asked to reset the password of your tradeexec account. The link works once, for 30 minutes:
{{.URL}}

If you did not ask, ignore this mail: your password stays as it is.
`},
}

// Render fills the template of kind with data (a struct or map with the
// fields the template names) and returns the message for to.
func Render(kind, to string, data any) (Message, error) {
	t, ok := templates[kind]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown template %q", kind)
	}
	subject, err := execute(kind+".subject", t.subject, data)
	if err != nil {
		return Message{}, err
	}
	body, err := execute(kind+".body", t.body, data)
	if err != nil {
		return Message{}, err
	}
	// A value with a line break must not become a header.
	subject = strings.Join(strings.Fields(subject), " ")
	return Message{To: to, Subject: subject, Text: body, Kind: kind}, nil
}

func execute(name, text string, data any) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("mail: template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("mail: template %s: %w", name, err)
	}
	return b.String(), nil
}
