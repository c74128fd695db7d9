// Package vault encrypts broker credentials at rest (FR-014, FR-077):
// AES-256-GCM under a per-user key derived with HKDF-SHA256 from a versioned
// master key and the user id, with the ciphertext bound to its database row
// through the associated data, and the key version stored in every blob.
// Every key version the keyring holds decrypts (there is no window): a
// version is retired by removing it from the keyring, which the key-rotation
// workflow (internal/keys) does only once no stored blob names it. Where the
// versions live is a KeyStore (store.go): VAULT_KEYS, a keyring file, or a
// KMS adapter.
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

// Keyring holds the versioned master keys. Current encrypts; every version
// present decrypts.
type Keyring struct {
	Keys    map[int][]byte
	Current int
}

// Errors returned by the vault. Messages carry no key material.
var (
	// ErrKeyRetired: the blob was encrypted under a key version older than
	// every version the keyring still holds (removed after rotation).
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
// URL-safe base64, padded or not); entries may also be separated by new
// lines, and a line starting with # is a comment (the keyring file). The
// highest version is current.
func ParseKeyring(s string) (*Keyring, error) {
	kr := &Keyring{Keys: map[int][]byte{}}
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		parts = append(parts, strings.Split(line, ",")...)
	}
	for _, part := range parts {
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
// every version whose key is present, older ones and a newer one staged
// during a rolling deployment alike.
func (k *Keyring) Accepts(v int) bool {
	_, ok := k.Keys[v]
	return ok
}

// Oldest is the lowest version the keyring holds (0 when empty).
func (k *Keyring) Oldest() int {
	oldest := 0
	for v := range k.Keys {
		if oldest == 0 || v < oldest {
			oldest = v
		}
	}
	return oldest
}

// Clone returns a deep copy (the key-rotation code adds and removes
// versions on a copy; the copy must be cleared by the caller when done).
func (k *Keyring) Clone() *Keyring {
	c := &Keyring{Keys: make(map[int][]byte, len(k.Keys)), Current: k.Current}
	for v, key := range k.Keys {
		c.Keys[v] = append([]byte(nil), key...)
	}
	return c
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

func encodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) }
