package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// Signing keys: HS256 with a random 256-bit key per kid. See doc.go for why
// they live in the database sealed under JWT_SECRET.
const (
	algHS256        = "HS256"
	signingKeyBytes = 32
	// sealInfo separates the sealing key from every other use of JWT_SECRET.
	sealInfo = "tradeexec/jwt-signing-keys/v1"
	// unknownKidReload: a token naming a kid we do not know reloads the
	// key table at most this often (another replica may have rotated).
	unknownKidReload = 5 * time.Second
)

type signingKey struct {
	kid         string
	secret      []byte
	createdAt   time.Time
	signUntil   time.Time
	verifyUntil time.Time
}

// keyring caches the signing keys of the database.
type keyring struct {
	db          *gorm.DB
	aead        cipher.AEAD
	now         func() time.Time
	rotateEvery time.Duration
	verifyAfter time.Duration // how long a key verifies after it stops signing
	log         *zap.Logger

	mu        sync.RWMutex
	keys      map[string]*signingKey
	missAt    time.Time
	unsealBad map[string]bool // kids already reported as unreadable
}

func newKeyring(db *gorm.DB, secret []byte, now func() time.Time, rotateEvery, verifyAfter time.Duration, log *zap.Logger) (*keyring, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("auth: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyring{db: db, aead: aead, now: now, rotateEvery: rotateEvery, verifyAfter: verifyAfter, log: log,
		keys: map[string]*signingKey{}, unsealBad: map[string]bool{}}, nil
}

func sealAAD(kid string) []byte { return []byte("kid=" + kid + ";alg=" + algHS256) }

func (k *keyring) seal(kid string, secret []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, secret, sealAAD(kid)), nil
}

func (k *keyring) unseal(kid string, blob []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(blob) < n+k.aead.Overhead() {
		return nil, errors.New("sealed key too short")
	}
	return k.aead.Open(nil, blob[:n], blob[n:], sealAAD(kid))
}

// reload replaces the cache with the database's live keys.
func (k *keyring) reload(ctx context.Context) error {
	var rows []schema.SigningKey
	if err := k.db.WithContext(ctx).Where("revoked_at IS NULL").Find(&rows).Error; err != nil {
		return fmt.Errorf("auth: load signing keys: %w", err)
	}
	now := k.now()
	keys := map[string]*signingKey{}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range rows {
		if !r.VerifyUntil.After(now) || r.Algorithm != algHS256 {
			continue
		}
		secret, err := k.unseal(r.KID, r.Sealed)
		if err != nil {
			if !k.unsealBad[r.KID] {
				k.unsealBad[r.KID] = true
				k.log.Warn("signing key cannot be unsealed with the configured JWT_SECRET; ignoring it", zap.String("kid", r.KID))
			}
			continue
		}
		keys[r.KID] = &signingKey{kid: r.KID, secret: secret, createdAt: r.CreatedAt, signUntil: r.SignUntil, verifyUntil: r.VerifyUntil}
	}
	k.keys = keys
	return nil
}

// current returns the newest key that may still sign.
func (k *keyring) current() *signingKey {
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	var best *signingKey
	for _, key := range k.keys {
		if now.Before(key.signUntil) && (best == nil || key.createdAt.After(best.createdAt)) {
			best = key
		}
	}
	return best
}

// signing returns the key to sign with, creating one when none may sign
// (first start, or the last one's signing period is over). Call it outside
// of any transaction: it may write.
func (k *keyring) signing(ctx context.Context) (*signingKey, error) {
	if key := k.current(); key != nil {
		return key, nil
	}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if key := k.current(); key != nil {
		return key, nil
	}
	if _, err := k.create(ctx); err != nil {
		return nil, err
	}
	if key := k.current(); key != nil {
		return key, nil
	}
	return nil, errors.New("auth: no usable signing key")
}

// create inserts a new signing key and reloads.
func (k *keyring) create(ctx context.Context) (string, error) {
	raw := make([]byte, 16)
	secret := make([]byte, signingKeyBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	kid := hex.EncodeToString(raw)
	sealed, err := k.seal(kid, secret)
	clear(secret)
	if err != nil {
		return "", err
	}
	now := k.now().UTC()
	row := schema.SigningKey{KID: kid, Algorithm: algHS256, Sealed: sealed, CreatedAt: now,
		SignUntil: now.Add(k.rotateEvery), VerifyUntil: now.Add(k.rotateEvery + k.verifyAfter)}
	if err := k.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("auth: store signing key: %w", err)
	}
	k.log.Info("created JWT signing key", zap.String("kid", kid), zap.Time("sign_until", row.SignUntil))
	return kid, k.reload(ctx)
}

// lookup returns the key named kid if it may verify, reloading the table
// (rate-limited) when the kid is unknown.
func (k *keyring) lookup(ctx context.Context, kid string) (*signingKey, bool) {
	now := k.now()
	k.mu.RLock()
	key, ok := k.keys[kid]
	k.mu.RUnlock()
	if !ok {
		k.mu.Lock()
		due := now.Sub(k.missAt) >= unknownKidReload
		if due {
			k.missAt = now
		}
		k.mu.Unlock()
		if due && k.reload(ctx) == nil {
			k.mu.RLock()
			key, ok = k.keys[kid]
			k.mu.RUnlock()
		}
	}
	if !ok || !now.Before(key.verifyUntil) {
		return nil, false
	}
	return key, true
}

// rotate stops every current key from signing (their tokens stay valid
// until they expire) and creates a new one. It returns the new kid.
func (k *keyring) rotate(ctx context.Context) (string, error) { return k.rotateFor(ctx, k.verifyAfter) }

// rotateFor is rotate with the old keys verifying verifyAfter more.
func (k *keyring) rotateFor(ctx context.Context, verifyAfter time.Duration) (string, error) {
	now := k.now().UTC()
	err := k.db.WithContext(ctx).Model(&schema.SigningKey{}).
		Where("revoked_at IS NULL AND sign_until > ?", now).
		Updates(map[string]any{"sign_until": now, "verify_until": now.Add(verifyAfter)}).Error
	if err != nil {
		return "", fmt.Errorf("auth: rotate signing keys: %w", err)
	}
	return k.create(ctx)
}

// revoke withdraws a key at once: every token it signed stops verifying
// (on other replicas after their next reload, at most a minute).
func (k *keyring) revoke(ctx context.Context, kid string) error {
	now := k.now().UTC()
	if err := k.db.WithContext(ctx).Model(&schema.SigningKey{}).Where("kid = ? AND revoked_at IS NULL", kid).
		Update("revoked_at", now).Error; err != nil {
		return fmt.Errorf("auth: revoke signing key: %w", err)
	}
	return k.reload(ctx)
}

// purge deletes keys that stopped verifying more than a day ago.
func (k *keyring) purge(ctx context.Context) error {
	return k.db.WithContext(ctx).Where("verify_until < ?", k.now().UTC().Add(-24*time.Hour)).
		Delete(&schema.SigningKey{}).Error
}
