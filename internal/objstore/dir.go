package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is a Store in a local directory (dev, tests, a single-host install
// that ships the directory elsewhere). Objects are files created with
// O_EXCL and made read-only (0400), so a Put never replaces one; it is
// append-only against this program, not against the host's root user.
type Dir struct {
	Root string
}

// NewDir returns a Dir at root, creating it (0700).
func NewDir(root string) (*Dir, error) {
	if root == "" {
		return nil, errors.New("objstore: directory store needs a path")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("objstore: create %s: %w", root, err)
	}
	return &Dir{Root: root}, nil
}

// Describe implements Store.
func (d *Dir) Describe() string { return "file://" + filepath.ToSlash(d.Root) }

func (d *Dir) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put implements Store. The object appears complete or not at all: it is
// written to a temporary file and hard-linked to its name (link fails if
// the name exists).
func (d *Dir) Put(_ context.Context, key string, body []byte, _ PutOptions) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("objstore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("objstore: %w", err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after a successful link too
	_, werr := tmp.Write(body)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o400)
	}
	if werr != nil {
		return fmt.Errorf("objstore: write %s: %w", key, werr)
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, key)
		}
		return fmt.Errorf("objstore: %w", err)
	}
	return nil
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p) // #nosec G304 -- key validated, root is operator configuration
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("objstore: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("objstore: read %s: %w", key, err)
	}
	if len(b) > MaxObjectSize {
		return nil, fmt.Errorf("objstore: %s is larger than %d bytes", key, MaxObjectSize)
	}
	return b, nil
}

// List implements Store.
func (d *Dir) List(_ context.Context, prefix, startAfter string, limit int) ([]string, error) {
	// Walk only the directory the prefix names (its part up to the last slash).
	base := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
	}
	root := filepath.Join(d.Root, filepath.FromSlash(base))
	var keys []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		k := filepath.ToSlash(rel)
		if strings.HasPrefix(k, prefix) && k > startAfter {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: list: %w", err)
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}
