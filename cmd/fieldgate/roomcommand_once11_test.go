package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRoomTakeKilledBeforeCommit: a team member writes "ok <case>" into
// the team room; the gateway that is in the room starts the take, and its
// process dies (SIGKILL) before the take's transaction commits. The take
// must not be lost: the gateway that joins next reads the room's archive
// and carries it out, once. It was lost without a word when the room
// message was claimed (room_commands) in a transaction of its own before
// the take's: the claim outlived the take that never committed, and the
// joining gateway skipped the message as carried out.
//
// The window is held open deterministically: the test locks the
// incident's row, so the take's transaction waits for it; then the
// replica is killed and its waiting database session ended.
func TestRoomTakeKilledBeforeCommit(t *testing.T) {
	s, r := faultStack(t, nil)
	conn := s.dbConn()
	ctx := context.Background()
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	if e := anna.JoinRoomResult(room, "anna-"+s.suffix, 30*time.Second); e != "" {
		t.Fatalf("anna could not join %s: %s", room, e)
	}
	caseNo := s.fileReport(0, "Ampel dunkel")
	anna.WaitMessage(60*time.Second, "the post of "+caseNo, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseNo)
	})

	hold, err := s.dbConn().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `SELECT 1 FROM incidents WHERE case_number = $1 FOR UPDATE`, caseNo); err != nil {
		t.Fatal(err)
	}
	anna.Groupchat(room, "ok "+caseNo)
	waiting := `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()
		AND datname = current_database() AND query ILIKE '%FROM incidents%FOR UPDATE%'`
	deadline := time.Now().Add(30 * time.Second)
	for {
		var pid int
		if err := conn.QueryRow(ctx, waiting).Scan(&pid); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the take of %s never waited for the incident's row:\n%s", caseNo, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kill()
	// The dead process's session would end its transaction when it next
	// reads its socket; end it now, as PostgreSQL does on a lost client.
	var ended int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM (`+waiting+`) w`).Scan(&ended); err != nil || ended != 1 {
		t.Fatalf("ended %d waiting take transactions (%v), want 1", ended, err)
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	s.startReplica("r2", nil)
	state := func() (st string, takes int) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT i.state, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'take')
			FROM incidents i WHERE i.case_number = $1`, caseNo).Scan(&st, &takes); err != nil {
			t.Fatal(err)
		}
		return st, takes
	}
	deadline = time.Now().Add(45 * time.Second)
	for {
		if st, _ := state(); st == "acknowledged" {
			break
		}
		if time.Now().After(deadline) {
			st, n := state()
			t.Fatalf("the take of %s written before the kill was lost: state %s, %d takes 45 s after the restart", caseNo, st, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.waitReady()
	if st, n := state(); st != "acknowledged" || n != 1 {
		t.Errorf("%s: state %s, %d takes; want acknowledged, 1", caseNo, st, n)
	}
}
