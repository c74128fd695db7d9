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

// keyReloadEvery is how often every Service reloads the signing keys (Run).
// A key rotated by another process may still sign on a replica for this
// long, so a key rotated outside the Service verifies this much longer.
const keyReloadEvery = time.Minute

// SigningKeys manages the JWT signing keys outside of a Service: the
// key-rotation workflow's activities (worker), `tradeexec keys` and the
// admin API. It shares the signing_keys table and JWT_SECRET with every
// Service; the replicas pick its changes up on their next reload.
type SigningKeys struct {
	k   *keyring
	db  *gorm.DB
	now func() time.Time
	// VerifyAfter is how long a key verifies after it stops signing: the
	// longest access-token lifetime, the leeway and one reload period
	// (tests shorten it to see retirement).
	VerifyAfter time.Duration
}

// SigningKeysConfig configures NewSigningKeys. DB and Secret are required;
// AccessTTL and Leeway default like Config's.
type SigningKeysConfig struct {
	DB        *gorm.DB
	Secret    []byte
	Log       *zap.Logger
	Now       func() time.Time
	AccessTTL time.Duration
	Leeway    time.Duration
	// KeyRotation is how long a new key signs before the Services create
	// the next one themselves (default 30 days).
	KeyRotation time.Duration
}

// NewSigningKeys builds a SigningKeys.
func NewSigningKeys(cfg SigningKeysConfig) (*SigningKeys, error) {
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
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.KeyRotation <= 0 {
		cfg.KeyRotation = DefaultKeyRotation
	}
	now := func() time.Time { return cfg.Now().UTC() }
	after := cfg.AccessTTL + cfg.Leeway + keyReloadEvery
	k, err := newKeyring(cfg.DB, cfg.Secret, now, cfg.KeyRotation, after, cfg.Log)
	if err != nil {
		return nil, err
	}
	return &SigningKeys{k: k, db: cfg.DB, now: now, VerifyAfter: after}, nil
}

// SigningKeyInfo describes one signing key (never its secret).
type SigningKeyInfo struct {
	KID         string     `json:"kid"`
	CreatedAt   time.Time  `json:"createdAt"`
	SignUntil   time.Time  `json:"signUntil"`
	VerifyUntil time.Time  `json:"verifyUntil"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	// State: signing, verifying (no longer signs, its tokens still verify),
	// expired (waits for retirement) or revoked.
	State string `json:"state"`
}

// Signing key states of SigningKeyInfo.
const (
	KeySigning   = "signing"
	KeyVerifying = "verifying"
	KeyExpired   = "expired"
	KeyRevoked   = "revoked"
)

// List returns every stored signing key, newest first.
func (s *SigningKeys) List(ctx context.Context) ([]SigningKeyInfo, error) {
	var rows []schema.SigningKey
	if err := s.db.WithContext(ctx).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("auth: list signing keys: %w", err)
	}
	now := s.now()
	out := make([]SigningKeyInfo, 0, len(rows))
	for _, r := range rows {
		i := SigningKeyInfo{KID: r.KID, CreatedAt: r.CreatedAt.UTC(), SignUntil: r.SignUntil.UTC(), VerifyUntil: r.VerifyUntil.UTC(), RevokedAt: r.RevokedAt}
		switch {
		case r.RevokedAt != nil:
			i.State = KeyRevoked
		case now.Before(r.SignUntil):
			i.State = KeySigning
		case now.Before(r.VerifyUntil):
			i.State = KeyVerifying
		default:
			i.State = KeyExpired
		}
		out = append(out, i)
	}
	return out, nil
}

// SigningRotation is the outcome of Rotate.
type SigningRotation struct {
	KID     string `json:"kid"`
	Created bool   `json:"created"`
	// RetireAt is when the last token of the keys that stopped signing has
	// expired: RetireExpired retires them from then on.
	RetireAt time.Time `json:"retireAt"`
}

// Rotate stops every current key from signing (their tokens verify for
// VerifyAfter more) and creates a new key, recording SIGNING_KEY_ROTATED.
// It is idempotent for a rotation started at since: when a key created at
// or after since still signs, Rotate returns it and changes nothing (a
// retried activity).
func (s *SigningKeys) Rotate(ctx context.Context, since time.Time, by string) (SigningRotation, error) {
	var existing schema.SigningKey
	err := s.db.WithContext(ctx).Where("revoked_at IS NULL AND created_at >= ? AND sign_until > ?", since.UTC(), s.now()).
		Order("created_at DESC").Take(&existing).Error
	if err == nil {
		return SigningRotation{KID: existing.KID, RetireAt: existing.CreatedAt.UTC().Add(s.VerifyAfter)}, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return SigningRotation{}, fmt.Errorf("auth: find signing key: %w", err)
	}
	kid, err := s.k.rotateFor(ctx, s.VerifyAfter)
	if err != nil {
		return SigningRotation{}, err
	}
	var older []schema.SigningKey
	if err := s.db.WithContext(ctx).Where("kid <> ? AND revoked_at IS NULL", kid).Find(&older).Error; err != nil {
		return SigningRotation{}, fmt.Errorf("auth: read signing keys: %w", err)
	}
	retireAt := s.now()
	for _, o := range older {
		if o.VerifyUntil.After(retireAt) {
			retireAt = o.VerifyUntil
		}
	}
	rot := SigningRotation{KID: kid, Created: true, RetireAt: retireAt.UTC()}
	return rot, s.audit(ctx, audit.ActionSigningKeyRotated, kid, map[string]any{"by": by, "retire_at": rot.RetireAt})
}

// RetireExpired deletes the keys whose tokens have all expired (verify
// time over, revoked or not) and records SIGNING_KEY_RETIRED for each. It
// returns their kids.
func (s *SigningKeys) RetireExpired(ctx context.Context, by string) ([]string, error) {
	now := s.now()
	var kids []string
	err := store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		kids = nil
		if err := tx.Model(&schema.SigningKey{}).Where("verify_until <= ?", now).Order("created_at").Pluck("kid", &kids).Error; err != nil {
			return err
		}
		for _, kid := range kids {
			res := tx.Where("kid = ? AND verify_until <= ?", kid, now).Delete(&schema.SigningKey{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				continue
			}
			if _, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: audit.ActionSigningKeyRetired,
				ResourceType: "SigningKey", ResourceID: kid, Details: map[string]any{"by": by}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: retire signing keys: %w", err)
	}
	return kids, nil
}

// Revoke withdraws a compromised key at once (every token it signed is
// refused on each replica after its next reload, at most a minute) and
// records SIGNING_KEY_REVOKED. Revoking the key that signs makes the
// replicas create a new one.
func (s *SigningKeys) Revoke(ctx context.Context, kid, by string) error {
	res := s.db.WithContext(ctx).Model(&schema.SigningKey{}).Where("kid = ? AND revoked_at IS NULL", kid).Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("auth: revoke signing key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		var n int64
		if err := s.db.WithContext(ctx).Model(&schema.SigningKey{}).Where("kid = ?", kid).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return ErrUnknownSigningKey
		}
		return nil // already revoked
	}
	return s.audit(ctx, audit.ActionSigningKeyRevoked, kid, map[string]any{"by": by})
}

// ErrUnknownSigningKey: no signing key has that kid.
var ErrUnknownSigningKey = errors.New("auth: no signing key with that kid")

func (s *SigningKeys) audit(ctx context.Context, action, kid string, details map[string]any) error {
	return store.InTx(ctx, s.db, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: action, ResourceType: "SigningKey",
			ResourceID: kid, Details: details})
		return err
	})
}
