package dispatch_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldgate/fieldgate/api/console"
	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// tablesHolding lists the tables of the database (every table of the
// schema, fieldgate's and river's) with a row whose text form contains
// one of needles, as "table: needle". Finished jobs of the queue are left
// out: river's job cleaner deletes them a day (discarded ones a week)
// after they finished, on the database's clock, which the test cannot
// move; jobs still to run are counted.
func tablesHolding(t *testing.T, pool *pgxpool.Pool, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("only %d tables found: %v", len(tables), tables)
	}
	var hits []string
	for _, tab := range tables {
		for _, n := range needles {
			var c int
			where := ""
			if tab == "river_job" {
				where = " AND x.finalized_at IS NULL"
			}
			if err := pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %q AS x WHERE strpos(lower(x::text), lower($1)) > 0%s`, tab, where), n).
				Scan(&c); err != nil {
				t.Fatalf("scan %s: %v", tab, err)
			}
			if c > 0 {
				hits = append(hits, fmt.Sprintf("%s: %d rows with %q", tab, c, n))
			}
		}
	}
	return hits
}

// testBucket is a media store on a bucket of its own, emptied and removed
// when the test ends, with a client to list it.
func testBucket(t *testing.T) (*media.Store, *minio.Client, string) {
	t.Helper()
	env := testsvc.S3(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	bucket := "ret-" + hex.EncodeToString(rnd[:])
	store, err := media.New(context.Background(), media.Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
		Bucket: bucket}, discard())
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(env.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.AccessKey, env.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, k := range bucketKeys(t, mc, bucket) {
			_ = mc.RemoveObject(context.Background(), bucket, k, minio.RemoveObjectOptions{})
		}
		_ = mc.RemoveBucket(context.Background(), bucket)
	})
	return store, mc, bucket
}

// postedAndResolved waits for r's post and resolves it as gina in the
// green team's room.
func postedAndResolved(t *testing.T, svc *dispatch.Service, r dispatch.Receipt) {
	t.Helper()
	waitFor(t, "the post of "+r.CaseNumber, func() bool { _, evs := events(t, svc, r); return countEvents(evs, "posted") > 0 })
	if _, err := svc.Execute(context.Background(), dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber,
		Actor: "gina@stadt.localhost", Via: "room", Room: roomGruen}); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionLeavesNothingOfTheReporter: a messenger reporter writes a
// case with a photo and chooses English, the team answers them, takes
// and resolves it; an Open311 citizen's request with contact data is
// rejected. A retention run (the injected clock 200 days on, default
// period) must leave no row anywhere in the database that names the
// reporters or holds their text, and no object in the bucket. The test
// scans every table, so a store added later without retention fails it.
func TestRetentionLeavesNothingOfTheReporter(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	store, mc, bucket := testBucket(t)
	tag := bucket
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Media: store, RulesFile: lifecycleRulesFile(t), Messenger: rec,
		Config: dispatch.Config{AssemblyWindow: -1, Retention: dispatch.RetentionConfig{Interval: -1}}})
	start(t, svc)

	reporter := "melder-" + tag + "@stadt.localhost"
	secret := "Geheimnis" + tag
	citizen := "buerger-" + tag + "@example.org"
	if err := svc.SetSenderLanguage(ctx, dispatch.ChannelXMPP, reporter, "en"); err != nil {
		t.Fatal(err)
	}
	obj, err := store.Put(ctx, bytes.NewReader(testJPEG(t)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "gruen", Sender: reporter,
		IdempotencyKey: "origin-" + tag, Language: "en", Text: "neu Kind allein am Teich " + secret,
		Position: &dispatch.Position{Lat: 51.0251, Lon: 7.5919}, PositionSource: dispatch.SourceXEP0080,
		Media: []media.Object{obj}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post of "+r.CaseNumber, func() bool { _, evs := events(t, svc, r); return countEvents(evs, "posted") > 0 })
	if _, err := svc.Reply(ctx, dispatch.ReplyCommand{Ref: r.CaseNumber, Text: "Wir kommen, " + secret, Actor: "gina@stadt.localhost",
		Via: "room", Room: roomGruen}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []dispatch.Action{dispatch.ActionTake, dispatch.ActionResolve} {
		if _, err := svc.Execute(ctx, dispatch.Command{Action: a, Ref: r.CaseNumber, Actor: "gina@stadt.localhost", Via: "room", Room: roomGruen}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelOpen311, Address: "gruen", Sender: "token:app", Text: "Müll " + secret,
		Position: &dispatch.Position{Lat: 51.03, Lon: 7.6}, PositionSource: dispatch.SourceAPI,
		Attributes: map[string]string{"contact_email": citizen, "service_code": "gruen"}})
	if err != nil {
		t.Fatal(err)
	}
	postedAndResolved(t, svc, o)
	// Everything the queue had to do for these cases is done.
	waitFor(t, "the answer to the reporter", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, c := range rec.chats {
			if strings.Contains(c.Body, secret) {
				return true
			}
		}
		return false
	})
	needles := []string{reporter, secret, citizen}
	if hits := tablesHolding(t, pool, needles...); len(hits) == 0 {
		t.Fatal("the scan finds nothing before retention: it cannot see anything")
	} else {
		t.Logf("before retention: %v", hits)
	}

	later := func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	res, err := dispatch.NewRetention(pool, store, dispatch.RetentionConfig{}, later, discard()).Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incidents) != 2 {
		t.Fatalf("retention deleted %d incidents, want 2: %+v", len(res.Incidents), res)
	}
	for _, h := range tablesHolding(t, pool, needles...) {
		t.Errorf("after retention: %s", h)
	}
	if left := bucketKeys(t, mc, bucket); len(left) != 0 {
		t.Errorf("objects left in the bucket: %v", left)
	}
}

// TestRetentionForgetsConsoleSignIns: console login links (the user's
// address, roles, when it was made and used) and console sessions are
// kept only until they expire; before, nothing ever deleted a login link
// and an expired session went only when someone signed in again, so the
// database kept a record of every sign-in for good. The dry run counts
// them, the run deletes them, an unexpired link and session stay.
func TestRetentionForgetsConsoleSignIns(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	now := time.Now().UTC()
	if _, err := console.CreateLoginLink(ctx, pool, "https://fieldgate.example", "old.dispatcher@stadt.localhost",
		[]string{"dispatcher"}, 15*time.Minute, now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := console.CreateLoginLink(ctx, pool, "https://fieldgate.example", "new.dispatcher@stadt.localhost",
		[]string{"dispatcher"}, 15*time.Minute, now); err != nil {
		t.Fatal(err)
	}
	for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(time.Hour)} {
		if _, err := pool.Exec(ctx, `INSERT INTO console_sessions (hash, subject, display_name, roles, method, created_at, expires_at)
			VALUES ($1, $2, 'Erika Muster', '{dispatcher}', 'oidc', $3, $4)`,
			[]byte{byte(i)}, fmt.Sprintf("user%d@stadt.localhost", i), exp.Add(-12*time.Hour), exp); err != nil {
			t.Fatal(err)
		}
	}
	rt := dispatch.NewRetention(pool, nil, dispatch.RetentionConfig{}, func() time.Time { return now }, discard())
	dry, err := rt.Run(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if dry.ConsoleSignIns != 2 {
		t.Errorf("dry run counts %d expired console sign-ins, want 2 (a link and a session)", dry.ConsoleSignIns)
	}
	res, err := rt.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.ConsoleSignIns != 2 {
		t.Errorf("the run deleted %d console sign-ins, want 2", res.ConsoleSignIns)
	}
	var old, kept int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM console_login_links WHERE subject = 'old.dispatcher@stadt.localhost') +
		(SELECT count(*) FROM console_sessions WHERE subject = 'user0@stadt.localhost'),
		(SELECT count(*) FROM console_login_links WHERE subject = 'new.dispatcher@stadt.localhost') +
		(SELECT count(*) FROM console_sessions WHERE subject = 'user1@stadt.localhost')`).Scan(&old, &kept); err != nil {
		t.Fatal(err)
	}
	if old != 0 || kept != 2 {
		t.Errorf("after retention %d expired and %d current sign-ins are left, want 0 and 2", old, kept)
	}
}

// TestRetentionDryRunCountsLanguageChoices: a messenger reporter who chose
// English and whose only case is past its period. The dry run must say
// that their language choice goes too, as the run then deletes it; before,
// the dry run counted only choices of senders who had no report left
// already, so it said 0 and the run deleted 1.
func TestRetentionDryRunCountsLanguageChoices(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	svc := newTestService(t, testServiceOptions{Pool: pool, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{AssemblyWindow: -1, Retention: dispatch.RetentionConfig{Interval: -1}}})
	start(t, svc)
	sender := "englisch@stadt.localhost"
	if err := svc.SetSenderLanguage(ctx, dispatch.ChannelXMPP, sender, "en"); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "gruen", Sender: sender, Language: "en", Text: "neu Ast"})
	if err != nil {
		t.Fatal(err)
	}
	postedAndResolved(t, svc, r)
	later := func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	rt := dispatch.NewRetention(pool, nil, dispatch.RetentionConfig{}, later, discard())
	dry, res := dryRunAndRun(t, rt)
	if len(dry.Incidents) != 1 || len(res.Incidents) != 1 || res.SenderLanguages != 1 {
		t.Fatalf("run: %d incidents, %d language choices; want 1 and 1", len(res.Incidents), res.SenderLanguages)
	}
	if dry.SenderLanguages != res.SenderLanguages {
		t.Errorf("the dry run said %d language choices would go, the run deleted %d", dry.SenderLanguages, res.SenderLanguages)
	}
}

// unmergeDuring is the media store of a retention run that lets a
// dispatcher unmerge a case right after the run deleted objects: it
// starts the unmerge and returns once the unmerge finished or waits for a
// lock in this database (pg_stat_activity; the sleep only paces the poll).
type unmergeDuring struct {
	store *media.Store
	pool  *pgxpool.Pool
	svc   *dispatch.Service
	ref   string
	done  chan error
}

func (u *unmergeDuring) Delete(ctx context.Context, keys ...string) error {
	if err := u.store.Delete(ctx, keys...); err != nil {
		return err
	}
	go func() {
		_, err := u.svc.Unmerge(context.Background(), dispatch.UnmergeCommand{Ref: u.ref, Actor: "leitstelle@stadt.localhost",
			Via: "api", Dispatcher: true})
		u.done <- err
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-u.done:
			u.done <- err
			return nil
		default:
		}
		var waiting int
		if err := u.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			return err
		}
		if waiting > 0 {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("the unmerge neither finished nor waited within 20s")
}

// TestRetentionRaceWithUnmerge: a duplicate merged long ago is due for
// retention, and a dispatcher unmerges it while the run is deleting. The
// run deleted the photos first and then skipped the incident, which was
// open again: a reopened case without its photos (team copy and original
// gone, the rows naming them left). Now the run locks the incidents
// before it deletes objects, so the unmerge waits and then finds the case
// gone, or the case stays whole.
func TestRetentionRaceWithUnmerge(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	store, mc, bucket := testBucket(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Media: store, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{AssemblyWindow: -1, Retention: dispatch.RetentionConfig{Interval: -1}}})
	start(t, svc)
	report := func(text string) dispatch.Receipt {
		t.Helper()
		obj, err := store.Put(ctx, bytes.NewReader(testJPEG(t)))
		if err != nil {
			t.Fatal(err)
		}
		r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "gruen", Sender: "token:app", Text: text,
			Media: []media.Object{obj}})
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the post of "+r.CaseNumber, func() bool { _, evs := events(t, svc, r); return countEvents(evs, "posted") > 0 })
		return r
	}
	orig, dup := report("Baum umgestürzt"), report("Baum liegt auf dem Weg")
	if _, err := svc.Merge(ctx, dispatch.MergeCommand{Ref: dup.CaseNumber, Into: orig.CaseNumber, Actor: "leitstelle@stadt.localhost",
		Via: "api", Dispatcher: true}); err != nil {
		t.Fatal(err)
	}
	// The original is still open; the duplicate's period has passed.
	u := &unmergeDuring{store: store, pool: pool, svc: svc, ref: dup.CaseNumber, done: make(chan error, 1)}
	later := func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	if _, err := dispatch.NewRetention(pool, u, dispatch.RetentionConfig{}, later, discard()).Run(ctx, false); err != nil {
		t.Fatal(err)
	}
	var unmergeErr error
	select {
	case unmergeErr = <-u.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the unmerge did not finish")
	}
	var state string
	err := pool.QueryRow(ctx, `SELECT state FROM incidents WHERE id = $1`, dup.IncidentID).Scan(&state)
	if err != nil {
		// Deleted: then the unmerge must have failed, and no row names an object.
		if unmergeErr == nil {
			t.Errorf("the unmerge succeeded but the case is gone")
		}
		return
	}
	var keys []string
	if err := pool.QueryRow(ctx, `SELECT coalesce(array_agg(k), '{}') FROM media_objects m JOIN reports r ON r.id = m.report_id,
		unnest(array[m.object_key, m.derivative_key, m.thumb_key]) k WHERE r.incident_id = $1 AND k IS NOT NULL`, dup.IncidentID).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	have := bucketKeys(t, mc, bucket)
	for _, k := range keys {
		if !slices.Contains(have, k) {
			t.Errorf("case %s is %s again (unmerge: %v) but its object %s was deleted", dup.CaseNumber, state, unmergeErr, k)
		}
	}
}

// TestRetentionWaitsForABackup: `fieldgate backup` dumps the database
// from a snapshot and then copies every object the snapshot names; a
// retention run (the server's daily job) that deleted objects meanwhile
// made the copy fail, and the night had no backup. The backup holds
// dispatch.BackupLock (shared) while it runs; retention deletes nothing
// then and says so (ErrBackupRunning), and deletes once the backup ended.
func TestRetentionWaitsForABackup(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	store, mc, bucket := testBucket(t)
	svc := newTestService(t, testServiceOptions{Pool: pool, Media: store, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{AssemblyWindow: -1, Retention: dispatch.RetentionConfig{Interval: -1}}})
	start(t, svc)
	obj, err := store.Put(ctx, bytes.NewReader(testJPEG(t)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "gruen", Sender: "token:app", Text: "Ast",
		Media: []media.Object{obj}})
	if err != nil {
		t.Fatal(err)
	}
	postedAndResolved(t, svc, r)
	waitFor(t, "the team copy", func() bool { return len(bucketKeys(t, mc, bucket)) == 3 })

	backup, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer backup.Release()
	if _, err := backup.Exec(ctx, `SELECT pg_advisory_lock_shared($1)`, dispatch.BackupLock); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(200 * 24 * time.Hour) }
	rt := dispatch.NewRetention(pool, store, dispatch.RetentionConfig{}, later, discard())
	res, err := rt.Run(ctx, false)
	if !errors.Is(err, dispatch.ErrBackupRunning) || len(res.Incidents) != 0 || !res.More {
		t.Errorf("retention during a backup: %+v, %v; want nothing deleted, more to do and ErrBackupRunning", res, err)
	}
	if n := len(bucketKeys(t, mc, bucket)); n != 3 {
		t.Errorf("retention deleted objects during a backup: %d of 3 left", n)
	}
	if _, err := backup.Exec(ctx, `SELECT pg_advisory_unlock_shared($1)`, dispatch.BackupLock); err != nil {
		t.Fatal(err)
	}
	if res, err := rt.Run(ctx, false); err != nil || len(res.Incidents) != 1 || len(bucketKeys(t, mc, bucket)) != 0 {
		t.Errorf("retention after the backup: %+v, %v, %d objects left", res, err, len(bucketKeys(t, mc, bucket)))
	}
}
