// Package payloadcodec encrypts every Temporal payload (workflow and
// activity inputs and results, signals, memos, failure messages) with
// AES-256-GCM before it leaves the process, so workflow histories hold no
// signal text, user id or order detail in clear. It is Temporal's
// documented PayloadCodec pattern (temporalio/samples-go, encryption/):
// the codec sits under the default data converter; the api serves it to
// the Temporal UI as a codec server for support staff.
//
// Keys are versioned like the vault's (TEMPORAL_PAYLOAD_KEYS, the
// VAULT_KEYS format): the newest version encrypts, every configured version
// decrypts, and the version travels in the payload's metadata, so a key is
// rotated by adding a new version and retired once the histories encrypted
// under it are past retention. Payloads that are not encrypted (histories
// recorded before encryption, search attributes) pass through Decode.
package payloadcodec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/tradeexec/tradeexec/internal/vault"
)

// Metadata of an encrypted payload.
const (
	// Encoding is the metadata "encoding" of an encrypted payload (the
	// samples' name, so Temporal tooling recognises it).
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key version that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

// hkdfInfo separates payload keys from any other use of the same master
// key (an operator who reuses a VAULT_KEYS key gets unrelated keys).
const hkdfInfo = "tradeexec/temporal-payloads"

// aadLabel starts the associated data: the key version is authenticated.
const aadLabel = "tradeexec/temporal-payload/v1"

const nonceSize = 12

// Errors of Decode. Messages carry no key material and no payload content.
var (
	// ErrUnknownKey: the payload names a key version this process lacks
	// (another deployment's payload, or a retired key).
	ErrUnknownKey = errors.New("payloadcodec: no key for the payload's key version")
	// ErrTampered: the payload is malformed or failed authentication.
	ErrTampered = errors.New("payloadcodec: encrypted payload failed authentication (modified or another key)")
	// ErrNoKeys: the codec was built without keys.
	ErrNoKeys = errors.New("payloadcodec: no keys configured (set TEMPORAL_PAYLOAD_KEYS)")
)

// Codec is a converter.PayloadCodec encrypting with AES-256-GCM.
type Codec struct {
	current int
	aeads   map[int]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec from a keyring (vault.ParseKeyring of
// TEMPORAL_PAYLOAD_KEYS). It derives one AES-256 key per version.
func New(kr *vault.Keyring) (*Codec, error) {
	if kr == nil || len(kr.Keys) == 0 {
		return nil, ErrNoKeys
	}
	if err := kr.Validate(); err != nil {
		return nil, err
	}
	c := &Codec{current: kr.Current, aeads: make(map[int]cipher.AEAD, len(kr.Keys))}
	for v, master := range kr.Keys {
		key, err := hkdf.Key(sha256.New, master, nil, hkdfInfo, vault.KeySize)
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: derive key: %w", err)
		}
		block, err := aes.NewCipher(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("payloadcodec: cipher: %w", err)
		}
		if c.aeads[v], err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("payloadcodec: gcm: %w", err)
		}
	}
	return c, nil
}

// Parse builds a codec from the TEMPORAL_PAYLOAD_KEYS format
// ("2:base64key,1:base64key").
func Parse(keys string) (*Codec, error) {
	kr, err := vault.ParseKeyring(keys)
	if err != nil {
		return nil, err
	}
	return New(kr)
}

// String never prints key material.
func (c *Codec) String() string {
	if c == nil {
		return "payloadcodec.Codec(nil)"
	}
	return "payloadcodec.Codec{current: " + strconv.Itoa(c.current) + "}"
}

// GoString never prints key material.
func (c *Codec) GoString() string { return c.String() }

// Current is the key version new payloads are encrypted with.
func (c *Codec) Current() int { return c.current }

// Encode encrypts each payload (its whole proto: metadata and data) under
// the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.aeads[c.current]
	kid := strconv.Itoa(c.current)
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return payloads, fmt.Errorf("payloadcodec: marshal payload: %w", err)
		}
		blob := make([]byte, nonceSize, nonceSize+len(plain)+aead.Overhead())
		if _, err := rand.Read(blob); err != nil {
			return payloads, fmt.Errorf("payloadcodec: nonce: %w", err)
		}
		blob = aead.Seal(blob, blob[:nonceSize], plain, additionalData(kid))
		clear(plain)
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte(kid)},
			Data:     blob,
		}
	}
	return out, nil
}

// Decode decrypts encrypted payloads and passes every other payload
// through unchanged (histories recorded before encryption).
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !IsEncrypted(p) {
			out[i] = p
			continue
		}
		d, err := c.decodeOne(p)
		if err != nil {
			return payloads, err
		}
		out[i] = d
	}
	return out, nil
}

func (c *Codec) decodeOne(p *commonpb.Payload) (*commonpb.Payload, error) {
	kid := string(p.GetMetadata()[MetadataKeyID])
	v, err := strconv.Atoi(kid)
	if err != nil || strconv.Itoa(v) != kid {
		return nil, ErrTampered
	}
	aead, ok := c.aeads[v]
	if !ok {
		return nil, fmt.Errorf("%w (version %d)", ErrUnknownKey, v)
	}
	blob := p.GetData()
	if len(blob) < nonceSize+aead.Overhead() {
		return nil, ErrTampered
	}
	plain, err := aead.Open(nil, blob[:nonceSize], blob[nonceSize:], additionalData(kid))
	if err != nil {
		return nil, ErrTampered
	}
	defer clear(plain)
	var out commonpb.Payload
	if err := out.Unmarshal(plain); err != nil {
		return nil, ErrTampered
	}
	return &out, nil
}

// IsEncrypted reports whether a payload was encrypted by a Codec.
func IsEncrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding
}

func additionalData(kid string) []byte {
	return append(append([]byte(aadLabel), 0), kid...)
}
