package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestBackupWhileReportsArrive backs up while photo reports keep arriving
// and their team copies are being made, and restores the backup: every
// row the dump holds finds its objects (restore checks each one's SHA-256
// and every row count), nothing half.
func TestBackupWhileReportsArrive(t *testing.T) {
	s := startStack(t, nil)
	photos := make([]string, 4)
	for i := range photos {
		photos[i] = backupJPEG(t, i)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var filed atomic.Int64
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, ct := form(t, map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Schaden %d-%d", w, i),
					"lat": fmt.Sprint(51.0 + float64(w*1000+i)*0.001), "lon": "7.59"},
					map[string]string{"photo": photos[(w+i)%len(photos)]})
				if resp, out := s.post(s.token, body, ct); resp.StatusCode != 202 {
					t.Errorf("report during the backup: %s %v", resp.Status, out)
					return
				}
				filed.Add(1)
			}
		}()
	}
	for filed.Load() < 5 {
		time.Sleep(50 * time.Millisecond)
	}
	dir := t.TempDir()
	out, err := runCmd(t, s.getenv, "backup", "--dir", dir)
	atBackup := filed.Load()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup during intake: %v", err)
	}
	t.Logf("%d reports filed before the backup ended; %s", atBackup, strings.TrimSpace(out))
	bk, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-*"))
	if len(bk) != 1 {
		t.Fatalf("backups: %v", bk)
	}
	target := restoreTarget(t, s, "-load")
	out, err = runCmd(t, func(k string) string { return target[k] }, "restore", bk[0])
	if err != nil {
		t.Fatalf("restore of a backup taken during intake: %v", err)
	}
	t.Log(strings.TrimSpace(out))
}

// TestBackupWhileRetentionDeletes: retention deletes a closed incident's
// photos and then its rows while the nightly backup copies the objects its
// snapshot lists (minutes, for a town's photos). The backup failed on the
// first object retention had deleted ("media: open …: not found") and
// wrote nothing that night. Now an object that is gone together with its
// database row was deleted after the snapshot: the backup starts again
// with a new snapshot (at most three times). An object that is gone while
// the database still references it fails the backup, as before.
func TestBackupWhileRetentionDeletes(t *testing.T) {
	s := startStack(t, nil)
	const n = 2
	for i := range n {
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Ast %d", i), "lat": fmt.Sprint(51.01 + float64(i)*0.01), "lon": "7.59"},
			map[string]string{"photo": backupJPEG(t, i)})
		if resp, out := s.post(s.token, body, ct); resp.StatusCode != 202 {
			t.Fatalf("report %d: %s %v", i, resp.Status, out)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(rows(t, s.db, `SELECT id FROM media_objects WHERE derivative_key IS NOT NULL AND thumb_key IS NOT NULL`)) < n {
		if time.Now().After(deadline) {
			t.Fatal("team copies not made within 60s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What retention does to one incident after the backup's snapshot:
	// its objects first, then its rows.
	retain := func(deleteRow bool) {
		r := rows(t, s.db, `SELECT object_key || ' ' || derivative_key || ' ' || thumb_key FROM media_objects ORDER BY object_key LIMIT 1`)
		keys := strings.Fields(r[0])
		for _, k := range keys {
			if err := s.s3.RemoveObject(context.Background(), s.bucket, k, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if deleteRow {
			rows(t, s.db, `DELETE FROM media_objects WHERE object_key = '`+keys[0]+`' RETURNING id`)
		}
	}
	calls := 0
	backupSnapshotTaken = func() {
		if calls++; calls == 1 {
			retain(true)
		}
	}
	t.Cleanup(func() { backupSnapshotTaken = func() {} })
	dir := t.TempDir()
	out, err := runCmd(t, s.getenv, "backup", "--dir", dir)
	if err != nil {
		t.Fatalf("backup while retention deleted an incident's photos: %v", err)
	}
	if calls != 2 || !strings.Contains(out, fmt.Sprintf("(%d originals)", n-1)) {
		t.Errorf("backup took %d snapshots and says %q; want 2 snapshots, the second without the deleted photo", calls, out)
	}
	if _, err := runCmd(t, s.getenv, "verify-backup", strings.Fields(out)[1][:len(strings.Fields(out)[1])-1]); err != nil {
		t.Errorf("verify-backup: %v", err)
	}

	// An object lost while its row remains is no retention: the backup fails.
	backupSnapshotTaken = func() {}
	retain(false)
	if _, err := runCmd(t, s.getenv, "backup", "--dir", t.TempDir()); err == nil {
		t.Error("a backup with an object missing that the database references succeeded")
	}
}
