package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fieldgate/fieldgate/internal/testsvc"
)

// TestRoomTakeWhileGatewayAway: a team member writes "ok <case>" into
// the team room while no gateway is in it (the component holder died and
// the next one has not joined yet, or the XMPP server restarted). The
// room keeps the message; the gateway that joins next must count the
// take, once, and not count again a take it already handled live (found
// by the chaos run: takes written during a failover were lost without a
// word, the case escalated as if nobody had taken it). The gateway reads
// the room's archive (XEP-0313) when it joins; Prosody and ejabberd both
// name the author of an archived message in a non-anonymous room.
func TestRoomTakeWhileGatewayAway(t *testing.T) {
	s, r := faultStack(t, nil)
	conn := s.dbConn()
	ctx := context.Background()
	room := testsvc.Room("tiefbau", s.suffix)
	anna := testsvc.Login(t, testsvc.DemoUser("anna"))
	nick := "anna-" + s.suffix
	if e := anna.JoinRoomResult(room, nick, 30*time.Second); e != "" {
		t.Fatalf("anna could not join %s: %s", room, e)
	}
	live := s.fileReport(0, "Ampel dunkel")
	away := s.fileReport(1, "Gully offen")
	for _, c := range []string{live, away} {
		anna.WaitMessage(60*time.Second, "the post of "+c, func(m testsvc.Message) bool {
			return s.fromGateway(m) && strings.Contains(m.Body, c)
		})
	}
	state := func(c string) (st string, takes int) {
		t.Helper()
		if err := conn.QueryRow(ctx, `SELECT i.state, (SELECT count(*) FROM incident_events e WHERE e.incident_id = i.id AND e.kind = 'take')
			FROM incidents i WHERE i.case_number = $1`, c).Scan(&st, &takes); err != nil {
			t.Fatal(err)
		}
		return st, takes
	}
	waitTaken := func(c string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			if st, _ := state(c); st == "acknowledged" {
				return
			}
			if time.Now().After(deadline) {
				st, n := state(c)
				t.Fatalf("%s not taken within %v: state %s, %d takes", c, within, st, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Taken live, before the gateway goes away.
	anna.Groupchat(room, "ok "+live)
	waitTaken(live, 30*time.Second)

	r.kill()
	anna.Groupchat(room, "ok "+away)
	before := len(anna.Messages())
	s.startReplica("r2", nil)
	waitTaken(away, 30*time.Second)
	s.waitReady()
	time.Sleep(2 * time.Second) // any second handling of the history would answer now

	for _, c := range []string{live, away} {
		if st, n := state(c); st != "acknowledged" || n != 1 {
			t.Errorf("%s: state %s, %d takes; want acknowledged, 1", c, st, n)
		}
	}
	// Answers to anna after the restart: the confirmation of the take
	// written while the gateway was away, nothing about the live one.
	var answers []string
	for _, m := range anna.Messages()[before:] {
		if s.fromGateway(m) && m.Type == "groupchat" && (strings.Contains(m.Body, live) || strings.Contains(m.Body, away)) {
			answers = append(answers, m.Body)
		}
	}
	var aboutAway, aboutLive int
	for _, a := range answers {
		if strings.Contains(a, away) {
			aboutAway++
		}
		if strings.Contains(a, live) {
			aboutLive++
		}
	}
	if aboutAway != 1 || aboutLive != 0 {
		t.Errorf("room messages after the restart about %s: %d (want 1, the confirmation), about %s: %d (want 0): %s",
			away, aboutAway, live, aboutLive, fmt.Sprint(answers))
	}
}
