package config

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/vault"
)

const minJWTSecretBytes = 32

func (l *loader) dataDir() {
	l.cfg.DataDir = l.env("DATA_DIR")
	if !l.dev {
		return
	}
	if l.cfg.DataDir == "" {
		l.cfg.DataDir = DefaultDataDir
	}
	if err := os.MkdirAll(l.cfg.DataDir, 0o700); err != nil {
		l.c.add("DATA_DIR", fmt.Sprintf("cannot create %q: %v", l.cfg.DataDir, pathErr(err)))
	}
}

func (l *loader) logging() {
	l.cfg.LogLevel = strings.ToLower(l.env("LOG_LEVEL"))
	if l.cfg.LogLevel == "" {
		l.cfg.LogLevel = "info"
		if l.dev {
			l.cfg.LogLevel = "debug" // FR-088
		}
	}
	switch l.cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		l.c.add("LOG_LEVEL", fmt.Sprintf("invalid level %q (use debug, info, warn or error)", l.cfg.LogLevel))
	}
	l.cfg.LogFormat = strings.ToLower(l.env("LOG_FORMAT"))
	if l.cfg.LogFormat == "" {
		l.cfg.LogFormat = "json"
		if l.dev {
			l.cfg.LogFormat = "console"
		}
	}
	if l.cfg.LogFormat != "json" && l.cfg.LogFormat != "console" {
		l.c.add("LOG_FORMAT", fmt.Sprintf("invalid format %q (use json or console)", l.cfg.LogFormat))
	}
}

func (l *loader) database() {
	raw := l.env("DATABASE_URL")
	if raw == "" {
		if !l.dev {
			l.required("DATABASE_URL")
			return
		}
		raw = "sqlite://" + filepath.ToSlash(filepath.Join(l.cfg.DataDir, "tradeexec.db"))
	}
	driver, reason := databaseDriver(raw)
	switch {
	case reason != "":
		l.c.add("DATABASE_URL", reason)
	case driver == "sqlite" && !l.dev:
		l.c.add("DATABASE_URL", "sqlite is for dev mode only (use postgres://)")
	}
	l.cfg.DatabaseURL, l.cfg.DatabaseDriver = Secret(raw), driver
}

// databaseDriver classifies a database URL. The reason never quotes more of
// the URL than its scheme: the rest may hold a password.
func databaseDriver(raw string) (driver, reason string) {
	scheme, rest, ok := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/@ ") {
		return "", "not a URL (use postgres://user:password@host:5432/db or sqlite://path/to/file.db)"
	}
	switch scheme {
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return "", "cannot be parsed as a URL (check the escaping of the password)"
		}
		if u.Hostname() == "" {
			return "", "no host in the PostgreSQL URL"
		}
		if strings.Trim(u.Path, "/") == "" {
			return "", "no database name in the PostgreSQL URL"
		}
		return "postgres", ""
	case "sqlite", "file":
		path := strings.TrimPrefix(rest, "//")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		if path == "" || path == "/" {
			return "", "no file path in the SQLite URL (sqlite:///abs/path.db or sqlite://relative/path.db)"
		}
		return "sqlite", ""
	default:
		return "", fmt.Sprintf("unsupported scheme %q (use postgres:// or sqlite://)", scheme)
	}
}

func (l *loader) temporal() {
	l.cfg.TemporalAddress = l.env("TEMPORAL_ADDRESS")
	l.cfg.TemporalUIURL = strings.TrimRight(l.env("TEMPORAL_UI_URL"), "/")
	switch {
	case l.cfg.TemporalAddress != "":
		if reason := hostPort(l.cfg.TemporalAddress, false); reason != "" {
			l.c.add("TEMPORAL_ADDRESS", reason)
		}
	case l.needs(ModeAPI, ModeWorker, ModeBot):
		l.required("TEMPORAL_ADDRESS")
	}
	l.cfg.TemporalNamespace = l.identifier("TEMPORAL_NAMESPACE", DefaultTemporalNamespace)
	l.cfg.TaskQueue = l.identifier("TEMPORAL_TASK_QUEUE", DefaultTaskQueue)
	l.cfg.TemporalAPIKey = Secret(l.env("TEMPORAL_API_KEY"))
	if raw := l.env("TEMPORAL_TLS"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			l.c.add("TEMPORAL_TLS", fmt.Sprintf("invalid boolean %q (use true or false)", raw))
		}
		l.cfg.TemporalTLS = b
	}
	if l.cfg.TemporalAPIKey.IsSet() {
		l.cfg.TemporalTLS = true
		if l.cfg.TemporalAddress == "" && l.dev {
			l.c.add("TEMPORAL_API_KEY", "set without TEMPORAL_ADDRESS (the embedded dev server takes no API key)")
		}
	}
}

// identifier reads a name-like setting (namespace, task queue).
func (l *loader) identifier(name, def string) string {
	v := l.env(name)
	if v == "" {
		return def
	}
	if len(v) > 255 || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		l.c.add(name, fmt.Sprintf("invalid name %q (no spaces or control characters, at most 255 bytes)", v))
	}
	return v
}

// hostPort validates "host:port"; emptyHost allows ":8080".
func hostPort(addr string, emptyHost bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("invalid address %q (want host:port)", addr)
	}
	if host == "" && !emptyHost {
		return fmt.Sprintf("invalid address %q (no host)", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("invalid address %q (port must be 1-65535)", addr)
	}
	return ""
}

func (l *loader) http() {
	l.cfg.HTTPAddr = l.env("HTTP_ADDR")
	if l.cfg.HTTPAddr == "" {
		l.cfg.HTTPAddr = DefaultHTTPAddr
		if l.dev {
			l.cfg.HTTPAddr = DefaultDevHTTPAddr
		}
	}
	addrOK := true
	if reason := hostPort(l.cfg.HTTPAddr, true); reason != "" {
		l.c.add("HTTP_ADDR", reason)
		addrOK = false
	}

	raw := l.env("PUBLIC_URL")
	if raw == "" {
		switch {
		case l.dev && addrOK:
			l.cfg.PublicURL = devPublicURL(l.cfg.HTTPAddr)
		case l.needs(ModeAPI):
			l.required("PUBLIC_URL")
		}
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		l.c.add("PUBLIC_URL", fmt.Sprintf("invalid URL %q (want an absolute http(s) URL, e.g. https://trade.example.com)", raw))
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		l.c.add("PUBLIC_URL", "must not contain credentials, a query or a fragment")
	case u.Scheme == "http" && !l.dev && !isLoopback(u.Hostname()):
		l.c.add("PUBLIC_URL", fmt.Sprintf("%q must use https outside dev mode (session cookies are Secure)", raw))
	}
	l.cfg.PublicURL = strings.TrimRight(raw, "/")
}

func devPublicURL(httpAddr string) string {
	host, port, _ := net.SplitHostPort(httpAddr)
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "::1":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) vaultKeys() {
	raw, source := l.env("VAULT_KEYS"), ""
	if raw == "" {
		switch {
		case l.dev:
			raw, source = l.devSecret("VAULT_KEYS", "vault.keys", func() (string, error) {
				k, err := vault.NewMasterKey()
				return "1:" + k, err
			})
			if raw == "" {
				return
			}
		case l.keyringFromFile():
			return
		case l.needs(ModeAPI, ModeWorker, ModeKeys):
			l.required("VAULT_KEYS")
			return
		default:
			return
		}
	}
	kr, err := vault.ParseKeyring(raw)
	if err != nil {
		// vault's messages name versions and sizes, never key material.
		reason := strings.TrimPrefix(err.Error(), vault.ErrInvalidKeyring.Error()+": ")
		if source != "" {
			reason = source + ": " + reason
		}
		l.c.add("VAULT_KEYS", reason+` (format "2:base64key,1:base64key", 32-byte keys)`)
		return
	}
	l.cfg.VaultKeys, l.cfg.Keyring = Secret(raw), kr
}

func (l *loader) jwt() {
	raw, source := l.env("JWT_SECRET"), "the value"
	if raw == "" {
		switch {
		case l.dev:
			raw, source = l.devSecret("JWT_SECRET", "jwt.secret", func() (string, error) {
				return randomBase64(48)
			})
			if raw == "" {
				return
			}
		case l.needs(ModeAPI):
			l.required("JWT_SECRET")
			return
		default:
			return
		}
	}
	if len(raw) < minJWTSecretBytes {
		l.c.add("JWT_SECRET", fmt.Sprintf("%s is %d bytes, want at least %d (e.g. openssl rand -base64 48)",
			source, len(raw), minJWTSecretBytes))
		return
	}
	l.cfg.JWTSecret = Secret(raw)
}

// intVar reads a whole-number variable (default def when unset) that must
// be at least min.
func (l *loader) intVar(name string, def, min int) int {
	v := l.env(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		l.c.add(name, fmt.Sprintf("must be a whole number ≥ %d, got %q", min, v))
		return def
	}
	return n
}

func (l *loader) discord() {
	l.cfg.DiscordBotToken = Secret(l.env("DISCORD_BOT_TOKEN"))
	if !l.cfg.DiscordBotToken.IsSet() && l.needs(ModeBot) {
		l.required("DISCORD_BOT_TOKEN")
	}
	l.cfg.DiscordShardID = l.intVar("DISCORD_SHARD_ID", 0, 0)
	l.cfg.DiscordShardCount = l.intVar("DISCORD_SHARD_COUNT", 1, 1)
	if l.cfg.DiscordShardID >= l.cfg.DiscordShardCount {
		l.c.add("DISCORD_SHARD_ID", fmt.Sprintf("must be below DISCORD_SHARD_COUNT (%d)", l.cfg.DiscordShardCount))
	}
	l.cfg.DiscordCommandGuildID = l.env("DISCORD_COMMAND_GUILD_ID")
	l.cfg.DiscordClientID = l.env("DISCORD_CLIENT_ID")
	l.cfg.DiscordClientSecret = Secret(l.env("DISCORD_CLIENT_SECRET"))
	switch {
	case l.cfg.DiscordClientID != "" && !l.cfg.DiscordClientSecret.IsSet():
		l.c.add("DISCORD_CLIENT_SECRET", "required when DISCORD_CLIENT_ID is set (Discord login)")
	case l.cfg.DiscordClientID == "" && l.cfg.DiscordClientSecret.IsSet():
		l.c.add("DISCORD_CLIENT_ID", "required when DISCORD_CLIENT_SECRET is set (Discord login)")
	}
}

func (l *loader) billing() {
	l.cfg.BillingProvider = strings.ToLower(l.env("BILLING_PROVIDER"))
	if l.cfg.BillingProvider == "" {
		l.cfg.BillingProvider = BillingNone
	}
	l.cfg.StripeSecretKey = Secret(l.env("STRIPE_SECRET_KEY"))
	l.cfg.StripeWebhookSecret = Secret(l.env("STRIPE_WEBHOOK_SECRET"))
	l.cfg.PolarAccessToken = Secret(l.env("POLAR_ACCESS_TOKEN"))
	l.cfg.PolarWebhookSecret = Secret(l.env("POLAR_WEBHOOK_SECRET"))
	l.cfg.StripePrices = map[string]string{"basic": l.env("STRIPE_PRICE_BASIC"), "pro": l.env("STRIPE_PRICE_PRO"), "premium": l.env("STRIPE_PRICE_PREMIUM")}
	l.cfg.StripeAPIBase = l.env("STRIPE_API_BASE")
	l.cfg.PolarProducts = map[string]string{"basic": l.env("POLAR_PRODUCT_BASIC"), "pro": l.env("POLAR_PRODUCT_PRO"), "premium": l.env("POLAR_PRODUCT_PREMIUM")}
	l.cfg.PolarAPIBase = l.env("POLAR_API_BASE")
	var need map[string]Secret
	switch l.cfg.BillingProvider {
	case BillingNone:
		return
	case BillingStripe:
		need = map[string]Secret{"STRIPE_SECRET_KEY": l.cfg.StripeSecretKey, "STRIPE_WEBHOOK_SECRET": l.cfg.StripeWebhookSecret}
		for _, tier := range []string{"basic", "pro", "premium"} {
			if l.cfg.StripePrices[tier] == "" && l.needs(ModeDev, ModeAPI, ModeWorker) {
				l.c.add("STRIPE_PRICE_"+strings.ToUpper(tier), "required when BILLING_PROVIDER=stripe (the Stripe price id of the plan)")
			}
		}
		if b := l.cfg.StripeAPIBase; b != "" {
			u, err := url.Parse(b)
			if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
				l.c.add("STRIPE_API_BASE", fmt.Sprintf("invalid %q: https, or http on localhost (stripe-mock)", b))
			}
		}
	case BillingPolar:
		need = map[string]Secret{"POLAR_ACCESS_TOKEN": l.cfg.PolarAccessToken, "POLAR_WEBHOOK_SECRET": l.cfg.PolarWebhookSecret}
		for _, tier := range []string{"basic", "pro", "premium"} {
			if l.cfg.PolarProducts[tier] == "" && l.needs(ModeDev, ModeAPI, ModeWorker) {
				l.c.add("POLAR_PRODUCT_"+strings.ToUpper(tier), "required when BILLING_PROVIDER=polar (the Polar product id of the plan)")
			}
		}
		if b := l.cfg.PolarAPIBase; b != "" {
			u, err := url.Parse(b)
			if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
				l.c.add("POLAR_API_BASE", fmt.Sprintf("invalid %q: https (e.g. https://sandbox-api.polar.sh), or http on localhost", b))
			}
		}
	default:
		l.c.add("BILLING_PROVIDER", fmt.Sprintf("unknown provider %q (use none, stripe or polar)", l.cfg.BillingProvider))
		return
	}
	if !l.needs(ModeDev, ModeAPI, ModeWorker) {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(need)) {
		if !need[name].IsSet() {
			l.c.add(name, "required when BILLING_PROVIDER="+l.cfg.BillingProvider)
		}
	}
}

func (l *loader) shutdown() {
	l.cfg.ShutdownTimeout = DefaultShutdownTimeout
	raw := l.env("SHUTDOWN_TIMEOUT")
	if raw == "" {
		return
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 || d > 10*time.Minute {
		l.c.add("SHUTDOWN_TIMEOUT", fmt.Sprintf("invalid duration %q (e.g. 30s; between 1s and 10m)", raw))
		return
	}
	l.cfg.ShutdownTimeout = d
}

func (l *loader) shutdownDrain() {
	raw := l.env("SHUTDOWN_DRAIN_DELAY")
	if raw == "" {
		return
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < 0 || d > time.Minute {
		l.c.add("SHUTDOWN_DRAIN_DELAY", fmt.Sprintf("invalid duration %q (e.g. 5s; between 0s and 1m)", raw))
		return
	}
	l.cfg.ShutdownDrainDelay = d
}

func randomBase64(n int) (string, error) {
	b, err := randomBytes(n)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
