package media

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/lifecycle"

	"github.com/fieldgate/fieldgate/media/internal/vips"
)

// Store keeps report media in one S3 bucket: originals under "orig/"
// (restricted: never linked to teams), team copies under "team/".
type Store struct {
	cfg    Config
	log    *slog.Logger
	client *minio.Client
	core   minio.Core
	rules  map[string]int64 // content type → max bytes
	sem    chan struct{}    // upload slots
	dsem   chan struct{}    // derivative (image decode) slots
	sse    encrypt.ServerSide
	// encNote explains why encryption is off when it was requested.
	encNote string
	bufs    *bufPool
	// paths counts team copies by how they were made (lossless.go).
	paths teamCopyPaths
	// keyHook, if set (tests only), sees each key Put generates.
	keyHook func(key string)
}

// New connects to S3, checks reachability and credentials, and creates the
// bucket if it is missing. A nil logger discards logs.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := vips.Init(); err != nil { // fail at start-up, not at the first photo
		return nil, fmt.Errorf("media: %w", err)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.UseTLS,
		Region:    cfg.Region,
		Transport: cfg.Transport,
		// Fail fast instead of retrying for minutes when S3 is down.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("media: s3 client for %q: %w", cfg.Endpoint, err)
	}
	s := &Store{
		cfg:    cfg,
		log:    logger.With("component", "media"),
		client: client,
		core:   minio.Core{Client: client},
		rules:  make(map[string]int64, len(cfg.Types)),
		sem:    make(chan struct{}, cfg.MaxConcurrent),
		dsem:   make(chan struct{}, cfg.MaxDerivatives),
		bufs:   newBufPool(int(cfg.PartSize)),
	}
	for _, t := range cfg.Types {
		s.rules[t.ContentType] = t.MaxBytes
	}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	if err := s.setupEncryption(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Ping reports whether the bucket is reachable with our credentials (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.classify(err)
	}
	if !ok {
		return fmt.Errorf("%w: bucket %q does not exist", ErrUnavailable, s.cfg.Bucket)
	}
	return nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// Encrypted reports whether objects are written with server-side encryption,
// and if encryption was requested but is off, why.
func (s *Store) Encrypted() (bool, string) { return s.sse != nil, s.encNote }

func (s *Store) ensureBucket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.classify(err)
	}
	if !ok {
		err := s.client.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
		if err != nil {
			code := minio.ToErrorResponse(err).Code
			if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return fmt.Errorf("media: create bucket %q: %w", s.cfg.Bucket, s.classify(err))
			}
		} else {
			s.log.Info("created bucket", "bucket", s.cfg.Bucket)
		}
	}
	// A public bucket would expose originals: refuse to run on one.
	if pol, err := s.client.GetBucketPolicy(ctx, s.cfg.Bucket); err == nil && isPublicPolicy(pol) {
		return fmt.Errorf("media: bucket %q has a public bucket policy; remove it (media is only shared by presigned URLs)", s.cfg.Bucket)
	}
	// Uploads interrupted by a crash leave parts behind; let S3 reap them.
	lc := lifecycle.NewConfiguration()
	lc.Rules = []lifecycle.Rule{{
		ID:                             "fieldgate-abort-incomplete-uploads",
		Status:                         "Enabled",
		RuleFilter:                     lifecycle.Filter{Prefix: ""},
		AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{DaysAfterInitiation: 1},
	}}
	if err := s.client.SetBucketLifecycle(ctx, s.cfg.Bucket, lc); err != nil {
		// MinIO refuses a rule without an expiration action, but expires
		// stale uploads itself (api stale_uploads_expiry, default 24h).
		s.log.Info("S3 lifecycle rule for stale multipart uploads not accepted; relying on the server's own expiry", "err", err)
	}
	return nil
}

func isPublicPolicy(p string) bool {
	compact := strings.Join(strings.Fields(p), "")
	return strings.Contains(compact, `"Effect":"Allow"`) &&
		(strings.Contains(compact, `"Principal":"*"`) || strings.Contains(compact, `"AWS":["*"]`) || strings.Contains(compact, `"AWS":"*"`))
}

// ErrEncryptionUnavailable is New's error when Config.RequireEncryption is
// set and the server refuses the requested server-side encryption (SSE-S3
// without a KMS on the server, SSE-C without TLS).
var ErrEncryptionUnavailable = errors.New("media: the S3 server refused server-side encryption")

// setupEncryption probes whether the server accepts the configured SSE mode
// by writing and removing a one-byte object.
func (s *Store) setupEncryption(ctx context.Context) error {
	var sse encrypt.ServerSide
	switch s.cfg.Encryption {
	case "":
		return nil
	case "sse-s3":
		sse = encrypt.NewSSE()
	case "sse-c":
		k, _ := base64.StdEncoding.DecodeString(s.cfg.SSECKey) // validated in withDefaults
		var err error
		if sse, err = encrypt.NewSSEC(k); err != nil {
			return fmt.Errorf("media: sse-c key: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	key := "probe/" + newID()
	_, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader([]byte{0}), 1,
		minio.PutObjectOptions{ServerSideEncryption: sse, ContentType: "application/octet-stream"})
	if err == nil {
		_ = s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{})
		s.sse = sse
		s.log.Info("server-side encryption active", "mode", s.cfg.Encryption)
		return nil
	}
	note := fmt.Sprintf("server refused %s: %v", s.cfg.Encryption, err)
	if s.cfg.Encryption == "sse-c" && !s.cfg.UseTLS {
		note = "sse-c requires TLS to the S3 endpoint: " + err.Error()
	}
	if s.cfg.RequireEncryption {
		return fmt.Errorf("%w: %s required: %s", ErrEncryptionUnavailable, s.cfg.Encryption, note)
	}
	s.encNote = note
	s.log.Error("ENCRYPTION AT REST DISABLED: storing media unencrypted", "requested", s.cfg.Encryption, "reason", note)
	return nil
}

// classify wraps connectivity and credential failures in ErrUnavailable with
// a message an operator can act on.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	var nerr net.Error
	var uerr *url.Error
	if errors.As(err, &nerr) || errors.As(err, &uerr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: cannot reach S3 at %s: %w", ErrUnavailable, s.cfg.Endpoint, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken":
		return fmt.Errorf("%w: S3 at %s rejected the credentials (%s): %w", ErrUnavailable, s.cfg.Endpoint, resp.Code, err)
	}
	if resp.StatusCode >= http.StatusInternalServerError { // 5xx: the server's trouble, not the object's
		return fmt.Errorf("%w: S3 at %s: %w", ErrUnavailable, s.cfg.Endpoint, err)
	}
	return err
}
