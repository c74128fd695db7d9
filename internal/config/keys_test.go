package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/vault"
)

func TestKeysConfig(t *testing.T) {
	// Defaults: yearly, VAULT_KEYS is a read-only store.
	cfg, err := Load(envOf(productionEnv()), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keys.RotationInterval != 365*24*time.Hour {
		t.Errorf("interval = %v", cfg.Keys.RotationInterval)
	}
	if _, ok := cfg.VaultStore().(vault.StaticStore); !ok {
		t.Errorf("store = %T, want StaticStore", cfg.VaultStore())
	}

	// VAULT_KEYS_FILE alone is the keyring.
	path := filepath.Join(t.TempDir(), "vault.keyring")
	if err := os.WriteFile(path, []byte("# keyring\n3:"+testKey3+"\n1:"+testKey1+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(envOf(with(productionEnv(), "VAULT_KEYS", "", "VAULT_KEYS_FILE", path, "KEY_ROTATION_INTERVAL", "2160h")), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Keyring.Current != 3 || cfg.Keys.RotationInterval != 2160*time.Hour {
		t.Errorf("current %d interval %v", cfg.Keyring.Current, cfg.Keys.RotationInterval)
	}
	fs, ok := cfg.VaultStore().(*vault.FileStore)
	if !ok || fs.Path != path || fs.Seed != nil {
		t.Fatalf("store = %#v", cfg.VaultStore())
	}
	if kr, err := fs.Load(context.Background()); err != nil || len(kr.Keys) != 2 {
		t.Fatalf("load: %v %v", kr, err)
	}

	// Bad values are reported by name.
	_ = os.Chmod(path, 0o644)
	_, err = Load(envOf(with(productionEnv(), "VAULT_KEYS", "", "VAULT_KEYS_FILE", path, "KEY_ROTATION_INTERVAL", "5m")), ModeWorker)
	if err == nil || !strings.Contains(err.Error(), "VAULT_KEYS_FILE") || !strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), "KEY_ROTATION_INTERVAL") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), testKey1) {
		t.Fatal("error prints key material")
	}

	// keys mode without DATABASE_URL works on the dev data directory.
	dir := t.TempDir()
	cfg, err = Load(envOf(map[string]string{"DATA_DIR": dir}), ModeKeys)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseDriver != "sqlite" || cfg.Keys.VaultKeysFile != filepath.Join(dir, "vault.keys") {
		t.Fatalf("keys mode: %s %s", cfg.DatabaseDriver, cfg.Keys.VaultKeysFile)
	}
	if _, ok := cfg.VaultStore().(*vault.FileStore); !ok {
		t.Fatalf("store = %T", cfg.VaultStore())
	}
}
