package dispatch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestClaimRoomCommand: a room command is claimed once, whichever of two
// gateways (live, or reading the room's archive after joining) tries at
// the same moment; one archived before the claims began (carried out then
// by a gateway that claimed nothing) is never claimed; claims are per room.
func TestClaimRoomCommand(t *testing.T) {
	pool := testsvc.Pool(t)
	svc := newTestService(t, testServiceOptions{Pool: pool})
	ctx := context.Background()
	room := "tiefbau@conference.stadt.example"
	var began time.Time
	if err := pool.QueryRow(ctx, `SELECT claimed_at FROM room_commands WHERE room = '' AND stanza_id = 'claims-since'`).Scan(&began); err != nil {
		t.Fatalf("the start of the claims: %v", err)
	}
	for round := range 20 {
		id := "s-" + time.Now().Format("150405.000000000") + string(rune('a'+round))
		var wg sync.WaitGroup
		results := make([]bool, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				at := time.Time{} // live
				if i == 1 {
					at = time.Now() // from the archive
				}
				ok, err := svc.ClaimRoomCommand(ctx, room, id, at)
				if err != nil {
					t.Error(err)
				}
				results[i] = ok
			}()
		}
		wg.Wait()
		if results[0] == results[1] {
			t.Fatalf("round %d: claims %v, want exactly one", round, results)
		}
	}
	if ok, err := svc.ClaimRoomCommand(ctx, room, "old-1", began.Add(-time.Second)); err != nil || ok {
		t.Errorf("a command archived before the claims began was claimed (%v, %v)", ok, err)
	}
	if ok, err := svc.ClaimRoomCommand(ctx, "jugendamt@conference.stadt.example", "s-shared", time.Time{}); err != nil || !ok {
		t.Errorf("first claim in another room: %v, %v", ok, err)
	}
	if ok, err := svc.ClaimRoomCommand(ctx, room, "s-shared", time.Time{}); err != nil || !ok {
		t.Errorf("the same stanza-id in another room is another command: %v, %v", ok, err)
	}
}
