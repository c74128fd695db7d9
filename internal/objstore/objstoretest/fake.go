// Package objstoretest runs the real S3 client against an in-process S3
// fake (johannesboyne/gofakes3, memory backend) for tests.
package objstoretest

import (
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tradeexec/tradeexec/internal/objstore"
)

// Bucket is the fake's bucket name.
const Bucket = "tradeexec-audit"

// S3 starts a fake S3 server for the test and returns a store on it (the
// production S3 client, path-style, static test credentials).
func S3(t testing.TB) *objstore.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(Bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := objstore.NewS3(objstore.S3Config{Bucket: Bucket, Prefix: "audit", Endpoint: srv.URL, PathStyle: true,
		AccessKey: "test", SecretKey: "test", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
