package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/media"
)

// filePrepared files an API report to tiefbau with one photo obj whose
// team copy is prepared from its bytes (HoldMedium), as the API does.
func filePrepared(svc *dispatch.Service, obj media.Object, text string) (dispatch.Receipt, error) {
	in := dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app", Text: text,
		Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceAPI, Media: []media.Object{obj}}
	svc.HoldMedium(&in, obj, []byte("photo bytes"))
	if len(in.Prepared) != 1 {
		return dispatch.Receipt{}, errors.New("the photo was not prepared")
	}
	return svc.Intake(context.Background(), in)
}

// TestStopDuringDirectRunsLosesNothing: direct runs that hang on their
// prepared team copies (as on a stuck decode) when the service stops, and
// reports filed while it stops, are all processed exactly once by the next
// process (here a second service on the same database): a cancelled direct
// run must hand its report to the queue at once, since its hand-over time
// here is an hour away.
func TestStopDuringDirectRunsLosesNothing(t *testing.T) {
	pool := testsvc.Pool(t)
	gm := &gatedMedia{slowMedia: slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }}, gate: make(chan struct{})}
	defer close(gm.gate)
	cfg := dispatch.Config{ProcessFallback: time.Hour, DuplicateDistance: -1}
	rec1 := &recorder{}
	svc1 := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec1, Media: gm, Config: cfg})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := svc1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var recs []dispatch.Receipt
	file := func(i int) {
		r, err := filePrepared(svc1, attackObject(), fmt.Sprintf("Schlagloch %d", i))
		if err != nil {
			t.Errorf("intake %d: %v", i, err)
			return
		}
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() { file(i) })
	}
	wg.Wait()
	// More reports race the stop.
	for i := 12; i < 24; i++ {
		wg.Go(func() { file(i) })
	}
	sctx, scancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer scancel()
	stopAt := time.Now()
	if err := svc1.Stop(sctx); err != nil {
		t.Logf("stop: %v", err)
	}
	if time.Since(stopAt) < 400*time.Millisecond {
		t.Error("Stop returned before its deadline: no direct run was hanging, nothing was proven")
	}
	wg.Wait()
	cancel()

	rec2 := &recorder{}
	svc2 := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec2, Media: gm, Config: cfg})
	start(t, svc2)
	for _, r := range recs {
		waitFor(t, "case "+r.CaseNumber+" posted", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p >= 1 })
		if n := eventCount(t, pool, r.IncidentID, "routed"); n != 1 {
			t.Errorf("case %s routed %d times, want 1", r.CaseNumber, n)
		}
	}
	p1, _ := rec1.snapshot()
	p2, _ := rec2.snapshot()
	if len(p1)+len(p2) != len(recs) {
		t.Errorf("%d + %d posts for %d reports, want one each", len(p1), len(p2), len(recs))
	}
}

// TestPreparedTeamCopyStorageDown: the object store fails during an
// attachment's prepared team copy; the direct run hands the report to the
// queue at once (although its hand-over time is an hour away), whose job makes
// the team copy from S3: the report is routed once, with its team copy.
func TestPreparedTeamCopyStorageDown(t *testing.T) {
	pool := testsvc.Pool(t)
	gm := &gatedMedia{slowMedia: slowMedia{calls: map[string]int{}, delay: func(string) time.Duration { return 0 }},
		gate: make(chan struct{}), fail: fmt.Errorf("put team copy: %w", media.ErrUnavailable)}
	close(gm.gate)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: gm,
		Config: dispatch.Config{ProcessFallback: time.Hour}})
	start(t, svc)
	r, err := filePrepared(svc, attackObject(), "Foto")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if m := v.Report.Media[0]; m.DerivativeKey == "" || m.Metadata == nil {
		t.Errorf("attachment after the store came back: team copy %q, metadata %v", m.DerivativeKey, m.Metadata)
	}
	if n := eventCount(t, pool, r.IncidentID, "routed"); n != 1 {
		t.Errorf("routed %d times, want 1", n)
	}
	if posts, _ := rec.snapshot(); len(posts) != 1 || len(posts[0].TeamCopies) != 1 {
		t.Errorf("posts %+v, want one with the team copy", posts)
	}
}

// TestPreparedUsedWithoutDirectSlot: reports that find every direct slot
// busy are processed by their queue job in the same process; the job uses
// the team copies already prepared from the upload instead of making them
// a second time from S3 (under a burst, when CPU is short, that doubled
// the image work of every report beyond Config.Workers).
func TestPreparedUsedWithoutDirectSlot(t *testing.T) {
	pool := testsvc.Pool(t)
	first := attackObject()
	sm := &slowMedia{calls: map[string]int{}, delay: func(key string) time.Duration {
		if key == first.Key {
			return 3 * time.Second // holds the one direct slot
		}
		return 20 * time.Millisecond
	}}
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec, Media: sm,
		Config: dispatch.Config{Workers: 1, ProcessFallback: time.Hour, DuplicateDistance: -1}})
	start(t, svc)
	file := func(obj media.Object, i int) dispatch.Receipt {
		r, err := filePrepared(svc, obj, fmt.Sprintf("Foto %d", i))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	file(first, 0)
	var objs []media.Object
	var recs []dispatch.Receipt
	for i := range 3 {
		obj := attackObject()
		objs = append(objs, obj)
		recs = append(recs, file(obj, i+1))
	}
	for _, r := range recs {
		waitFor(t, "case "+r.CaseNumber+" posted", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	for _, o := range objs {
		if c := sm.calls[o.Key]; c != 1 {
			t.Errorf("%d team copies made of a photo processed by its job, want 1 (the prepared one)", c)
		}
	}
}
