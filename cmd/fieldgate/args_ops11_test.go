package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestStrayArgumentIsRefusedNotIgnored: Go's flag parsing stops at the
// first argument that is no flag and every command ignored it and all
// that followed. An admin who typed `fieldgate retention run dry-run`
// (dashes forgotten) to see what retention would delete had it deleted
// for real; `fieldgate serve /etc/fieldgate/fieldgate.yaml` ran without
// that file, on whatever the environment held, and `media sweep dry-run`
// deleted objects. Now a command that takes only options refuses any
// other argument before doing anything, says which and why (a flag
// without dashes, a configuration file without --config), and exits 2.
func TestStrayArgumentIsRefusedNotIgnored(t *testing.T) {
	getenv := cliEnv(t, "args-")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, getenv("FIELDGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// A case closed 400 days ago: retention's to delete, but only when asked.
	if _, err := conn.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, team, priority, district, created_at, updated_at, resolved_at)
		VALUES (gen_random_uuid(), '2025-000042', 'resolved', 'tiefbau', 'tiefbau', 'normal', 'Mitte',
			now() - interval '401 days', now() - interval '400 days', now() - interval '400 days')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"retention", "run", "dry-run"}, `"dry-run": options start with --, as in --dry-run`},
		{[]string{"retention", "run", "now", "--dry-run"}, `unexpected argument "now"`},
		{[]string{"media", "sweep", "dry-run"}, `as in --dry-run`},
		{[]string{"serve", "/etc/fieldgate/fieldgate.yaml"}, `--config /etc/fieldgate/fieldgate.yaml`},
		{[]string{"migrate", "now"}, `unexpected argument "now"`},
		{[]string{"backup", "--dir", t.TempDir(), "7"}, `unexpected argument "7"`},
		{[]string{"token", "revoke", "--name", "app", "app2"}, `unexpected argument "app2"`},
		{[]string{"token", "create", "--role", "reporter"}, `--name is required`},
		{[]string{"token", "revoke", "--name", " "}, `--name is required`},
		{[]string{"privacy", "show", "max@stadt.example", "media-dir", "/root/x"}, `as in --media-dir`},
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, c.args, getenv, &stdout, &stderr)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(stderr.String(), c.want) || !strings.Contains(stderr.String(), "nothing was done") {
			t.Errorf("fieldgate %s: %v, stderr %q; want exit 2 saying %s", strings.Join(c.args, " "), err, stderr.String(), c.want)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE case_number = '2025-000042'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the closed case is gone: a command with a stray argument deleted it")
	}
}

// TestBadEnvironmentValueNamesTheVariable: FIELDGATE_S3_USE_TLS=yes in
// fieldgate.env stopped every command with 'env: parse error on field
// "UseTLS" of type "bool"': a Go field name, which appears nowhere in the
// admin's files (and "Addr" is a field of several sections). Now the
// error names each variable and the kind of value it wants.
func TestBadEnvironmentValueNamesTheVariable(t *testing.T) {
	env := map[string]string{
		"FIELDGATE_DATABASE_URL": "postgres://x/y", "FIELDGATE_S3_ENDPOINT": "s3:9000", "FIELDGATE_XMPP_ADDR": "x:5347",
		"FIELDGATE_XMPP_DOMAIN": "reports.example", "FIELDGATE_XMPP_SECRET": "s", "FIELDGATE_RULES_FILE": "rules.yaml",
		"FIELDGATE_S3_USE_TLS": "yes", "FIELDGATE_HTTP_EVENTS_HEARTBEAT": "5",
	}
	_, err := loadConfig("", func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("bad values accepted")
	}
	for _, want := range []string{"FIELDGATE_S3_USE_TLS: want true or false", "FIELDGATE_HTTP_EVENTS_HEARTBEAT: want a duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestUnreadableConfigSaysWhy: a configuration or rules file made
// root-only (0600) is unreadable for the systemd unit's dynamic user; the
// error said only "permission denied". It now says why and what to do.
// (The tests run as root, whom permissions do not stop, so the error is
// made as open(2) returns it.)
func TestUnreadableConfigSaysWhy(t *testing.T) {
	err := &fs.PathError{Op: "open", Path: "/etc/fieldgate/rules.yaml", Err: syscall.EACCES}
	if h := fileReadHint(err); !strings.Contains(h, "dynamic user") || !strings.Contains(h, "chmod 0644") {
		t.Errorf("hint for %v: %q", err, h)
	}
	if h := fileReadHint(fmt.Errorf("rules: %w", &fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT})); h != "" {
		t.Errorf("a missing file got the permission hint: %q", h)
	}
}

// TestRestoreOfTheBackupsDirectoryNamesABackup: `fieldgate restore
// /var/lib/private/fieldgate/backups` (the directory that holds the
// backups, not one of them) said only "open …/manifest.json: no such file
// or directory". Now it says that the directory holds backups and names
// the newest.
func TestRestoreOfTheBackupsDirectoryNamesABackup(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"fieldgate-backup-20261129T023000Z", "fieldgate-backup-20261130T023000Z", "other"} {
		if err := os.Mkdir(filepath.Join(dir, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"restore", dir}, cliEnv(t, "args-"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "holds 2 backups") || !strings.Contains(err.Error(), "fieldgate-backup-20261130T023000Z") {
		t.Errorf("restore of the backups' directory: %v", err)
	}
	err = run(context.Background(), []string{"verify-backup", t.TempDir()}, cliEnv(t, "args-"), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is not a fieldgate backup") {
		t.Errorf("verify-backup of an empty directory: %v", err)
	}
}
