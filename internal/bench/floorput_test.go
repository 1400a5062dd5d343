package bench

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestFloorPutEncryptsAsTheGateway: the floor's PUT uses the gateway's
// s3.encryption, so a photo load compares the same storage operation
// (the test MinIO has a KMS key, as deploy/dev/services sets it up):
// sse-s3 objects are stored encrypted, "none" ones are not, and an
// encryption the server refuses (sse-c over plain HTTP, which S3 allows
// only over TLS) leaves the floor unencrypted and says so, as the gateway
// does with s3.require_encryption off.
func TestFloorPutEncryptsAsTheGateway(t *testing.T) {
	env := testsvc.S3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s3, err := minio.New(env.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.AccessKey, env.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	bucket := "fieldgate-bench-floorput-" + randToken(4)
	if err := s3.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for o := range s3.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			_ = s3.RemoveObject(context.Background(), bucket, o.Key, minio.RemoveObjectOptions{})
		}
		_ = s3.RemoveBucket(context.Background(), bucket)
	})
	ssecKey := make([]byte, 32)
	_, _ = rand.Read(ssecKey)
	for _, tc := range []struct {
		mode, floor, header string // floor: floorEnc; header: x-amz-server-side-encryption
	}{
		{"sse-s3", "sse-s3", "AES256"},
		{"sse-c", "none", ""}, // refused without TLS
		{"none", "none", ""},
		{"", "none", ""},
	} {
		t.Run("mode="+tc.mode, func(t *testing.T) {
			b := &Bench{cfg: Config{S3Encryption: tc.mode, S3SSECKey: ssecKey}, log: slog.New(slog.DiscardHandler),
				run: randToken(4), s3: s3, bucket: bucket}
			if err := b.floorEncryption(ctx); err != nil {
				t.Fatal(err)
			}
			if b.floorEnc != tc.floor {
				t.Fatalf("floor encryption %q, want %q", b.floorEnc, tc.floor)
			}
			key := b.run + "/photo"
			if err := b.floorPut(ctx, key, []byte("not really a photo")); err != nil {
				t.Fatal(err)
			}
			info, err := s3.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Metadata.Get("X-Amz-Server-Side-Encryption"); got != tc.header {
				t.Fatalf("x-amz-server-side-encryption %q, want %q", got, tc.header)
			}
		})
	}
}
