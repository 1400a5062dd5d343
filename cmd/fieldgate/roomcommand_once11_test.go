package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
	anna, room, cases := takerInRoom(t, s, "Ampel dunkel")
	caseNo := cases[0]

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
	for deadline := time.Now().Add(30 * time.Second); ; {
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
	waitTaken(t, conn, caseNo, 45*time.Second)
	s.waitReady()
	if st, n := caseTakes(t, conn, caseNo); st != "acknowledged" || n != 1 {
		t.Errorf("%s: state %s, %d takes; want acknowledged, 1", caseNo, st, n)
	}
}

// takerInRoom logs anna (a Tiefbau member) into the tiefbau team room
// and files a report with each text; it returns her session, the room
// and the case numbers, once she has seen each case's post.
func takerInRoom(t *testing.T, s *stack, texts ...string) (*testsvc.Client, string, []string) {
	t.Helper()
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	if e := anna.JoinRoomResult(room, "anna-"+s.suffix, 30*time.Second); e != "" {
		t.Fatalf("anna could not join %s: %s", room, e)
	}
	var cases []string
	for i, text := range texts {
		cases = append(cases, s.fileReport(i, text))
	}
	for _, c := range cases {
		anna.WaitMessage(60*time.Second, "the post of "+c, func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, c)
		})
	}
	return anna, room, cases
}

// caseTakes is a case's state and how many takes its trail records.
func caseTakes(t *testing.T, conn *pgx.Conn, caseNo string) (state string, takes int) {
	t.Helper()
	if err := conn.QueryRow(context.Background(), `SELECT i.state, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'take')
		FROM incidents i WHERE i.case_number = $1`, caseNo).Scan(&state, &takes); err != nil {
		t.Fatal(err)
	}
	return state, takes
}

// waitTaken waits until the case is acknowledged, failing the test after within.
func waitTaken(t *testing.T, conn *pgx.Conn, caseNo string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if st, _ := caseTakes(t, conn, caseNo); st == "acknowledged" {
			return
		}
		if time.Now().After(deadline) {
			st, n := caseTakes(t, conn, caseNo)
			t.Fatalf("%s not taken within %v: state %s, %d takes", caseNo, within, st, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
