package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/objstore/objstoretest"
)

func stores(t *testing.T) map[string]objstore.Store {
	d, err := objstore.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]objstore.Store{"dir": d, "s3": objstoretest.S3(t)}
}

func TestStoresAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			if err := s.Put(ctx, "checkpoints/a.json", []byte("first"), objstore.PutOptions{RetainUntil: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			err := s.Put(ctx, "checkpoints/a.json", []byte("second"), objstore.PutOptions{})
			if !errors.Is(err, objstore.ErrExists) {
				t.Fatalf("overwrite: err = %v, want ErrExists", err)
			}
			b, err := s.Get(ctx, "checkpoints/a.json")
			if err != nil || string(b) != "first" {
				t.Fatalf("after refused overwrite: %q, %v", b, err)
			}
			if _, err := s.Get(ctx, "checkpoints/none.json"); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("missing object: %v", err)
			}
			for _, bad := range []string{"", "/abs", "a/../b", "a//b", "a\\b", "a\x00"} {
				if err := s.Put(ctx, bad, nil, objstore.PutOptions{}); !errors.Is(err, objstore.ErrInvalidKey) {
					t.Errorf("key %q: %v", bad, err)
				}
			}
		})
	}
}

func TestStoresList(t *testing.T) {
	ctx := context.Background()
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			body := bytes.Repeat([]byte{0xff, 0}, 1000)
			for i := 5; i >= 1; i-- {
				if err := s.Put(ctx, fmt.Sprintf("cp/%03d", i), body, objstore.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Put(ctx, "other/x", body, objstore.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			all, err := s.List(ctx, "cp/", "", 0)
			if err != nil || fmt.Sprint(all) != "[cp/001 cp/002 cp/003 cp/004 cp/005]" {
				t.Fatalf("list: %v %v", all, err)
			}
			first, err := s.List(ctx, "cp/", "", 1)
			if err != nil || fmt.Sprint(first) != "[cp/001]" {
				t.Fatalf("list limit 1: %v %v", first, err)
			}
			after, err := s.List(ctx, "cp/", "cp/003", 10)
			if err != nil || fmt.Sprint(after) != "[cp/004 cp/005]" {
				t.Fatalf("list after: %v %v", after, err)
			}
			got, err := s.Get(ctx, "cp/004")
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("get binary: %d bytes, %v", len(got), err)
			}
		})
	}
}
