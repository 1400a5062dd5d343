package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
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

// TestRetentionPeriodFlagsAreAtLeastADay: the configuration refuses a
// category period below one day (a period of 0 deletes a case as soon as
// it is closed), but `retention run --category jugendamt=0d` (an admin
// who took 0 for "keep") went through and deleted every closed case of
// that category at once, and `--period 180m` (months meant, minutes read)
// every closed case three hours old. Now both flags want at least a day,
// say so, exit 2 and delete nothing.
func TestRetentionPeriodFlagsAreAtLeastADay(t *testing.T) {
	getenv := cliEnv(t, "ret-flags-")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, getenv("FIELDGATE_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out bytes.Buffer
	if err := run(ctx, []string{"migrate"}, getenv, &out, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out.String())
	}
	// Closed four hours ago, category jugendamt: kept 180 days by default.
	if _, err := conn.Exec(ctx, `
		INSERT INTO incidents (id, case_number, state, address, team, priority, district, category, created_at, updated_at, resolved_at)
		VALUES (gen_random_uuid(), '2026-000042', 'resolved', 'jugendamt', 'jugendamt', 'normal', 'Mitte', 'jugendamt',
			now() - interval '5 hours', now() - interval '4 hours', now() - interval '4 hours')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--category", "jugendamt=0d"}, "at least one day"},
		{[]string{"--category", "jugendamt=-365d"}, "at least one day"},
		{[]string{"--category", "jugendamt=12h"}, "at least one day"},
		{[]string{"--period", "180m"}, "at least one day"},
		{[]string{"--period", "0d"}, "at least one day"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, append([]string{"retention", "run"}, c.args...), getenv, &stdout, &stderr)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("retention run %s: %v, stderr %q, stdout %q; want exit 2 saying %q", strings.Join(c.args, " "), err, stderr.String(), stdout.String(), c.want)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE case_number = '2026-000042'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the case closed four hours ago was deleted")
	}
}
