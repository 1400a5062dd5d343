package dispatch_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// blockedRoom is a recorder whose room posts fail while blocked is set,
// as the gateway refuses posts into a room it may not use.
type blockedRoom struct {
	recorder
	blocked atomic.Bool
}

func (b *blockedRoom) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	if b.blocked.Load() {
		return "", errors.New("gateway: team room not usable")
	}
	return b.recorder.PostToRoom(ctx, p)
}

// postJob is the state of a case's room_post job: its attempts, its state,
// and whether it is due now; state "" while the case has no such job.
func postJob(t *testing.T, pool *pgxpool.Pool, caseNumber string) (attempt int, state string, due bool) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `SELECT j.attempt, j.state::text, j.scheduled_at <= now()
		FROM river_job j JOIN incidents i ON j.args->>'incident_id' = i.id::text
		WHERE j.kind = 'room_post' AND i.case_number = $1`, caseNumber).Scan(&attempt, &state, &due)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return attempt, state, due
}

// TestRetryRoomPostsWhenRoomUsable: a post whose room refused it waits out
// its retry backoff; RetryRoomPosts for another room leaves it waiting,
// for its own room makes it due at once, and it is then posted once.
// RetryXMPPQueue finds nothing left to move.
func TestRetryRoomPostsWhenRoomUsable(t *testing.T) {
	pool, svc, m, r := waitingPost(t)
	ctx := context.Background()
	if n, err := svc.RetryRoomPosts(ctx, "leitstelle@conference.stadt.localhost"); err != nil || n != 0 {
		t.Fatalf("RetryRoomPosts(another room) = %d, %v; want 0", n, err)
	}
	if _, state, due := postJob(t, pool, r.CaseNumber); due || state == "running" {
		t.Fatalf("the post job was moved by another room's retry: %s, due %v", state, due)
	}
	n, err := svc.RetryRoomPosts(ctx, "Tiefbau@conference.stadt.localhost")
	if err != nil || n != 1 {
		t.Fatalf("RetryRoomPosts(tiefbau) = %d, %v; want 1", n, err)
	}
	postedOnceNow(t, pool, m, r.CaseNumber)
	if n, err := svc.RetryXMPPQueue(ctx); err != nil || n != 0 {
		t.Errorf("RetryXMPPQueue after delivery = %d, %v; want 0", n, err)
	}
}

// TestRetryXMPPQueueAfterReconnect: a post that failed while the gateway
// was disconnected is made due at once by RetryXMPPQueue and posted once.
func TestRetryXMPPQueueAfterReconnect(t *testing.T) {
	pool, svc, m, r := waitingPost(t)
	n, err := svc.RetryXMPPQueue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("RetryXMPPQueue = %d, %v; want 1", n, err)
	}
	postedOnceNow(t, pool, m, r.CaseNumber)
}

// postedOnceNow checks that a case's post job is due now (or done) and
// that the post then goes out once.
func postedOnceNow(t *testing.T, pool *pgxpool.Pool, m *blockedRoom, caseNumber string) {
	t.Helper()
	attempt, state, due := postJob(t, pool, caseNumber)
	if state != "completed" && (!due || state == "retryable") {
		t.Fatalf("after the retry the job is %s (attempt %d), due %v; want due now", state, attempt, due)
	}
	waitFor(t, "the post recorded", func() bool { p, _ := postedAt(t, pool, caseNumber); return p == 1 })
	if posts, _ := m.snapshot(); len(posts) != 1 {
		t.Errorf("%d posts, want 1", len(posts))
	}
}

// waitingPost files a report whose room post fails three times and then
// waits 4 s for its next attempt; the messenger accepts posts from then on.
func waitingPost(t *testing.T) (*pgxpool.Pool, *dispatch.Service, *blockedRoom, dispatch.Receipt) {
	t.Helper()
	pool := testsvc.Pool(t)
	m := &blockedRoom{}
	m.blocked.Store(true)
	svc := newTestService(t, testServiceOptions{Pool: pool, Messenger: m})
	start(t, svc)
	r := directReport(t, svc)
	// Attempt 3 failed: the next one waits 4 s.
	waitFor(t, "the post job waiting for its fourth attempt", func() bool {
		attempt, state, due := postJob(t, pool, r.CaseNumber)
		return attempt >= 3 && state != "running" && !due
	})
	m.blocked.Store(false)
	return pool, svc, m, r
}
