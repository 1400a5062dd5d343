package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// TestMessengerPhotoReportSurvivesKill: photoReportSurvivesKill for a
// photo report from a messenger, stored in its sender's intake
// transaction with a hand-over time instead of a fallback job.
func TestMessengerPhotoReportSurvivesKill(t *testing.T) {
	photoReportSurvivesKill(t, dispatch.ChannelXMPP)
}

// processed reports whether a report's processing has committed.
func processed(t *testing.T, pool *pgxpool.Pool, report uuid.UUID) bool {
	t.Helper()
	var done bool
	if err := pool.QueryRow(context.Background(), `SELECT processed_at IS NOT NULL FROM reports WHERE id = $1`, report).Scan(&done); err != nil {
		t.Fatal(err)
	}
	return done
}

// TestMessengerPhotoProcessingQueuesNoJob: a messenger photo report, and a
// photo that joins its case as a part, are each stored in their sender's
// intake transaction with a hand-over time Config.ProcessFallback ahead
// (by the database's clock) and no process_report job: while their
// direct runs work (each team copy takes 1.5 s) there is no job, and
// after them the hand-over times are cleared and there is still none. The
// report is routed once and its reporter told once.
func TestMessengerPhotoProcessingQueuesNoJob(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 1500 * time.Millisecond }}
	const fallback = time.Minute
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{ProcessFallback: fallback, AssemblyWindow: time.Minute, DuplicateDistance: -1}})
	start(t, svc)
	ctx := context.Background()
	const sender = "streife1@stadt.localhost"
	send := func(key, text string) dispatch.Receipt {
		t.Helper()
		r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
			IdempotencyKey: key, Text: text, Media: []media.Object{attackObject()},
			Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceGeoURI})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	afterIntake := func(what string, r dispatch.Receipt) {
		t.Helper()
		ahead, set := handover(t, pool, r.ReportID)
		if processed(t, pool, r.ReportID) {
			t.Fatalf("%s processed before it was checked (the team copy takes 1.5 s): the test proves nothing", what)
		}
		if !set || ahead > fallback || ahead < fallback-10*time.Second {
			t.Errorf("%s right after intake: hand-over time set %v, %v ahead; want about %v ahead", what, set, ahead, fallback)
		}
		if n := processJobs(t, pool, r.ReportID); n != 0 {
			t.Errorf("%s right after intake: %d process_report jobs, want 0", what, n)
		}
	}
	afterProcessing := func(what string, r dispatch.Receipt) {
		t.Helper()
		if _, set := handover(t, pool, r.ReportID); set {
			t.Errorf("%s: the hand-over time is still set after it was processed", what)
		}
		if n := processJobs(t, pool, r.ReportID); n != 0 {
			t.Errorf("%s: %d process_report jobs after it was processed directly, want 0", what, n)
		}
	}

	r := send("origin:msgphoto-1", "Schlagloch")
	afterIntake("report", r)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	afterProcessing("report", r)

	part := send("origin:msgphoto-2", "noch ein Foto")
	if part.Mode != dispatch.ModeAppended || part.CaseNumber != r.CaseNumber {
		t.Fatalf("second photo: mode %s case %s, want appended to %s", part.Mode, part.CaseNumber, r.CaseNumber)
	}
	afterIntake("part", part)
	waitFor(t, "part processed", func() bool { return processed(t, pool, part.ReportID) })
	afterProcessing("part", part)

	if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
		t.Errorf("routed %d times, want 1", got)
	}
	waitFor(t, "the reporter told the case", func() bool { _, c := rec.snapshot(); return chatsTo(c, sender, r.CaseNumber) >= 2 })
	time.Sleep(300 * time.Millisecond) // time for a third message to show
	// One "accepted" message for the report, one "added" for the part.
	if _, c := rec.snapshot(); chatsTo(c, sender, r.CaseNumber) != 2 {
		t.Errorf("the reporter got %d messages naming the case, want 2: %+v", chatsTo(c, sender, r.CaseNumber), c)
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for key, n := range sm.calls {
		if n != 1 {
			t.Errorf("%d team copies of %s, want 1", n, key)
		}
	}
}

// TestMessengerPartBeforeItsCaseIsRouted: a text that joins a messenger
// photo report while the report's team copy is still being made (1.5 s)
// finds its case not routed; its direct run hands it to the queue at
// once (its hand-over time is cleared, one job), and the job completes
// the case with it after the report is routed: routed once, the part
// processed once, no hand-over time left.
func TestMessengerPartBeforeItsCaseIsRouted(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 1500 * time.Millisecond }}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{ProcessFallback: time.Minute, AssemblyWindow: time.Minute, DuplicateDistance: -1}})
	start(t, svc)
	ctx := context.Background()
	const sender = "streife2@stadt.localhost"
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
		IdempotencyKey: "origin:early-1", Media: []media.Object{attackObject()},
		Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	part, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
		IdempotencyKey: "origin:early-2", Text: "Gehwegplatte lose"})
	if err != nil {
		t.Fatal(err)
	}
	if part.Mode != dispatch.ModeAppended || part.CaseNumber != r.CaseNumber {
		t.Fatalf("text: mode %s case %s, want appended to %s", part.Mode, part.CaseNumber, r.CaseNumber)
	}
	if processed(t, pool, r.ReportID) {
		t.Fatal("the report was routed before its part arrived: the test proves nothing")
	}
	waitFor(t, "part handed to the queue", func() bool { return processJobs(t, pool, part.ReportID) == 1 })
	if _, set := handover(t, pool, part.ReportID); set {
		t.Error("the part's hand-over time is still set after it was handed over")
	}
	waitFor(t, "part processed", func() bool { return processed(t, pool, part.ReportID) })
	waitFor(t, "the reporter told", func() bool { _, c := rec.snapshot(); return chatsTo(c, sender, r.CaseNumber) >= 2 })
	time.Sleep(time.Second) // time for a second processing to show
	if n := processJobs(t, pool, part.ReportID); n != 1 {
		t.Errorf("%d process_report jobs for the part, want 1", n)
	}
	if n := processJobs(t, pool, r.ReportID); n != 0 {
		t.Errorf("%d process_report jobs for the report, want 0 (processed directly)", n)
	}
	if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
		t.Errorf("routed %d times, want 1", got)
	}
	if _, c := rec.snapshot(); chatsTo(c, sender, r.CaseNumber) != 2 {
		t.Errorf("the reporter got %d messages naming the case, want 2 (accepted, part added): %+v", chatsTo(c, sender, r.CaseNumber), c)
	}
}

// TestMessengerReplyNotLeftToThePoll: a messenger photo report far from
// the sender's previous case gets two replies queued a few milliseconds
// apart by the same process, the "not joined" notice (intake transaction)
// and "accepted" (routing transaction). river drops an insert notification
// for a queue within its fetch cooldown of the previous one; the second
// reply must still be sent at once, not at the queue's next poll (2 s
// here). At a 5 ms cooldown 11 of 15 replies waited for the poll; one in
// ten is allowed, as the 1 ms window can still meet on a loaded machine.
func TestMessengerReplyNotLeftToThePoll(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}
	const poll = 2 * time.Second
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{DuplicateDistance: -1, PollInterval: poll}})
	start(t, svc)
	const n = 10
	const sender = "streife1@stadt.localhost"
	late := 0
	for i := range n {
		t0 := time.Now()
		r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "tiefbau", Sender: sender,
			IdempotencyKey: fmt.Sprintf("origin:poll-%d", i), Media: []media.Object{attackObject()},
			Position: &dispatch.Position{Lat: 51.025 + float64(i)*0.01, Lon: 7.59194}, PositionSource: dispatch.SourceGeoURI})
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && r.Mode != dispatch.ModeNew {
			t.Fatalf("report %d: mode %s, want a new case (1 km from the previous one)", i, r.Mode)
		}
		accepted := func() bool {
			_, c := rec.snapshot()
			return chatsTo(c, sender, r.CaseNumber+" angenommen") > 0
		}
		for !accepted() {
			if time.Since(t0) > 2*poll+5*time.Second {
				t.Fatalf("%s: no reply after %v", r.CaseNumber, time.Since(t0))
			}
			time.Sleep(5 * time.Millisecond)
		}
		if d := time.Since(t0); d > poll/2 {
			late++
			t.Logf("%s: accepted after %v, left to the poll", r.CaseNumber, d.Round(time.Millisecond))
		}
	}
	if _, c := rec.snapshot(); chatsTo(c, sender, "entfernt") != n-1 {
		t.Errorf("%d \"not joined\" notices, want %d: the replies did not come in pairs", chatsTo(c, sender, "entfernt"), n-1)
	}
	if late > 1 {
		t.Errorf("%d of %d \"accepted\" replies waited for the queue's poll, want at most 1", late, n)
	}
}
