// Package objstore is the append-only object storage behind the audit
// log's checkpoints and archive segments (DESIGN §8 "Tamper evidence").
//
// Production stores objects in an S3 bucket with Object Lock (S3); dev and
// tests use a local directory (Dir) or, in tests, the S3 client against an
// in-process S3 fake. Every implementation refuses to overwrite an object:
// Put of an existing key fails with ErrExists.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors every Store returns (wrapped).
var (
	// ErrExists: an object of that key exists already; it is never replaced.
	ErrExists = errors.New("objstore: object exists (append-only store)")
	// ErrNotFound: no object of that key.
	ErrNotFound = errors.New("objstore: object not found")
	// ErrInvalidKey: the key is empty, absolute, or has an empty, "." or
	// ".." segment, a backslash or a control character.
	ErrInvalidKey = errors.New("objstore: invalid object key")
)

// PutOptions ask for more than storing the bytes.
type PutOptions struct {
	// RetainUntil asks the store to refuse deletion until then (S3 Object
	// Lock retention). Zero: the bucket's default retention applies.
	RetainUntil time.Time
}

// Store is append-only object storage. Keys are slash-separated paths.
type Store interface {
	// Put stores body under key, or fails with ErrExists.
	Put(ctx context.Context, key string, body []byte, o PutOptions) error
	// Get returns the object's bytes, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// List returns up to limit keys starting with prefix that sort after
	// startAfter (byte order), ascending.
	List(ctx context.Context, prefix, startAfter string, limit int) ([]string, error)
	// Describe names the store for logs and errors (no secret).
	Describe() string
}

// MaxObjectSize bounds what Get reads (a checkpoint or segment).
const MaxObjectSize = 512 << 20

// CheckKey validates an object key.
func CheckKey(key string) error {
	if key == "" || len(key) > 1024 || strings.HasPrefix(key, "/") || strings.ContainsRune(key, '\\') {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: control character in %q", ErrInvalidKey, key)
		}
	}
	return nil
}
