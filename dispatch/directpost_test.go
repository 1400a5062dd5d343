package dispatch_test

import (
	"context"
	"errors"
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
