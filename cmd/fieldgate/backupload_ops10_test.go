package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
