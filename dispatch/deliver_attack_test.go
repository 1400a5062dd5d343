package dispatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// slowRoom is a room shared by replicas (one recorder, as one MUC room
// and its archive) whose first post takes delay before it goes out and is
// echoed: a room under load, answering within the direct deadline.
type slowRoom struct {
	*recorder
	delay time.Duration
	first chan struct{}
}

func (s *slowRoom) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	select {
	case <-s.first:
	default:
		close(s.first)
		time.Sleep(s.delay)
	}
	return s.recorder.PostToRoom(ctx, p)
}

// TestDirectPostNotHandedOverByASkewedReplica: two replicas whose clocks
// disagree by 7 s (under the hand-over margin of 10 s, over the 5 s
// between the direct deadline and the hand-over). Replica A posts a report
// directly; the room takes 4 s to echo it, within A's 5 s deadline.
// Replica B, whose clock is ahead, must not hand the post to the queue
// meanwhile. Before the fix the hand-over time was written and compared
// by each replica's own clock: B queued the post after 3 s, the job found
// nothing in the archive yet and sent it, then A's post went out: the
// team saw the report twice.
func TestDirectPostNotHandedOverByASkewedReplica(t *testing.T) {
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
	a := newTestService(t, testServiceOptions{Pool: pools[0], Messenger: &slowRoom{recorder: room, delay: 4 * time.Second, first: make(chan struct{})}})
	b := newTestService(t, testServiceOptions{Pool: pools[1], Messenger: room,
		Config: dispatch.Config{Now: func() time.Time { return time.Now().Add(7 * time.Second) }}})
	start(t, a)
	start(t, b)
	r := directReport(t, a)
	waitFor(t, "post recorded", func() bool { p, _ := postedAt(t, pools[0], r.CaseNumber); return p == 1 })
	time.Sleep(1500 * time.Millisecond) // a job handed over late would have run by now
	if posts, _ := room.snapshot(); len(posts) != 1 {
		t.Errorf("the room got %d posts, want 1", len(posts))
	}
	if n := postJobs(t, pools[0], r.CaseNumber); n != 0 {
		t.Errorf("%d room_post jobs, want 0 (the direct post was echoed within its deadline)", n)
	}
}
