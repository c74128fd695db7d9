package config

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// devSecret returns the dev-mode secret stored in DataDir/file, generating
// and writing it (mode 0600, never overwritten) on first use, so sessions
// and encrypted credentials survive restarts of `tradeexec dev`. A file that
// others can read is refused rather than used. It returns the value and a
// description of its source for error messages, or "" after recording an error.
func (l *loader) devSecret(name, file string, generate func() (string, error)) (value, source string) {
	if l.cfg.DataDir == "" {
		return "", ""
	}
	path := filepath.Join(l.cfg.DataDir, file)
	source = "generated " + path
	v, err := readOrCreateSecret(path, generate)
	if err != nil {
		l.c.add(name, fmt.Sprintf("not set and %s: %v", source, err))
		return "", ""
	}
	return v, source
}

func readOrCreateSecret(path string, generate func() (string, error)) (string, error) {
	for range 2 {
		v, err := readSecretFile(path)
		if !errors.Is(err, fs.ErrNotExist) {
			return v, err
		}
		fresh, err := generate()
		if err != nil {
			return "", fmt.Errorf("generate: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) // #nosec G304 -- DATA_DIR is operator configuration
		if errors.Is(err, fs.ErrExist) {
			continue // another process created it first: read theirs
		}
		if err != nil {
			return "", pathErr(err)
		}
		_, werr := f.WriteString(fresh + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return "", pathErr(werr)
		}
		return fresh, nil
	}
	return "", errors.New("created and removed concurrently")
}

func readSecretFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("mode %04o lets other users read it; run chmod 600 %s", fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path) // #nosec G304 -- DATA_DIR is operator configuration
	if err != nil {
		return "", pathErr(err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", errors.New("file is empty; delete it to generate a new secret")
	}
	return v, nil
}

// pathErr drops the path from an *fs.PathError: messages here name it already.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}
