package app

import (
	"context"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/worker"
)

// KeysOptions configure the key lifecycle (DESIGN "Key lifecycle").
type KeysOptions struct {
	// Store is where the vault key versions live (config.VaultStore); nil
	// means Options.Vault as a read-only keyring.
	Store vault.KeyStore
	// RotationEvery is the key-rotation schedule's interval (default
	// yearly).
	RotationEvery time.Duration
	// PageSize overrides the re-encryption page size (tests).
	PageSize int
}

// KeysOptionsFrom maps the process configuration onto KeysOptions.
func KeysOptionsFrom(cfg config.Config) KeysOptions {
	return KeysOptions{Store: cfg.VaultStore(), RotationEvery: cfg.Keys.RotationInterval}
}

// openVault is the stack's vault: the key store's keyring, reloaded when
// another process rotated it. Nil without keys.
func openVault(ctx context.Context, o Options) (*vault.Live, error) {
	switch {
	case o.Keys.Store != nil:
		return vault.OpenLive(ctx, o.Keys.Store)
	case o.Vault != nil:
		return vault.OpenLive(ctx, vault.StaticStore{Keyring: o.Vault})
	}
	return nil, nil
}

// NewRotator builds the key lifecycle's rules on db: vault keys through
// live, JWT signing keys when jwtSecret is set.
func NewRotator(db *gorm.DB, live *vault.Live, jwtSecret []byte, log *zap.Logger) (*keys.Rotator, error) {
	r := &keys.Rotator{DB: db, Vault: live, Log: log.Named("keys")}
	if len(jwtSecret) > 0 {
		sk, err := auth.NewSigningKeys(auth.SigningKeysConfig{DB: db, Secret: jwtSecret, Log: log.Named("auth")})
		if err != nil {
			return nil, err
		}
		r.Signing = sk
	}
	return r, nil
}

// keysActivities are the worker's key-rotation activities (nil without a
// vault).
func (s *Stack) keysActivities(o Options) (*activities.Keys, error) {
	if s.Keys == nil {
		return nil, nil
	}
	if s.Keys.Signing == nil {
		s.log.Warn("JWT_SECRET is not set in this worker: the key-rotation workflow rotates the vault keys only; rotate the JWT signing keys from the API (POST /api/v1/admin/keys/rotate-signing)")
	}
	return &activities.Keys{Rotator: s.Keys}, nil
}

// keysAPI are the admin key routes' dependencies.
func (s *Stack) keysAPI(o Options) *api.KeysAdmin {
	if s.Keys == nil {
		return nil
	}
	return &api.KeysAdmin{Rotator: s.Keys, ScheduleID: worker.KeyRotationScheduleID(o.TaskQueue)}
}

func (o Options) scheduleConfig() worker.ScheduleConfig {
	return worker.ScheduleConfig{KeyRotationEvery: o.Keys.RotationEvery}
}
