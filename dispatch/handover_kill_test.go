package dispatch_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// killChildFallback is the child's Config.ProcessFallback in
// TestPhotoReportSurvivesKillBeforeItsProcessing.
const killChildFallback = 4 * time.Second

// TestHelperPhotoProcess is the child of photoReportSurvivesKill: a
// replica that takes a photo report over the path of FG_KILLTEST_CHANNEL
// (the API's: stored by a batch of its own; the messenger's: stored in a
// transaction of its sender), processed right after the commit by this
// process with no queue job, prints its receipt, and runs until it is
// killed.
func TestHelperPhotoProcess(t *testing.T) {
	if os.Getenv("FG_KILLTEST_CHILD") != "photo" {
		t.Skip("helper process of TestPhotoReportSurvivesKillBeforeItsProcessing")
	}
	ctx := context.Background()
	pool, f := childPoolAndLog(t)
	var obj media.Object
	if err := json.Unmarshal([]byte(os.Getenv("FG_KILLTEST_OBJECT")), &obj); err != nil {
		t.Fatal(err)
	}
	env := testsvc.S3(t)
	store, err := media.New(ctx, media.Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey,
		Bucket: os.Getenv("FG_KILLTEST_BUCKET")}, discard())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: demoRules(t), Messenger: &fileMessenger{f: f}, Media: store, Logger: discard()},
		dispatch.Config{PollInterval: 50 * time.Millisecond, ProcessFallback: killChildFallback, DuplicateDistance: -1, AssemblyWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := svc.Intake(ctx, killPhotoReport(os.Getenv("FG_KILLTEST_CHANNEL"), obj))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("committed %s %s %s\n", r.ReportID, r.IncidentID, r.CaseNumber)
	time.Sleep(2 * time.Minute) // until SIGKILL
}

// killPhotoReport is the photo report of photoReportSurvivesKill, sent
// over channel.
func killPhotoReport(channel string, obj media.Object) dispatch.NewReport {
	in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
		Text: "Schlagloch mit Foto", Media: []media.Object{obj}, IdempotencyKey: "kill-photo-1"}
	if channel == dispatch.ChannelXMPP {
		in.Channel, in.Sender = dispatch.ChannelXMPP, "streife1@stadt.localhost"
	}
	return in
}

// TestPhotoReportSurvivesKillBeforeItsProcessing: photoReportSurvivesKill
// over the API; the messenger's: TestMessengerPhotoReportSurvivesKill.
func TestPhotoReportSurvivesKillBeforeItsProcessing(t *testing.T) {
	photoReportSurvivesKill(t, dispatch.ChannelAPI)
}

// photoReportSurvivesKill: a replica commits a photo report sent over
// channel (no queue job: its row carries a hand-over time) and is
// SIGKILLed while its direct run is inside the routing transaction (held
// up on a lock the test holds, after the EXIF and team-copy work against
// the real object store). Nothing of the routing commits. Two fresh
// replicas on the same database then find the report at its hand-over
// time, queue it once, and process it once: one routing, one post, one
// job; the killed replica posted nothing; a retry of the same request is
// answered with the same receipt. A messenger's reporter is told the case
// once, by the fresh replicas.
func photoReportSurvivesKill(t *testing.T, channel string) {
	ctx := context.Background()
	url := testsvc.DatabaseURL(t)
	env := testsvc.S3(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	bucket := "kill-" + hex.EncodeToString(rnd[:])
	store, err := media.New(ctx, media.Config{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Bucket: bucket}, discard())
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.Open(testsvc.Photo(t, "gps_ne.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := store.Put(ctx, photo)
	photo.Close()
	if err != nil {
		t.Fatal(err)
	}
	objJSON, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	// The child's routing will wait for this lock: its room post's record.
	lock, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(ctx) }()
	if _, err := lock.Exec(ctx, `LOCK TABLE room_posts IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "child.log")
	committed, kill := startHelper(t, "TestHelperPhotoProcess", []string{"FG_KILLTEST_CHILD=photo", "FG_KILLTEST_DB=" + url,
		"FG_KILLTEST_OUT=" + out, "FG_KILLTEST_BUCKET=" + bucket, "FG_KILLTEST_OBJECT=" + string(objJSON), "FG_KILLTEST_CHANNEL=" + channel},
		"committed ")
	f := strings.Fields(committed)
	if len(f) != 3 {
		t.Fatalf("the child's receipt %q: want report, incident and case number", committed)
	}
	reportID, incidentID, caseNumber := uuid.MustParse(f[0]), uuid.MustParse(f[1]), f[2]
	waitFor(t, "the child's routing to wait for the room post's record", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO room_posts%'`).Scan(&n)
		return n == 1
	})
	ahead, set := handover(t, pool, reportID)
	if !set || ahead <= 0 {
		t.Fatalf("before the kill: hand-over time set %v, %v ahead; the test proves nothing", set, ahead)
	}
	if n := processJobs(t, pool, reportID); n != 0 {
		t.Fatalf("%d process_report jobs before the kill, want 0 (the report carries a hand-over time instead)", n)
	}
	if err := kill(); err != nil {
		t.Fatal(err)
	}
	if err := lock.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	t.Logf("child killed inside its routing transaction, %v before the hand-over time", ahead.Round(time.Millisecond))

	rooms := []*recorder{{}, {}}
	var replicas []*dispatch.Service
	for _, rec := range rooms {
		p, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		svc := newTestService(t, testServiceOptions{Pool: p, Messenger: rec, Media: store, Config: dispatch.Config{DuplicateDistance: -1, AssemblyWindow: -1}})
		start(t, svc)
		replicas = append(replicas, svc)
	}
	waitFor(t, "the report posted by a fresh replica", func() bool { p, _ := postedAt(t, pool, caseNumber); return p >= 1 })
	t.Logf("posted %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(time.Second) // time for a second processing to show
	posts := 0
	for _, rec := range rooms {
		p, _ := rec.snapshot()
		posts += len(p)
	}
	if posts != 1 {
		t.Errorf("%d posts by the fresh replicas, want 1", posts)
	}
	if channel == dispatch.ChannelXMPP {
		told := func() int {
			n := 0
			for _, rec := range rooms {
				_, c := rec.snapshot()
				n += chatsTo(c, "streife1@stadt.localhost", caseNumber)
			}
			return n
		}
		waitFor(t, "the reporter told the case", func() bool { return told() > 0 })
		time.Sleep(500 * time.Millisecond) // time for a second message to show
		if n := told(); n != 1 {
			t.Errorf("the reporter was told the case %d times, want 1", n)
		}
	}
	if b, _ := os.ReadFile(out); strings.Contains(string(b), "room\t") || strings.Contains(string(b), "chat\t") {
		t.Errorf("the killed child posted or told:\n%s", b)
	}
	if n := eventCount(t, pool, incidentID, "routed"); n != 1 {
		t.Errorf("routed %d times, want 1", n)
	}
	if n := processJobs(t, pool, reportID); n != 1 {
		t.Errorf("%d process_report jobs, want 1 (the hand-over's)", n)
	}
	if _, set := handover(t, pool, reportID); set {
		t.Error("hand-over time still set after the report was processed")
	}
	v, err := replicas[0].GetReport(ctx, reportID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Report.Media) != 1 || v.Report.Media[0].DerivativeKey == "" || v.Report.PositionSource != dispatch.SourceEXIF {
		t.Errorf("processed report: media %+v, position source %q; want its team copy and the EXIF position", v.Report.Media, v.Report.PositionSource)
	}
	// The client, which may not have had its answer, retries: the same receipt.
	again, err := replicas[1].Intake(ctx, killPhotoReport(channel, obj))
	if err != nil {
		t.Fatal(err)
	}
	if again.ReportID != reportID || !again.Replayed {
		t.Errorf("retry answered %+v, want the receipt of report %s", again, reportID)
	}
}
