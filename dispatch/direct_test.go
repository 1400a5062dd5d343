package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// processJobs counts a report's process_report jobs, in any state.
func processJobs(t *testing.T, pool *pgxpool.Pool, report uuid.UUID) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
		WHERE kind = 'process_report' AND args->>'report_id' = $1`, report.String()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// eventCount counts a case's audit events of one kind.
func eventCount(t *testing.T, pool *pgxpool.Pool, incident uuid.UUID, kind string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM incident_events WHERE incident_id = $1 AND kind = $2`,
		incident, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDirectProcessingNoQueueHop: a text report is routed in its intake
// commit and posted by the intake's process; no processing job is queued
// for it (the fallback is far off here: a run through the queue would not
// finish within the test). Photo reports: TestDirectPhotoProcessingQueuesNoJob.
func TestDirectProcessingNoQueueHop(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Config: dispatch.Config{ProcessFallback: time.Hour}})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if n := processJobs(t, pool, r.ReportID); n != 0 {
		t.Errorf("%d process_report jobs left for a report processed directly, want 0", n)
	}
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Incident.Team != "tiefbau" || v.Incident.State != dispatch.StateRouted {
		t.Errorf("incident team %q state %s, want tiefbau routed", v.Incident.Team, v.Incident.State)
	}
}

// TestDirectProcessingRacesItsHandOver: photo reports whose hand-over time
// is due at once, with team copies that take up to 1.4 s, so that the
// lease loop (once a second) hands several of them to the queue while
// their direct run is still working: the queue job and the direct run
// process the same report at the same time. Each report is still routed
// once and posted once.
func TestDirectProcessingRacesItsHandOver(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	var mu sync.Mutex
	delays := map[string]time.Duration{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(key string) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return delays[key]
	}}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{ProcessFallback: time.Nanosecond, Workers: 8, DuplicateDistance: -1, AssemblyWindow: -1}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(svc.Collectors()...)
	start(t, svc)
	const n = 12
	recs := make([]dispatch.Receipt, n)
	var wg sync.WaitGroup
	for i := range n {
		obj := media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}
		mu.Lock()
		delays[obj.Key] = time.Duration(i%8) * 200 * time.Millisecond
		mu.Unlock()
		wg.Go(func() {
			r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau",
				Sender: "token:app", Text: fmt.Sprintf("Schlagloch %d", i), Media: []media.Object{obj},
				Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceAPI})
			if err != nil {
				t.Error(err)
			}
			recs[i] = r
		})
	}
	wg.Wait()
	for _, r := range recs {
		waitFor(t, "post recorded for "+r.CaseNumber, func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p >= 1 })
	}
	time.Sleep(2 * time.Second) // a second processing would post again now
	raced := 0
	for _, r := range recs {
		if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
			t.Errorf("%s routed %d times, want 1", r.CaseNumber, got)
		}
		if p, total := postedAt(t, pool, r.CaseNumber); p != 1 || total != 1 {
			t.Errorf("%s: %d of %d posts recorded, want 1 of 1", r.CaseNumber, p, total)
		}
		raced += processJobs(t, pool, r.ReportID)
	}
	if raced == 0 {
		t.Error("no report was handed over while its direct run worked: nothing was proven")
	}
	// The run that lost the race counts nothing.
	if got := value(t, reg, "fieldgate_reports_routed_total", map[string]string{"team": "tiefbau"}); got != n {
		t.Errorf("fieldgate_reports_routed_total = %v, want %d", got, n)
	}
	t.Logf("%d of %d reports handed to the queue during their direct run", raced, n)
	if posts, _ := rec.snapshot(); len(posts) != n {
		t.Errorf("%d posts in the room, want %d", len(posts), n)
	}
}

// TestDirectProcessingHungFallsBack: a direct run hangs before its
// routing commit (its team copy never finishes, as in a process that died
// or froze); at its hand-over time, Config.ProcessFallback after the
// intake, the report is handed to the queue, whose job processes it, and
// when the hung run finally ends (the process stops) the report is still
// routed once and posted once.
func TestDirectProcessingHungFallsBack(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	hm := &hangOnce{slowMedia: slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: hm,
		Config: dispatch.Config{ProcessFallback: time.Second, AssemblyWindow: -1}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	obj := media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:test",
		Text: "Foto", Media: []media.Object{obj}, Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the direct run hanging", func() bool { return hm.hanging.Load() })
	waitFor(t, "post recorded by the fallback job", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if !hm.hanging.Load() {
		t.Fatal("the direct run ended before the fallback job processed the report: nothing was proven")
	}
	// Stop gives the hung run a second, then cancels it; it has ended
	// when Stop returns.
	sctx, scancel := context.WithTimeout(context.Background(), time.Second)
	defer scancel()
	_ = svc.Stop(sctx)
	if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
		t.Errorf("routed %d times, want 1", got)
	}
	if posts, _ := rec.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
}

// hangOnce is a slowMedia whose first team copy (the direct run's) hangs
// until its context ends; later ones (the fallback job's) are at once.
type hangOnce struct {
	slowMedia
	first   sync.Once
	hanging atomic.Bool
}

func (h *hangOnce) ReadAndDerive(ctx context.Context, obj media.Object) media.Work {
	return h.work(ctx, obj, h.MakeDerivative)
}

func (h *hangOnce) MakeDerivative(ctx context.Context, obj media.Object, md media.Metadata) (media.Derivative, error) {
	hang := false
	h.first.Do(func() { hang = true })
	if hang {
		h.hanging.Store(true)
		<-ctx.Done()
		return media.Derivative{}, ctx.Err()
	}
	return h.slowMedia.MakeDerivative(ctx, obj, md)
}

// TestPreparedMediumUsedOnce: an attachment's metadata and team copy,
// started while its report arrived (PrepareMedium), are what the direct
// run uses: the team copy is made once, and the post links it.
func TestPreparedMediumUsedOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	obj := media.Object{Key: "orig/2026/11/" + uuid.Must(uuid.NewV7()).String(), ContentType: media.TypeJPEG, Size: 1000}
	sm := &slowMedia{calls: map[string]int{}, positions: map[string]*media.Position{obj.Key: {Lat: 51.0251, Lon: 7.5919}},
		delay: func(string) time.Duration { return 50 * time.Millisecond }}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm, Config: dispatch.Config{AssemblyWindow: -1}})
	start(t, svc)
	p := svc.PrepareMedium(obj, []byte("the photo"))
	if p == nil {
		t.Fatal("PrepareMedium refused a small photo")
	}
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:test",
		Text: "Foto", Media: []media.Object{obj}, Prepared: map[string]*dispatch.PreparedMedium{obj.Key: p}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Report.Media[0]; m.DerivativeKey == "" || m.Metadata == nil {
		t.Errorf("attachment: team copy %q, metadata %v", m.DerivativeKey, m.Metadata)
	}
	if v.Report.PositionSource != dispatch.SourceEXIF {
		t.Errorf("position source %q, want exif (from the prepared metadata)", v.Report.PositionSource)
	}
	if posts, _ := rec.snapshot(); len(posts) != 1 || len(posts[0].TeamCopies) != 1 {
		t.Errorf("posts %+v, want one with the team copy", posts)
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if c := sm.calls[obj.Key]; c != 1 {
		t.Errorf("%d team copies made, want 1", c)
	}
	if out := p.Outputs(context.Background()); len(out) != 2 {
		t.Errorf("outputs %v, want the team copy and its thumbnail", out)
	}
}

// TestTextReportRoutedInIntakeCommit: a report without attachments is
// routed in its intake transaction (nothing to read for it): when Intake
// returns, the case has its team, and no processing job was ever queued.
func TestTextReportRoutedInIntakeCommit(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	r := directReport(t, svc)
	var team *string
	var processed bool
	if err := pool.QueryRow(context.Background(), `SELECT i.team, r.processed_at IS NOT NULL FROM incidents i JOIN reports r ON r.incident_id = i.id
		WHERE r.id = $1`, r.ReportID).Scan(&team, &processed); err != nil {
		t.Fatal(err)
	}
	if team == nil || *team != "tiefbau" || !processed {
		t.Errorf("right after intake: team %v, processed %v; want routed to tiefbau in the intake commit", team, processed)
	}
	if n := processJobs(t, pool, r.ReportID); n != 0 {
		t.Errorf("%d process_report jobs for a text report routed at intake, want 0", n)
	}
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
		t.Errorf("routed %d times, want 1", got)
	}
}
