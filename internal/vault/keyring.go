// Package vault encrypts broker credentials at rest (FR-014, FR-077):
// AES-256-GCM under a per-user key derived with HKDF-SHA256 from a versioned
// master key and the user id, with the ciphertext bound to its database row
// through the associated data, and the key version stored in every blob.
// Blobs decrypt under the current master key version and the two before it;
// older ones must have been rotated (Rotate) before their key is retired.
package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// Versions kept decryptable: the current one and the two before it.
const acceptedVersions = 3

// Keyring holds the versioned master keys. Current encrypts; Current and the
// two versions before it decrypt.
type Keyring struct {
	Keys    map[int][]byte
	Current int
}

// Errors returned by the vault. Messages carry no key material.
var (
	// ErrKeyRetired: the blob was encrypted under a key version older than
	// the current one minus two; it must have been rotated earlier.
	ErrKeyRetired = errors.New("vault: credentials were encrypted with a retired key version")
	// ErrUnknownKeyVersion: the keyring has no key of the blob's version.
	ErrUnknownKeyVersion = errors.New("vault: no master key for the credentials' key version")
	// ErrTampered: the blob is malformed, was modified, or belongs to another
	// row or user.
	ErrTampered = errors.New("vault: credentials failed authentication (modified or moved)")
	// ErrInvalidKeyring: the keyring configuration is unusable.
	ErrInvalidKeyring = errors.New("vault: invalid keyring")
)

// ParseKeyring reads "version:base64key,version:base64key" (standard or
// URL-safe base64, padded or not). The highest version is current.
func ParseKeyring(s string) (*Keyring, error) {
	kr := &Keyring{Keys: map[int][]byte{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		vs, enc, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is not version:key", ErrInvalidKeyring, len(kr.Keys)+1)
		}
		v, err := strconv.Atoi(strings.TrimSpace(vs))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%w: key version %q is not a positive integer", ErrInvalidKeyring, vs)
		}
		if _, dup := kr.Keys[v]; dup {
			return nil, fmt.Errorf("%w: key version %d listed twice", ErrInvalidKeyring, v)
		}
		key, err := decodeKey(strings.TrimSpace(enc))
		if err != nil {
			return nil, fmt.Errorf("%w: key version %d is not base64", ErrInvalidKeyring, v)
		}
		kr.Keys[v] = key
		if v > kr.Current {
			kr.Current = v
		}
	}
	if err := kr.Validate(); err != nil {
		return nil, err
	}
	return kr, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// Validate checks that the current key exists and every key is 32 bytes.
func (k *Keyring) Validate() error {
	if k == nil || len(k.Keys) == 0 {
		return fmt.Errorf("%w: no keys", ErrInvalidKeyring)
	}
	if _, ok := k.Keys[k.Current]; !ok {
		return fmt.Errorf("%w: current version %d has no key", ErrInvalidKeyring, k.Current)
	}
	for v, key := range k.Keys {
		if v < 1 || v > maxVersion {
			return fmt.Errorf("%w: key version %d out of range", ErrInvalidKeyring, v)
		}
		if len(key) != KeySize {
			return fmt.Errorf("%w: key version %d is %d bytes, want %d", ErrInvalidKeyring, v, len(key), KeySize)
		}
	}
	return nil
}

// Versions lists the key versions in the keyring, ascending.
func (k *Keyring) Versions() []int {
	out := make([]int, 0, len(k.Keys))
	for v := range k.Keys {
		out = append(out, v)
	}
	sort.Ints(out)
	return out
}

// Accepts reports whether blobs of key version v decrypt with this keyring:
// the current version, the two before it, and a newer version whose key is
// already present (staged during a rolling deployment of a new key).
func (k *Keyring) Accepts(v int) bool {
	_, ok := k.Keys[v]
	return ok && v > k.Current-acceptedVersions
}

// String never prints key material.
func (k *Keyring) String() string {
	if k == nil {
		return "vault.Keyring(nil)"
	}
	return fmt.Sprintf("vault.Keyring{current: %d, versions: %v}", k.Current, k.Versions())
}

// GoString never prints key material.
func (k *Keyring) GoString() string { return k.String() }

// NewMasterKey returns a fresh random 32-byte key, base64 encoded, for the
// keyring configuration.
func NewMasterKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
