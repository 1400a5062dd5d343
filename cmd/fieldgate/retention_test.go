package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRunRetentionDryRun runs the command against an empty database: the
// wiring (config, pool, schema check, media store) works and nothing goes.
func TestRunRetentionDryRun(t *testing.T) {
	getenv := cliEnv(t, "ret-cli-")
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"retention", "run", "--dry-run", "--category", "strasse=365d"},
		getenv, &out, &errb)
	if err != nil {
		t.Fatalf("retention run: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "would delete 0 incidents, 0 media objects") {
		t.Errorf("output = %q", out.String())
	}
	if err := run(context.Background(), []string{"retention", "run", "--category", "nonsense"},
		getenv, &out, &errb); err == nil {
		t.Error("a malformed --category was accepted")
	}
}

// cliEnv is the environment of a command run against a fresh database
// and a bucket of its own (removed when the test ends), with an XMPP
// setting that is never dialled.
func cliEnv(t *testing.T, bucketPrefix string) func(string) string {
	t.Helper()
	url := testsvc.DatabaseURL(t)
	s3 := testsvc.S3(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	bucket := bucketPrefix + hex.EncodeToString(rnd[:])
	t.Cleanup(func() {
		if mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")}); err == nil {
			removeBucket(mc, bucket)
		}
	})
	env := map[string]string{
		"FIELDGATE_DATABASE_URL": url, "FIELDGATE_S3_ENDPOINT": s3.Endpoint, "FIELDGATE_S3_ACCESS_KEY": s3.AccessKey,
		"FIELDGATE_S3_SECRET_KEY": s3.SecretKey, "FIELDGATE_S3_BUCKET": bucket, "FIELDGATE_XMPP_ADDR": "127.0.0.1:1",
		"FIELDGATE_XMPP_DOMAIN": "reports.example", "FIELDGATE_XMPP_SECRET": "x", "FIELDGATE_RULES_FILE": "rules.yaml",
	}
	return func(k string) string { return env[k] }
}
