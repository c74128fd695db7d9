// Package config loads tradeexec's configuration from the environment.
//
// Mode "dev" needs nothing: it defaults to SQLite and the embedded Temporal
// dev server under DATA_DIR (.data) and generates its secrets there (0600).
// The production modes (api, worker, bot, migrate) require what they use and
// refuse to start otherwise; Load reports every problem at once, each naming
// the variable and why, never a secret's value.
package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/vault"
)

// Modes (tradeexec subcommands).
const (
	ModeDev     = "dev"
	ModeAPI     = "api"
	ModeWorker  = "worker"
	ModeBot     = "bot"
	ModeMigrate = "migrate"
	// ModeKeys is `tradeexec keys …` (key lifecycle CLI); without
	// DATABASE_URL it works on the dev data (DATA_DIR) like dev.
	ModeKeys = "keys"
	// ModeAudit is `tradeexec audit verify|export|archive`.
	ModeAudit = "audit"
)

// Modes lists the modes Load accepts.
var Modes = []string{ModeDev, ModeAPI, ModeWorker, ModeBot, ModeMigrate, ModeKeys, ModeAudit}

// Defaults.
const (
	DefaultDataDir           = ".data"
	DefaultTemporalNamespace = "default"
	DefaultTaskQueue         = "tradeexec"
	DefaultHTTPAddr          = ":8080"
	DefaultDevHTTPAddr       = "127.0.0.1:8080"
	DefaultShutdownTimeout   = 30 * time.Second
)

// Billing providers (BILLING_PROVIDER).
const (
	BillingNone   = "none"
	BillingStripe = "stripe"
	BillingPolar  = "polar"
)

// Config is the process configuration. Secret fields print as "[redacted]";
// use Reveal where the value is needed.
type Config struct {
	Mode string

	// DatabaseURL: postgres://… (production) or sqlite://path (dev).
	DatabaseURL Secret
	// DatabaseDriver is "postgres" or "sqlite", from DatabaseURL's scheme.
	DatabaseDriver string
	// DatabaseAppRole (DATABASE_APP_ROLE) is the non-owner role the app
	// connects as; `migrate` grants it table access after migrating.
	DatabaseAppRole string

	// TemporalAddress is host:port of the Temporal frontend; empty in dev
	// mode means "start the embedded dev server" (EmbeddedTemporal).
	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalAPIKey authenticates to Temporal Cloud; setting it turns on TLS.
	TemporalAPIKey Secret
	TemporalTLS    bool

	// TemporalUIURL is the Temporal UI base URL linked from a trade's
	// timeline for support staff (TEMPORAL_UI_URL; dev: the embedded UI).
	TemporalUIURL string

	HTTPAddr  string // listen address of the api
	PublicURL string // external base URL (OAuth redirects, webhook URLs), no trailing slash
	// TrustedProxies are the load balancers whose X-Forwarded-For gives the
	// client IP (TRUSTED_PROXIES: IPs or CIDRs); empty trusts none.
	TrustedProxies []string

	// VaultKeys is VAULT_KEYS as given ("2:base64,1:base64"); Keyring is it parsed.
	VaultKeys Secret
	Keyring   *vault.Keyring `json:"-"` // its String never prints keys; JSON would
	// Keys configures the key lifecycle (VAULT_KEYS_FILE,
	// KEY_ROTATION_INTERVAL; internal/config/keys.go).
	Keys KeysConfig

	// TemporalPayloadKeys is TEMPORAL_PAYLOAD_KEYS as given (VAULT_KEYS'
	// format); PayloadCodec encrypts every Temporal payload with it.
	TemporalPayloadKeys Secret
	PayloadCodec        *payloadcodec.Codec `json:"-"`

	JWTSecret Secret

	DiscordBotToken Secret
	// DiscordShardID / DiscordShardCount select this bot replica's gateway
	// shard (DISCORD_SHARD_ID, DISCORD_SHARD_COUNT; default one shard).
	DiscordShardID, DiscordShardCount int
	// DiscordCommandGuildID registers slash commands in one guild (dev).
	DiscordCommandGuildID string
	DiscordClientID       string
	DiscordClientSecret   Secret

	// Schwab's Trader API app (optional; all three or none). The redirect
	// URL defaults to PUBLIC_URL + /brokers/schwab/callback.
	SchwabClientID     string
	SchwabClientSecret Secret
	SchwabRedirectURL  string

	BillingProvider     string // none, stripe or polar
	StripeSecretKey     Secret
	StripeWebhookSecret Secret
	PolarAccessToken    Secret
	PolarWebhookSecret  Secret
	// StripePrices maps plan tiers (basic, pro, premium) to Stripe price
	// ids; StripeAPIBase overrides api.stripe.com (stripe-mock in dev).
	StripePrices  map[string]string
	StripeAPIBase string
	// PolarProducts maps plan tiers to Polar product ids; PolarAPIBase
	// overrides https://api.polar.sh (the sandbox, or a local fake).
	PolarProducts map[string]string
	PolarAPIBase  string

	// SMTP sends mail when Host is set (internal/config/mail.go).
	SMTP SMTPConfig

	LogLevel  string // debug, info, warn, error
	LogFormat string // json or console

	// DataDir holds dev-mode state (.data): SQLite, Temporal, generated secrets.
	DataDir string

	ShutdownTimeout time.Duration
	// ShutdownDrainDelay is how long a stopping api answers /ready 503
	// while still serving, before it closes its listener
	// (SHUTDOWN_DRAIN_DELAY, default 0; a few seconds behind a balancer).
	ShutdownDrainDelay time.Duration

	// Audit configures the audit log's checkpoints and archive
	// (internal/config/audit.go).
	Audit AuditConfig

	// GuardPoll is the account guard's interval between checks of an
	// account (RISK_GUARD_POLL, default 30s).
	GuardPoll time.Duration

	// PaperQuotes is the paper broker's price source (PAPER_QUOTES…).
	PaperQuotes PaperQuotes

	// BinanceEgressID names the public address this process's Binance
	// requests leave from (BINANCE_EGRESS_ID, empty: one shared address).
	BinanceEgressID string

	// Observability: metrics listener and trace export
	// (internal/config/observability.go).
	Observability Observability
}

// EmbeddedTemporal reports whether `tradeexec dev` should start the Temporal
// dev server itself (no TEMPORAL_ADDRESS given in dev mode).
func (c Config) EmbeddedTemporal() bool { return c.Mode == ModeDev && c.TemporalAddress == "" }

// TemporalDBFile is where the embedded dev server keeps its state.
func (c Config) TemporalDBFile() string { return filepath.Join(c.DataDir, "temporal.db") }

// Load reads the configuration for mode from getenv (os.Getenv in main). In
// dev mode it may create DATA_DIR and the secret files in it. The error, if
// any, is an Errors listing every problem found.
func Load(getenv func(string) string, mode string) (Config, error) {
	if !slices.Contains(Modes, mode) {
		return Config{}, fmt.Errorf("config: unknown mode %q (want one of %s)", mode, strings.Join(Modes, ", "))
	}
	dev := mode == ModeDev || mode == ModeKeys && strings.TrimSpace(getenv("DATABASE_URL")) == ""
	l := loader{getenv: getenv, dev: dev, cfg: Config{Mode: mode}}
	l.dataDir()
	l.logging()
	l.database()
	l.databaseAppRole()
	l.temporal()
	l.http()
	l.trustedProxies()
	l.vaultKeys()
	l.keysFile()
	l.keyRotation()
	l.payloadKeys()
	l.jwt()
	l.discord()
	l.schwab()
	l.billing()
	l.mail()
	l.shutdown()
	l.shutdownDrain()
	l.risk()
	l.paperQuotes()
	l.binanceEgress()
	l.audit()
	l.observability()
	if err := l.c.err(); err != nil {
		return Config{}, err
	}
	return l.cfg, nil
}

// needs reports whether the current mode requires a setting used by the given modes.
func (l *loader) needs(modes ...string) bool { return slices.Contains(modes, l.cfg.Mode) }

type loader struct {
	getenv func(string) string
	dev    bool
	cfg    Config
	c      collector
}

func (l *loader) env(name string) string { return strings.TrimSpace(l.getenv(name)) }

func (l *loader) required(name string) { l.c.add(name, "required in "+l.cfg.Mode+" mode") }
