package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/dispatch"
)

// TestBackupWaitsForRetentionsDeletes: a retention run that deletes
// objects holds dispatch.BackupLock; `fieldgate backup` takes it (shared)
// before its snapshot, so it waits for the deletion to commit instead of
// listing objects that are gone by the time it copies them (which failed
// the night's backup). Here the test holds the lock as retention would:
// the backup must wait for it, then succeed.
func TestBackupWaitsForRetentionsDeletes(t *testing.T) {
	getenv := cliEnv(t, "bak-lock-")
	ctx := context.Background()
	retention, err := pgx.Connect(ctx, getenv("FIELDGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer retention.Close(ctx)
	if _, err := retention.Exec(ctx, `SELECT pg_advisory_lock($1)`, dispatch.BackupLock); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := runCmd(t, getenv, "backup", "--dir", t.TempDir())
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
