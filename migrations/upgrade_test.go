package migrations_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/migrations"
	"github.com/fieldgate/fieldgate/routing"
)

// previousRelease is the last migration of the schema the previous
// release ran on. Data written by that release must survive `migrate`, and
// its replicas must keep working while the new schema is in place.
const previousRelease = 3

// oldReleaseWrites inserts what a replica of the previous release writes
// for one report with a photo that was posted, taken by a two-person
// policy's first confirmer, and escalated, using only the columns that
// release knew. It returns the report's id.
func oldReleaseWrites(ctx context.Context, t *testing.T, pool *pgxpool.Pool, seq int) uuid.UUID {
	t.Helper()
	inc, rep, med := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	cn := fmt.Sprintf("2026-%06d", seq)
	at := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	key := "orig/2026/11/" + med.String()
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO case_counters (year, last) VALUES (2026, $1) ON CONFLICT (year) DO UPDATE SET last = $1`, []any{seq}},
		{`INSERT INTO incidents (id, case_number, state, address, team, priority, policy, rule, district, category, owner,
		    escalation_level, created_at, updated_at, escalation_round, escalation_started_at)
		  VALUES ($1, $2, 'escalated', 'tiefbau', 'tiefbau', 'normal', 'standard', 'tiefbau-mitte', 'Mitte', 'strasse',
		    'anna@stadt.localhost', 1, $3, $3, 1, $3)`, []any{inc, cn, at}},
		{`INSERT INTO reports (id, incident_id, case_number, kind, channel, address, sender, language, body, lat, lon,
		    position_source, urgent, received_at, processed_at)
		  VALUES ($1, $2, $3, 'report', 'xmpp', 'tiefbau', 'streife1@stadt.localhost', 'de', 'Schlagloch vor Nr. 12',
		    51.025, 7.59194, 'exif', false, $4, $4)`, []any{rep, inc, cn, at}},
		{`INSERT INTO idempotency_keys (channel, sender, key, report_id, created_at)
		  VALUES ('xmpp', 'streife1@stadt.localhost', $1, $2, $3)`, []any{"origin:" + cn, rep, at}},
		{`INSERT INTO media_objects (id, report_id, object_key, content_type, size_bytes, sha256, derivative_key, metadata, created_at)
		  VALUES ($1, $2, $3, 'image/jpeg', 12345, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', $4,
		    '{"position": {"lat": 51.025, "lon": 7.59194}}', $5)`, []any{med, rep, key, "team/2026/11/" + med.String() + ".jpg", at}},
		{`INSERT INTO incident_events (incident_id, at, kind, actor, via, from_state, to_state, detail)
		  VALUES ($1, $2, 'received', 'streife1@stadt.localhost', 'xmpp', '', 'received', '{"media": 1}'),
		         ($1, $2, 'routed', 'fieldgate', 'routing', 'received', 'routed', '{"team": "tiefbau"}'),
		         ($1, $2, 'escalated', 'fieldgate', 'escalation', 'routed', 'escalated', '{"level": 1}')`, []any{inc, at}},
		{`INSERT INTO room_posts (origin_id, incident_id, room, stanza_id, posted_at) VALUES ($1, $2, 'tiefbau@conference.stadt.localhost', $3, $4)`,
			[]any{"fg-" + cn, inc, "sid-" + cn, at}},
		{`INSERT INTO incident_alerts (incident_id, target, kind, level, at) VALUES ($1, 'carla@stadt.localhost', 'person', 1, $2)`, []any{inc, at}},
		{`INSERT INTO incident_confirmations (incident_id, round, actor, via, at) VALUES ($1, 1, 'anna@stadt.localhost', 'room', $2)`, []any{inc, at}},
		{`INSERT INTO api_tokens (id, name, hash, roles, created_at) VALUES ($1, $2, $3, '{reporter}', $4)`,
			[]any{uuid.Must(uuid.NewV7()), "app-" + cn, []byte("hash-" + cn), at}},
	}
	for _, s := range stmts {
		if _, err := pool.Exec(ctx, s.sql, s.args...); err != nil {
			t.Fatalf("previous release's write failed: %v\n%s", err, s.sql)
		}
	}
	return rep
}

// columnsAt returns the application tables and their columns as they are
// now (before the upgrade), so that the comparison after it ignores
// columns the upgrade adds.
func columnsAt(ctx context.Context, t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name NOT LIKE 'river%' AND table_name <> 'goose_db_version'
		ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	var tbl, col string
	if _, err := pgx.ForEachRow(rows, []any{&tbl, &col}, func() error {
		out[tbl] = append(out[tbl], col)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// dump returns every row of every table, restricted to cols, as text.
func dump(ctx context.Context, t *testing.T, pool *pgxpool.Pool, cols map[string][]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for tbl, cs := range cols {
		ids := make([]string, len(cs))
		for i, c := range cs {
			ids[i] = pgx.Identifier{c}.Sanitize()
		}
		list := strings.Join(ids, ", ")
		q := fmt.Sprintf(`SELECT coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '') FROM (SELECT %s FROM %s) r`, list, pgx.Identifier{tbl}.Sanitize())
		var s string
		if err := pool.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[tbl] = s
	}
	return out
}

// TestUpgradeFromPreviousRelease builds the previous release's schema,
// writes its data, runs every later migration, and checks that nothing
// changed, that the previous release's writes still work on the new
// schema (its replicas run on during a rolling upgrade), and that the new
// code reads the old data.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testsvc.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := migrations.UpTo(ctx, pool, previousRelease, log); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Check(ctx, pool); err == nil {
		t.Fatal("Check accepts the previous release's schema; a new server must refuse it or migrate")
	}
	var before int64
	if err := pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&before); err != nil || before != previousRelease {
		t.Fatalf("schema version %d (%v), want %d", before, err, previousRelease)
	}
	oldRep := oldReleaseWrites(ctx, t, pool, 41)
	cols := columnsAt(ctx, t, pool)
	want := dump(ctx, t, pool, cols)

	if err := migrations.Up(ctx, pool, log); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Fatalf("after migrate: %v", err)
	}
	var after int64
	if err := pool.QueryRow(ctx, `SELECT max(version_id) FROM goose_db_version`).Scan(&after); err != nil || after <= before {
		t.Fatalf("schema version after migrate %d (%v), want > %d", after, err, before)
	}
	got := dump(ctx, t, pool, cols)
	for tbl := range want {
		if got[tbl] != want[tbl] {
			t.Errorf("table %s changed by the upgrade:\nbefore %s\nafter  %s", tbl, want[tbl], got[tbl])
		}
	}
	if len(want["reports"]) == 0 || len(want["incident_events"]) == 0 {
		t.Fatal("nothing was written before the upgrade")
	}

	// An old replica still running writes the way it always did.
	oldReleaseWrites(ctx, t, pool, 42)

	// The new code reads what the old one wrote.
	_, dir, _ := callerDir()
	rules, err := routing.NewEngine(filepath.Join(dir, "..", "deploy", "demo", "rules.yaml"), log)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Logger: log}, dispatch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := svc.GetReport(ctx, oldRep)
	if err != nil {
		t.Fatalf("new code reading an old report: %v", err)
	}
	if v.Incident.CaseNumber != "2026-000041" || v.Incident.State != dispatch.StateEscalated || v.Report.Text != "Schlagloch vor Nr. 12" ||
		len(v.Events) != 3 || len(v.Report.Media) != 1 {
		t.Errorf("old report as the new code sees it: incident %+v, text %q, %d events, %d media",
			v.Incident, v.Report.Text, len(v.Events), len(v.Report.Media))
	}
}

// callerDir returns this package's directory.
func callerDir() (string, string, bool) {
	_, file, _, ok := runtime.Caller(0)
	return file, filepath.Dir(file), ok
}

// TestConcurrentMigrate starts three migrations at once on an empty
// database, as replicas starting together do: all succeed, each migration
// is applied once.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	url := testsvc.EmptyDatabaseURL(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			pool, err := pgxpool.New(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer pool.Close()
			errs <- migrations.Up(ctx, pool, log)
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent migrate: %v", err)
		}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var dup int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT version_id FROM goose_db_version GROUP BY 1 HAVING count(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		t.Errorf("migrations applied more than once: %d (%v)", dup, err)
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Error(err)
	}
}
