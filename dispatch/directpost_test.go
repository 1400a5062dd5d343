package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// failingOnce is a recorder whose first room post fails: lost is a post
// that went out but whose echo never came back (the room has it), else
// the post never left.
type failingOnce struct {
	recorder
	lost  bool
	calls atomic.Int32
}

func (f *failingOnce) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	if f.calls.Add(1) > 1 {
		return f.recorder.PostToRoom(ctx, p)
	}
	if f.lost {
		_, _ = f.recorder.PostToRoom(ctx, p)
		return "", errors.New("room did not reflect the post: context deadline exceeded")
	}
	return "", errors.New("not connected")
}

func directReport(t *testing.T, svc *dispatch.Service) dispatch.Receipt {
	t.Helper()
	r, err := svc.Intake(context.Background(), dispatch.NewReport{Channel: dispatch.ChannelAPI, Address: "tiefbau", Sender: "token:app",
		Text: "Schlagloch", Position: &dispatch.Position{Lat: 51.025, Lon: 7.59194}, PositionSource: dispatch.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// postJobs counts the room_post jobs of a case's incident, in any state.
func postJobs(t *testing.T, pool *pgxpool.Pool, caseNumber string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job j JOIN incidents i ON j.args->>'incident_id' = i.id::text
		WHERE j.kind = 'room_post' AND i.case_number = $1`, caseNumber).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func postedAt(t *testing.T, pool *pgxpool.Pool, caseNumber string) (posted, total int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT count(p.posted_at), count(*) FROM room_posts p JOIN incidents i ON p.incident_id = i.id
		WHERE i.case_number = $1`, caseNumber).Scan(&posted, &total); err != nil {
		t.Fatal(err)
	}
	return posted, total
}

// TestDirectPostOneHop: the routing job posts the incident itself; its
// fallback job leaves the queue in the same commit as the record, so no
// room_post job ever runs for it.
func TestDirectPostOneHop(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if posts, _ := rec.snapshot(); len(posts) != 1 {
		t.Fatalf("%d posts, want 1", len(posts))
	}
	if n := postJobs(t, pool, r.CaseNumber); n != 0 {
		t.Errorf("%d room_post jobs left for a post made directly, want 0", n)
	}
	time.Sleep(300 * time.Millisecond) // a stray job would post again now
	if posts, _ := rec.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
}

// TestDirectPostFailedFallbackPostsOnce: the direct post never left (the
// XMPP connection was down); its job is made due at once, finds nothing
// in the archive and posts it: once.
func TestDirectPostFailedFallbackPostsOnce(t *testing.T) {
	pool := testsvc.Pool(t)
	m := &failingOnce{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded by the fallback job", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if posts, _ := m.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
	if c := m.calls.Load(); c != 2 {
		t.Errorf("%d post attempts, want 2 (direct, then the job)", c)
	}
}

// TestDirectPostLostEchoNotRepeated: the direct post went out but its
// echo was lost, so its transaction rolled back; the fallback job finds
// it in the room's archive by origin-id and records it without posting
// again.
func TestDirectPostLostEchoNotRepeated(t *testing.T) {
	pool := testsvc.Pool(t)
	m := &failingOnce{lost: true}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded from the archive", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if posts, _ := m.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts in the room, want 1", len(posts))
	}
	if c := m.calls.Load(); c != 1 {
		t.Errorf("%d post attempts, want 1 (the job found it in the archive)", c)
	}
	v, err := svc.GetReport(context.Background(), r.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Incident.State != dispatch.StateRouted {
		t.Errorf("state %s, want routed", v.Incident.State)
	}
}

// offline is a recorder that says it is not connected.
type offline struct{ recorder }

func (*offline) Connected() bool { return false }

// TestDirectPostNotWhileDisconnected: a messenger that is not connected is
// not tried directly; the post's job is due at once (not after the
// fallback delay) and posts when the queue runs it.
func TestDirectPostNotWhileDisconnected(t *testing.T) {
	pool := testsvc.Pool(t)
	m := &offline{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m})
	start(t, svc)
	t0 := time.Now()
	r := directReport(t, svc)
	waitFor(t, "post recorded by its job", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if d := time.Since(t0); d >= dispatch.DirectPostFallback {
		t.Errorf("posted after %v: the job waited for the fallback delay", d)
	}
	// A direct post would have taken its job out of the queue.
	if n := postJobs(t, pool, r.CaseNumber); n != 1 {
		t.Errorf("%d room_post jobs for the case, want 1 (worked by the queue)", n)
	}
	if posts, _ := m.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
}

// deadPost records, as a process that died between its routing commit and
// its direct post would leave it, a post of the case's incident that is
// due for hand-over, with the given origin-id.
func deadPost(t *testing.T, pool *pgxpool.Pool, caseNumber, origin string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `
		INSERT INTO room_posts (origin_id, incident_id, room, handover_at)
		SELECT $2, p.incident_id, p.room, now() - interval '1 second'
		FROM room_posts p JOIN incidents i ON p.incident_id = i.id WHERE i.case_number = $1 LIMIT 1`, caseNumber, origin); err != nil {
		t.Fatal(err)
	}
}

func postsWithOrigin(posts []dispatch.RoomPost, origin string) int {
	n := 0
	for _, p := range posts {
		if p.OriginID == origin {
			n++
		}
	}
	return n
}

// TestDirectPostHandedOverWhenItsProcessDied: a direct post has no queue
// job; when its process dies before recording it, a live process hands it
// to the queue at its hand-over time, and it is posted once.
func TestDirectPostHandedOverWhenItsProcessDied(t *testing.T) {
	pool := testsvc.Pool(t)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	deadPost(t, pool, r.CaseNumber, "fg-dead-1")
	waitFor(t, "handed-over post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 2 })
	posts, _ := rec.snapshot()
	if n := postsWithOrigin(posts, "fg-dead-1"); n != 1 {
		t.Errorf("handed-over post sent %d times, want 1", n)
	}
	if n := postJobs(t, pool, r.CaseNumber); n != 1 {
		t.Errorf("%d room_post jobs, want 1 (the hand-over's)", n)
	}
}

// TestHandOverOnceAcrossReplicas: two replicas hand over the same 40 due
// posts at once; every post gets one job and is sent once.
func TestHandOverOnceAcrossReplicas(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	recs := []*recorder{{}, {}}
	var svcs []*dispatch.Service
	var pool *pgxpool.Pool
	for i := range recs {
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pool = p
		svcs = append(svcs, newTestService(t, testServiceOptions{Pool: p, Messenger: recs[i]}))
	}
	start(t, svcs[0])
	r := directReport(t, svcs[0])
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	const n = 40
	for i := range n {
		deadPost(t, pool, r.CaseNumber, fmt.Sprintf("fg-dead-%d", i))
	}
	start(t, svcs[1])
	waitFor(t, "all handed-over posts recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == n+1 })
	a, _ := recs[0].snapshot()
	b, _ := recs[1].snapshot()
	for i := range n {
		o := fmt.Sprintf("fg-dead-%d", i)
		if got := postsWithOrigin(a, o) + postsWithOrigin(b, o); got != 1 {
			t.Errorf("%s sent %d times, want 1", o, got)
		}
	}
	if got := postJobs(t, pool, r.CaseNumber); got != n {
		t.Errorf("%d room_post jobs, want %d (one per handed-over post)", got, n)
	}
}

// hung is a recorder whose room never echoes: a direct post waits until
// its deadline.
type hung struct {
	recorder
	calls atomic.Int32
}

func (h *hung) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	if h.calls.Add(1) == 1 {
		<-ctx.Done()
		return "", ctx.Err()
	}
	return h.recorder.PostToRoom(ctx, p)
}

// TestDirectPostGivesUpAtItsDeadline: a direct post whose room does not
// answer gives up at DirectPostTimeout and hands the post to the queue,
// which sends it once.
func TestDirectPostGivesUpAtItsDeadline(t *testing.T) {
	pool := testsvc.Pool(t)
	m := &hung{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m})
	start(t, svc)
	t0 := time.Now()
	r := directReport(t, svc)
	waitFor(t, "post recorded by the queue", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })
	if d := time.Since(t0); d < dispatch.DirectPostTimeout || d >= dispatch.DirectPostFallback {
		t.Errorf("posted after %v, want between the direct deadline %v and the hand-over time %v", d, dispatch.DirectPostTimeout, dispatch.DirectPostFallback)
	}
	if posts, _ := m.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
	if c := m.calls.Load(); c != 2 {
		t.Errorf("%d post attempts, want 2 (direct, then the job)", c)
	}
}

// TestDirectPostHandedOverWhileLeaseRenewalFails: a post whose process
// died is handed over although the surviving replica cannot renew its
// worker lease (the lease table is locked): hand-overs do not depend on
// the lease (handover.go).
func TestDirectPostHandedOverWhileLeaseRenewalFails(t *testing.T) {
	url := testsvc.DatabaseURL(t)
	pool, admin := newPool(t, url), newPool(t, url)
	rec := &recorder{}
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: rec})
	start(t, svc)
	r := directReport(t, svc)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 1 })

	renewalBlocked := blockLeaseRenewals(t, admin)
	deadPost(t, pool, r.CaseNumber, "fg-dead-lease")
	waitFor(t, "handed-over post recorded", func() bool { p, _ := postedAt(t, pool, r.CaseNumber); return p == 2 })
	if !renewalBlocked() {
		t.Fatal("the lease renewals no longer wait for the lock: the test proves nothing")
	}
	posts, _ := rec.snapshot()
	if n := postsWithOrigin(posts, "fg-dead-lease"); n != 1 {
		t.Errorf("handed-over post sent %d times, want 1", n)
	}
}
