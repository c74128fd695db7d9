package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Defaults of Config.
const (
	DefaultAccessTTL  = time.Hour
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// DefaultSessionLifetime is how long a browser session may last from
	// its sign-in, however often it is refreshed: then the trader signs in
	// again (a stolen refresh token cannot live forever).
	DefaultSessionLifetime = 90 * 24 * time.Hour
	DefaultRefreshWindow   = 5 * time.Minute
	DefaultKeyRotation     = 30 * 24 * time.Hour
	DefaultLeeway          = 30 * time.Second
	// DefaultReuseGrace: a refresh token rotated this recently may be
	// presented again together with a still-valid access token of its
	// session (two tabs refreshing at once) without counting as theft.
	DefaultReuseGrace = 10 * time.Second
	// MinSecretBytes is the least JWT_SECRET length accepted.
	MinSecretBytes = 32
)

// Failed-login alerting (FR-059): more than FailedLoginThreshold failures
// for one account within FailedLoginWindow raise a security alert.
const (
	FailedLoginThreshold = 5
	FailedLoginWindow    = 10 * time.Minute
)

// Config configures a Service. DB and Secret are required.
type Config struct {
	DB *gorm.DB
	// Secret is JWT_SECRET (≥ 32 bytes): it seals the signing keys and keys
	// the CSRF and OAuth-flow MACs. It never signs a token itself.
	Secret []byte
	Log    *zap.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time

	AccessTTL  time.Duration // default 1h
	RefreshTTL time.Duration // default 30 days
	// SessionLifetime is the absolute limit of a session from its sign-in
	// (default 90 days); refreshes never extend it.
	SessionLifetime time.Duration
	RefreshWindow   time.Duration // refresh rotates when less than this remains; default 5 min
	KeyRotation     time.Duration // a signing key signs this long; default 30 days
	Leeway          time.Duration // clock skew allowed between replicas; default 30 s
	ReuseGrace      time.Duration // default 10 s

	// Password are the argon2id parameters for new hashes.
	Password PasswordParams

	// Providers are the OAuth providers offered (e.g. NewDiscord(...)).
	Providers []Provider

	// PublicURL is the dashboard's base URL, for links in mails.
	PublicURL string

	Notifier Notifier  // default OutboxNotifier
	Alerts   AlertSink // default LogAlertSink{Log}
	// Committed is called after a transaction wrote outbox events for a
	// user (wakes the real-time fan-out).
	Committed func(userID string)
}

// Service is the accounts and sessions service. It is safe for concurrent
// use; every replica may run one against the same database.
type Service struct {
	cfg       Config
	db        *gorm.DB
	log       *zap.Logger
	keys      *keyring
	providers map[string]Provider
	dummyHash string
	csrfKey   []byte
	flowKey   []byte
}

// New builds a Service and makes sure a signing key exists.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("auth: DB is required")
	}
	if len(cfg.Secret) < MinSecretBytes {
		return nil, fmt.Errorf("auth: JWT secret must be at least %d bytes", MinSecretBytes)
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.AccessTTL, DefaultAccessTTL)
	def(&cfg.RefreshTTL, DefaultRefreshTTL)
	def(&cfg.SessionLifetime, DefaultSessionLifetime)
	def(&cfg.RefreshWindow, DefaultRefreshWindow)
	def(&cfg.KeyRotation, DefaultKeyRotation)
	def(&cfg.Leeway, DefaultLeeway)
	def(&cfg.ReuseGrace, DefaultReuseGrace)
	if cfg.Password == (PasswordParams{}) {
		cfg.Password = DefaultPasswordParams
	}
	if cfg.Notifier == nil {
		cfg.Notifier = OutboxNotifier{}
	}
	if cfg.Alerts == nil {
		cfg.Alerts = LogAlertSink{Log: cfg.Log}
	}
	s := &Service{cfg: cfg, db: cfg.DB, log: cfg.Log, providers: map[string]Provider{}}
	for _, p := range cfg.Providers {
		s.providers[p.Name()] = p
	}
	var err error
	if s.csrfKey, err = deriveKey(cfg.Secret, "tradeexec/csrf/v1"); err != nil {
		return nil, err
	}
	if s.flowKey, err = deriveKey(cfg.Secret, "tradeexec/oauth-flow/v1"); err != nil {
		return nil, err
	}
	s.keys, err = newKeyring(cfg.DB, cfg.Secret, s.now, cfg.KeyRotation, cfg.AccessTTL+cfg.Leeway, cfg.Log)
	if err != nil {
		return nil, err
	}
	// Unknown accounts are checked against this hash so that a login takes
	// as long whether or not the account exists.
	filler, err := GeneratePassword()
	if err != nil {
		return nil, err
	}
	if s.dummyHash, err = HashPassword(filler, cfg.Password); err != nil {
		return nil, err
	}
	if _, err := s.keys.signing(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// AccessTTL is the lifetime of access tokens.
func (s *Service) AccessTTL() time.Duration { return s.cfg.AccessTTL }

// RefreshTTL is the lifetime of refresh tokens.
func (s *Service) RefreshTTL() time.Duration { return s.cfg.RefreshTTL }

// Run does the upkeep until ctx ends: reloads the signing keys every
// minute (keys rotated by another replica), creates the next key when the
// current one stops signing, and purges expired sessions, login attempts and
// retired keys hourly.
func (s *Service) Run(ctx context.Context) {
	reload := time.NewTicker(time.Minute)
	defer reload.Stop()
	purge := time.NewTicker(time.Hour)
	defer purge.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reload.C:
			if err := s.keys.reload(ctx); err != nil {
				s.log.Warn("reload signing keys", zap.Error(err))
			} else if _, err := s.keys.signing(ctx); err != nil {
				s.log.Error("ensure signing key", zap.Error(err))
			}
		case <-purge.C:
			if err := s.Purge(ctx); err != nil {
				s.log.Warn("purge auth state", zap.Error(err))
			}
		}
	}
}

// RotateSigningKey stops the current signing keys from signing and creates
// a new one; tokens already issued stay valid until they expire. It
// records SIGNING_KEY_ROTATED (by names who asked: "admin <id>", "cli")
// and returns the new kid. Reached from POST /api/v1/admin/keys/rotate-signing,
// `tradeexec keys rotate-signing` (through SigningKeys) and the
// key-rotation workflow.
func (s *Service) RotateSigningKey(ctx context.Context, by string) (string, error) {
	kid, err := s.keys.rotate(ctx)
	if err != nil {
		return "", err
	}
	return kid, store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		return appendAudit(tx, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionSigningKeyRotated, ResourceType: "SigningKey",
			ResourceID: kid, Details: map[string]any{"by": by}}, Client{})
	})
}

// RevokeSigningKey withdraws a (compromised) key: every token it signed is
// refused from now on (on other replicas after their next reload, at most
// a minute). It records SIGNING_KEY_REVOKED; ErrUnknownSigningKey when no
// key has that kid.
func (s *Service) RevokeSigningKey(ctx context.Context, kid, by string) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&schema.SigningKey{}).Where("kid = ?", kid).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return ErrUnknownSigningKey
	}
	if err := s.keys.revoke(ctx, kid); err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		return appendAudit(tx, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionSigningKeyRevoked, ResourceType: "SigningKey",
			ResourceID: kid, Details: map[string]any{"by": by}}, Client{})
	})
}

// committed reports users whose outbox got events.
func (s *Service) committed(users ...string) {
	if s.cfg.Committed == nil {
		return
	}
	for _, u := range users {
		if u != "" {
			s.cfg.Committed(u)
		}
	}
}

// appendAudit records an authentication event inside tx.
func appendAudit(tx *gorm.DB, e audit.Entry, c Client) error {
	e.IPAddress, e.UserAgent = c.IP, c.UserAgent
	_, err := audit.Append(tx, e)
	return err
}
