package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tradeexec/tradeexec/internal/vault"
)

// SigningKeys sign and verify checkpoints and archive segments with
// HMAC-SHA256 (AUDIT_CHECKPOINT_KEYS, in VAULT_KEYS' "2:base64,1:base64"
// format). The newest version signs; every listed version verifies, so a
// version must stay listed as long as objects it signed are kept (the
// archive's retention). Keys never enter the database.
type SigningKeys struct {
	keys    map[int][]byte
	current int
}

// hkdfSigningInfo separates these keys from any other use of the same
// master key material.
const hkdfSigningInfo = "tradeexec/audit-checkpoint"

// ErrBadSignature: an object's MAC does not verify under its key id.
var ErrBadSignature = errors.New("audit: signature does not verify (object forged or altered, or its key version is not configured)")

// ParseSigningKeys reads AUDIT_CHECKPOINT_KEYS.
func ParseSigningKeys(s string) (*SigningKeys, error) {
	kr, err := vault.ParseKeyring(s)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint keys: %s", strings.TrimPrefix(err.Error(), vault.ErrInvalidKeyring.Error()+": "))
	}
	sk := &SigningKeys{keys: map[int][]byte{}, current: kr.Current}
	for v, master := range kr.Keys {
		k, err := hkdf.Key(sha256.New, master, nil, hkdfSigningInfo, sha256.Size)
		if err != nil {
			return nil, err
		}
		sk.keys[v] = k
	}
	return sk, nil
}

// Current is the key version that signs.
func (k *SigningKeys) Current() int { return k.current }

// String never prints key material.
func (k *SigningKeys) String() string {
	if k == nil {
		return "audit.SigningKeys(nil)"
	}
	return fmt.Sprintf("audit.SigningKeys{current: %d, versions: %d}", k.current, len(k.keys))
}

func (k *SigningKeys) sign(data []byte) (int, string) {
	m := hmac.New(sha256.New, k.keys[k.current])
	m.Write(data)
	return k.current, hex.EncodeToString(m.Sum(nil))
}

func (k *SigningKeys) verify(keyID int, data []byte, mac string) error {
	key, ok := k.keys[keyID]
	if !ok {
		return fmt.Errorf("%w: key version %d is not in AUDIT_CHECKPOINT_KEYS", ErrBadSignature, keyID)
	}
	want, err := hex.DecodeString(mac)
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, key)
	m.Write(data)
	if !hmac.Equal(m.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
}
