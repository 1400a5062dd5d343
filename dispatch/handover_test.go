package dispatch_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// photoReport files an API report to tiefbau with one photo obj (not
// prepared: the processing reads it from the media store).
func photoReport(t *testing.T, svc *dispatch.Service, obj media.Object, text string) dispatch.Receipt {
	t.Helper()
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
		Text: text, Media: []media.Object{obj}, Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// handover returns a report's processing hand-over time as the database's
// clock sees it: how far ahead it is (negative: past), and whether it is
// set at all.
func handover(t *testing.T, pool *pgxpool.Pool, report uuid.UUID) (time.Duration, bool) {
	t.Helper()
	var ahead *float64
	if err := pool.QueryRow(context.Background(), `SELECT extract(epoch FROM processing_handover_at - clock_timestamp())::float8
		FROM reports WHERE id = $1`, report).Scan(&ahead); err != nil {
		t.Fatal(err)
	}
	if ahead == nil {
		return 0, false
	}
	return time.Duration(*ahead * float64(time.Second)), true
}

// TestDirectPhotoProcessingQueuesNoJob: a photo report stored by a batch of
// its own carries a hand-over time Config.ProcessFallback ahead (by the
// database's clock) instead of a queue job; its direct run processes it and
// clears the time in the same commit. No process_report job is ever queued.
func TestDirectPhotoProcessingQueuesNoJob(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 500 * time.Millisecond }}
	const fallback = time.Minute
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{ProcessFallback: fallback, AssemblyWindow: -1}})
	start(t, svc)
	r := photoReport(t, svc, attackObject(), "Foto")
	// The team copy takes 500 ms: the direct run has not committed yet.
	ahead, set := handover(t, pool, r.ReportID)
	if !set || ahead > fallback || ahead < fallback-10*time.Second {
		t.Errorf("right after intake: hand-over time set %v, %v ahead; want about %v ahead", set, ahead, fallback)
	}
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if _, set := handover(t, pool, r.ReportID); set {
		t.Error("the hand-over time is still set after the report was processed")
	}
	if n := processJobs(t, pool, r.ReportID); n != 0 {
		t.Errorf("%d process_report jobs for a photo report processed directly, want 0", n)
	}
	if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
		t.Errorf("routed %d times, want 1", got)
	}
}

// firstHangs is a media store whose first team copy of each photo (the
// direct run's) hangs until its context ends; later ones (the queue job's)
// are made at once.
type firstHangs struct {
	slowMedia
	mu      sync.Mutex
	seen    map[string]bool
	hanging sync.WaitGroup
}

func (f *firstHangs) ReadAndDerive(ctx context.Context, obj media.Object) media.Work {
	return f.work(ctx, obj, f.MakeDerivative)
}

func (f *firstHangs) MakeDerivative(ctx context.Context, obj media.Object, md media.Metadata) (media.Derivative, error) {
	f.mu.Lock()
	first := !f.seen[obj.Key]
	f.seen[obj.Key] = true
	f.mu.Unlock()
	if first {
		f.hanging.Done()
		<-ctx.Done()
		return media.Derivative{}, ctx.Err()
	}
	return f.slowMedia.MakeDerivative(ctx, obj, md)
}

// TestProcessingHandOverOnceAcrossReplicas: ten photo reports whose direct
// runs hang (as in a process that froze) reach their hand-over time while
// two replicas look for due reports every second; each report gets one
// process_report job, is routed once and posted once. When the frozen
// runs are finally cancelled (Stop), they hand over nothing more.
func TestProcessingHandOverOnceAcrossReplicas(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	const n = 10
	fh := &firstHangs{slowMedia: slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}, seen: map[string]bool{}}
	fh.hanging.Add(n)
	cfg := dispatch.Config{ProcessFallback: time.Second, Workers: n, DuplicateDistance: -1, AssemblyWindow: -1}
	room := &recorder{} // one room, shared by the replicas
	var svcs []*dispatch.Service
	var pool *pgxpool.Pool
	for range 2 {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pool = p
		svcs = append(svcs, newTestService(t, testServiceOptions{Pool: p, Messenger: room, Media: fh, Config: cfg}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := svcs[0].Start(ctx); err != nil {
		t.Fatal(err)
	}
	start(t, svcs[1])
	var recs []dispatch.Receipt
	for i := range n {
		recs = append(recs, photoReport(t, svcs[0], attackObject(), fmt.Sprintf("Foto %d", i)))
	}
	fh.hanging.Wait() // every report is in a direct run, none in the queue
	for _, r := range recs {
		waitFor(t, "case "+r.CaseNumber+" posted", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	}
	sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer scancel()
	_ = svcs[0].Stop(sctx) // cancels the hung direct runs
	time.Sleep(500 * time.Millisecond)
	for _, r := range recs {
		if got := processJobs(t, pool, r.ReportID); got != 1 {
			t.Errorf("%s: %d process_report jobs, want 1 (the hand-over's)", r.CaseNumber, got)
		}
		if got := eventCount(t, pool, r.IncidentID, "routed"); got != 1 {
			t.Errorf("%s routed %d times, want 1", r.CaseNumber, got)
		}
		if _, set := handover(t, pool, r.ReportID); set {
			t.Errorf("%s: hand-over time still set", r.CaseNumber)
		}
	}
	if posts, _ := room.snapshot(); len(posts) != n {
		t.Errorf("%d posts in the room, want %d", len(posts), n)
	}
}

// TestProcessingNotHandedOverByASkewedReplica: replica B's clock is 20 s
// ahead, more than the hand-over delay (3 s). Replica A's direct run takes
// 1.5 s (a slow team copy); B must not hand the report over meanwhile: the
// hand-over time is written and compared by the database's clock, never
// a replica's.
func TestProcessingNotHandedOverByASkewedReplica(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	room := &recorder{}
	pools := make([]*pgxpool.Pool, 2)
	for i := range pools {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	sm := &slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 1500 * time.Millisecond }}
	a := newTestService(t, testServiceOptions{Pool: pools[0], Messenger: room, Media: sm,
		Config: dispatch.Config{ProcessFallback: 3 * time.Second, AssemblyWindow: -1}})
	b := newTestService(t, testServiceOptions{Pool: pools[1], Messenger: room, Media: sm,
		Config: dispatch.Config{ProcessFallback: 3 * time.Second, AssemblyWindow: -1, Now: func() time.Time { return time.Now().Add(20 * time.Second) }}})
	start(t, a)
	start(t, b)
	r := photoReport(t, a, attackObject(), "Foto")
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pools[0], r.CaseNumber); return p == 1 })
	if n := processJobs(t, pools[0], r.ReportID); n != 0 {
		t.Errorf("%d process_report jobs, want 0 (the direct run finished before the hand-over time)", n)
	}
	sm.mu.Lock()
	for _, c := range sm.calls {
		if c != 1 {
			t.Errorf("%d team copies made, want 1", c)
		}
	}
	sm.mu.Unlock()
	if posts, _ := room.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts in the room, want 1", len(posts))
	}
}
