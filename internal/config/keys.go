package config

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tradeexec/tradeexec/internal/vault"
)

// KeysConfig is the key lifecycle's configuration (DESIGN "Key lifecycle").
type KeysConfig struct {
	// VaultKeysFile (VAULT_KEYS_FILE) is the keyring file the key-rotation
	// workflow writes new vault key versions to; dev: DATA_DIR/vault.keys.
	// Empty: the versions are VAULT_KEYS only, added by hand.
	VaultKeysFile string
	// vaultKeysFromEnv: VAULT_KEYS was given besides the file (its
	// versions are retired by hand).
	vaultKeysFromEnv bool
	// RotationInterval (KEY_ROTATION_INTERVAL) is how often the
	// key-rotation schedule runs; default yearly.
	RotationInterval time.Duration
}

// DefaultKeyRotationInterval is KEY_ROTATION_INTERVAL's default: yearly.
const DefaultKeyRotationInterval = 365 * 24 * time.Hour

// VaultStore is where the vault's key versions live: the keyring file
// (with VAULT_KEYS' versions beside it, when both are set) or VAULT_KEYS.
func (c Config) VaultStore() vault.KeyStore {
	if c.Keys.VaultKeysFile != "" {
		fs := &vault.FileStore{Path: c.Keys.VaultKeysFile}
		if c.Keys.vaultKeysFromEnv {
			fs.Seed = c.Keyring
		}
		return fs
	}
	return vault.StaticStore{Keyring: c.Keyring, Source: "VAULT_KEYS"}
}

// keysFile reads VAULT_KEYS_FILE. When VAULT_KEYS is not set it is the
// keyring: vaultKeys then loads the keyring from it.
func (l *loader) keysFile() {
	path := l.env("VAULT_KEYS_FILE")
	l.cfg.Keys.vaultKeysFromEnv = l.env("VAULT_KEYS") != ""
	if path == "" && l.dev && !l.cfg.Keys.vaultKeysFromEnv && l.cfg.DataDir != "" {
		path = filepath.Join(l.cfg.DataDir, "vault.keys") // the generated dev keyring
	}
	if path != "" && !filepath.IsAbs(path) {
		abs, err := filepath.Abs(path)
		if err != nil {
			l.c.add("VAULT_KEYS_FILE", err.Error())
			return
		}
		path = abs
	}
	l.cfg.Keys.VaultKeysFile = path
}

// keyringFromFile loads the keyring from VAULT_KEYS_FILE when VAULT_KEYS
// is not set; it reports whether it did (or recorded an error).
func (l *loader) keyringFromFile() bool {
	path := l.env("VAULT_KEYS_FILE")
	if path == "" {
		return false
	}
	kr, err := (&vault.FileStore{Path: path}).Load(context.Background())
	if err != nil {
		l.c.add("VAULT_KEYS_FILE", fmt.Sprintf("%v (put the first version in it: echo \"1:$(openssl rand -base64 32)\" > %s; chmod 600 %s)", err, path, path))
		return true
	}
	l.cfg.Keyring = kr
	return true
}

func (l *loader) keyRotation() {
	l.cfg.Keys.RotationInterval = DefaultKeyRotationInterval
	raw := l.env("KEY_ROTATION_INTERVAL")
	if raw == "" {
		return
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < time.Hour {
		l.c.add("KEY_ROTATION_INTERVAL", fmt.Sprintf("invalid duration %q (e.g. 8760h for yearly, 2160h for quarterly; at least 1h)", raw))
		return
	}
	l.cfg.Keys.RotationInterval = d
}
