package dispatch_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for x := range 320 {
		for y := range 240 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func bucketKeys(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

// TestRetention: closed incidents past their category's period lose their
// reports, media (original, team copy, thumbnail) and trail, leaving an
// anonymous statistics row; a dry run only lists them; open incidents and
// categories with a longer period stay.
func TestRetention(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	store, mc, bucket := testBucket(t)

	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Media: store, RulesFile: lifecycleRulesFile(t), Messenger: rec,
		Config: dispatch.Config{AssemblyWindow: -1, Retention: dispatch.RetentionConfig{
			Default:    time.Millisecond,
			Interval:   -1, // the test runs it itself
			Categories: map[string]time.Duration{"strasse": 365 * 24 * time.Hour},
		}}})
	start(t, svc)

	report := func(address, text string, photo bool) dispatch.Receipt {
		t.Helper()
		in := dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: address, Sender: "max@stadt.localhost", Text: "neu " + text}
		if photo {
			obj, err := store.Put(ctx, bytes.NewReader(testJPEG(t)))
			if err != nil {
				t.Fatal(err)
			}
			in.Media = []media.Object{obj}
		}
		r, err := svc.Intake(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "routing of "+r.CaseNumber, func() bool { _, evs := events(t, svc, r); return countEvents(evs, "posted") > 0 })
		return r
	}
	resolve := func(r dispatch.Receipt, room, member string) {
		t.Helper()
		if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionTake, Ref: r.CaseNumber, Actor: member, Via: "room", Room: room}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Execute(ctx, dispatch.Command{Action: dispatch.ActionResolve, Ref: r.CaseNumber, Actor: member, Via: "room", Room: room}); err != nil {
			t.Fatal(err)
		}
	}
	gone := report("gruen", "Ast auf dem Weg", true) // category = team gruen: default period
	resolve(gone, roomGruen, "gina@stadt.localhost")
	kept := report("info", "Schlagloch", true) // category strasse: a year
	resolve(kept, roomOrdnung, "otto@stadt.localhost")
	open := report("gruen", "Hecke zu hoch", true) // open: never deleted
	before := bucketKeys(t, mc, bucket)
	if len(before) != 9 {
		t.Fatalf("%d objects in the bucket, want 9 (3 photos with team copy and thumbnail): %v", len(before), before)
	}
	time.Sleep(10 * time.Millisecond)

	dry, err := svc.RunRetention(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Incidents) != 1 || dry.Incidents[0].CaseNumber != gone.CaseNumber || len(dry.Incidents[0].Media) != 3 {
		t.Fatalf("dry run = %+v, want %s with 3 objects", dry, gone.CaseNumber)
	}
	if after := bucketKeys(t, mc, bucket); !slices.Equal(after, before) {
		t.Fatalf("the dry run deleted objects")
	}
	if _, err := svc.GetReport(ctx, gone.ReportID); err != nil {
		t.Fatalf("the dry run deleted the report: %v", err)
	}

	res, err := svc.RunRetention(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incidents) != 1 || res.Objects() != 3 {
		t.Fatalf("retention = %+v", res)
	}
	after := bucketKeys(t, mc, bucket)
	if len(after) != 6 {
		t.Fatalf("%d objects left, want 6", len(after))
	}
	for _, k := range dry.Incidents[0].Media {
		if slices.Contains(after, k) {
			t.Errorf("object %s of the deleted incident is still there", k)
		}
	}
	if _, err := svc.GetReport(ctx, gone.ReportID); err == nil {
		t.Error("the deleted report is still readable")
	}
	for _, r := range []dispatch.Receipt{kept, open} {
		if _, err := svc.GetReport(ctx, r.ReportID); err != nil {
			t.Errorf("%s was deleted: %v", r.CaseNumber, err)
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM incident_events WHERE incident_id = $1) + (SELECT count(*) FROM room_posts WHERE incident_id = $1)
		     + (SELECT count(*) FROM idempotency_keys k JOIN reports r ON r.id = k.report_id WHERE r.incident_id = $1)
		     + (SELECT count(*) FROM incidents WHERE id = $1)`, gone.IncidentID).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d rows of the deleted incident left (%v)", left, err)
	}
	var team, category, state string
	var n, reports, mediaN, acked int
	if err := pool.QueryRow(ctx, `SELECT team, category, final_state, incidents, reports, media, acknowledged FROM incident_stats`).
		Scan(&team, &category, &state, &n, &reports, &mediaN, &acked); err != nil {
		t.Fatal(err)
	}
	if team != "gruen" || category != "gruen" || state != "resolved" || n != 1 || reports != 1 || mediaN != 1 || acked != 1 {
		t.Errorf("statistics row = %s %s %s %d %d %d %d", team, category, state, n, reports, mediaN, acked)
	}
	// A second run finds nothing.
	if res, err := svc.RunRetention(ctx, false); err != nil || len(res.Incidents) != 0 {
		t.Errorf("second run: %+v %v", res, err)
	}
}

// TestRetentionJob: the periodic job runs when the queue starts; merged
// duplicates go with (or before) their original, and an original that a
// kept duplicate points to is kept too.
func TestRetentionJob(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	svc := newTestService(t, testServiceOptions{Pool: pool, RulesFile: lifecycleRulesFile(t),
		Config: dispatch.Config{Retention: dispatch.RetentionConfig{
			Default:    time.Millisecond,
			Categories: map[string]time.Duration{"lang": 365 * 24 * time.Hour},
		}}})
	r := map[string]dispatch.Receipt{}
	var err error
	for _, name := range []string{"orig", "dup", "open", "dupOfOpen", "blocked", "keptDup"} {
		if r[name], err = svc.Intake(ctx, dispatch.NewReport{Channel: "api", Address: "gruen", Sender: "token:app", Text: name}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(name, state, category, into string) {
		t.Helper()
		var target any
		if into != "" {
			target = r[into].IncidentID
		}
		if _, err := pool.Exec(ctx, `UPDATE incidents SET state = $2, category = $3, merged_into = $4, team = 'gruen',
			updated_at = now() - interval '1 hour' WHERE id = $1`, r[name].IncidentID, state, category, target); err != nil {
			t.Fatal(err)
		}
	}
	set("orig", "resolved", "", "")
	set("dup", "merged", "", "orig")
	set("open", "routed", "", "")
	set("dupOfOpen", "merged", "", "open")
	set("blocked", "resolved", "", "")
	set("keptDup", "merged", "lang", "blocked")
	start(t, svc)
	exists := func(name string) bool {
		_, err := svc.GetReport(ctx, r[name].ReportID)
		return err == nil
	}
	waitFor(t, "the retention job", func() bool { return !exists("orig") })
	for name, want := range map[string]bool{"dup": false, "open": true, "dupOfOpen": false, "blocked": true, "keptDup": true} {
		if exists(name) != want {
			t.Errorf("%s exists = %v, want %v", name, !want, want)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(incidents), 0) FROM incident_stats`).Scan(&n); err != nil || n != 3 {
		t.Errorf("statistics count %d incidents, want 3 (%v)", n, err)
	}
}

// TestCompletedJobsGoAfterAnHour: a finished job's arguments hold
// personal data (a room post's text, an alert's addressee) that nothing
// reads once it is done; river's cleaner kept them a day. Now a job
// completed two hours ago goes, one completed half an hour ago stays.
func TestCompletedJobsGoAfterAnHour(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	ids := map[string]int64{}
	for name, age := range map[string]string{"old": "2 hours", "recent": "30 minutes"} {
		var id int64
		if err := pool.QueryRow(ctx, `
			INSERT INTO river_job (args, kind, max_attempts, priority, queue, state, attempt, attempted_at, created_at, scheduled_at, finalized_at)
			VALUES ('{"body":"Schlagloch vor Hausnummer 12"}', 'room_post', 25, 1, 'xmpp', 'completed', 1,
				now() - $1::interval, now() - $1::interval, now() - $1::interval, now() - $1::interval)
			RETURNING id`, age).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	start(t, newTestService(t, testServiceOptions{Pool: pool}))
	left := func(name string) bool {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id = $1`, ids[name]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	// The cleaner runs on the queue's leader every 30 s.
	for deadline := time.Now().Add(90 * time.Second); left("old"); time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a job completed two hours ago is still kept 90 s after the queue started")
		}
	}
	if !left("recent") {
		t.Errorf("a job completed half an hour ago was deleted (want it kept for %v)", dispatch.CompletedJobRetention)
	}
}
