package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/config"
)

// AuthOptions configure accounts and sessions.
type AuthOptions struct {
	// JWTSecret is JWT_SECRET. Empty means a random secret for this process
	// only (tests, benchmarks): tokens then do not survive a restart.
	JWTSecret []byte
	// PublicURL is the external base URL (OAuth redirect, Secure cookies);
	// empty means the listener's http:// URL.
	PublicURL string
	// Discord enables "Sign in with Discord" when set.
	Discord *auth.DiscordConfig
	// TrustedProxies are load balancers whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES); empty trusts none.
	TrustedProxies []string
	// RateLimits override the per-IP limits (nil: the specification's).
	RateLimits *api.RateLimits
	// Password overrides the argon2id parameters (tests make them cheap).
	Password auth.PasswordParams
	// Now overrides the clock of the auth service (tests).
	Now func() time.Time
}

func (o AuthOptions) publicURL(listenURL string) string {
	if o.PublicURL != "" {
		return o.PublicURL
	}
	return listenURL
}

// AuthOptionsFrom maps the process configuration onto AuthOptions.
func AuthOptionsFrom(cfg config.Config) AuthOptions {
	o := AuthOptions{JWTSecret: []byte(cfg.JWTSecret.Reveal()), PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}
	if cfg.DiscordClientID != "" && cfg.DiscordClientSecret.IsSet() {
		o.Discord = &auth.DiscordConfig{ClientID: cfg.DiscordClientID, ClientSecret: cfg.DiscordClientSecret.Reveal(),
			RedirectURL: cfg.PublicURL + "/auth/discord/callback"}
	}
	return o
}

// startAuth builds the auth service of the API and runs its upkeep until
// the stack stops.
func (s *Stack) startAuth(ctx context.Context, db *gorm.DB, o AuthOptions, listenURL string) error {
	secret := o.JWTSecret
	if len(secret) == 0 {
		secret = make([]byte, 48)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		s.log.Warn("no JWT secret configured: using a random one; sessions end when this process stops")
	}
	cfg := auth.Config{DB: db, Secret: secret, Log: s.log.Named("auth"), Now: o.Now, Password: o.Password, PublicURL: o.publicURL(listenURL)}
	if o.Discord != nil {
		d := *o.Discord
		if d.RedirectURL == "" {
			d.RedirectURL = o.publicURL(listenURL) + "/auth/discord/callback"
		}
		cfg.Providers = append(cfg.Providers, auth.NewDiscord(d))
	}
	svc, err := auth.New(ctx, cfg)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	go svc.Run(runCtx)
	s.Auth, s.stopAuth = svc, cancel
	return nil
}
