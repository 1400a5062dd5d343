package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// backupJPEG writes a small JPEG of its own (no EXIF) and returns its path.
func backupJPEG(t *testing.T, seed int) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), uint8(seed * 40), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("photo%d.jpg", seed))
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rows returns every row of query as strings, for comparing two databases.
func rows(t *testing.T, dbURL, query string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rs, err := conn.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var out []string
	for rs.Next() {
		vals, err := rs.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func runCmd(t *testing.T, getenv func(string) string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, getenv, &out, testWriter{t})
	return out.String(), err
}

// TestBackupRestore files reports with photos through the running
// gateway, backs it up, restores the backup into a fresh database and a
// fresh bucket, and finds every report, incident, event and photo there
// with its SHA-256. A changed object fails verify-backup, and a restore
// into a database that is not empty is refused.
func TestBackupRestore(t *testing.T) {
	s := startStack(t, nil)
	const n = 3
	for i := range n {
		body, ct := form(t, map[string]string{"to": "tiefbau", "text": fmt.Sprintf("Schlagloch %d", i), "lat": "51.025", "lon": "7.5919"},
			map[string]string{"photo": backupJPEG(t, i)})
		resp, out := s.post(s.token, body, ct)
		if resp.StatusCode != 202 {
			t.Fatalf("report %d: %s %v", i, resp.Status, out)
		}
	}
	// Wait until the team copies exist (so that the backup has them too)
	// and every report is processed and its post recorded: the source
	// database is compared with the restored one below, so nothing may
	// change after the backup.
	deadline := time.Now().Add(60 * time.Second)
	for len(rows(t, s.db, `SELECT id FROM media_objects WHERE derivative_key IS NOT NULL`)) < n ||
		len(rows(t, s.db, `SELECT id FROM reports WHERE processed_at IS NOT NULL`)) < n ||
		len(rows(t, s.db, `SELECT origin_id FROM room_posts WHERE posted_at IS NULL`)) > 0 ||
		len(rows(t, s.db, `SELECT id FROM incidents WHERE state = 'received'`)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("reports not processed and posted within 60s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The demo town's first escalation steps are minutes away: armed on
	// each incident that is not a duplicate (dispatch/escalation_handover.go),
	// and restored so.
	armed := rows(t, s.db, `SELECT id FROM incidents WHERE escalation_due_at IS NOT NULL`)
	if want := rows(t, s.db, `SELECT id FROM incidents WHERE state <> 'merged'`); len(armed) == 0 || len(armed) != len(want) {
		t.Fatalf("%d escalation steps armed before the backup, want one per incident that is not merged (%d)", len(armed), len(want))
	}
	dir := t.TempDir()
	out, err := runCmd(t, s.getenv, "backup", "--dir", dir, "--keep", "2")
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "fieldgate-backup-*"))
	if len(backups) != 1 || !strings.Contains(out, backups[0]) {
		t.Fatalf("backup wrote %v, said %q", backups, out)
	}
	bk := backups[0]
	t.Log(strings.TrimSpace(out))
	if out, err := runCmd(t, s.getenv, "verify-backup", bk); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("verify-backup: %v %s", err, out)
	}
	if out, err := runCmd(t, s.getenv, "verify-backup", "--live"); err != nil || !strings.Contains(out, fmt.Sprintf("%d media objects", 3*n)) {
		t.Errorf("verify-backup --live: %v %q (want %d objects: originals, team copies, thumbnails)", err, out, 3*n)
	}

	// Restore into a second database and bucket.
	target := restoreTarget(t, s, "-restored")
	getTarget := func(k string) string { return target[k] }
	out, err = runCmd(t, getTarget, "restore", bk)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
	for _, q := range []string{
		`SELECT id, case_number, kind, channel, address, sender, body, lat, lon FROM reports ORDER BY id`,
		`SELECT id, case_number, state, team, owner, created_at, escalation_round, escalation_due_at FROM incidents ORDER BY id`,
		`SELECT id, incident_id, kind, actor, from_state, to_state, detail FROM incident_events ORDER BY id`,
		`SELECT object_key, sha256, size_bytes, derivative_key, thumb_key FROM media_objects ORDER BY object_key`,
		`SELECT name, hash FROM api_tokens ORDER BY name`,
	} {
		src, dst := rows(t, s.db, q), rows(t, target["FIELDGATE_DATABASE_URL"], q)
		if len(src) == 0 || strings.Join(src, "\n") != strings.Join(dst, "\n") {
			t.Errorf("%s:\nsource   %v\nrestored %v", q, src, dst)
		}
	}
	if got := len(rows(t, target["FIELDGATE_DATABASE_URL"], `SELECT id FROM reports`)); got != n {
		t.Errorf("restored reports = %d, want %d", got, n)
	}
	// Every photo is in the new bucket, byte for byte.
	for _, r := range rows(t, s.db, `SELECT object_key || ' ' || sha256 FROM media_objects`) {
		key, sum, _ := strings.Cut(r, " ")
		obj, err := s.s3.GetObject(context.Background(), target["FIELDGATE_S3_BUCKET"], key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, obj)
		obj.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != sum {
			t.Errorf("restored photo %s: %v, sha256 %x, want %s", key, err, h.Sum(nil), sum)
		}
	}
	if _, err := runCmd(t, getTarget, "verify-backup", "--live"); err != nil {
		t.Errorf("verify-backup --live on the restored system: %v", err)
	}

	// A second restore into the now populated database is refused.
	if _, err := runCmd(t, getTarget, "restore", bk); err == nil || !strings.Contains(err.Error(), "empty database") {
		t.Errorf("restore into a populated database: %v, want a refusal", err)
	}
	// One changed byte in a photo fails verify-backup, naming the object.
	objs, _ := filepath.Glob(filepath.Join(bk, "objects", "orig", "*", "*", "*"))
	if len(objs) == 0 {
		t.Fatal("no original in the backup's objects/")
	}
	b, _ := os.ReadFile(objs[0])
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(objs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = runCmd(t, s.getenv, "verify-backup", bk)
	if err == nil || !strings.Contains(err.Error(), filepath.Base(objs[0])) {
		t.Errorf("verify-backup of a changed object: %v", err)
	}
}

// restoreTarget is the stack's environment with an empty database and a
// bucket of its own (the stack's name plus suffix, removed after the test).
func restoreTarget(t *testing.T, s *stack, suffix string) map[string]string {
	target := map[string]string{}
	for k, v := range s.env {
		target[k] = v
	}
	target["FIELDGATE_DATABASE_URL"] = testsvc.EmptyDatabaseURL(t)
	target["FIELDGATE_S3_BUCKET"] = s.bucket + suffix
	t.Cleanup(func() { removeBucket(s.s3, target["FIELDGATE_S3_BUCKET"]) })
	return target
}

func removeBucket(c *minio.Client, bucket string) {
	ctx := context.Background()
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	_ = c.RemoveBucket(ctx, bucket)
}

func TestPGEnvKeepsThePasswordOffTheCommandLine(t *testing.T) {
	env, db, err := pgEnv("postgres://fg:s3cret@db.internal:6543/fieldgate?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(env, " ")
	for _, want := range []string{"PGHOST=db.internal", "PGPORT=6543", "PGUSER=fg", "PGPASSWORD=s3cret", "PGDATABASE=fieldgate", "PGSSLMODE=disable"} {
		if !strings.Contains(joined, want) {
			t.Errorf("env %v lacks %s", env, want)
		}
	}
	if db != "fieldgate" {
		t.Errorf("database = %q", db)
	}
	if _, _, err := pgEnv("postgres://%zz"); err == nil {
		t.Error("a malformed URL was accepted")
	}
}

// TestPruneBackupsKeepsTheNewest: --keep counts only directories named
// exactly as runBackup names them. A directory an admin named
// "fieldgate-backup-before-upgrade" or "fieldgate-backup-<time>-copy" (a
// copy kept on purpose) was counted and deleted with the old backups, as
// was the newest backup itself when a directory with a later time in its
// name (a clock set wrong once) sorted after it.
func TestPruneBackupsKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	names := []string{"fieldgate-backup-20261128T023000Z", "fieldgate-backup-20261129T023000Z",
		"fieldgate-backup-20261130T023000Z", "fieldgate-backup-20261130T030000Z.tmp", "other",
		"fieldgate-backup-before-upgrade", "fieldgate-backup-20261101T023000Z-copy", "fieldgate-backup-20261332T023000Z",
		"fieldgate-backup-20991231T000000Z"}
	for _, n := range names {
		if err := os.Mkdir(filepath.Join(dir, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Not directories: a file and a symbolic link with a backup's name.
	if err := os.WriteFile(filepath.Join(dir, "fieldgate-backup-20261001T023000Z"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, "fieldgate-backup-20261002T023000Z")); err != nil {
		t.Fatal(err)
	}
	if n := pruneBackups(dir, 2, "fieldgate-backup-20261130T023000Z", slog.New(slog.DiscardHandler)); n != 0 {
		t.Fatalf("%d failures", n)
	}
	left, _ := os.ReadDir(dir)
	var got []string
	for _, e := range left {
		got = append(got, e.Name())
	}
	want := "fieldgate-backup-20261001T023000Z fieldgate-backup-20261002T023000Z fieldgate-backup-20261101T023000Z-copy " +
		"fieldgate-backup-20261130T023000Z fieldgate-backup-20261130T030000Z.tmp fieldgate-backup-20261332T023000Z " +
		"fieldgate-backup-20991231T000000Z fieldgate-backup-before-upgrade other"
	if strings.Join(got, " ") != want {
		t.Errorf("left %v,\nwant %s", got, want)
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Errorf("the link's target: %v", err)
	}
}
