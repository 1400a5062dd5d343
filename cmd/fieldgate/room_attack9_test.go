package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// fileCase sends text from a fresh reporter to the tiefbau address and
// returns the case number of the answer.
func (s *stack) fileCase(t *testing.T, text string) (string, *testsvc.Client) {
	t.Helper()
	reporter := testsvc.Login(t, testsvc.User(t))
	reporter.SendReport(s.address("tiefbau"), "", text, "")
	ack := reporter.WaitMessage(30*time.Second, "the case number for "+text, func(m testsvc.Message) bool {
		return strings.HasPrefix(m.Body, "Meldung ") && strings.Contains(m.Body, "angenommen")
	})
	return caseFromReply(t, ack.Body), reporter
}

// TestRoomCommandBoundToNickHolderAtSending attacks the nick → JID
// binding with real Prosody and PostgreSQL. The room's commands are
// handled one after another; while anna's "ok" waits (its incident row is
// locked), ben, a team member but no dispatcher, writes "weiter … " under
// the nick the dispatcher dora usually has, leaves, and dora enters with
// that nick. ben's command must count as ben's (refused: only dispatchers
// reassign), not as dora's, whoever holds the nick when it is handled.
func TestRoomCommandBoundToNickHolderAtSending(t *testing.T) {
	s := xmppStack(t, nil)
	room := testsvc.Room("tiefbau", s.suffix)
	caseA, _ := s.fileCase(t, "Gully verstopft geo:51.0251,7.5921")
	caseB, _ := s.fileCase(t, "Bank beschädigt geo:51.0261,7.5931")
	s.waitRouted(caseA)
	s.waitRouted(caseB)

	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	ben := testsvc.Login(t, testsvc.DemoUser("ben"))
	dora := testsvc.Login(t, testsvc.DemoUser("dora"))
	annaNick, sharedNick := "anna-"+s.suffix, "leitung-"+s.suffix
	if got := anna.JoinRoomResult(room, annaNick, 20*time.Second); got != "" {
		t.Fatalf("anna joins: %q", got)
	}
	if got := ben.JoinRoomResult(room, sharedNick, 20*time.Second); got != "" {
		t.Fatalf("ben joins as %s: %q", sharedNick, got)
	}

	// Hold case A's row so that anna's take waits in the room's queue.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM incidents WHERE case_number = $1 FOR UPDATE`, caseA); err != nil {
		t.Fatal(err)
	}
	anna.Groupchat(room, "ok "+shortRef(caseA))
	anna.WaitMessage(20*time.Second, "anna's ok reflected", func(m testsvc.Message) bool {
		return m.From == room+"/"+annaNick && m.Body == "ok "+shortRef(caseA)
	})
	ben.Groupchat(room, "weiter "+shortRef(caseB)+" gruenflaechen")
	ben.WaitMessage(20*time.Second, "ben's weiter reflected", func(m testsvc.Message) bool {
		return m.From == room+"/"+sharedNick && strings.HasPrefix(m.Body, "weiter ")
	})
	ben.SendRaw(`<presence type="unavailable" to="` + room + `/` + sharedNick + `"/>`)
	ben.WaitStanza(20*time.Second, "ben out of the room", func(st testsvc.Stanza) bool {
		return st.Name == "presence" && st.Type == "unavailable" && st.From == room+"/"+sharedNick
	})
	if got := dora.JoinRoomResult(room, sharedNick, 20*time.Second); got != "" {
		t.Fatalf("dora joins as %s: %q", sharedNick, got)
	}
	time.Sleep(300 * time.Millisecond) // the gateway sees dora's presence too
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	anna.WaitMessage(30*time.Second, "anna's take of "+caseA, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.Contains(m.Body, caseA) && strings.Contains(m.Body, "anna@stadt.localhost")
	})
	dora.WaitMessage(30*time.Second, "the answer to the weiter under "+sharedNick, func(m testsvc.Message) bool {
		return s.fromGateway(m) && strings.HasPrefix(m.Body, sharedNick+": ")
	})
	var team string
	var moved int
	if err := s.query(`SELECT team, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'reassigned')
		FROM incidents i WHERE case_number = $1`, caseB).Scan(&team, &moved); err != nil {
		t.Fatal(err)
	}
	if team != "tiefbau" || moved != 0 {
		t.Fatalf("%s after ben's weiter under the dispatcher's nick: team %q, %d reassign events; want tiefbau and none (ben is no dispatcher)", caseB, team, moved)
	}
}
