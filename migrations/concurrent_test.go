package migrations_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/migrations"
)

var (
	createdTable = regexp.MustCompile(`(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	createIndex  = regexp.MustCompile(`(?i)\bCREATE\s+(?:UNIQUE\s+)?INDEX\b(\s+CONCURRENTLY)?(\s+IF\s+NOT\s+EXISTS)?\s+\w+\s+ON\s+(?:ONLY\s+)?(\w+)`)
	// ALTER TABLE … ADD [CONSTRAINT x] UNIQUE / PRIMARY KEY / EXCLUDE
	// builds an index too, under an exclusive lock.
	indexConstraint = regexp.MustCompile(`(?i)\bALTER\s+TABLE\s+(?:ONLY\s+)?(\w+)[^;]*\bADD\s+(?:CONSTRAINT\s+\w+\s+)?(UNIQUE|PRIMARY\s+KEY|EXCLUDE)\b(\s+USING\s+INDEX)?`)
	noTransaction   = regexp.MustCompile(`(?m)^--\s*\+goose\s+NO\s+TRANSACTION\s*$`)
)

// indexLockProblems lists the statements of a migration's Up section that
// build an index on a table the migration did not create itself (one that
// may hold a town's years of cases) without CONCURRENTLY: PostgreSQL stops
// every write to the table for the whole build, and after an ALTER TABLE
// in the same transaction every read as well.
func indexLockProblems(text string) []string {
	var code []string
	for _, l := range upSection(text) {
		c, _, _ := strings.Cut(l, "--")
		code = append(code, c)
	}
	up := strings.Join(code, "\n")
	own := map[string]bool{}
	for _, m := range createdTable.FindAllStringSubmatch(up, -1) {
		own[strings.ToLower(m[1])] = true
	}
	var problems []string
	for _, stmt := range strings.Split(up, ";") {
		stmt = strings.Join(strings.Fields(stmt), " ")
		if m := createIndex.FindStringSubmatch(stmt); m != nil && !own[strings.ToLower(m[3])] {
			switch {
			case m[1] == "":
				problems = append(problems, "builds an index on "+m[3]+" without CONCURRENTLY: "+stmt)
			case m[2] == "":
				problems = append(problems, "builds an index on "+m[3]+" without IF NOT EXISTS (a rerun after an interruption fails): "+stmt)
			case !noTransaction.MatchString(text):
				problems = append(problems, "CREATE INDEX CONCURRENTLY needs '-- +goose NO TRANSACTION': "+stmt)
			}
		}
		if m := indexConstraint.FindStringSubmatch(stmt); m != nil && !own[strings.ToLower(m[1])] && m[3] == "" {
			problems = append(problems, "adds a "+m[2]+" constraint to "+m[1]+", which builds its index under an exclusive lock "+
				"(build a unique index CONCURRENTLY first, then ADD CONSTRAINT … USING INDEX): "+stmt)
		}
	}
	return problems
}

// TestIndexesOnExistingTablesAreConcurrent: 00017 and 00018 (and 00002,
// 00006, 00007, 00016 before them) built their indexes on incidents,
// reports and room_posts inside the migration's transaction, right after
// an ALTER TABLE: on a town's large tables an upgrade stopped every read
// and write of the table for the whole build. They are built by 00024
// now, CONCURRENTLY; a new migration that builds an index on a table it
// did not create itself must do the same (own file, "-- +goose NO
// TRANSACTION", CREATE INDEX CONCURRENTLY IF NOT EXISTS).
func TestIndexesOnExistingTablesAreConcurrent(t *testing.T) {
	for f, text := range migrationFiles(t) {
		for _, p := range indexLockProblems(text) {
			t.Errorf("%s %s", f, p)
		}
	}
}

func TestIndexLockProblemsFindsLockingBuilds(t *testing.T) {
	const nt = "-- +goose NO TRANSACTION\n"
	for sql, want := range map[string]int{
		"CREATE INDEX r_idx ON reports (sender);":                                                     1,
		"CREATE UNIQUE INDEX r_idx ON reports (sender);":                                              1,
		"create index\n  r_idx on incident_events (at) where kind = 'x';":                             1,
		"CREATE INDEX CONCURRENTLY r_idx ON reports (sender);":                                        1, // no IF NOT EXISTS (and in a transaction)
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS r_idx ON reports (sender);":                          1, // in a transaction
		nt + "CREATE INDEX CONCURRENTLY IF NOT EXISTS r_idx ON reports (sender);":                     0,
		nt + "CREATE INDEX CONCURRENTLY r_idx ON reports (sender);":                                   1,
		"CREATE TABLE t (id int);\nCREATE INDEX t_idx ON t (id);":                                     0,
		"ALTER TABLE reports ADD CONSTRAINT r_u UNIQUE (sender);":                                     1,
		"ALTER TABLE room_posts ADD PRIMARY KEY (origin_id);":                                         1,
		"ALTER TABLE reports ADD CONSTRAINT r_u UNIQUE USING INDEX r_idx;":                            0,
		"-- CREATE INDEX r_idx ON reports (sender);\nALTER TABLE reports ADD COLUMN note text;":       0,
		"CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT t_u UNIQUE (id);":                     0,
		"ALTER TABLE reports ADD COLUMN note text;\nCREATE INDEX reports_note_idx ON reports (note);": 1,
	} {
		got := indexLockProblems("-- +goose Up\n" + sql + "\n-- +goose Down\nDROP INDEX r_idx;\n")
		// The NO TRANSACTION line stands before "-- +goose Up" in a real file.
		if strings.HasPrefix(sql, nt) {
			got = indexLockProblems(nt + "-- +goose Up\n" + strings.TrimPrefix(sql, nt) + "\n-- +goose Down\n")
		}
		if len(got) != want {
			t.Errorf("%q: %d problems %v, want %d", sql, len(got), got, want)
		}
	}
}

// TestInterruptedConcurrentIndexIsRebuilt: CREATE INDEX CONCURRENTLY that
// gives way to a long transaction (lock_timeout, as every migration
// statement does) leaves an INVALID index behind. Migrate's retry then ran
// the migration again, CREATE INDEX CONCURRENTLY IF NOT EXISTS found the
// invalid index, skipped it, and recorded the migration: the table stayed
// without a usable index for good (queries scan it), and nothing said so.
// Now every migrate rebuilds invalid indexes, so the interrupted build is
// completed once the long transaction ends.
func TestInterruptedConcurrentIndexIsRebuilt(t *testing.T) {
	ctx := context.Background()
	url, pool, log := databaseAt(t, 23)
	// A running server's transaction that wrote to incidents and has not
	// committed yet (a long one: a slow client, a stuck batch).
	writer := holdIncidents(t, pool, `UPDATE incidents SET updated_at = now() WHERE false`)
	migrated := migrateInBackground(ctx, url, log)
	// The first build on incidents waits for the writer, gives way after
	// lock_timeout and leaves its index INVALID.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		// Invalid and no longer being built: the build gave up.
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_index i WHERE NOT i.indisvalid
			AND NOT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-migrated:
			t.Fatalf("migrate finished while a writer held incidents: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no interrupted (INVALID) index within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := writer.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-migrated:
		if err != nil {
			t.Fatalf("migrate: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("migrate did not finish within 60s of the writer's end")
	}
	rows, err := pool.Query(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`)
	if err != nil {
		t.Fatal(err)
	}
	var invalid []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		invalid = append(invalid, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(invalid) > 0 {
		t.Errorf("after migrate: INVALID indexes %v", invalid)
	}
	for _, name := range []string{"incidents_merged_into_idx", "incidents_open_team_idx", "reports_sender_incident_idx",
		"incidents_created_idx", "room_posts_handover_idx", "incidents_escalation_due_idx", "reports_processing_handover_idx"} {
		var valid bool
		if err := pool.QueryRow(ctx, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
			name).Scan(&valid); err != nil || !valid {
			t.Errorf("index %s: valid=%v, err=%v", name, valid, err)
		}
	}
	if err := migrations.Check(ctx, pool); err != nil {
		t.Errorf("check after migrate: %v", err)
	}
}
