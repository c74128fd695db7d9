package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
)

// Blob layout: format(1) | key version(4, big endian) | nonce(12) | ciphertext+tag.
const (
	formatV1   byte = 1
	headerSize      = 1 + 4
	nonceSize       = 12
	tagSize         = 16
	maxVersion      = 1<<31 - 1
	// maxBindingLen bounds a user or row id (ids are UUIDs); the associated
	// data encodes each id's length in 4 bytes.
	maxBindingLen = 1024
)

// hkdfInfo separates these keys from any other use of the master keys.
const hkdfInfo = "tradeexec/broker-credentials"

// aadLabel starts the associated data of every blob.
const aadLabel = "tradeexec/broker-credentials/aad"

// ErrMissingBinding: Encrypt and Decrypt need both a user id and a row id,
// each at most maxBindingLen bytes.
var ErrMissingBinding = errors.New("vault: user id and row id are required (at most 1024 bytes each)")

// checkBinding validates the ids a blob is bound to.
func checkBinding(userID, rowID string) error {
	if userID == "" || rowID == "" || len(userID) > maxBindingLen || len(rowID) > maxBindingLen {
		return ErrMissingBinding
	}
	return nil
}

// Encrypt seals plaintext for one user's row under the current master key. It
// returns the blob (which embeds the key version and nonce) and the key
// version, to be stored beside the blob.
func (k *Keyring) Encrypt(userID, rowID string, plaintext []byte) ([]byte, int, error) {
	if err := k.Validate(); err != nil {
		return nil, 0, err
	}
	return k.EncryptVersion(k.Current, userID, rowID, plaintext)
}

// EncryptVersion seals plaintext under key version v, which the keyring
// must hold (the key-rotation workflow re-encrypts under the version it
// generated, whatever this process's current version is).
func (k *Keyring) EncryptVersion(v int, userID, rowID string, plaintext []byte) ([]byte, int, error) {
	if err := checkBinding(userID, rowID); err != nil {
		return nil, 0, err
	}
	if v < 1 || v > maxVersion { // the header holds 4 bytes
		return nil, 0, fmt.Errorf("%w: version %d out of range", ErrInvalidKeyring, v)
	}
	aead, err := k.aead(v, userID)
	if err != nil {
		return nil, 0, err
	}
	blob := make([]byte, headerSize+nonceSize, headerSize+nonceSize+len(plaintext)+tagSize)
	blob[0] = formatV1
	binary.BigEndian.PutUint32(blob[1:headerSize], uint32(v))
	nonce := blob[headerSize : headerSize+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, 0, fmt.Errorf("vault: nonce: %w", err)
	}
	blob = aead.Seal(blob, nonce, plaintext, associatedData(blob[:headerSize], userID, rowID))
	return blob, v, nil
}

// Decrypt opens a blob for one user's row. It fails with ErrKeyRetired for a
// key version older than every version the keyring holds,
// ErrUnknownKeyVersion for another version the keyring lacks, and ErrTampered for a modified, truncated or
// moved blob (another row or user).
func (k *Keyring) Decrypt(userID, rowID string, blob []byte) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	if err := checkBinding(userID, rowID); err != nil {
		return nil, err
	}
	v, err := Version(blob)
	if err != nil {
		return nil, err
	}
	if !k.Accepts(v) {
		if v < k.Oldest() {
			return nil, fmt.Errorf("%w (version %d, current %d)", ErrKeyRetired, v, k.Current)
		}
		return nil, fmt.Errorf("%w (version %d)", ErrUnknownKeyVersion, v)
	}
	aead, err := k.aead(v, userID)
	if err != nil {
		return nil, err
	}
	nonce := blob[headerSize : headerSize+nonceSize]
	pt, err := aead.Open(nil, nonce, blob[headerSize+nonceSize:], associatedData(blob[:headerSize], userID, rowID))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// Rotate re-encrypts a blob under the current key version. A blob already
// under the current version is returned unchanged. Like Decrypt it needs the
// row's user id and row id, which the ciphertext is bound to.
func (k *Keyring) Rotate(userID, rowID string, blob []byte) ([]byte, int, error) {
	v, err := Version(blob)
	if err != nil {
		return nil, 0, err
	}
	pt, err := k.Decrypt(userID, rowID, blob)
	if err != nil {
		return nil, 0, err
	}
	defer clear(pt)
	if v == k.Current {
		return append([]byte(nil), blob...), v, nil
	}
	return k.Encrypt(userID, rowID, pt)
}

// NeedsRotation reports whether a blob is under an older key version than
// the current one.
func (k *Keyring) NeedsRotation(blob []byte) (bool, error) {
	v, err := Version(blob)
	if err != nil {
		return false, err
	}
	return v != k.Current, nil
}

// EncryptJSON marshals v (e.g. broker.Credentials) and encrypts it.
func (k *Keyring) EncryptJSON(userID, rowID string, v any) ([]byte, int, error) {
	pt, err := json.Marshal(v)
	if err != nil {
		return nil, 0, fmt.Errorf("vault: encode: %w", err)
	}
	defer clear(pt)
	return k.Encrypt(userID, rowID, pt)
}

// DecryptJSON decrypts a blob into v (e.g. *broker.Credentials).
func (k *Keyring) DecryptJSON(userID, rowID string, blob []byte, v any) error {
	pt, err := k.Decrypt(userID, rowID, blob)
	if err != nil {
		return err
	}
	defer clear(pt)
	if err := json.Unmarshal(pt, v); err != nil {
		// The plaintext authenticated, so this is a programming error, not
		// tampering; do not echo the plaintext.
		return errors.New("vault: decrypted credentials are not valid JSON")
	}
	return nil
}

// Version reads a blob's key version without decrypting it.
func Version(blob []byte) (int, error) {
	if len(blob) < headerSize+nonceSize+tagSize || blob[0] != formatV1 {
		return 0, ErrTampered
	}
	v := binary.BigEndian.Uint32(blob[1:headerSize])
	if v == 0 || v > maxVersion {
		return 0, ErrTampered
	}
	return int(v), nil
}

// aead derives the user's key for version v: HKDF-SHA256 over the master key
// with the user id as salt.
func (k *Keyring) aead(v int, userID string) (cipher.AEAD, error) {
	master, ok := k.Keys[v]
	if !ok {
		return nil, fmt.Errorf("%w (version %d)", ErrUnknownKeyVersion, v)
	}
	key, err := hkdf.Key(sha256.New, master, []byte(userID), hkdfInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("vault: derive key: %w", err)
	}
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// associatedData binds a blob to its header, user and row: moving it to
// another row or user, or changing its version byte, fails authentication.
func associatedData(header []byte, userID, rowID string) []byte {
	ad := make([]byte, 0, len(aadLabel)+1+len(header)+8+len(userID)+len(rowID))
	ad = append(ad, aadLabel...)
	ad = append(ad, 0)
	ad = append(ad, header...)
	ad = appendField(ad, userID)
	ad = appendField(ad, rowID)
	return ad
}

// appendField appends s prefixed with its 4-byte length. checkBinding bounds
// the ids to maxBindingLen; a longer s would make the encoding ambiguous, so
// it panics rather than truncate.
func appendField(ad []byte, s string) []byte {
	n := len(s)
	if n > maxBindingLen {
		panic("vault: binding id longer than maxBindingLen")
	}
	ad = binary.BigEndian.AppendUint32(ad, uint32(n))
	return append(ad, s...)
}
