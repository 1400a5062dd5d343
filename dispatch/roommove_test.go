package dispatch_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/dispatch"
	"github.com/fieldgate/fieldgate/internal/testsvc"
	"github.com/fieldgate/fieldgate/routing"
)

// goneRoom is a messenger whose room gone refuses every post, as the
// gateway refuses a room that was destroyed or is no team's room.
type goneRoom struct {
	*recorder
	gone string
}

func (g goneRoom) PostToRoom(ctx context.Context, p dispatch.RoomPost) (string, error) {
	if p.Room == g.gone {
		return "", errors.New("team room not usable: destroyed")
	}
	return g.recorder.PostToRoom(ctx, p)
}

// TestQueuedPostFollowsTheTeamsNewRoom: a post waits in the queue because
// its team's room is gone (destroyed by an admin); the town gives the
// team a new room in the rules. The waiting post goes to the new room,
// once, and the room's replies find the case there; before, it kept
// retrying the old room for good.
func TestQueuedPostFollowsTheTeamsNewRoom(t *testing.T) {
	pool := testsvc.Pool(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(lifecycleRules), 0o644); err != nil {
		t.Fatal(err)
	}
	rules, err := routing.NewEngine(path, discard())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	svc, err := dispatch.New(dispatch.Deps{Pool: pool, Rules: rules, Messenger: goneRoom{rec, roomOrdnung}, Logger: testLogger()},
		dispatch.Config{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start(t, svc)
	r, err := svc.Intake(ctx, dispatch.NewReport{Channel: dispatch.ChannelXMPP, Address: "info", Sender: "max@stadt.localhost",
		Text: "Schlagloch vor Nr. 3", Position: &dispatch.Position{Lat: 51.025, Lon: 7.59}, PositionSource: dispatch.SourceGeoURI})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a refused post attempt", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'room_post' AND attempt >= 1 AND state <> 'completed'`).Scan(&n)
		return n >= 1
	})
	const newRoom = "ordnung-neu@conference.stadt.localhost"
	if err := os.WriteFile(path, []byte(strings.Replace(lifecycleRules, roomOrdnung, newRoom, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rules.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post in the team's new room", func() bool {
		p, _ := rec.snapshot()
		return postsTo(p, newRoom, "Meldung "+r.CaseNumber+" ·") >= 1
	})
	time.Sleep(300 * time.Millisecond)
	p, _ := rec.snapshot()
	if n := postsTo(p, newRoom, "Meldung "+r.CaseNumber+" ·"); n != 1 {
		t.Errorf("%d posts of %s in the new room, want 1", n, r.CaseNumber)
	}
	var room string
	if err := pool.QueryRow(ctx, `SELECT room FROM room_posts WHERE incident_id = $1 AND posted_at IS NOT NULL`, r.IncidentID).Scan(&room); err != nil || room != newRoom {
		t.Errorf("the post's record names room %q (%v), want %s (replies there must find the case)", room, err, newRoom)
	}
	if inc, _ := events(t, svc, r); inc.State != dispatch.StateRouted {
		t.Errorf("state %s after the post, want routed", inc.State)
	}
}
