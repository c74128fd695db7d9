package config

import (
	"fmt"
	"net/url"
	"strings"
)

// String describes the configuration for a start-up log line: every setting,
// secrets shown only as set or unset, the database URL without its password.
func (c Config) String() string {
	var b strings.Builder
	field := func(k string, v any) { fmt.Fprintf(&b, " %s=%v", k, v) }
	field("mode", c.Mode)
	field("database", RedactURL(c.DatabaseURL.Reveal()))
	if c.DatabaseAppRole != "" {
		field("database_app_role", c.DatabaseAppRole)
	}
	if c.EmbeddedTemporal() {
		field("temporal", "embedded")
	} else {
		field("temporal", c.TemporalAddress)
	}
	field("namespace", c.TemporalNamespace)
	field("task_queue", c.TaskQueue)
	field("temporal_tls", c.TemporalTLS)
	field("temporal_api_key", setOrUnset(c.TemporalAPIKey))
	field("http_addr", c.HTTPAddr)
	field("public_url", c.PublicURL)
	keys := "unset"
	if c.Keyring != nil {
		keys = fmt.Sprintf("current v%d of %v", c.Keyring.Current, c.Keyring.Versions())
	}
	field("vault_keys", keys)
	payloadKeys := "unset"
	if c.PayloadCodec != nil {
		payloadKeys = fmt.Sprintf("current v%d", c.PayloadCodec.Current())
	}
	field("temporal_payload_keys", payloadKeys)
	field("jwt_secret", setOrUnset(c.JWTSecret))
	field("discord_bot_token", setOrUnset(c.DiscordBotToken))
	field("discord_client_id", c.DiscordClientID)
	field("discord_client_secret", setOrUnset(c.DiscordClientSecret))
	field("schwab_client_id", c.SchwabClientID)
	field("schwab_client_secret", setOrUnset(c.SchwabClientSecret))
	field("schwab_redirect_url", c.SchwabRedirectURL)
	field("billing", c.BillingProvider)
	field("stripe_secret_key", setOrUnset(c.StripeSecretKey))
	field("stripe_webhook_secret", setOrUnset(c.StripeWebhookSecret))
	field("polar_access_token", setOrUnset(c.PolarAccessToken))
	field("polar_webhook_secret", setOrUnset(c.PolarWebhookSecret))
	field("log", c.LogLevel+"/"+c.LogFormat)
	field("data_dir", c.DataDir)
	field("shutdown_timeout", c.ShutdownTimeout)
	field("shutdown_drain_delay", c.ShutdownDrainDelay)
	field("audit_store", c.Audit.Store)
	field("audit_checkpoint_keys", setOrUnset(c.Audit.CheckpointKeys))
	field("audit_hot_window", c.Audit.HotWindow)
	return "config:" + b.String()
}

// GoString keeps %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

func setOrUnset(s Secret) string {
	if s.IsSet() {
		return "set"
	}
	return "unset"
}

// RedactURL returns a database URL with any password replaced by "xxxxx".
// Unparseable input yields only its scheme.
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		scheme, _, _ := strings.Cut(raw, ":")
		return scheme + ":[unparseable, redacted]"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	// Query parameters such as password= or sslkey passphrases are hidden too.
	q := u.Query()
	for k := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "pass") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "key") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
