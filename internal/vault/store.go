package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// KeyStore is where the master key versions live: the KMS-style interface
// of the vault. The key-rotation workflow (internal/keys) generates the next
// version through it and retires a version through it once no stored blob
// names that version; every process loads its keyring from it.
//
// Two stores are built in: StaticStore (VAULT_KEYS, read-only: versions are
// added and removed by hand) and FileStore (VAULT_KEYS_FILE, a keyring file
// the rotation writes). A cloud KMS adapter (AWS KMS, Google Cloud KMS, Azure
// Key Vault, HashiCorp Vault transit) implements the same four methods with
// envelope encryption and is not part of this repository:
//
//   - Generate asks the KMS for a new 256-bit data key (AWS GenerateDataKey
//     with KeySpec AES_256, Vault transit datakey/wrapped) and stores only
//     the wrapped form, named by its version, where the operator chose (a
//     table, a secret manager entry, a bucket); the plaintext is never
//     written anywhere.
//   - Load reads every wrapped version and unwraps each with the KMS
//     (AWS Decrypt), returning the plaintext keys in memory only.
//   - Retire deletes the wrapped version (and may schedule deletion of a
//     KMS key that wrapped nothing else).
//   - Name says which KMS key wraps the versions, never key material.
//
// Every method must be safe to call again after a failure (the workflow's
// activities retry): Generate of a version that exists is a no-op, Retire
// of a version that is gone is a no-op.
type KeyStore interface {
	// Name describes the store for status output and logs ("VAULT_KEYS",
	// "file /etc/tradeexec/vault.keyring"); it never holds key material.
	Name() string
	// Load returns every version the store holds; the highest is current.
	Load(ctx context.Context) (*Keyring, error)
	// Generate creates version next with a fresh random key, which makes it
	// current. next must be one more than the highest version held; when
	// version next exists already (a retried call) Generate changes nothing
	// and reports created false. ErrReadOnlyStore when the store cannot
	// write.
	Generate(ctx context.Context, next int) (created bool, err error)
	// Retire removes version v. It refuses the current version and a
	// version it does not manage (ErrManagedOutside); a version already gone
	// is not an error. The caller checks that nothing references v.
	Retire(ctx context.Context, v int) error
}

// Errors of the key stores.
var (
	// ErrReadOnlyStore: the store's versions are added by hand (VAULT_KEYS).
	ErrReadOnlyStore = errors.New("vault: the key store is read-only (VAULT_KEYS): add the next version by hand, or set VAULT_KEYS_FILE")
	// ErrManagedOutside: the version is configured outside the store's file
	// (in VAULT_KEYS); the operator removes it there.
	ErrManagedOutside = errors.New("vault: the key version is configured in VAULT_KEYS; remove it there by hand")
	// ErrRetireCurrent: the current version encrypts new writes.
	ErrRetireCurrent = errors.New("vault: the current key version cannot be retired")
	// ErrVersionConflict: Generate was asked for a version that is not the
	// next one (another rotation ran meanwhile).
	ErrVersionConflict = errors.New("vault: the requested key version is not the next one")
)

// StaticStore is a keyring given in configuration (VAULT_KEYS): it loads and
// never writes.
type StaticStore struct {
	Keyring *Keyring
	// Source names the configuration ("VAULT_KEYS").
	Source string
}

// Name implements KeyStore.
func (s StaticStore) Name() string {
	if s.Source == "" {
		return "VAULT_KEYS"
	}
	return s.Source
}

// Load implements KeyStore.
func (s StaticStore) Load(context.Context) (*Keyring, error) {
	if err := s.Keyring.Validate(); err != nil {
		return nil, err
	}
	return s.Keyring.Clone(), nil
}

// Generate implements KeyStore: the version must already be configured.
func (s StaticStore) Generate(_ context.Context, next int) (bool, error) {
	if _, ok := s.Keyring.Keys[next]; ok {
		return false, nil
	}
	return false, ErrReadOnlyStore
}

// Retire implements KeyStore: VAULT_KEYS is edited by hand.
func (s StaticStore) Retire(_ context.Context, v int) error {
	if _, ok := s.Keyring.Keys[v]; !ok {
		return nil
	}
	return fmt.Errorf("%w (version %d)", ErrManagedOutside, v)
}

// FileStore keeps the versions in a keyring file (VAULT_KEYS_FILE), one
// "version:base64key" a line, mode 0600, rewritten atomically (temporary
// file, fsync, rename). Seed, when set, are versions configured in
// VAULT_KEYS besides the file: they load too (a version in both must have
// the same key) and are retired by hand. Processes sharing the keyring must
// share the file (one host, or a shared volume).
type FileStore struct {
	Path string
	Seed *Keyring

	mu sync.Mutex
}

// Name implements KeyStore.
func (s *FileStore) Name() string { return "file " + s.Path }

// Load implements KeyStore.
func (s *FileStore) Load(context.Context) (*Keyring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

func (s *FileStore) load() (*Keyring, error) {
	file, err := s.readFile()
	if err != nil {
		return nil, err
	}
	kr := &Keyring{Keys: map[int][]byte{}}
	for v, key := range file {
		kr.Keys[v] = key
	}
	if s.Seed != nil {
		for v, key := range s.Seed.Keys {
			if have, ok := kr.Keys[v]; ok && string(have) != string(key) {
				return nil, fmt.Errorf("%w: version %d differs between VAULT_KEYS and %s", ErrInvalidKeyring, v, s.Path)
			}
			kr.Keys[v] = append([]byte(nil), key...)
		}
	}
	for v := range kr.Keys {
		if v > kr.Current {
			kr.Current = v
		}
	}
	if err := kr.Validate(); err != nil {
		return nil, err
	}
	return kr, nil
}

// readFile returns the file's versions (none when it does not exist yet).
func (s *FileStore) readFile() (map[int][]byte, error) {
	fi, err := os.Stat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[int][]byte{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vault: keyring file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by others (mode %v); chmod 600 it", ErrInvalidKeyring, s.Path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(s.Path) // #nosec G304 -- VAULT_KEYS_FILE is operator configuration
	if err != nil {
		return nil, fmt.Errorf("vault: keyring file: %w", err)
	}
	defer clear(b)
	if strings.TrimSpace(string(b)) == "" {
		return map[int][]byte{}, nil
	}
	kr, err := ParseKeyring(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	return kr.Keys, nil
}

// Generate implements KeyStore.
func (s *FileStore) Generate(_ context.Context, next int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kr, err := s.loadOrEmpty()
	if err != nil {
		return false, err
	}
	if _, ok := kr.Keys[next]; ok {
		return false, nil
	}
	if next != kr.Current+1 {
		return false, fmt.Errorf("%w (asked for %d, highest held %d)", ErrVersionConflict, next, kr.Current)
	}
	file, err := s.readFile()
	if err != nil {
		return false, err
	}
	key, err := NewMasterKey()
	if err != nil {
		return false, fmt.Errorf("vault: generate key: %w", err)
	}
	raw, err := decodeKey(key)
	if err != nil {
		return false, err
	}
	file[next] = raw
	return true, s.write(file)
}

// loadOrEmpty is load, but an empty store (no file, no seed) is an empty
// keyring rather than an error, so the first Generate creates version 1.
func (s *FileStore) loadOrEmpty() (*Keyring, error) {
	file, err := s.readFile()
	if err != nil {
		return nil, err
	}
	if len(file) == 0 && (s.Seed == nil || len(s.Seed.Keys) == 0) {
		return &Keyring{Keys: map[int][]byte{}}, nil
	}
	return s.load()
}

// Retire implements KeyStore.
func (s *FileStore) Retire(_ context.Context, v int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kr, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := kr.Keys[v]; !ok {
		return nil
	}
	if v == kr.Current {
		return fmt.Errorf("%w (version %d)", ErrRetireCurrent, v)
	}
	if s.Seed != nil {
		if _, ok := s.Seed.Keys[v]; ok {
			return fmt.Errorf("%w (version %d)", ErrManagedOutside, v)
		}
	}
	file, err := s.readFile()
	if err != nil {
		return err
	}
	clear(file[v])
	delete(file, v)
	return s.write(file)
}

// write replaces the file atomically with versions.
func (s *FileStore) write(versions map[int][]byte) error {
	vs := make([]int, 0, len(versions))
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Ints(vs)
	var b strings.Builder
	b.WriteString("# tradeexec vault keyring (VAULT_KEYS_FILE): version:base64key, one a line.\n")
	b.WriteString("# Written by the key-rotation workflow; keep a backup, never share it.\n")
	for _, v := range vs {
		b.WriteString(strconv.Itoa(v) + ":" + encodeKey(versions[v]) + "\n")
	}
	dir := filepath.Dir(s.Path)
	tmp, err := os.CreateTemp(dir, ".vault-keyring-*")
	if err != nil {
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("vault: keyring file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // #nosec G304 -- the keyring file's directory
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
