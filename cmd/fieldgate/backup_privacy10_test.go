package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestBackupWaitsForRetentionsDeletes: a retention run that deletes
// objects holds dispatch.BackupLock; `fieldgate backup` takes it (shared)
// before its snapshot, so it waits for the deletion to commit instead of
// listing objects that are gone by the time it copies them (which failed
// the night's backup). Here the test holds the lock as retention would:
// the backup must wait for it, then succeed.
func TestBackupWaitsForRetentionsDeletes(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	s3 := testsvc.S3(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	bucket := "bak-lock-" + hex.EncodeToString(rnd[:])
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
	ctx := context.Background()
	retention, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer retention.Close(ctx)
	if _, err := retention.Exec(ctx, `SELECT pg_advisory_lock($1)`, dispatch.BackupLock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := runCmd(t, func(k string) string { return env[k] }, "backup", "--dir", t.TempDir())
		done <- err
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("the backup ended (%v) while retention held the lock: it did not wait", err)
		default:
		}
		var waiting int
		if err := retention.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the backup neither waited for the lock nor ended within 60s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := retention.Exec(ctx, `SELECT pg_advisory_unlock($1)`, dispatch.BackupLock); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("backup after the lock was released: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the backup did not finish within 60s of the lock's release")
	}
}
