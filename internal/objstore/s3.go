package objstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Object Lock retention modes (S3Config.LockMode).
const (
	LockCompliance = "COMPLIANCE"
	LockGovernance = "GOVERNANCE"
	LockNone       = "NONE"
)

// S3Config says where the bucket is. Endpoint is empty for AWS S3, or the
// base URL of another S3 implementation (MinIO, Ceph, Wasabi …).
type S3Config struct {
	Bucket    string
	Prefix    string // key prefix inside the bucket ("" or "tradeexec/audit")
	Region    string
	Endpoint  string
	PathStyle bool
	AccessKey string
	SecretKey string
	// LockMode is the Object Lock mode Put asks for when PutOptions has a
	// RetainUntil: COMPLIANCE (default), GOVERNANCE, or NONE (the bucket's
	// default retention only; for buckets without Object Lock in staging).
	LockMode   string
	HTTPClient *http.Client
}

// S3 is a Store in an S3 bucket. Put sends If-None-Match: * (S3 refuses to
// replace an existing key with 412 Precondition Failed) and, with a
// RetainUntil, an Object Lock retention, so an object can be neither
// overwritten nor deleted before then — by this program or anyone holding
// its credentials (COMPLIANCE mode: not even the account root).
type S3 struct {
	c      *s3.Client
	bucket string
	prefix string
	mode   types.ObjectLockMode
	desc   string
}

// NewS3 returns the store described by cfg (no request is made).
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("objstore: S3 bucket is required")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	mode := types.ObjectLockModeCompliance
	switch strings.ToUpper(cfg.LockMode) {
	case "", LockCompliance:
	case LockGovernance:
		mode = types.ObjectLockModeGovernance
	case LockNone:
		mode = ""
	default:
		return nil, fmt.Errorf("objstore: unknown lock mode %q (COMPLIANCE, GOVERNANCE or NONE)", cfg.LockMode)
	}
	opts := s3.Options{
		Region:       cfg.Region,
		UsePathStyle: cfg.PathStyle,
		// Checksums only where S3 requires them (Object Lock puts);
		// S3-compatible stores differ in their support of the others.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if cfg.AccessKey != "" {
		opts.Credentials = credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")
	}
	if cfg.Endpoint != "" {
		opts.BaseEndpoint = aws.String(strings.TrimRight(cfg.Endpoint, "/"))
	}
	if cfg.HTTPClient != nil {
		opts.HTTPClient = cfg.HTTPClient
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := CheckKey(prefix); err != nil {
			return nil, err
		}
		prefix += "/"
	}
	desc := "s3://" + cfg.Bucket + "/" + prefix
	if cfg.Endpoint != "" {
		desc += " at " + cfg.Endpoint
	}
	return &S3{c: s3.New(opts), bucket: cfg.Bucket, prefix: prefix, mode: mode, desc: desc}, nil
}

// Describe implements Store.
func (s *S3) Describe() string { return s.desc }

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, body []byte, o PutOptions) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		ContentType:   aws.String("application/octet-stream"),
		IfNoneMatch:   aws.String("*"),
	}
	if !o.RetainUntil.IsZero() && s.mode != "" {
		in.ObjectLockMode = s.mode
		in.ObjectLockRetainUntilDate = aws.Time(o.RetainUntil.UTC())
		in.ChecksumAlgorithm = types.ChecksumAlgorithmSha256 // Object Lock puts need a checksum
	}
	_, err := s.c.PutObject(ctx, in)
	if err == nil {
		return nil
	}
	if status(err) == http.StatusPreconditionFailed || code(err) == "PreconditionFailed" {
		return fmt.Errorf("%w: %s", ErrExists, key)
	}
	// 409 ConditionalRequestConflict: a concurrent put of the same key.
	if code(err) == "ConditionalRequestConflict" {
		return fmt.Errorf("%w: %s (concurrent write)", ErrExists, key)
	}
	return fmt.Errorf("objstore: put %s: %w", key, err)
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.prefix + key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) || status(err) == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("objstore: get %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, MaxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("objstore: read %s: %w", key, err)
	}
	if len(b) > MaxObjectSize {
		return nil, fmt.Errorf("objstore: %s is larger than %d bytes", key, MaxObjectSize)
	}
	return b, nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix, startAfter string, limit int) ([]string, error) {
	var keys []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(s.prefix + prefix)}
	if startAfter != "" {
		in.StartAfter = aws.String(s.prefix + startAfter)
	}
	p := s3.NewListObjectsV2Paginator(s.c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("objstore: list %s: %w", prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), s.prefix))
			if limit > 0 && len(keys) == limit {
				return keys, nil
			}
		}
	}
	return keys, nil
}

func status(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
