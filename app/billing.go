package app

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/billing/ledger"
	"github.com/tradeexec/tradeexec/internal/billing/polar"
	"github.com/tradeexec/tradeexec/internal/billing/stripe"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/mail"
)

// BillingOptions configure subscriptions and mail. A nil Provider is
// BILLING_PROVIDER=none: every account stays on its plan (Free for new
// ones), and the Billing view says subscriptions are not enabled. A nil
// Mail sends no mail (logged).
type BillingOptions struct {
	Provider billing.Provider
	Mail     mail.Sender
	// DunningDay shortens the dunning's days (tests only; 0 is 24h).
	DunningDay time.Duration
}

// BillingOptionsFrom builds the provider and the mail sender from the
// configuration; dev without SMTP_HOST writes mail to DATA_DIR/mail.
func BillingOptionsFrom(cfg config.Config, log *zap.Logger) (BillingOptions, error) {
	var o BillingOptions
	switch cfg.BillingProvider {
	case config.BillingStripe:
		p, err := stripe.New(stripe.Config{SecretKey: cfg.StripeSecretKey.Reveal(), WebhookSecret: cfg.StripeWebhookSecret.Reveal(),
			APIBase: cfg.StripeAPIBase, Prices: billing.PriceMap{billing.Basic: cfg.StripePrices["basic"],
				billing.Pro: cfg.StripePrices["pro"], billing.Premium: cfg.StripePrices["premium"]}})
		if err != nil {
			return o, fmt.Errorf("billing: %w", err)
		}
		o.Provider = p
	case config.BillingPolar:
		p, err := polar.New(polar.Config{AccessToken: cfg.PolarAccessToken.Reveal(), WebhookSecret: cfg.PolarWebhookSecret.Reveal(),
			APIBase: cfg.PolarAPIBase, Products: billing.PriceMap{billing.Basic: cfg.PolarProducts["basic"],
				billing.Pro: cfg.PolarProducts["pro"], billing.Premium: cfg.PolarProducts["premium"]}})
		if err != nil {
			return o, fmt.Errorf("billing: %w", err)
		}
		o.Provider = p
	case config.BillingNone, "":
	default:
		return o, fmt.Errorf("billing: provider %q is not supported", cfg.BillingProvider)
	}
	switch {
	case cfg.SMTP.Host != "":
		s, err := mail.NewSMTPSender(mail.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password.Reveal(), From: cfg.SMTP.From, TLS: cfg.SMTP.TLS})
		if err != nil {
			return o, err
		}
		o.Mail = s
	case cfg.Mode == config.ModeDev:
		o.Mail = &mail.DevSender{Dir: filepath.Join(cfg.DataDir, "mail"), Log: log.Named("mail")}
	default:
		log.Warn("SMTP_HOST is not set: billing and security e-mails are not sent")
	}
	return o, nil
}

func (s *Stack) billingActivities(o Options, publicURL string) *activities.Billing {
	return &activities.Billing{DB: o.DB, Ledger: &ledger.Applier{DB: o.DB, PublicURL: publicURL}, Provider: o.Billing.Provider,
		Mail: o.Billing.Mail, Temporal: o.Temporal, TaskQueue: o.TaskQueue, PublicURL: publicURL, Log: s.log.Named("billing"),
		DunningDay: o.Billing.DunningDay}
}

// startMailRelay sends the mail outbox (new sign-ins, reset links) from
// this process; every api and worker process runs one (rows are claimed).
func (s *Stack) startMailRelay(o Options) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &mail.Relay{DB: o.DB, Sender: o.Billing.Mail, Log: s.log.Named("mail"), PublicURL: o.Auth.publicURL(o.HTTPAddr)}
	go r.Run(ctx)
	s.stopMail = cancel
}

func billingAPI(o Options) *api.Billing {
	return &api.Billing{Provider: o.Billing.Provider}
}
