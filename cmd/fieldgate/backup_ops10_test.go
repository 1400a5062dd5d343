package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/migrations"
)

// TestBackupDeletesWhatAKilledBackupLeftBehind: a backup killed before its
// own cleanup (SIGKILL at systemd's stop timeout, the OOM killer, a power
// cut) leaves fieldgate-backup-<time>.tmp/ with a full copy of the
// database and photos. --keep never counted it and no later run touched
// it: personal data kept for good, outside every retention period, and
// the disk filling with each one. Now each backup, holding the directory's
// lock, deletes such leftovers first; a second backup started while one
// runs is refused (naming the directory) instead of deleting the running
// one's files.
func TestBackupDeletesWhatAKilledBackupLeftBehind(t *testing.T) {
	getenv := cliEnv(t, "bk-ops-")
	dir := t.TempDir()
	stale := filepath.Join(dir, "fieldgate-backup-20261129T023000Z.tmp")
	photo := filepath.Join(stale, "objects", "orig", "ab", "cd", "photo")
	if err := os.MkdirAll(filepath.Dir(photo), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(photo, []byte("a reporter's photo"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Not fieldgate's name for an incomplete backup: an admin's.
	mine := filepath.Join(dir, "fieldgate-backup-before-upgrade.tmp")
	if err := os.Mkdir(mine, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := runCmd(t, getenv, "backup", "--dir", dir, "--keep", "1")
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("%s, not fieldgate's, was deleted: %v", filepath.Base(mine), err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the killed backup's %s is still there after a backup (stat: %v)", filepath.Base(stale), err)
	}
	done, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-2*"))
	if len(done) != 1 || strings.HasSuffix(done[0], ".tmp") || !strings.Contains(out, done[0]) {
		t.Fatalf("backups in dir: %v; said %q", done, out)
	}

	// Another backup is writing into dir (it holds the lock, as runBackup
	// does): a second one leaves its files alone and says why.
	running := filepath.Join(dir, "fieldgate-backup-20261130T023000Z.tmp")
	if err := os.Mkdir(running, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	_, err = runCmd(t, getenv, "backup", "--dir", dir, "--keep", "1")
	if err == nil || !strings.Contains(err.Error(), "another backup") || !strings.Contains(err.Error(), dir) {
		t.Errorf("backup while another runs: %v, want a refusal naming the directory", err)
	}
	if _, err := os.Stat(running); err != nil {
		t.Errorf("the running backup's directory: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-2*")); len(left) != 2 {
		t.Errorf("after the refused backup: %v, want the earlier backup and the running one's directory", left)
	}
}

// TestRestoreCanBeRepeatedAfterTheObjectStoreFailed: an admin restores
// onto a spare host at night with a mistyped S3 secret key (or MinIO not
// yet started). restore put the dump into the database first and only
// then reached the bucket: it failed there, and every later attempt with
// the right key was refused because the database was no longer empty, so
// the admin had to find out how to drop and recreate it. Now the objects
// go first and the database last (in one transaction), so a failed restore
// leaves the database empty and simply runs again.
func TestRestoreCanBeRepeatedAfterTheObjectStoreFailed(t *testing.T) {
	getenv := cliEnv(t, "bk-ops-")
	dir := t.TempDir()
	if _, err := runCmd(t, getenv, "backup", "--dir", dir); err != nil {
		t.Fatalf("backup: %v", err)
	}
	bk, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-*"))
	if len(bk) != 1 {
		t.Fatalf("backups: %v", bk)
	}
	target := testsvc.EmptyDatabaseURL(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	bucket := "bk-ops-restore-" + hex.EncodeToString(rnd[:])
	s3 := testsvc.S3(t)
	t.Cleanup(func() {
		if mc, err := minio.New(s3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")}); err == nil {
			removeBucket(mc, bucket)
		}
	})
	wrongKey := true
	restoreEnv := func(k string) string {
		switch k {
		case "FIELDGATE_DATABASE_URL":
			return target
		case "FIELDGATE_S3_BUCKET":
			return bucket
		case "FIELDGATE_S3_SECRET_KEY":
			if wrongKey {
				return "mistyped-secret"
			}
		}
		return getenv(k)
	}
	if _, err := runCmd(t, restoreEnv, "restore", bk[0]); err == nil {
		t.Fatal("restore with a wrong S3 secret key succeeded")
	} else {
		t.Logf("first attempt: %v", err)
	}
	if n := len(rows(t, target, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`)); n != 0 {
		t.Errorf("the failed restore left %d tables in the database", n)
	}
	wrongKey = false
	out, err := runCmd(t, restoreEnv, "restore", bk[0])
	if err != nil {
		t.Fatalf("restore again with the right key: %v", err)
	}
	if !strings.Contains(out, "restored") {
		t.Errorf("restore said %q", out)
	}
}

// TestMonitoringSeesWhetherBackupsRun: the nightly backup is a command
// started by a timer; when it fails (pg_dump older than the upgraded
// PostgreSQL server, a full backup disk, a wrong S3 key) the unit goes
// "failed" and nobody looks. Nothing in /metrics or the alerts said that
// backups had stopped, so a town found out when it needed one. Now each
// verified backup is recorded in the database and every server exports
// fieldgate_backup_last_success_timestamp_seconds (0 while none is
// recorded), on which FieldgateBackupMissing fires
// (deploy/monitoring/alerts_test.yaml).
func TestMonitoringSeesWhetherBackupsRun(t *testing.T) {
	s := startStack(t, nil)
	token := s.newToken("scraper", "metrics")
	scrape := func() float64 {
		t.Helper()
		return s.metric(t, token, "fieldgate_backup_last_success_timestamp_seconds")
	}
	if v := scrape(); v != 0 {
		t.Errorf("before any backup: %v, want 0", v)
	}
	before := time.Now()
	if _, err := runCmd(t, s.getenv, "backup", "--dir", t.TempDir()); err != nil {
		t.Fatalf("backup: %v", err)
	}
	v := scrape()
	if at := time.Unix(int64(v), 0); at.Before(before.Add(-5*time.Second)) || at.After(time.Now().Add(5*time.Second)) {
		t.Errorf("after a backup at %s: %v (%s)", before.Format(time.RFC3339), v, at.Format(time.RFC3339))
	}
}

// metric scrapes the stack's /metrics with token and returns the value of
// the series name (a metric without labels), failing the test if it is
// missing.
func (s *stack) metric(t *testing.T, token, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s (%s %d bytes)", name, resp.Status, len(b))
	return 0
}

// TestSSECKeyReachesTheObjectStore: deploy/fieldgate.example.yaml offers
// s3.encryption "sse-c" with the key "from FIELDGATE_S3_SSEC_KEY", and
// the store's error asked for FIELDGATE_MEDIA_SSEC_KEY; the configuration
// read neither, so sse-c could never start ("sse-c needs a base64 32-byte
// key") whatever the admin set. And s3.require_encryption did not exist:
// encryption the server refuses was only logged, and photos were stored
// unencrypted. Now FIELDGATE_S3_SSEC_KEY (or s3.ssec_key_file) reaches
// the store, a missing key stops the start naming both, and
// s3.require_encryption refuses to store unencrypted (here: sse-c over
// plain HTTP, which MinIO refuses).
func TestSSECKeyReachesTheObjectStore(t *testing.T) {
	getenv := cliEnv(t, "bk-ops-")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	with := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return getenv(k)
		}
	}
	for _, name := range []string{"FIELDGATE_S3_SSEC_KEY", "FIELDGATE_MEDIA_SSEC_KEY"} {
		// Not required: the key reaches the store, which notes that the
		// server refuses sse-c over plain HTTP.
		_, err := runCmd(t, with(map[string]string{"FIELDGATE_S3_ENCRYPTION": "sse-c", name: key, "FIELDGATE_S3_REQUIRE_ENCRYPTION": "false"}),
			"media", "sweep", "--dry-run")
		if name == "FIELDGATE_S3_SSEC_KEY" && err != nil {
			t.Errorf("sse-c with %s set: %v", name, err)
		}
		if name == "FIELDGATE_MEDIA_SSEC_KEY" && (err == nil || !strings.Contains(err.Error(), "FIELDGATE_S3_SSEC_KEY")) {
			t.Errorf("sse-c with only %s (never read): %v, want the key's real name", name, err)
		}
	}
	_, err := runCmd(t, with(map[string]string{"FIELDGATE_S3_ENCRYPTION": "sse-c", "FIELDGATE_S3_SSEC_KEY": key,
		"FIELDGATE_S3_REQUIRE_ENCRYPTION": "true"}), "media", "sweep", "--dry-run")
	if err == nil || !strings.Contains(err.Error(), "s3.require_encryption") || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("required sse-c over plain HTTP: %v, want a refusal", err)
	}
}

// TestBackupFilesAreOwnerOnly: an admin runs `fieldgate backup` by hand
// (umask 022) before an upgrade, then copies the backup with cp -r, which
// makes its directories 0755. Every object and the manifest were 0600,
// but pg_dump created database.dump, the whole database with every
// report and reporter, world-readable (0644). Now every file of a backup
// is 0600 and every directory 0700, whatever the umask.
func TestBackupFilesAreOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if _, err := runCmd(t, cliEnv(t, "bk-perm-"), "backup", "--dir", dir); err != nil {
		t.Fatalf("backup: %v", err)
	}
	bk, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-*"))
	if len(bk) != 1 {
		t.Fatalf("backups: %v", bk)
	}
	n := 0
	err := filepath.Walk(bk[0], func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		n++
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", strings.TrimPrefix(p, bk[0]), info.Mode(), want)
		}
		return nil
	})
	if err != nil || n < 4 {
		t.Fatalf("walked %d entries: %v", n, err)
	}
}

// TestRestoreOfAnOlderReleasesBackup: docs/operations.md promises that
// restore "migrates the schema forward if the backup is older", which no
// test did: a backup made by the release before migration 00019 (written
// here with the backup's own steps on a database at schema 18, holding a
// report) is restored by this release, which brings it to the current
// schema with every row and passes its own checks.
func TestRestoreOfAnOlderReleasesBackup(t *testing.T) {
	ctx := context.Background()
	oldURL := testsvc.EmptyDatabaseURL(t)
	pool, err := pgxpool.New(ctx, oldURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrations.UpTo(ctx, pool, 18, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO incidents (id, case_number, state, address, team, created_at, updated_at)
		VALUES (gen_random_uuid(), '2026-000007', 'resolved', 'tiefbau', 'tiefbau', now(), now())`); err != nil {
		t.Fatal(err)
	}
	getenv := cliEnv(t, "bk-old-")
	cfg, err := loadConfig("", func(k string) string {
		if k == "FIELDGATE_DATABASE_URL" {
			return oldURL
		}
		return getenv(k)
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "fieldgate-backup-20261101T023000Z")
	if err := os.MkdirAll(filepath.Join(dir, backupObjectsDir), 0o700); err != nil {
		t.Fatal(err)
	}
	m := backupManifest{Format: backupFormat, Version: "previous", Bucket: "fieldgate", Counts: map[string]int64{}}
	if err := dumpDatabase(ctx, cfg, pool, dir, &m); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir, &m); err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != 18 || m.Counts["incidents"] != 1 {
		t.Fatalf("old backup: schema %d, counts %v", m.SchemaVersion, m.Counts)
	}
	target := testsvc.EmptyDatabaseURL(t)
	out, err := runCmd(t, func(k string) string {
		if k == "FIELDGATE_DATABASE_URL" {
			return target
		}
		return getenv(k)
	}, "restore", dir)
	if err != nil {
		t.Fatalf("restore of schema 18 by this release: %v", err)
	}
	t.Log(strings.TrimSpace(out))
	tp, err := pgxpool.New(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()
	if err := migrations.Check(ctx, tp); err != nil {
		t.Errorf("restored database not at this release's schema: %v", err)
	}
	if got := rows(t, target, `SELECT case_number FROM incidents`); strings.Join(got, ",") != "2026-000007" {
		t.Errorf("restored incidents %v", got)
	}
}

// undeletable makes path impossible for this process to delete: the
// immutable attribute as root (whom permissions do not stop; chattr +i,
// ext4 and most Linux file systems), a read-only directory otherwise.
// The real case is a backup another user (root, by hand) made, which the
// unit's dynamic user may not delete.
func undeletable(t *testing.T, dir string) {
	t.Helper()
	f := filepath.Join(dir, "database.dump")
	if err := os.WriteFile(f, []byte("dump"), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", f).CombinedOutput(); err != nil {
			t.Fatalf("chattr +i: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("chattr", "-i", f).Run() })
		return
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
}

// TestBackupStandsWhenAnOldOneCannotBeDeleted: an admin ran a backup by
// hand as root into the backup directory; from then on the nightly unit
// (a dynamic user) could not delete that backup when it fell beyond
// --keep, and `fieldgate backup` exited 1 after writing, verifying and
// recording a good new backup: the unit showed "failed" every night for a
// problem that was not a missing backup, and nothing said which directory
// or why. Now the backup exits 0, the log names the directory and the
// reason, stdout says personal data outlives --keep, and the newest run's
// count of undeleted backups is exported (fieldgate_backup_prune_failures,
// alert FieldgateBackupPruneFailed) without touching
// fieldgate_backup_last_success_timestamp_seconds.
func TestBackupStandsWhenAnOldOneCannotBeDeleted(t *testing.T) {
	getenv := cliEnv(t, "bk-prune-")
	dir := t.TempDir()
	old := filepath.Join(dir, "fieldgate-backup-20261101T023000Z")
	if err := os.Mkdir(old, 0o700); err != nil {
		t.Fatal(err)
	}
	undeletable(t, old)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"backup", "--dir", dir, "--keep", "1"}, getenv, &stdout, &stderr)
	t.Logf("stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatalf("backup failed although its new backup is complete: %v", err)
	}
	made, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-2*"))
	if len(made) != 2 {
		t.Fatalf("backups in dir: %v, want the old one and the new one", made)
	}
	if !strings.Contains(stderr.String(), old) || !strings.Contains(stderr.String(), "could not be deleted") {
		t.Errorf("the log does not name %s and the failure", old)
	}
	if !strings.Contains(stdout.String(), "could not be deleted") {
		t.Errorf("stdout does not say that an old backup is left: %q", stdout.String())
	}

	pool, err := pgxpool.New(context.Background(), getenv("FIELDGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(backupCollector{db: pool, log: slog.New(slog.DiscardHandler)})
	gauges := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			got[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
		}
		return got
	}
	g := gauges()
	if g["fieldgate_backup_prune_failures"] != 1 || g["fieldgate_backup_last_success_timestamp_seconds"] < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("after the backup: %v, want 1 prune failure and a recent success", g)
	}

	// The admin deletes it by hand; the next backup prunes cleanly and the
	// count goes back to 0.
	if os.Geteuid() == 0 {
		_ = exec.Command("chattr", "-i", filepath.Join(old, "database.dump")).Run()
	} else {
		_ = os.Chmod(old, 0o700)
	}
	if err := os.RemoveAll(old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // backup names have one-second resolution
	if _, err := runCmd(t, getenv, "backup", "--dir", dir, "--keep", "1"); err != nil {
		t.Fatalf("second backup: %v", err)
	}
	if g := gauges(); g["fieldgate_backup_prune_failures"] != 0 {
		t.Errorf("after a clean backup: %v, want 0 prune failures", g)
	}
	if made, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-2*")); len(made) != 1 {
		t.Errorf("backups in dir: %v, want the newest only", made)
	}
}
