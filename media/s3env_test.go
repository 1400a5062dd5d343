package media

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// testS3 returns the test S3 server from the project harness: it skips
// with -short or when FIELDGATE_TEST_S3_* are unset, and fails under CI=true.
func testS3(t testing.TB) testsvc.S3Env {
	t.Helper()
	return testsvc.S3(t)
}

func randomBucket() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "fgtest-" + hex.EncodeToString(b)
}

// newTestStore returns a Store on a fresh random bucket, removed (with its
// contents) when the test ends.
func newTestStore(t testing.TB, mod func(*Config)) *Store {
	t.Helper()
	env := testS3(t)
	cfg := Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Bucket: randomBucket()}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { removeBucket(t, s.client, cfg.Bucket) })
	return s
}

func removeBucket(t testing.TB, c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err == nil {
			_ = c.RemoveIncompleteUpload(ctx, bucket, u.Key)
		}
	}
	if err := c.RemoveBucket(ctx, bucket); err != nil {
		t.Logf("remove bucket %s: %v", bucket, err)
	}
}

// listKeys returns every object key in the store's bucket.
func listKeys(t testing.TB, s *Store) []string {
	t.Helper()
	var keys []string
	for o := range s.client.ListObjects(context.Background(), s.cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// listUploads returns the keys of unfinished multipart uploads for key
// (MinIO lists uploads only per object, not by prefix).
func listUploads(t testing.TB, s *Store, key string) []string {
	t.Helper()
	if key == "" {
		t.Fatal("listUploads: empty key")
	}
	var keys []string
	for u := range s.client.ListIncompleteUploads(context.Background(), s.cfg.Bucket, key, false) {
		if u.Err != nil {
			t.Fatalf("list uploads: %v", u.Err)
		}
		keys = append(keys, u.Key)
	}
	return keys
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
