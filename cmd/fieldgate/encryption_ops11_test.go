package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestServeRefusesAnS3ThatCannotEncrypt: s3.require_encryption defaulted
// to false and s3.encryption to none, so a town whose S3 has no KMS (or a
// configuration without the encryption key at all) stored every photo,
// EXIF positions included, unencrypted, with one error line in the log at
// start that nobody reads. Now encryption is sse-s3 and required by
// default: `fieldgate serve` against an S3 that refuses SSE-S3 stops before
// it listens, naming the settings and what to do, and a town that wants no
// encryption says so (s3.encryption: none). The shared test MinIO (and the
// demo's) has a KMS key, so the default works there: a photo filed through
// a default stack is stored with SSE-S3.
func TestServeRefusesAnS3ThatCannotEncrypt(t *testing.T) {
	own := testsvc.OwnS3(t, false) // no KMS
	s := newStack(t, map[string]string{"FIELDGATE_S3_ENDPOINT": own.Endpoint})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"serve"}, s.getenv, &stdout, &stderr)
	if err == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("serve on an S3 without a KMS: %v, want a refusal at start", err)
	}
	for _, want := range []string{"s3.encryption is sse-s3", "s3.require_encryption", "KMS", "s3.encryption: none"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("serve's error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(stdout.String(), "listening on") {
		t.Errorf("serve listened before refusing: %s", stdout.String())
	}

	// Saying so turns encryption off knowingly: serve starts.
	s.env["FIELDGATE_S3_ENCRYPTION"] = "none"
	s.serve()
	s.stop()

	// The default on the shared test MinIO (KMS key): photos are encrypted.
	d := startStack(t, nil)
	body, ct := form(t, map[string]string{"to": "tiefbau", "text": "Schlagloch", "lat": "51.025", "lon": "7.5919"},
		map[string]string{"photo": backupJPEG(t, 1)})
	resp, out := d.post(d.token, body, ct)
	if resp.StatusCode != 202 {
		t.Fatalf("report: %s %v", resp.Status, out)
	}
	var key string
	deadline := time.Now().Add(30 * time.Second)
	for key == "" {
		if r := rows(t, d.db, `SELECT object_key FROM media_objects`); len(r) > 0 {
			key = r[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no media object within 30s")
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	info, err := d.s3.StatObject(context.Background(), d.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sse := info.Metadata.Get("X-Amz-Server-Side-Encryption"); sse != "AES256" {
		t.Errorf("%s is stored with server-side encryption %q, want AES256 (SSE-S3)", key, sse)
	}
}
