package devserver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// BinaryEnv names the environment variable that overrides FindBinary.
const BinaryEnv = "TEMPORAL_CLI"

// ErrBinaryNotFound is wrapped by FindBinary's error when no CLI is installed.
var ErrBinaryNotFound = errors.New("temporal CLI not found")

// FindBinary locates the temporal CLI: $TEMPORAL_CLI when set, otherwise
// bin/temporal in the module root (the nearest directory at or above the
// working directory that holds go.mod), where `make bin/temporal` installs it.
func FindBinary() (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v (run `make bin/temporal` and point %s at it)",
				ErrBinaryNotFound, BinaryEnv, p, err, BinaryEnv)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("devserver: working directory: %w", err)
	}
	root, ok := moduleRoot(wd)
	if !ok {
		return "", fmt.Errorf("%w: no go.mod at or above %s; set %s to the temporal binary",
			ErrBinaryNotFound, wd, BinaryEnv)
	}
	p := filepath.Join(root, "bin", "temporal")
	if err := checkExecutable(p); err != nil {
		return "", fmt.Errorf("%w at %s: run `make bin/temporal` in %s (or set %s)",
			ErrBinaryNotFound, p, root, BinaryEnv)
	}
	return p, nil
}

// moduleRoot walks up from dir to the first directory containing go.mod.
func moduleRoot(dir string) (string, bool) {
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !fi.IsDir() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p) // #nosec G703 -- the operator chooses this path (TEMPORAL_CLI or the module root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return errors.New("not executable")
	}
	return nil
}
